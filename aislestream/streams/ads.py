"""The ad-request stream: validate a request, generate creatives until the reward models accept
one (or give up), store image + row in the ad store, publish the creative record.

Every request yields exactly one record: ``accepted``, ``rejected`` (with per-aspect reasons) or a
dead letter (invalid request). Rows and files are keyed by request id, so re-delivery after a
crash overwrites rather than duplicates.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aislestream.connectors.adstore import AdStore, CreativeRow
from aislestream.core.adspec import AdSpec
from aislestream.engines.generation import CreativeService, CreativeServicePool
from aislestream.errors import AisleError, MessageRejected, RetryableError, StoreError
from aislestream.settings import StreamSettings
from aislestream.streams.decoding import Identifier, decode_model
from aislestream.streams.experiments.assign import Assignment, assign
from aislestream.streams.experiments.schema import Experiment
from aislestream.streams.pipeline import Output, RawMessage, dead_letter_output, internal_error

log = logging.getLogger(__name__)

Shape = Literal["bottle", "box", "shoe", "phone", "can", "ball"]
Colour = Literal["red", "green", "blue", "yellow", "purple", "orange"]


class AdRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    request_id: Identifier
    product_id: Identifier
    shape: Shape
    colour: Colour
    palette: Literal["light", "dark"] = "light"
    layout: Literal["left", "center", "right"] = "center"

    def spec(self) -> AdSpec:
        return AdSpec(self.shape, self.colour, self.palette, self.layout)


class AdCreative(BaseModel):
    request_id: str
    product_id: str
    status: Literal["accepted", "rejected"]
    spec: dict[str, str]
    scores: dict[str, float]
    attempts: int
    reasons: list[str]
    image_path: str | None
    model_version: str
    latency_ms: float
    arms: dict[str, str] = Field(default_factory=dict)


def decode_request(raw: bytes | None, settings: StreamSettings) -> AdRequest:
    return decode_model(raw, AdRequest, settings.max_message_bytes)


class AdsPipeline:
    """Requests are grouped by the generator and reward threshold their experiment arms select (the
    unit assigned is the product id: one product's creatives come from one arm)."""

    def __init__(self, services: CreativeServicePool, store: AdStore, settings: StreamSettings,
                 experiments: Callable[[], Sequence[Experiment]] = tuple) -> None:
        self.services = services
        self.store = store
        self.settings = settings
        self.experiments = experiments
        # creatives accepted or rejected, generation attempts they took (the worker's metrics)
        self.counts: Counter[str] = Counter()

    def process(self, messages: Sequence[RawMessage]) -> list[Output]:
        """One output per message, in order. Generation is batched per arm across the valid
        requests."""
        started = time.perf_counter()
        outputs: list[Output | None] = [None] * len(messages)
        valid: list[tuple[int, AdRequest, Assignment]] = []
        experiments = self.experiments()
        for i, msg in enumerate(messages):
            try:
                request = decode_request(msg.value, self.settings)
            except MessageRejected as error:
                outputs[i] = dead_letter_output(msg, error)
                continue
            except Exception as exc:  # a decoder bug costs this message, not the batch
                outputs[i] = dead_letter_output(msg, internal_error(exc))
                continue
            valid.append((i, request, assign(experiments, request.product_id)))
        groups: dict[tuple[str | None, float | None], list[tuple[int, AdRequest, Assignment]]] = {}
        for item in valid:
            params = item[2].params
            level = params.get("reward_threshold")
            key = (None if params.get("generator") is None else str(params["generator"]),
                   None if level is None else float(level))
            groups.setdefault(key, []).append(item)
        for (generator, level), items in groups.items():
            try:
                service = self.services.get(generator)
            except AisleError as error:  # an arm names a generator this worker does not have
                for i, request, _ in items:
                    outputs[i] = dead_letter_output(
                        messages[i], MessageRejected(str(error), "unavailable_variant"))
                continue
            seed = messages[items[0][0]].offset  # deterministic per batch position
            outcomes = service.create([r.spec() for _, r, _ in items], seed=seed,
                                      reward_threshold=level)
            latency = (time.perf_counter() - started) * 1000 / len(valid)
            for (i, request, assignment), outcome in zip(items, outcomes):
                try:
                    outputs[i] = self._record(request, outcome, service, level, assignment, latency)
                except RetryableError:
                    raise  # the store is down: the whole batch waits for it (streams/app.py)
                except StoreError as error:  # the store refused this request's row or file
                    log.warning("ad store refused %r: %s", request.request_id, error)
                    outputs[i] = dead_letter_output(
                        messages[i], MessageRejected(str(error), "store_refused"))
                except Exception as exc:
                    log.exception("ad request %r failed", request.request_id)
                    outputs[i] = dead_letter_output(messages[i], internal_error(exc))
        return outputs  # type: ignore[return-value]

    def _record(self, request: AdRequest, outcome, service: CreativeService, level: float | None,
                assignment: Assignment, latency_ms: float) -> Output:
        reasons = [] if outcome.accepted else service.reasons(outcome, level) or ["not accepted"]
        self.counts["accepted" if outcome.accepted else "rejected"] += 1
        self.counts["generation_attempts"] += outcome.attempts
        row = self.store.save(CreativeRow(
            request.request_id, request.product_id, request.spec().__dict__, outcome.accepted,
            outcome.scores, outcome.attempts, reasons,
            model_version=service.version), outcome.image)
        creative = AdCreative(
            request_id=request.request_id, product_id=request.product_id,
            status="accepted" if outcome.accepted else "rejected", spec=row.spec,
            scores={a: round(p, 4) for a, p in outcome.scores.items()}, attempts=outcome.attempts,
            reasons=reasons, image_path=row.image_path, model_version=service.version,
            latency_ms=latency_ms, arms=assignment.arms)
        return Output("result", request.request_id.encode(), creative.model_dump_json().encode())
