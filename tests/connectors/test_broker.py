import time

import pytest
from kafka.admin import KafkaAdminClient

from aislestream.connectors.broker import (
    TopicSpec,
    broker_session,
    ensure_topics,
    free_port,
    wait_for_broker,
)
from aislestream.errors import BrokerUnavailable


def test_unreachable_broker_gives_a_clear_error_within_the_timeout():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable,
                       match=f"no Kafka broker answered at 127.0.0.1:{port} within 2s"):
        wait_for_broker(f"127.0.0.1:{port}", timeout_s=2)
    assert time.monotonic() - started < 8


@pytest.mark.integration
def test_ensure_topics_is_idempotent_and_keeps_config(broker):
    specs = {"admin-test.a": TopicSpec(3),
             "admin-test.compacted": TopicSpec(1, config={"cleanup.policy": "compact"})}
    ensure_topics(broker, specs)
    ensure_topics(broker, specs)
    client = KafkaAdminClient(bootstrap_servers=broker)
    try:
        assert set(specs) <= set(client.list_topics())
        (meta,) = client.describe_topics(["admin-test.a"])
        assert len(meta["partitions"]) == 3
    finally:
        client.close()


@pytest.mark.integration
def test_broker_session_uses_a_configured_broker(broker):
    with broker_session(broker, timeout_s=10) as bootstrap:
        assert bootstrap == broker


@pytest.mark.integration
def test_broker_session_starts_and_stops_an_embedded_broker(tmp_path):
    with broker_session(None, timeout_s=30, log_dir=tmp_path) as bootstrap:
        wait_for_broker(bootstrap, 5)
    with pytest.raises(BrokerUnavailable):
        wait_for_broker(bootstrap, 1)
