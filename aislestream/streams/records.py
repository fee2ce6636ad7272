"""Wire records of the search stream, with the validation every incoming message goes through.

Messages arrive as raw bytes and are decoded here, not by faust's serializer, so that a
malformed message becomes a dead letter with a reason instead of a log line and a skip.
"""

from __future__ import annotations

import base64
import json
import time

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aislestream.errors import MessageRejected, describe_validation_error
from aislestream.settings import StreamSettings

DLQ_MAX_PAYLOAD_BYTES = 1_000_000  # larger payloads stay at their source offset only


class SearchQuery(BaseModel):
    """What a shopper typed, as the search front end publishes it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    request_id: str = Field(min_length=1, max_length=128)
    query: str
    user_id: str | None = Field(default=None, max_length=128)
    k: int | None = Field(default=None, ge=1)
    filters: dict[str, str] = Field(default_factory=dict)
    price_min: float | None = Field(default=None, ge=0)
    price_max: float | None = Field(default=None, ge=0)
    query_type: str | None = Field(default=None, max_length=64)  # label, when known (replays)
    sent_at: float | None = None  # producer's epoch seconds, for end-to-end latency

    @field_validator("query")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query is empty")
        return value


class TermOut(BaseModel):
    term: str
    weight: float


class HitOut(BaseModel):
    id: str
    score: float
    title: str


class StageLatency(BaseModel):
    validate_ms: float
    expand_ms: float
    retrieve_ms: float
    total_ms: float


class SearchResult(BaseModel):
    request_id: str
    user_id: str | None
    query: str
    query_type: str | None
    expansion: list[TermOut]
    engine: str
    variant: str
    fallback: str | None  # why expansion was skipped, if it was
    cached: bool
    hits: list[HitOut]
    latency_ms: StageLatency
    arms: dict[str, str] = Field(default_factory=dict)  # experiment -> arm (A/B layer)
    sent_at: float | None
    processed_at: float
    worker: str


class DeadLetter(BaseModel):
    source_topic: str
    partition: int
    offset: int
    key: str | None
    error_type: str
    reason: str
    payload_b64: str | None  # the original bytes, so a fixed consumer can replay them
    payload_bytes: int
    failed_at: float


def decode_query(raw: bytes | None, settings: StreamSettings) -> SearchQuery:
    """Parse and validate one message; raises MessageRejected with a reason a human can act on."""
    if raw is None:
        raise MessageRejected("message has no value (tombstone)", "empty")
    if len(raw) > settings.max_message_bytes:
        raise MessageRejected(
            f"message is {len(raw)} bytes, limit is {settings.max_message_bytes}", "oversized"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MessageRejected(f"value is not UTF-8: {exc.reason} at byte {exc.start}", "not_utf8") from exc
    except json.JSONDecodeError as exc:
        raise MessageRejected(f"value is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                              "not_json") from exc
    if not isinstance(data, dict):
        raise MessageRejected(f"value must be a JSON object, got {type(data).__name__}", "not_object")
    try:
        query = SearchQuery.model_validate(data)
    except ValidationError as exc:
        raise MessageRejected(describe_validation_error(exc), "invalid_field") from exc
    if len(query.query) > settings.max_query_chars:
        raise MessageRejected(
            f"query: {len(query.query)} characters, limit is {settings.max_query_chars}", "oversized"
        )
    if query.k is not None and query.k > settings.max_k:
        raise MessageRejected(f"k: {query.k} exceeds max_k={settings.max_k}", "invalid_field")
    if query.price_min is not None and query.price_max is not None and query.price_min > query.price_max:
        raise MessageRejected("price_min is greater than price_max", "invalid_field")
    return query


def dead_letter(topic: str, partition: int, offset: int, key: bytes | None,
                raw: bytes | None, error: MessageRejected) -> DeadLetter:
    payload = raw or b""
    keep = raw is not None and len(payload) <= DLQ_MAX_PAYLOAD_BYTES
    return DeadLetter(
        source_topic=topic, partition=partition, offset=offset,
        key=key.decode("utf-8", "replace") if key is not None else None,
        error_type=error.error_type, reason=error.reason,
        payload_b64=base64.b64encode(payload).decode() if keep else None,
        payload_bytes=len(payload), failed_at=time.time(),
    )
