"""Shopper feedback joined with the experiment arms that served each query, as per-arm metrics.

Three agents, keyed so that every table write happens on the partition that owns the key:

  search.results  --(request id)-->  ``served`` table: arms, zero-result, latency of each query
                                     + one "query" delta per (experiment, arm)
  search.feedback --(request id)-->  join with ``served``: one "feedback" delta per arm
                                     (not served yet: re-queued a few times, then dead-lettered)
  arm deltas      --(experiment|arm)--> ``arm_metrics`` table: sums per arm and time window
                                      ``unit_metrics`` table: sums per arm and user

The tables' changelogs (``<app id>-arm_metrics-changelog``, ``<app id>-unit_metrics-changelog``)
are what ``aisle experiments report`` reads; the per-user sums let it test at the unit that was
randomised (a user's queries are not independent of each other).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import faust
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aislestream.errors import describe_validation_error
from aislestream.settings import Settings
from aislestream.streams import topics

log = logging.getLogger(__name__)
JOIN_RETRIES = 20
METRIC_FIELDS = ("queries", "zero_results", "latency_ms_sum", "impressions", "clicks", "carts",
                 "purchases", "converted_queries", "revenue", "revenue_sq", "clicked_queries")
UNIT_FIELDS = ("queries", "zero_results", "clicked_queries", "converted_queries", "revenue")


class Feedback(BaseModel):
    """What the front end reports after showing a result list: one record per query."""

    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(min_length=1, max_length=128)
    user_id: str | None = None
    impressions: int = Field(ge=0)
    clicks: int = Field(ge=0)
    carts: int = Field(ge=0)
    purchases: int = Field(ge=0)
    revenue: float = Field(ge=0)
    attempt: int = Field(default=0, ge=0)


def metrics_key(experiment: str, arm: str, window_s: float, at: float) -> str:
    return f"{experiment}|{arm}|{int(at // window_s * window_s)}"


def query_delta(result: dict) -> dict[str, float]:
    return {"queries": 1, "zero_results": int(not result["hits"]),
            "latency_ms_sum": float(result["latency_ms"]["total_ms"])}


def feedback_delta(fb: Feedback) -> dict[str, float]:
    return {"impressions": fb.impressions, "clicks": fb.clicks, "carts": fb.carts, "purchases": fb.purchases,
            "converted_queries": int(fb.purchases > 0), "clicked_queries": int(fb.clicks > 0),
            "revenue": fb.revenue, "revenue_sq": fb.revenue ** 2}


def register_feedback_agents(app: faust.App, settings: Settings, window_s: float = 60.0) -> None:
    t = settings.topics
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    results = app.topic(t.name(topics.SEARCH_RESULTS), **raw)
    feedback = app.topic(t.name(topics.SEARCH_FEEDBACK), **raw)
    dlq = app.topic(t.name(topics.SEARCH_FEEDBACK_DLQ), **raw)
    deltas = app.topic(t.name(topics.ARM_DELTAS), key_type=str, value_type=None, value_serializer="json")
    served = app.Table("served", default=None, partitions=t.partitions)
    arm_metrics = app.Table("arm_metrics", default=None, partitions=t.partitions)
    unit_metrics = app.Table("unit_metrics", default=None, partitions=t.partitions)

    async def emit(arms: dict[str, str], unit: str, delta: dict[str, float]) -> None:
        now = time.time()
        for experiment, arm in arms.items():
            await deltas.send(key=f"{experiment}|{arm}", value={
                "key": metrics_key(experiment, arm, window_s, now), "unit": f"{experiment}|{arm}|{unit}",
                "delta": delta})

    @app.agent(results, name="feedback-served")
    async def remember(stream: faust.Stream) -> None:
        async for key, value in stream.items():
            result = json.loads(value)
            unit = result.get("user_id") or result["request_id"]
            served[key.decode()] = {"arms": result.get("arms", {}), "unit": unit}
            if result.get("arms"):
                await emit(result["arms"], unit, query_delta(result))

    @app.agent(feedback, name="feedback-join")
    async def join(stream: faust.Stream) -> None:
        async for key, value in stream.items():
            try:
                fb = Feedback.model_validate_json(value)
            except ValidationError as exc:
                await dlq.send(key=key, value=json.dumps({"reason": describe_validation_error(exc),
                                                          "payload": value.decode("utf-8", "replace")}).encode())
                continue
            hit = served.get(fb.request_id)
            if hit is None:
                if fb.attempt >= JOIN_RETRIES:
                    await dlq.send(key=key, value=json.dumps({
                        "reason": f"no served result for {fb.request_id} after {fb.attempt} tries",
                        "payload": fb.model_dump_json()}).encode())
                else:  # the result may still be on its way through feedback-served
                    fb.attempt += 1
                    await asyncio.sleep(min(0.05 * fb.attempt, 0.5))
                    await feedback.send(key=key, value=fb.model_dump_json().encode())
                continue
            if hit["arms"]:
                await emit(hit["arms"], hit["unit"], feedback_delta(fb))

    @app.agent(deltas, name="arm-metrics")
    async def aggregate(stream: faust.Stream) -> None:
        async for item in stream:
            current = dict(arm_metrics.get(item["key"]) or {f: 0 for f in METRIC_FIELDS})
            unit = dict(unit_metrics.get(item["unit"]) or {f: 0 for f in UNIT_FIELDS})
            for field, value in item["delta"].items():
                current[field] = current.get(field, 0) + value
                if field in UNIT_FIELDS:
                    unit[field] += value
            arm_metrics[item["key"]] = current
            unit_metrics[item["unit"]] = unit


def metrics_topic(app_id: str, table: str = "arm_metrics") -> str:
    return f"{app_id}-{table}-changelog"


def read_arm_metrics(bootstrap: str, app_id: str, table: str = "arm_metrics") -> dict[str, dict[str, float]]:
    """Latest value of every key of a metrics table (``arm_metrics``: experiment|arm|window;
    ``unit_metrics``: experiment|arm|user) from its changelog."""
    from aislestream.connectors.kafka_io import read_changelog

    return read_changelog(bootstrap, metrics_topic(app_id, table))
