"""An ad-store outage stops only the ads agent: search goes on, ad requests wait and are answered
once PostgreSQL is back. The outage is real: the worker reaches PostgreSQL through a TCP proxy
that the test takes away (every connection cut, the port closed) and gives back."""

from __future__ import annotations

import json
import time

import pytest

from aislestream.connectors.kafka_io import collect, produce
from aislestream.demo.replay import replay_messages
from aislestream.streams import topics
from tests.integration.test_search_stream import ads_worker_settings
from tests.postgres import fresh_schema, schema_dsn
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def proxied_schema():
    with fresh_schema("outage") as schema:
        proxy = TcpProxy()
        yield proxy, schema_dsn(schema, proxy.port)
        if proxy._running:
            proxy.down()


def ad(request_id: str) -> tuple[bytes, bytes]:
    return request_id.encode(), json.dumps({"request_id": request_id, "product_id": "p1",
                                            "shape": "ball", "colour": "red"}).encode()


@pytest.mark.timeout(600)
def test_search_goes_on_while_the_ad_store_is_down_and_ads_resume_after(
        broker, tantivy_store, small_world, micro_ads, started_worker, proxied_schema, tmp_path):
    proxy, dsn = proxied_schema
    settings = ads_worker_settings(broker, tantivy_store.path, tmp_path, micro_ads)
    settings.ads.store, settings.ads.postgres_dsn = "postgres", dsn
    worker = started_worker(settings)
    creatives = settings.topics.name(topics.ADS_CREATIVES)

    produce(broker, settings.topics.name(topics.ADS_REQUESTS), [ad("before")])
    assert collect(broker, [creatives], 1, 120,
                   stop=worker.check_alive), "no creative before the outage"

    proxy.down()  # PostgreSQL is gone for the worker
    produce(broker, settings.topics.name(topics.ADS_REQUESTS),
            [ad(f"during-{i}") for i in range(3)])
    queries = list(replay_messages(small_world.queries, 40, seed=9, run_id="outage"))
    produce(broker, settings.topics.name(topics.SEARCH_QUERIES), ((k, v) for k, v, _ in queries))
    wanted = {k for k, _, _ in queries}
    got = collect(broker, [settings.topics.name(topics.SEARCH_RESULTS)], 10**9, 90,
                  stop=lambda rs: wanted <= {r.key for r in rs} or worker.check_alive())
    assert wanted <= {r.key for r in got}, "search stopped with the ad store"
    time.sleep(5)
    waiting = [r for r in collect(broker, [creatives, settings.topics.name(topics.ADS_DLQ)],
                                  10**9, 5)
               if r.key and r.key.startswith(b"during-")]
    assert not waiting, "requests were answered (or dead-lettered) while the store was down"

    proxy.up()  # back: the waiting batch is retried and answered
    during = {f"during-{i}".encode() for i in range(3)}
    got = collect(broker, [creatives], 10**9, 120,
                  stop=lambda rs: during <= {r.key for r in rs} or worker.check_alive())
    assert during <= {r.key for r in got}
    assert worker.alive()
    assert "waits for a dependency" in worker.log_tail(2000)
