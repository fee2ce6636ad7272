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


class FlakyBroker:
    """Accepts sends but fails delivery ``failures`` times, like a broker that is briefly away."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[bytes] = []

    async def send(self, output):
        future = asyncio.get_running_loop().create_future()
        if self.failures > 0:
            self.failures -= 1
            future.set_exception(ConnectionError("broker went away"))
        else:
            self.delivered.append(output.key)
            future.set_result(None)
        return future


def outputs(n):
    from aislestream.streams.pipeline import Output

    return [Output("result", f"r{i}".encode(), b"{}") for i in range(n)]


def test_deliver_retries_the_batch_until_the_broker_has_it():
    from aislestream.streams.app import deliver

    broker = FlakyBroker(failures=2)
    asyncio.run(deliver(broker.send, outputs(3), attempts=3, first_delay_s=0.001))
    assert set(broker.delivered) == {b"r0", b"r1", b"r2"}


def test_deliver_gives_up_after_the_configured_attempts():
    import pytest

    from aislestream.streams.app import deliver

    broker = FlakyBroker(failures=10)
    with pytest.raises(ConnectionError, match="broker went away"):
        asyncio.run(deliver(broker.send, outputs(2), attempts=3, first_delay_s=0.001))


def test_a_dependency_outage_is_waited_out_with_backoff_not_dead_lettered():
    import asyncio

    from aislestream.errors import StoreUnavailable
    from aislestream.streams.app import retry_while_unavailable
    from aislestream.streams.pipeline import Output

    calls, sleeps = [], []

    async def call():
        calls.append(1)
        if len(calls) < 5:
            raise StoreUnavailable("connection refused")
        return [Output("result", b"k", b"v")]

    async def sleep(seconds):
        sleeps.append(seconds)

    out = asyncio.run(retry_while_unavailable(call, "test", first_delay_s=1.0, max_delay_s=4.0,
                                              sleep=sleep))
    assert out == [Output("result", b"k", b"v")] and len(calls) == 5
    assert sleeps == [1.0, 2.0, 4.0, 4.0]
