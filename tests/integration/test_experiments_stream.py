"""Experiments on a real broker: a running worker picks up a changed traffic share within
seconds, with no restart, and every result carries the arm that served it."""

from __future__ import annotations

import json
import time

import pytest

from aislestream.connectors.kafka_io import collect, produce
from aislestream.streams import topics
from aislestream.streams.experiments.assign import arm_for
from aislestream.streams.experiments.config_table import publish, published
from aislestream.streams.experiments.schema import parse_experiment
from tests.integration.test_search_stream import worker_settings

pytestmark = pytest.mark.integration


def experiment(control_share: float):
    return parse_experiment({"id": "hot", "layer": "search.expansion", "salt": "hot-salt", "arms": [
        {"name": "control", "share": control_share, "params": {"expander": "identity"}},
        {"name": "prf", "share": round(1 - control_share, 6), "params": {"expander": "prf"}}]})


def send_and_collect(settings, run: str, users: list[str], worker) -> list[dict]:
    keys = [f"{run}-{i}".encode() for i in range(len(users))]
    produce(settings.broker.bootstrap_servers, settings.topics.name(topics.SEARCH_QUERIES),
            [(k, json.dumps({"request_id": k.decode(), "query": "blue kettle",
                             "user_id": u}).encode())
             for k, u in zip(keys, users)])
    wanted = set(keys)
    got = collect(settings.broker.bootstrap_servers, [settings.topics.name(topics.SEARCH_RESULTS)],
                  10**9, 60, stop=lambda rs: wanted <= {r.key for r in rs} or worker.check_alive())
    return [json.loads(r.value) for r in got if r.key in wanted]


def test_a_changed_share_takes_effect_live(broker, tantivy_store, started_worker, tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path, engine="identity")
    before, after = experiment(0.9), experiment(0.1)
    publish(broker, settings.stream.app_id, settings.topics, [before])
    worker = started_worker(settings)
    users = [f"user-{i}" for i in range(200)]
    first = send_and_collect(settings, "before", users, worker)
    assert len(first) == len(users)
    for r in first:
        assert r["arms"] == {"hot": arm_for(before, r["user_id"]).name}
        assert r["engine"] == ("prf" if r["arms"]["hot"] == "prf" else "identity")

    publish(broker, settings.stream.app_id, settings.topics, [after])
    assert published(broker, settings.stream.app_id)["hot"].arms[0].share == 0.1
    mover = next(u for u in users if arm_for(before, u).name != arm_for(after, u).name)
    changed_at, deadline, attempt = time.monotonic(), time.monotonic() + 30, 0
    while time.monotonic() < deadline:  # one user whose arm the change moves: poll until it moves
        (probe,) = send_and_collect(settings, f"probe{attempt}", [mover], worker)
        attempt += 1
        if probe["arms"]["hot"] == arm_for(after, mover).name:
            break
    took = time.monotonic() - changed_at
    assert took < 10, f"the new share took {took:.1f}s to apply"
    second = send_and_collect(settings, "after", users, worker)
    assert all(r["arms"] == {"hot": arm_for(after, r["user_id"]).name} for r in second)
    share = sum(r["arms"]["hot"] == "prf" for r in second) / len(second)
    assert 0.8 < share < 0.97 and worker.alive()
