"""The assistant processor's session logic, with a dict as the table (the faust Table and a
worker restart are covered in tests/integration/test_assistant_stream.py)."""

import asyncio
import time

import pytest

from aislestream.engines.assistant.rules import RuleAssistant
from aislestream.errors import MessageRejected
from aislestream.settings import AssistantSettings
from aislestream.streams.assistant import (
    AssistantProcessor,
    AssistantTurn,
    decode_turn,
    idle_past_ttl,
)


def turn(session: str, n: int, text: str) -> AssistantTurn:
    return AssistantTurn(session_id=session, turn=n, text=text)


@pytest.fixture
def processor(tantivy_store):
    return AssistantProcessor(RuleAssistant(tantivy_store),
                              AssistantSettings(session_ttl_s=60, max_turn_chars=40), {},
                              worker_id="w")


def say(processor, *turns):
    return [asyncio.run(processor.handle(t)) for t in turns]


def test_a_session_accumulates_parameters_and_finds_products(processor):
    first, second = say(processor, turn("s", 0, "I need sandals"),
                        turn("s", 1, "something cheap in red"))
    assert first["params"] == {"category": "sandals"} and first["question"] is None
    assert second["params"]["colour"] == "red" and "price_max" in second["params"]
    assert second["products"] and all(p["title"] for p in second["products"])
    assert processor.sessions["s"]["next_turn"] == 2


def test_bad_turns_get_an_error_reply_and_leave_the_session_alone(processor):
    say(processor, turn("s", 0, "I need sandals"))
    replies = say(processor, turn("s", 1, "   "), turn("s", 1, "x" * 41), turn("s", 3, "in red"),
                  turn("never", 2, "in red"))
    assert [r["error_type"] for r in replies] == ["empty_turn", "oversized_turn", "out_of_order",
                                                  "unknown_session"]
    assert all(r["error"] and r["params"] == {} for r in replies)
    assert processor.sessions["s"]["next_turn"] == 1 and "never" not in processor.sessions


def test_a_redelivered_turn_gets_its_stored_reply_and_turn_zero_starts_over(processor):
    first, again = say(processor, turn("s", 0, "I need sandals"), turn("s", 0, "I need sandals"))
    assert again == first and processor.counts["redelivered"] == 1
    red, = say(processor, turn("s", 1, "in red"))
    stale, red_again = say(processor, turn("s", 1, "in blue"), turn("s", 1, "in red"))
    assert stale["error_type"] == "stale_turn" and red_again == red
    restart, = say(processor, turn("s", 0, "do you have a kettle"))
    assert restart["params"] == {"category": "kettle"} and processor.sessions["s"]["next_turn"] == 1


def test_idle_sessions_expire(processor):
    say(processor, turn("s", 0, "I need sandals"))
    processor.sessions["s"]["last_seen"] -= 61
    assert say(processor, turn("s", 1, "in red"))[0]["error_type"] == "unknown_session"
    assert idle_past_ttl(processor.sessions["s"], processor.settings, time.time())


@pytest.mark.parametrize("raw, error_type", [
    (b"{not json", "not_json"), (b'{"turn": 0, "text": "hi"}', "invalid_field"),
    (b'{"session_id": "s", "turn": -1, "text": "hi"}', "invalid_field"), (None, "empty")])
def test_records_that_are_not_turns_are_rejected_with_a_reason(raw, error_type):
    with pytest.raises(MessageRejected) as err:
        decode_turn(raw)
    assert err.value.error_type == error_type and err.value.reason


def test_an_engine_failure_is_an_error_reply_not_a_crash(processor):
    class Broken:
        name = "broken"

        def respond(self, state, text):
            raise RuntimeError("store unreachable")

    processor.assistant = Broken()
    reply, = say(processor, turn("s", 0, "I need sandals"))
    assert reply["error_type"] == "engine_error" and "store unreachable" in reply["error"]
    assert "s" not in processor.sessions
