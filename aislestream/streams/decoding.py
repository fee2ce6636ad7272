"""The one decoding front half every input topic goes through, and the one dead-letter record.

Every message is hostile until decoded: bytes -> size limit -> UTF-8 -> JSON (finite numbers
only, nesting bounded) -> a JSON object -> every string encodable as UTF-8 -> a strict pydantic
model. Each step has one ``error_type`` name, the same on every topic (search, ads, assistant,
feedback, the results the join reads), so a dead-letter dashboard groups them the same way:

  empty          no value (a tombstone)
  oversized      more bytes (or characters) than the topic's limit
  not_utf8       bytes that are not UTF-8, or a string holding a lone surrogate (valid JSON
                 escapes such as "\\udfff" that no UTF-8 encoder can write back out)
  not_json       not JSON, or a non-finite number (NaN, Infinity, 1e400)
  too_deep       nested deeper than the limit (a 10 KB message of brackets raises RecursionError
                 in the standard decoder)
  not_object     valid JSON that is not an object
  invalid_field  the object does not fit the record's model
  internal_error the worker failed on this message (a bug); the message is kept, not lost
  quarantined    the message was in flight in every one of the worker's last N crashes

and, past decoding, one per stage: ``retrieval_failed`` (the search store refused this request),
``store_refused`` (the ad store refused its row or file), ``unavailable_variant`` (its experiment
arm names a variant this worker cannot build), ``unjoinable`` (feedback whose query was never
served). Reasons are redacted (a DSN in a driver's message) and cut to 2,000 characters.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from aislestream.errors import MessageRejected, describe_validation_error
from aislestream.redact import redact

MAX_DEPTH = 16  # every record here is flat or one level deep; 16 leaves room without risk
# The dead-letter record keeps at most this many original bytes: base64 makes 4/3 of it, which
# with the other fields stays far below the producer's 1,000,000-byte request limit.
DLQ_MAX_PAYLOAD_BYTES = 256 * 1024
DLQ_MAX_REASON_CHARS = 2_000
DLQ_MAX_KEY_BYTES = 1_024  # longer keys are replaced by their digest in the record and as its key

Model = TypeVar("Model", bound=BaseModel)


def _no_control(value: str) -> str:
    """Ids name rows, files and cache keys: NUL and other control characters break them."""
    bad = next((c for c in value if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise ValueError(f"contains the control character U+{ord(bad):04X}")
    return value


Identifier = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_no_control)]
OptionalIdentifier = Annotated[str, Field(max_length=128), AfterValidator(_no_control)]


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} does not fit a finite float")
    return value


def _check_tree(data: object, max_depth: int) -> None:
    """Depth and text of a parsed value, iteratively (a recursive walk is what we guard against)."""
    stack: list[tuple[object, int, str]] = [(data, 1, "value")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _check_text(node, path)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            raise MessageRejected(f"{path}: nested deeper than {max_depth} levels", "too_deep")
        if isinstance(node, dict):
            for key, value in node.items():
                _check_text(key, f"{path} key")
                stack.append((value, depth + 1,
                              str(key)[:64] if depth == 1 else f"{path}.{str(key)[:64]}"))
        else:
            stack.extend((value, depth + 1, f"{path}[{i}]") for i, value in enumerate(node))


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = text[exc.start]
        raise MessageRejected(f"{path}: holds the lone surrogate U+{ord(char):04X}, "
                              "which is not UTF-8 text", "not_utf8") from None


def decode_object(raw: bytes | None, max_bytes: int, max_depth: int = MAX_DEPTH) -> dict:
    """Bytes to a JSON object whose every string is UTF-8 text; raises MessageRejected."""
    if raw is None:
        raise MessageRejected("message has no value (tombstone)", "empty")
    if len(raw) > max_bytes:
        raise MessageRejected(f"message is {len(raw)} bytes, limit is {max_bytes}", "oversized")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageRejected(f"value is not UTF-8: {exc.reason} at byte {exc.start}",
                              "not_utf8") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise MessageRejected(f"value is not JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}", "not_json") from None
    except ValueError as exc:  # from the number hooks
        raise MessageRejected(f"value is not JSON: {exc}", "not_json") from None
    except RecursionError:
        raise MessageRejected(f"value: nested deeper than {max_depth} levels", "too_deep") from None
    if not isinstance(data, dict):
        raise MessageRejected(f"value must be a JSON object, got {type(data).__name__}",
                              "not_object")
    _check_tree(data, max_depth)
    return data


def decode_model(raw: bytes | None, model: type[Model], max_bytes: int,
                 max_depth: int = MAX_DEPTH) -> Model:
    """The whole front half: bytes to a validated record of ``model``."""
    data = decode_object(raw, max_bytes, max_depth)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MessageRejected(describe_validation_error(exc), "invalid_field") from None


class DeadLetter(BaseModel):
    """What a dead-letter topic holds: why, where from, how often tried, and the original bytes
    (cut to a size the producer accepts; the full size and digest say what was cut)."""

    source_topic: str
    partition: int
    offset: int
    key: str | None
    error_type: str
    reason: str
    attempts: int = 1
    payload_b64: str | None  # None for a tombstone
    payload_bytes: int
    payload_sha256: str | None
    payload_truncated: bool
    failed_at: float


def safe_key(key: bytes | None) -> bytes | None:
    """A Kafka key fit to publish again: long keys become their digest (a 900 KB key would make
    every record keyed by it too big to send)."""
    if key is None or len(key) <= DLQ_MAX_KEY_BYTES:
        return key
    return b"sha256:" + hashlib.sha256(key).hexdigest().encode()


def dead_letter(topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None,
                error: MessageRejected, attempts: int = 1) -> DeadLetter:
    payload = raw or b""
    kept = payload[:DLQ_MAX_PAYLOAD_BYTES]
    printable_key = safe_key(key)
    return DeadLetter(
        source_topic=topic, partition=partition, offset=offset,
        key=printable_key.decode("utf-8", "replace") if printable_key is not None else None,
        error_type=error.error_type, reason=redact(error.reason)[:DLQ_MAX_REASON_CHARS],
        attempts=attempts, payload_b64=base64.b64encode(kept).decode() if raw is not None else None,
        payload_bytes=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest() if raw is not None else None,
        payload_truncated=len(kept) < len(payload), failed_at=time.time(),
    )
