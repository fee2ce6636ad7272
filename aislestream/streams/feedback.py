"""Shopper feedback joined with the experiment arms that served each query, as per-arm metrics.

Three agents, keyed so that every table write happens on the partition that owns the key:

  search.results  --(request id)-->  ``served`` table: arms, zero-result, latency of each query
                                     + one "query" delta per (experiment, arm)
  search.feedback --(request id)-->  join with ``served``: one "feedback" delta per arm
                                     (not served yet: to the retry topic with a due time)
  search.feedback.retry ----------> the same join once due, with backoff; after the last try
                                     the original record is dead-lettered as ``unjoinable``
  arm deltas      --(experiment|arm)--> ``arm_metrics`` table: sums per arm and time window
                                      ``unit_metrics`` table: sums per arm and user

``served`` entries expire after ``served_ttl_s`` (a sweep, like the assistant's sessions), so
the table holds about one TTL of traffic instead of every request ever served. Every input
(results included) is decoded by the one front half and fails per record, to the feedback
dead-letter topic with the project's dead-letter record.

The tables' changelogs (``<app id>-arm_metrics-changelog``, ``<app id>-unit_metrics-changelog``)
are what ``aisle experiments report`` reads; the per-user sums let it test at the unit that was
randomised (a user's queries are not independent of each other).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from typing import Annotated

import faust
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aislestream.errors import MessageRejected
from aislestream.settings import Settings
from aislestream.streams import topics
from aislestream.streams.app import guarded, guarded_outputs, register_event_agent
from aislestream.streams.decoding import Identifier, OptionalIdentifier, decode_model
from aislestream.streams.expiry import register_expiry
from aislestream.streams.pipeline import Output, RawMessage

log = logging.getLogger(__name__)
# a result normally lands in the table within a second
JOIN_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
MAX_FEEDBACK_BYTES = 4_096
MAX_COUNT = 1_000_000  # per query: far above any real result list, far below float trouble
MAX_REVENUE = 1e9  # per query; squares (for variances) stay finite in any sum
MAX_DELTA = MAX_REVENUE ** 2  # the largest increment a valid record can make (revenue squared)
METRIC_FIELDS = ("queries", "zero_results", "latency_ms_sum", "impressions", "clicks", "carts",
                 "purchases", "converted_queries", "revenue", "revenue_sq", "clicked_queries")
UNIT_FIELDS = ("queries", "zero_results", "clicked_queries", "converted_queries", "revenue")


class Feedback(BaseModel):
    """What the front end reports after showing a result list: one record per query."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    request_id: Identifier
    user_id: OptionalIdentifier | None = None
    impressions: int = Field(ge=0, le=MAX_COUNT)
    clicks: int = Field(ge=0, le=MAX_COUNT)
    carts: int = Field(ge=0, le=MAX_COUNT)
    purchases: int = Field(ge=0, le=MAX_COUNT)
    revenue: float = Field(ge=0, le=MAX_REVENUE)

    @model_validator(mode="after")
    def _consistent(self) -> "Feedback":
        if self.clicks > self.impressions:
            raise ValueError(f"clicks ({self.clicks}) exceed impressions ({self.impressions})")
        return self


