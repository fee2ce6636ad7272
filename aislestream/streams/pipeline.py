"""The search-augmentation step as a plain object: raw messages in, one output each out.

validate -> experiment arms -> expand (with deadline and fallback) -> retrieve -> result
record. The faust agent only moves bytes between topics and this object; tests call it
directly. The arms come from the experiments current at the moment the batch is processed,
so a published change applies from the next batch on.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aislestream.connectors.search.base import SearchRequest, SearchStore
from aislestream.engines.expansion.base import Expansion
from aislestream.engines.expansion.pool import ExpanderPool
from aislestream.errors import AisleError, MessageRejected
from aislestream.settings import StreamSettings
from aislestream.streams.experiments.assign import Assignment, assign
from aislestream.streams.experiments.schema import Experiment
from aislestream.streams.records import (
    HitOut, SearchQuery, SearchResult, StageLatency, TermOut, dead_letter, decode_query,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Output:
    kind: str  # "result" or "dead_letter"
    key: bytes
    value: bytes


def dead_letter_output(msg: RawMessage, error: MessageRejected) -> Output:
    """The dead-letter record for a rejected message, keyed by its key or its position."""
    letter = dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value, error)
    key = msg.key or f"{msg.topic}:{msg.partition}:{msg.offset}".encode()
    return Output("dead_letter", key, letter.model_dump_json().encode())


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

    async def _expand(self, queries: Sequence[SearchQuery], assignments: Sequence[Assignment]) -> list[Expansion]:
        """Each query through the expander its arms select, one call per variant."""
        groups: dict[str | None, list[int]] = {}
        for i, a in enumerate(assignments):
            name = a.params.get("expander")
            groups.setdefault(None if name is None else str(name), []).append(i)
        out: list[Expansion | None] = [None] * len(queries)
        for name, idx in groups.items():
            try:
                expander = self.expanders.get(name)
            except AisleError as exc:  # a variant this worker cannot build (logged by the pool)
                for i in idx:
                    out[i] = Expansion(queries[i].query, (), "none", str(name), fallback=f"variant unavailable: {exc}")
                continue
            for i, e in zip(idx, await expander.aexpand([queries[i].query for i in idx])):
                out[i] = e
        return out  # type: ignore[return-value]

    def _reject(self, msg: RawMessage, error: MessageRejected) -> Output:
        self.counts["dead_letters"] += 1
        return dead_letter_output(msg, error)

    async def process(self, messages: Sequence[RawMessage]) -> list[Output]:
        """One output per message, in input order."""
        started = time.perf_counter()
        self.counts["messages_in"] += len(messages)
        outputs: list[Output | None] = [None] * len(messages)
        valid: list[tuple[int, SearchQuery]] = []
        for i, msg in enumerate(messages):
            try:
                valid.append((i, decode_query(msg.value, self.settings)))
            except MessageRejected as error:
                outputs[i] = self._reject(msg, error)
        validated = time.perf_counter()
        if valid:
            experiments = self.experiments()
            assignments = [assign(experiments, q.user_id or q.request_id) for _, q in valid]
            expansions = await self._expand([q for _, q in valid], assignments)
            expanded = time.perf_counter()
            requests = [
                SearchRequest(q.query, e.terms, q.filters, q.price_min, q.price_max,
                              q.k or self.settings.default_k)
                for (_, q), e in zip(valid, expansions)
            ]
            hits, failures = self._retrieve(requests)
            retrieved = time.perf_counter()
            n = len(valid)
            latency = StageLatency(  # per-query share of the batch's stage times
                validate_ms=(validated - started) * 1000 / len(messages),
                expand_ms=(expanded - validated) * 1000 / n,
                retrieve_ms=(retrieved - expanded) * 1000 / n,
                total_ms=(retrieved - started) * 1000 / len(messages),
            )
            now = time.time()
            for j, ((i, query), expansion, arms) in enumerate(zip(valid, expansions, assignments)):
                if j in failures:
                    outputs[i] = self._reject(messages[i], failures[j])
                    continue
                if expansion.fallback:
                    self.counts["fallbacks"] += 1
                result = SearchResult(
                    request_id=query.request_id, user_id=query.user_id, query=query.query,
                    query_type=query.query_type,
                    expansion=[TermOut(term=t.term, weight=t.weight) for t in expansion.terms],
                    engine=expansion.engine, variant=expansion.variant, fallback=expansion.fallback,
                    cached=expansion.cached,
                    hits=[HitOut(id=h.id, score=h.score, title=h.title) for h in hits[j]],
                    latency_ms=latency, arms=arms.arms, sent_at=query.sent_at, processed_at=now,
                    worker=self.worker_id,
                )
                self.counts["results"] += 1
                outputs[i] = Output("result", query.request_id.encode(), result.model_dump_json().encode())
        return outputs  # type: ignore[return-value]

    def _retrieve(self, requests: list[SearchRequest]) -> tuple[list, dict[int, MessageRejected]]:
        """Batch retrieval; if the batch fails, retry one by one so one bad request cannot sink others."""
        try:
            return self.store.search_many(requests), {}
        except Exception as exc:
            log.warning("batch retrieval failed (%s); retrying per request", exc)
        hits, failures = [], {}
        for j, request in enumerate(requests):
            try:
                hits.append(self.store.search(request))
            except Exception as exc:
                hits.append([])
                failures[j] = MessageRejected(f"retrieval failed: {type(exc).__name__}: {exc}",
                                              "retrieval_failed")
        return hits, failures
