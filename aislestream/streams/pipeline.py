"""The search-augmentation step as a plain object: raw messages in, one output each out.

validate -> experiment arms -> expand (with deadline and fallback) -> retrieve -> result
record. Each step fails per message: a message that cannot be decoded, retrieved or
serialised gets its own dead letter and the rest of the batch goes on. The faust agent only
moves bytes between topics and this object; tests call it directly. The arms come from the
experiments current at the moment the batch is processed, so a published change applies from
the next batch on.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aislestream.connectors.search.base import (
    FusionConfig,
    SearchRequest,
    SearchStore,
    retrieval_of,
)
from aislestream.connectors.search.fusion import search_fused, search_one
from aislestream.engines.expansion.base import Expansion
from aislestream.engines.expansion.pool import ExpanderPool
from aislestream.errors import AisleError, MessageRejected, RetryableError
from aislestream.ratelimit import RateLimitedLog
from aislestream.settings import StreamSettings
from aislestream.streams.decoding import dead_letter, safe_key
from aislestream.streams.experiments.assign import Assignment, assign
from aislestream.streams.experiments.schema import Experiment
from aislestream.streams.records import (
    HitOut,
    SearchQuery,
    SearchResult,
    StageLatency,
    TermOut,
    decode_query,
)

log = logging.getLogger(__name__)
retrieval_warnings = RateLimitedLog(log, interval_s=30.0)


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    received_at: float = field(default_factory=time.perf_counter)  # when the agent got it

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Output:
    kind: str  # "result" or "dead_letter"
    key: bytes
    value: bytes


def dead_letter_output(msg: RawMessage, error: MessageRejected, attempts: int = 1) -> Output:
    """The dead-letter record for a rejected message, keyed by its key or its position."""
    letter = dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value, error, attempts)
    key = safe_key(msg.key) or msg.position.encode()
    return Output("dead_letter", key, letter.model_dump_json().encode())


def _dense(arms: Assignment) -> bool | None:
    """The dense channel as the search.retrieval layer's arm asks (None: the store's default)."""
    choice = arms.params.get("retrieval")
    return None if choice is None else choice == "hybrid"


def internal_error(exc: BaseException) -> MessageRejected:
    """A failure of the worker on one message (a bug, not the message's fault) as a rejection,
    so that the message is kept on the dead-letter topic instead of stopping the stream."""
    return MessageRejected(f"worker failed on this message: {type(exc).__name__}: {exc}"[:1000],
                           "internal_error")


class SearchPipeline:
    def __init__(self, expanders: ExpanderPool, store: SearchStore, settings: StreamSettings,
                 worker_id: str | None = None,
                 experiments: Callable[[], Sequence[Experiment]] = tuple) -> None:
        self.expanders = expanders
        self.store = store
        self.settings = settings
        self.worker_id = worker_id or socket.gethostname()
        self.experiments = experiments
        self.counts: Counter[str] = Counter()

    async def _expand(self, queries: Sequence[SearchQuery], assignments: Sequence[Assignment],
                      ) -> tuple[list[Expansion], list[FusionConfig | None]]:
        """Each query through the expander its arms select, one call per variant; a variant that
        fails (beyond its guard) costs its queries their expansion, never their search. With
        each expansion: how its variant searches it (``fusion``)."""
        groups: dict[str | None, list[int]] = {}
        for i, a in enumerate(assignments):
            name = a.params.get("expander")
            groups.setdefault(None if name is None else str(name), []).append(i)
        out: list[Expansion | None] = [None] * len(queries)
        fusion: list[FusionConfig | None] = [None] * len(queries)
        for name, idx in groups.items():
            try:
                expander = self.expanders.get(name)
                for i in idx:
                    fusion[i] = expander.fusion
                expanded = await expander.aexpand([queries[i].query for i in idx])
            except AisleError as exc:  # a variant this worker cannot build (logged by the pool)
                expanded = [self._unexpanded(queries[i], name, f"variant unavailable: {exc}")
                            for i in idx]
            except Exception as exc:
                log.exception("expander %s failed outside its guard", name)
                expanded = [self._unexpanded(queries[i], name,
                                             f"engine error: {type(exc).__name__}: {exc}")
                            for i in idx]
            for i, e in zip(idx, expanded):
                out[i] = e
        return out, fusion  # type: ignore[return-value]

    @staticmethod
    def _unexpanded(query: SearchQuery, variant: str | None, reason: str) -> Expansion:
        return Expansion(query.query, (), "none", str(variant), fallback=reason)

    def _reject(self, msg: RawMessage, error: MessageRejected) -> Output:
        self.counts["dead_letters"] += 1
        self.counts[f"dead_letters.{error.error_type}"] += 1
        return dead_letter_output(msg, error)

    def _decode(self, messages: Sequence[RawMessage],
                outputs: list[Output | None]) -> list[tuple[int, SearchQuery]]:
        valid: list[tuple[int, SearchQuery]] = []
        for i, msg in enumerate(messages):
            try:
                valid.append((i, decode_query(msg.value, self.settings)))
            except MessageRejected as error:
                outputs[i] = self._reject(msg, error)
            except Exception as exc:  # a decoder bug must not stop the batch
                log.exception("decoding %s failed", msg.position)
                outputs[i] = self._reject(msg, internal_error(exc))
        return valid

    async def process(self, messages: Sequence[RawMessage]) -> list[Output]:
        """One output per message, in input order."""
        started = time.perf_counter()
        self.counts["messages_in"] += len(messages)
        outputs: list[Output | None] = [None] * len(messages)
        valid = self._decode(messages, outputs)
        validated = time.perf_counter()
        if not valid:
            return outputs  # type: ignore[return-value]
        experiments = self.experiments()
        assignments = [assign(experiments, q.user_id or q.request_id) for _, q in valid]
        expansions, fusion = await self._expand([q for _, q in valid], assignments)
        expanded = time.perf_counter()
        requests = [
            SearchRequest(q.query, e.terms, q.filters, q.price_min, q.price_max,
                          q.k or self.settings.default_k, fusion=f, dense=_dense(a))
            for (_, q), e, f, a in zip(valid, expansions, fusion, assignments)
        ]
        hits, failures = self._retrieve(requests)
        retrieved = time.perf_counter()
        batch = {"batch_size": len(messages), "batch_validate_ms": (validated - started) * 1000,
                 "batch_expand_ms": (expanded - validated) * 1000,
                 "batch_retrieve_ms": (retrieved - expanded) * 1000,
                 "batch_total_ms": (retrieved - started) * 1000}
        now = time.time()
        for j, ((i, query), expansion, arms) in enumerate(zip(valid, expansions, assignments)):
            if j in failures:
                outputs[i] = self._reject(messages[i], failures[j])
                continue
            try:
                served = retrieval_of(self.store, requests[j])
                outputs[i] = self._result(messages[i], query, expansion, hits[j], arms, batch, now,
                                          served)
            except Exception as exc:  # serialising one result must not sink the others
                log.exception("result for %s failed", messages[i].position)
                outputs[i] = self._reject(messages[i], internal_error(exc))
        return outputs  # type: ignore[return-value]

    def _result(self, msg: RawMessage, query: SearchQuery, expansion: Expansion, hits: Sequence,
                arms: Assignment, batch: dict[str, float], now: float,
                retrieval: str) -> Output:
        if expansion.fallback:
            self.counts["fallbacks"] += 1
        self.counts[f"retrieval.{retrieval}"] += 1
        finished = time.perf_counter()
        latency = StageLatency(message_ms=(finished - msg.received_at) * 1000, **batch)
        result = SearchResult(
            request_id=query.request_id, user_id=query.user_id, query=query.query,
            query_type=query.query_type,
            expansion=[TermOut(term=t.term, weight=t.weight) for t in expansion.terms],
            engine=expansion.engine, variant=expansion.variant, fallback=expansion.fallback,
            cached=expansion.cached, retrieval=retrieval,
            hits=[HitOut(id=h.id, score=h.score, title=h.title) for h in hits],
            latency_ms=latency, arms=arms.arms, sent_at=query.sent_at, processed_at=now,
            worker=self.worker_id,
        )
        value = result.model_dump_json().encode()
        self.counts["results"] += 1
        return Output("result", query.request_id.encode(), value)

    def _retrieve(self, requests: list[SearchRequest]) -> tuple[list, dict[int, MessageRejected]]:
        """Batch retrieval; if the batch fails, retry one by one so one bad request cannot sink
        others. A store that is down (StoreUnavailable) is nobody's fault: it is raised, and the
        batch waits for the store (streams/app.py) instead of dead-lettering every query."""
        try:
            return search_fused(self.store, requests), {}
        except RetryableError:
            raise
        except Exception as exc:
            retrieval_warnings.warning("batch-retrieval",
                                       "batch retrieval failed (%s); retrying per request", exc)
        hits, failures = [], {}
        for j, request in enumerate(requests):
            try:
                hits.append(search_one(self.store, request))
            except RetryableError:
                raise
            except Exception as exc:
                hits.append([])
                failures[j] = MessageRejected(f"retrieval failed: {type(exc).__name__}: {exc}",
                                              "retrieval_failed")
        return hits, failures
