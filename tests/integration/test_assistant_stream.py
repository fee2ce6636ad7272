"""The assistant stream on a real broker: sessions in a faust Table survive a worker restart,
bad turns get error replies, records that are not turns are dead-lettered, ``aisle chat`` talks
to it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from aislestream.cli.main import cli
from aislestream.connectors.kafka_io import collect, produce
from aislestream.demo.assistant import await_replies
from aislestream.demo.chat import ChatClient
from aislestream.streams import topics
from aislestream.streams.assistant import encode_turn
from tests.integration.test_search_stream import worker_settings

pytestmark = pytest.mark.integration


def test_sessions_survive_a_worker_restart_and_bad_turns_get_error_replies(
        broker, tantivy_store, started_worker, tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path)
    worker = started_worker(settings)
    turns_topic = settings.topics.name(topics.ASSISTANT_TURNS)
    sessions = [f"s{i}" for i in range(6)]
    produce(broker, turns_topic, [encode_turn(s, 0, "I'm looking for sandals") for s in sessions]
            + [encode_turn(s, 1, "in red") for s in sessions]
            + [encode_turn("s0", 2, ""), encode_turn("s1", 2, "x" * 400),
               encode_turn("ghost", 3, "in red"), encode_turn("s2", 5, "in blue"),
               (b"junk", b"{not json")])
    bad = {("s0", 2), ("s1", 2), ("ghost", 3), ("s2", 5)}
    before = await_replies(settings, worker, {(s, t) for s in sessions for t in (0, 1)} | bad, 90)
    assert all(before[(s, 1)]["params"] == {"category": "sandals", "colour": "red"}
               for s in sessions)
    assert (before[("s0", 2)]["error_type"] == "empty_turn"
            and before[("s1", 2)]["error_type"] == "oversized_turn")
    assert (before[("ghost", 3)]["error_type"] == "unknown_session"
            and before[("s2", 5)]["error_type"] == "out_of_order")
    dead = collect(broker, [settings.topics.name(topics.ASSISTANT_DLQ)], 1, 30)
    assert json.loads(dead[0].value)["error_type"] == "not_json"

    worker.stop()  # the sessions live on only in the table's changelog
    worker = started_worker(settings)
    produce(broker, turns_topic, [encode_turn(s, 2, "something cheap") for s in sessions])
    after = await_replies(settings, worker, {(s, 2) for s in sessions}, 90)
    for s in sessions:
        params = after[(s, 2)]["params"]
        assert (params["category"] == "sandals" and params["colour"] == "red"
                and "price_max" in params), params
        assert after[(s, 2)]["products"]


def test_chat_client_holds_a_conversation(broker, tantivy_store, started_worker, tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path)
    started_worker(settings)
    client = ChatClient(broker, settings.topics, timeout_s=60)
    try:
        first = client.say("can you help me find something")
        assert first["question"] and not first["products"]
        empty = client.say("  ")
        # a rejected turn can be said again
        assert empty["error_type"] == "empty_turn" and client.turn == 1
        second = client.say("a kettle please")
        assert second["params"]["category"] == "kettle" and second["products"] and client.turn == 2
    finally:
        client.close()
    env = {"AISLE_BROKER__BOOTSTRAP_SERVERS": broker,
           "AISLE_TOPICS__PREFIX": settings.topics.prefix}
    scripted = CliRunner().invoke(cli, ["chat", "--say", "do you have a kettle", "--say", "in red"],
                                  env=env)
    assert scripted.exit_code == 0, scripted.output
    assert "category=kettle" in scripted.output and "colour=red" in scripted.output
