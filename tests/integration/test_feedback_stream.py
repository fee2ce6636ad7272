"""Feedback joined with the arms that served each query, aggregated per arm, on a real broker."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest

from aislestream.connectors.kafka_io import collect, produce, read_changelog, read_to_end
from aislestream.demo.replay import replay_messages
from aislestream.demo.shoppers import feedback_batch
from aislestream.evaluation.experiment_report import analyse
from aislestream.models.world.behaviour import BehaviourSimulator
from aislestream.streams import topics
from aislestream.streams.experiments.config_table import publish
from aislestream.streams.experiments.schema import parse_experiment
from aislestream.streams.feedback import read_arm_metrics
from tests.integration.test_search_stream import worker_settings

pytestmark = pytest.mark.integration


def test_feedback_is_joined_with_arms_and_bad_feedback_is_dead_lettered(
        broker, tantivy_store, small_world, started_worker, tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path, engine="identity")
    experiment = parse_experiment({"id": "fb", "layer": "search.expansion", "salt": "fb", "arms": [
        {"name": "control", "share": 0.5, "params": {"expander": "identity"}},
        {"name": "prf", "share": 0.5, "params": {"expander": "prf"}}]})
    publish(broker, settings.stream.app_id, settings.topics, [experiment])
    worker = started_worker(settings)
    messages = list(replay_messages(small_world.queries, 300, seed=3, run_id="fb"))
    # replay's own picks
    picks = np.random.default_rng(3).integers(len(small_world.queries), size=300)
    labelled = {f"fb-{i}": small_world.queries[int(picks[i])] for i in range(300)}
    produce(broker, settings.topics.name(topics.SEARCH_QUERIES), ((k, v) for k, v, _ in messages))
    wanted = {k for k, _, _ in messages}
    got = collect(broker, [settings.topics.name(topics.SEARCH_RESULTS)], 10**9, 90,
                  stop=lambda rs: wanted <= {r.key for r in rs} or worker.check_alive())
    results = [json.loads(r.value) for r in got if r.key in wanted]
    assert len(results) == 300

    simulator = BehaviourSimulator({p.id: p for p in small_world.products},
                                   {u.id: u for u in small_world.users}, seed=0)
    feedback = feedback_batch(results, labelled, simulator)
    bad = [(b"nobody", json.dumps({"request_id": "never-served", "impressions": 1, "clicks": 0,
                                   "carts": 0, "purchases": 0, "revenue": 0,
                                   "attempt": 19}).encode()),
           (b"junk", b"{not json")]
    produce(broker, settings.topics.name(topics.SEARCH_FEEDBACK), feedback + bad)
    # the join reads results too: a tombstone or garbage there costs only itself
    produce(broker, settings.topics.name(topics.SEARCH_RESULTS),
            [(b"tomb", None), (b"garbage", b"\xff{")])

    deadline, metrics = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        metrics = read_arm_metrics(broker, settings.stream.app_id)
        impressions = sum(v.get("impressions", 0) for v in metrics.values())
        if impressions == sum(json.loads(v)["impressions"] for _, v in feedback):
            break
        time.sleep(1)
    report = analyse(experiment, metrics)
    # + the worker's readiness probe
    assert sum(a["queries"] for a in report["arms"].values()) == 300 + 1
    expected_clicks = sum(json.loads(v)["clicks"] > 0 for _, v in feedback)
    assert sum(report["arms"][a]["ctr"] * report["arms"][a]["queries"] for a in report["arms"]) == \
        pytest.approx(expected_clicks)
    assert report["srm_ok"] and "prf" in report["comparisons"]
    units = read_arm_metrics(broker, settings.stream.app_id, topics.UNIT_METRICS)
    by_user = analyse(experiment, metrics, units=units)
    assert by_user["test_unit"] == "user (delta method)" and "prf" in by_user["comparisons"]
    assert sum(v["queries"] for v in units.values()) == 300 + 1
    assert len(units) == len({r["user_id"] for r in results}) + 1  # users, + the probe's request id
    letters = collect(broker, [settings.topics.name(topics.SEARCH_FEEDBACK_DLQ)], 4, 30)
    letters = sorted((json.loads(r.value) for r in letters),
                     key=lambda d: (d["error_type"], d["key"]))
    assert [(d["error_type"], d["key"]) for d in letters] == [
        ("empty", "tomb"), ("not_json", "junk"), ("not_utf8", "garbage"), ("unjoinable", "nobody")]
    assert (letters[0]["source_topic"] == letters[2]["source_topic"]
            == settings.topics.name(topics.SEARCH_RESULTS))
    assert "no served result for never-served after 6 tries" in letters[3]["reason"]
    assert letters[3]["source_topic"] == settings.topics.name(topics.SEARCH_FEEDBACK)
    assert base64.b64decode(letters[1]["payload_b64"]) == b"{not json"  # the original bytes, kept
    # the unjoinable record waited on the retry topic, five times, not in the join agent
    retries = read_to_end(broker, settings.topics.name(topics.SEARCH_FEEDBACK_RETRY))
    # keyed by its request id (its producer keyed it "nobody"), so it is read where `served` has
    # that id
    assert sorted(json.loads(r.value)["attempt"] for r in retries
                  if r.key == b"never-served") == [1, 2, 3, 4, 5]


def test_served_entries_expire_after_their_ttl(
        broker, tantivy_store, small_world, started_worker, tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path, engine="identity")
    settings.stream.served_ttl_s = 2.0
    worker = started_worker(settings)
    messages = list(replay_messages(small_world.queries, 50, seed=4, run_id="ttl"))
    produce(broker, settings.topics.name(topics.SEARCH_QUERIES), ((k, v) for k, v, _ in messages))
    wanted = {k for k, _, _ in messages}
    collect(broker, [settings.topics.name(topics.SEARCH_RESULTS)], 10**9, 90,
            stop=lambda rs: wanted <= {r.key for r in rs} or worker.check_alive())
    changelog = topics.changelog(settings.stream.app_id, topics.SERVED)

    def eventually(check, timeout_s: float = 60.0):
        deadline = time.monotonic() + timeout_s
        while not (value := check()) and time.monotonic() < deadline:
            time.sleep(1)
        return value

    def all_written() -> bool:
        written = {json.loads(r.key) for r in read_to_end(broker, changelog) if r.key}
        return {k.decode() for k in wanted} <= written

    assert eventually(all_written), "the served table never held the results"
    assert eventually(lambda: not any(k.startswith("ttl-")
                                      for k in read_changelog(broker, changelog))), \
        "served entries outlived their TTL"
