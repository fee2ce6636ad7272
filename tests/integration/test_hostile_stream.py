"""A few hundred hostile messages per input topic through one real worker (search, ads, assistant,
feedback): one output per message, no worker exit, no file outside the data directories."""

from __future__ import annotations

import pytest

from aislestream.bench.hostile import run_hostile
from aislestream.bench.hostile_corpus import hostile_corpus
from aislestream.connectors.broker import ensure_topics
from aislestream.streams.topics import topic_specs
from tests.integration.test_search_stream import ads_worker_settings

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)
def test_hostile_messages_on_every_topic_cost_only_themselves(
        broker, tantivy_store, micro_ads, tmp_path):
    settings = ads_worker_settings(broker, tantivy_store.path, tmp_path, micro_ads)
    # deep enough that "../../../x" from the image directory still lands inside tmp_path, where it
    # is seen
    settings.ads.store_path = tmp_path / "a" / "b" / "adstore"
    settings.assistant.engine = "rules"
    ensure_topics(broker, topic_specs(settings.topics))
    escape = tmp_path / "escape"
    corpus = hostile_corpus(200, seed=1, escape_dir=escape, run_id=settings.stream.app_id)

    report = run_hostile(settings, corpus, scan_root=tmp_path, timeout_s=240)

    print(report)
    assert report["worker_exits"] == 0, report["exit_codes"]
    assert report["files_outside_data_dir"] == 0, report["files_outside"]
    assert not escape.exists()
    for topic, outcome in report["per_topic"].items():
        assert outcome["messages"] == 200
        assert outcome["lost"] == 0, (topic, outcome)
        assert outcome["duplicates"] == 0, (topic, outcome)
        assert outcome["results"] + outcome["dead_letters"] == 200, (topic, outcome)
    assert report["per_topic"]["search.queries"]["results"] > 0
    assert report["per_topic"]["ads.requests"]["results"] > 0
