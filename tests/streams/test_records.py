import base64
import json

import pytest

from aislestream.demo.replay import MALFORMED
from aislestream.errors import MessageRejected
from aislestream.settings import StreamSettings
from aislestream.streams.decoding import dead_letter
from aislestream.streams.records import decode_query

SETTINGS = StreamSettings(max_message_bytes=1024, max_query_chars=50, max_k=20)


def encode(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_valid_query_decodes_with_defaults():
    q = decode_query(encode(request_id="r1", query="red shoes", extra_field="ignored"), SETTINGS)
    assert (q.request_id, q.query, q.k, q.filters, q.user_id) == ("r1", "red shoes", None, {}, None)


@pytest.mark.parametrize("raw, error_type, reason", [
    (None, "empty", "tombstone"),
    (b"x" * 2000, "oversized", "2000 bytes, limit is 1024"),
    (b"\xff\xfe", "not_utf8", "not UTF-8"),
    (b"{nope", "not_json", "not JSON"),
    (b"[1, 2]", "not_object", "got list"),
    (encode(query="shoes"), "invalid_field", "request_id: Field required"),
    (encode(request_id="r", query=42), "invalid_field", "query: Input should be a valid string"),
    (encode(request_id="r", query="  "), "invalid_field", "query is empty"),
    (encode(request_id="r", query="q", k="10"), "invalid_field",
     "k: Input should be a valid integer"),
    (encode(request_id="r", query="q", k=0), "invalid_field",
     "k: Input should be greater than or equal to 1"),
    (encode(request_id="r", query="q", k=50), "invalid_field", "k: 50 exceeds max_k=20"),
    (encode(request_id="r", query="y" * 51), "oversized", "51 characters, limit is 50"),
    (encode(request_id="r", query="q", filters={"colour": 1}), "invalid_field", "filters.colour"),
    (encode(request_id="r", query="q", price_min=10.0, price_max=5.0), "invalid_field",
     "price_min is greater"),
])
def test_bad_messages_are_rejected_with_a_reason(raw, error_type, reason):
    with pytest.raises(MessageRejected) as caught:
        decode_query(raw, SETTINGS)
    assert caught.value.error_type == error_type
    assert reason in caught.value.reason


def test_every_replay_malformed_kind_is_rejected():
    for kind, raw in MALFORMED:
        with pytest.raises(MessageRejected):
            decode_query(raw, StreamSettings())


def test_dead_letter_keeps_the_original_bytes():
    raw = b"{broken"
    letter = dead_letter("search.queries", 2, 41, b"key-1", raw, MessageRejected("bad", "not_json"))
    assert base64.b64decode(letter.payload_b64) == raw
    assert ((letter.partition, letter.offset, letter.key, letter.payload_bytes)
            == (2, 41, "key-1", 7))
