"""Wire records of the search stream, with the validation every incoming message goes through.

Messages arrive as raw bytes and are decoded here, not by faust's serializer, so that a
malformed message becomes a dead letter with a reason instead of a log line and a skip.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from aislestream.errors import MessageRejected
from aislestream.settings import StreamSettings
from aislestream.streams.decoding import Identifier, OptionalIdentifier, decode_model

FILTER_FIELD = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _filter_field(name: str) -> str:
    """Filter keys become store field names: only lower-case identifiers can be one."""
    if not FILTER_FIELD.fullmatch(name):
        raise ValueError(f"filter field {name[:70]!r} is not a lower-case identifier "
                         "of at most 64 characters")
    return name


FilterField = Annotated[str, AfterValidator(_filter_field)]
FilterValue = Annotated[str, Field(min_length=1, max_length=256)]


class SearchQuery(BaseModel):
    """What a shopper typed, as the search front end publishes it."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    request_id: Identifier
    query: str
    user_id: OptionalIdentifier | None = None
    k: int | None = Field(default=None, ge=1)
    filters: dict[FilterField, FilterValue] = Field(default_factory=dict, max_length=16)
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
    """``message_ms`` is this message's own time in the worker: from the agent receiving it to its
    record being ready to send (the send itself cannot be inside the record it sends). The
    ``batch_*`` times are those of the whole batch it was processed in, not shares of it."""

    message_ms: float
    batch_size: int
    batch_validate_ms: float
    batch_expand_ms: float
    batch_retrieve_ms: float
    batch_total_ms: float


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
    # "hybrid" (BM25 + dense) or "lexical": what served the hits; an arm asking for hybrid on
    # a worker without a dense channel gets "lexical" here (None: a worker from before)
    retrieval: str | None = None
    hits: list[HitOut]
    latency_ms: StageLatency
    arms: dict[str, str] = Field(default_factory=dict)  # experiment -> arm (A/B layer)
    sent_at: float | None
    processed_at: float
    worker: str


def decode_query(raw: bytes | None, settings: StreamSettings) -> SearchQuery:
    """Parse and validate one message; raises MessageRejected with a reason a human can act on."""
    query = decode_model(raw, SearchQuery, settings.max_message_bytes)
    if len(query.query) > settings.max_query_chars:
        raise MessageRejected(
            f"query: {len(query.query)} characters, limit is {settings.max_query_chars}",
            "oversized"
        )
    if query.k is not None and query.k > settings.max_k:
        raise MessageRejected(f"k: {query.k} exceeds max_k={settings.max_k}", "invalid_field")
    if (query.price_min is not None and query.price_max is not None
            and query.price_min > query.price_max):
        raise MessageRejected("price_min is greater than price_max", "invalid_field")
    return query
