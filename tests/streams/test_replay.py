import json
import time

from aislestream.streams.replay import MALFORMED, paced, replay_messages


def test_replay_is_deterministic_and_mixes_in_malformed(small_world):
    first = list(replay_messages(small_world.queries, 200, 0.2, seed=3, run_id="r"))
    second = list(replay_messages(small_world.queries, 200, 0.2, seed=3, run_id="r"))
    assert [(k, m) for k, _, m in first] == [(k, m) for k, _, m in second]
    kinds = {m for _, _, m in first if m}
    assert kinds == {kind for kind, _ in MALFORMED}
    good = [json.loads(v) for _, v, m in first if m is None]
    assert all(g["request_id"].startswith("r-") and g["query"] and g["query_type"] for g in good)


def test_paced_restamps_valid_messages_and_keeps_bad_bytes(small_world):
    messages = list(replay_messages(small_world.queries, 30, 0.3, seed=1, run_id="p"))
    before = time.time()
    out = list(paced(messages, rate=0))
    assert [k for k, _ in out] == [k for k, _, _ in messages]
    for (key, value), (_, original, malformed) in zip(out, messages):
        if malformed:
            assert value == original
        else:
            assert json.loads(value)["sent_at"] >= before
