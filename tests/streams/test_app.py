import asyncio

import faust

from aislestream.settings import load_settings
from aislestream.streams import transport
from aislestream.streams.app import broker_url, create_app


def test_broker_url_lists_every_server_with_our_transport():
    assert broker_url("k1:9092, k2:9093") == "aislekafka://k1:9092;aislekafka://k2:9093"
    assert faust.transport.by_url("aislekafka://k1:9092") is transport.Transport


def test_worker_consumer_uses_the_configured_fetch_wait(tmp_path):
    settings = load_settings(stream={"fetch_max_wait_ms": 37, "session_timeout_s": 9.0})
    app = create_app(settings, "127.0.0.1:9", tmp_path)
    assert isinstance(app.transport, transport.Transport)

    async def build():  # aiokafka objects must be constructed inside a running loop
        return app.consumer._thread._create_worker_consumer(app.transport)

    consumer = asyncio.run(build())  # constructed, never started
    assert consumer._fetch_max_wait_ms == 37
    assert consumer._group_id == settings.stream.app_id
