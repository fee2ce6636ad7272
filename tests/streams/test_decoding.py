"""The one decoding front half: every hostile byte string is a MessageRejected with a named type,
never another exception, on every input model."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aislestream.errors import MessageRejected
from aislestream.settings import StreamSettings
from aislestream.streams.ads import decode_request
from aislestream.streams.assistant import decode_turn
from aislestream.streams.decoding import (
    DLQ_MAX_KEY_BYTES,
    DLQ_MAX_PAYLOAD_BYTES,
    MAX_DEPTH,
    dead_letter,
    decode_model,
    decode_object,
)
from aislestream.streams.feedback import Feedback, ServedResult
from aislestream.streams.records import decode_query

ERROR_TYPES = {"empty", "oversized", "not_utf8", "not_json", "too_deep", "not_object",
               "invalid_field"}
DECODERS = {
    "query": lambda raw: decode_query(raw, StreamSettings()),
    "ad": lambda raw: decode_request(raw, StreamSettings()),
    "turn": decode_turn,
    "feedback": lambda raw: decode_model(raw, Feedback, 4096),
    "result": lambda raw: decode_model(raw, ServedResult, 1 << 20),
}


def rejected(raw: bytes | None, decoder=DECODERS["query"]) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        decoder(raw)
    return caught.value


def test_deeply_nested_json_is_too_deep_not_a_recursion_error():
    raw = b'{"request_id": "r", "query": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    for name, decoder in DECODERS.items():
        assert rejected(raw, decoder).error_type in {"too_deep", "oversized"}, name
    assert rejected(b'{"a":' + b"[" * 100 + b"]" * 100 + b"}",
                    lambda r: decode_object(r, 1 << 20)).error_type == "too_deep"
    assert decode_object(b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}", 1 << 20)


def test_a_lone_surrogate_is_not_utf8_text():
    error = rejected(b'{"request_id": "r1", "query": "x \\udfff"}')
    assert error.error_type == "not_utf8" and "U+DFFF" in error.reason and "query" in error.reason
    assert rejected(b'{"request_id": "r1", "query": "ok", "\\ud800": 1}').error_type == "not_utf8"
    # a proper surrogate pair is one character and fine
    assert decode_query(b'{"request_id": "r1", "query": "\\ud83d\\ude00 shoes"}',
                        StreamSettings()).query


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 5000])
def test_non_finite_numbers_are_not_json(number):
    raw = b'{"request_id": "r", "query": "q", "price_max": ' + number + b"}"
    assert rejected(raw, lambda r: decode_object(r, 1 << 20)).error_type == "not_json"


@pytest.mark.parametrize("field, value", [("request_id", "a\x00b"), ("request_id", "a\nb"),
                                          ("user_id", "u\x00")])
def test_control_characters_in_ids_are_invalid(field, value):
    raw = json.dumps({"request_id": "r", "query": "q", field: value}).encode()
    assert rejected(raw).error_type == "invalid_field"


def test_ad_ids_refuse_nul_and_paths_keep_their_text():
    ok = {"request_id": "../../../x", "product_id": "p1", "shape": "ball", "colour": "red"}
    assert decode_request(json.dumps(ok).encode(), StreamSettings()).request_id == "../../../x"
    bad = {**ok, "product_id": "p\x001"}
    assert rejected(json.dumps(bad).encode(), DECODERS["ad"]).error_type == "invalid_field"


@pytest.mark.parametrize("filters", [{"": "red"}, {"Colour": "red"}, {"a b": "x"}, {"colour": ""}])
def test_unusable_filter_keys_are_invalid_fields(filters):
    raw = json.dumps({"request_id": "r", "query": "q", "filters": filters}).encode()
    assert rejected(raw).error_type == "invalid_field"


@pytest.mark.parametrize("record, error", [
    ({"clicks": "999"}, "clicks"),
    ({"clicks": 5, "impressions": 3}, "exceed impressions"),
    ({"revenue": 1e200}, "revenue"),
])
def test_feedback_is_strict_and_consistent(record, error):
    base = {"request_id": "r", "impressions": 10, "clicks": 1, "carts": 0, "purchases": 0,
            "revenue": 0.0}
    caught = rejected(json.dumps({**base, **record}).encode(), DECODERS["feedback"])
    assert caught.error_type == "invalid_field" and error in caught.reason


def test_feedback_cannot_set_its_own_retry_count():
    raw = json.dumps({"request_id": "r", "impressions": 1, "clicks": 0, "carts": 0, "purchases": 0,
                      "revenue": 0, "attempt": 19}).encode()
    assert not hasattr(decode_model(raw, Feedback, 4096), "attempt")


def test_a_tombstone_result_is_empty():
    assert rejected(None, DECODERS["result"]).error_type == "empty"


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.none(), st.binary(max_size=300),
                     st.recursive(st.none() | st.booleans() | st.floats() | st.integers()
                                  | st.text(max_size=20),
                                  lambda children: st.lists(children, max_size=4)
                                  | st.dictionaries(st.text(max_size=10), children, max_size=4),
                                  max_leaves=30).map(lambda v: json.dumps(v).encode())))
def test_any_bytes_decode_or_are_rejected_with_a_known_type(raw):
    for name, decoder in DECODERS.items():
        try:
            decoder(raw)
        except MessageRejected as error:
            assert error.error_type in ERROR_TYPES, (name, error.error_type)


@settings(max_examples=100, deadline=None)
@given(fields=st.dictionaries(
    st.sampled_from(["request_id", "query", "user_id", "k", "filters", "price_max"]),
    st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.none()), max_size=6))
def test_every_accepted_query_serialises_back_to_utf8(fields):
    raw = json.dumps(fields, ensure_ascii=True).encode()
    try:
        query = decode_query(raw, StreamSettings())
    except MessageRejected:
        return
    query.model_dump_json().encode("utf-8")


def test_dead_letter_of_a_huge_message_stays_under_the_producer_limit():
    raw = b"x" * 2_000_000
    key = b"k" * 900_000
    letter = dead_letter("search.queries", 1, 7, key, raw, MessageRejected("big", "oversized"),
                         attempts=2)
    encoded = letter.model_dump_json().encode()
    assert len(encoded) < 500_000
    assert letter.payload_truncated and letter.payload_bytes == 2_000_000
    assert letter.payload_sha256 == hashlib.sha256(raw).hexdigest()
    assert base64.b64decode(letter.payload_b64) == raw[:DLQ_MAX_PAYLOAD_BYTES]
    assert len(letter.key) <= DLQ_MAX_KEY_BYTES and letter.key.startswith("sha256:")
    assert letter.attempts == 2


def test_dead_letter_of_a_small_message_keeps_every_byte():
    letter = dead_letter("t", 0, 1, b"key", b"{broken", MessageRejected("bad", "not_json"))
    assert base64.b64decode(letter.payload_b64) == b"{broken" and not letter.payload_truncated
    assert (letter.key, letter.payload_bytes, letter.error_type) == ("key", 7, "not_json")