class ServedLatency(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    message_ms: float = Field(ge=0, le=86_400_000)  # a day: anything more is not a latency


class ServedResult(BaseModel):
    """The part of a ``search.results`` record the join needs (written by our own workers, and
    still decoded as hostile: anything can be produced to a topic)."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    request_id: Identifier
    user_id: OptionalIdentifier | None = None
    arms: dict[Identifier, Identifier] = Field(default_factory=dict, max_length=32)
    hits: list[object] = Field(max_length=10_000)
    latency_ms: ServedLatency


class JoinRetry(BaseModel):
    """A feedback record waiting for its result, on the retry topic: the original record (its
    position, key and bytes) and the attempt count, out of the client's reach."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    attempt: int = Field(ge=1, le=len(JOIN_RETRY_DELAYS_S))
    due_at: float
    source_topic: str = Field(min_length=1, max_length=255)
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key_b64: str | None = Field(default=None, max_length=1_400)  # keys over 1 KiB are digests
    payload_b64: str = Field(max_length=MAX_FEEDBACK_BYTES * 4 // 3 + 4)

    def message(self) -> RawMessage:
        """The original record; raises MessageRejected if the envelope's base64 is not."""
        try:
            key = None if self.key_b64 is None else base64.b64decode(self.key_b64, validate=True)
            value = base64.b64decode(self.payload_b64, validate=True)
        except ValueError as exc:  # binascii.Error is a ValueError
            raise MessageRejected(f"retry envelope: {exc}", "invalid_field") from None
        return RawMessage(self.source_topic, self.partition, self.offset, key, value)


def metrics_key(experiment: str, arm: str, window_s: float, at: float) -> str:
    return f"{experiment}|{arm}|{int(at // window_s * window_s)}"


def query_delta(result: ServedResult) -> dict[str, float]:
    return {"queries": 1, "zero_results": int(not result.hits),
            "latency_ms_sum": result.latency_ms.message_ms}


def feedback_delta(fb: Feedback) -> dict[str, float]:
    return {"impressions": fb.impressions, "clicks": fb.clicks, "carts": fb.carts,
            "purchases": fb.purchases,
            "converted_queries": int(fb.purchases > 0), "clicked_queries": int(fb.clicks > 0),
            "revenue": fb.revenue, "revenue_sq": fb.revenue ** 2}


class ArmDelta(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
    key: str = Field(min_length=1, max_length=600)
    unit: str = Field(min_length=1, max_length=600)
    delta: dict[str, Annotated[float, Field(ge=0, le=MAX_DELTA)]] = Field(
        max_length=len(METRIC_FIELDS))

    @model_validator(mode="after")
    def _known_fields(self) -> "ArmDelta":
        unknown = set(self.delta) - set(METRIC_FIELDS)
        if unknown:
            raise ValueError(f"unknown metric fields {sorted(unknown)[:5]}")
        return self


def register_feedback_agents(app: faust.App, settings: Settings, declared: topics.FeedbackTopics,
                             window_s: float = 60.0,
                             retry_delays_s: tuple[float, ...] = JOIN_RETRY_DELAYS_S) -> None:
    stream = settings.stream
    served, arm_metrics, unit_metrics = declared.served, declared.arm_metrics, declared.unit_metrics
    register_expiry(app, served, declared.expiry, interval_s=max(1.0, stream.served_ttl_s / 4),
                    stale=lambda value, now: (now - float(value.get("at", 0.0))
                                              > stream.served_ttl_s))
    outputs = {"dead_letter": declared.dead_letter, "retry": declared.retries,
               "delta": declared.deltas}

    def emit(arms: dict[str, str], unit: str, delta: dict[str, float]) -> list[Output]:
        now = time.time()
        return [Output("delta", f"{experiment}|{arm}".encode(), json.dumps({
            "key": metrics_key(experiment, arm, window_s, now),
            "unit": f"{experiment}|{arm}|{unit}",
            "delta": delta}).encode()) for experiment, arm in arms.items()]

    def remember_result(msg: RawMessage) -> list[Output]:
        result = decode_model(msg.value, ServedResult, 4 * 1024 * 1024)
        if msg.key != result.request_id.encode():  # the entry would land on another key's partition
            raise MessageRejected("record key does not match request_id", "invalid_field")
        unit = result.user_id or result.request_id
        served[result.request_id] = {"arms": result.arms, "unit": unit, "at": time.time()}
        return emit(result.arms, unit, query_delta(result)) if result.arms else []

    def retry_later(msg: RawMessage, fb: Feedback, attempt: int) -> list[Output]:
        if attempt >= len(retry_delays_s):
            raise MessageRejected(f"no served result for {fb.request_id} after {attempt + 1} tries "
                                  f"over {sum(retry_delays_s):.1f} s", "unjoinable")
        retry = JoinRetry(attempt=attempt + 1, due_at=time.time() + retry_delays_s[attempt],
                          source_topic=msg.topic, partition=msg.partition, offset=msg.offset,
                          key_b64=None if msg.key is None else base64.b64encode(msg.key).decode(),
                          payload_b64=base64.b64encode(msg.value or b"").decode())
        # keyed by request id: the retry is read on the partition that owns its `served` entry
        return [Output("retry", fb.request_id.encode(), retry.model_dump_json().encode())]

    def join(msg: RawMessage, attempt: int) -> list[Output]:
        fb = decode_model(msg.value, Feedback, MAX_FEEDBACK_BYTES)
        if attempt == 0 and msg.key != fb.request_id.encode():
            return retry_later(msg, fb, attempt)  # read on another key's partition: re-keyed first
        hit = served.get(fb.request_id)
        if hit is not None:
            return emit(hit["arms"], hit["unit"], feedback_delta(fb)) if hit["arms"] else []
        return retry_later(msg, fb, attempt)

    async def join_when_due(msg: RawMessage) -> list[Output]:
        # Records arrive roughly in due order, so waiting for the head one delays the others by
        # at most one backoff step (the wait is capped at the longest one); the join agent
        # itself never waits.
        retry = decode_model(msg.value, JoinRetry, 4 * 1024 * 1024)
        original = retry.message()  # a record of ours that fails here is dead-lettered as itself
        await asyncio.sleep(max(0.0, min(retry.due_at - time.time(), max(retry_delays_s))))
        outputs = await guarded_outputs("feedback-retry", lambda m: join(m, retry.attempt),
                                        original)
        return outputs

    def aggregate_delta(msg: RawMessage) -> list[Output]:
        item = decode_model(msg.value, ArmDelta, 64 * 1024)
        current = dict(arm_metrics.get(item.key) or {f: 0 for f in METRIC_FIELDS})
        unit = dict(unit_metrics.get(item.unit) or {f: 0 for f in UNIT_FIELDS})
        for name, value in item.delta.items():
            current[name] = current.get(name, 0) + value
            if name in UNIT_FIELDS:
                unit[name] += value
        arm_metrics[item.key] = current
        unit_metrics[item.unit] = unit
        return []

    register_event_agent(app, "feedback-served", declared.results,
                         guarded("feedback-served", remember_result), outputs, stream)
    register_event_agent(app, "feedback-join", declared.feedback,
                         guarded("feedback-join", lambda msg: join(msg, 0)), outputs, stream)
    register_event_agent(app, "feedback-retry", declared.retries,
                         guarded("feedback-retry", join_when_due), outputs, stream)
    register_event_agent(app, "arm-metrics", declared.deltas,
                         guarded("arm-metrics", aggregate_delta), outputs, stream)


def read_arm_metrics(bootstrap: str, app_id: str,
                     table: str = topics.ARM_METRICS) -> dict[str, dict[str, float]]:
    """Latest value of every key of a metrics table (``arm_metrics``: experiment|arm|window;
    ``unit_metrics``: experiment|arm|user) from its changelog."""
    from aislestream.connectors.kafka_io import read_changelog

    return read_changelog(bootstrap, topics.changelog(app_id, table))
