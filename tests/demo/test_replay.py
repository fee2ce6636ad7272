import json
import time
import uuid

import pytest
from kafka.errors import KafkaError
from kafka.future import Future

from aislestream.connectors.broker import free_port
from aislestream.connectors.kafka_io import produce
from aislestream.demo.replay import MALFORMED, paced, replay_messages, replay_order
from aislestream.errors import BrokerUnavailable, DeliveryFailed


def test_replay_is_deterministic_and_mixes_in_malformed(small_world):
    first = list(replay_messages(small_world.queries, 200, 0.2, seed=3, run_id="r"))
    second = list(replay_messages(small_world.queries, 200, 0.2, seed=3, run_id="r"))
    assert [(k, m) for k, _, m in first] == [(k, m) for k, _, m in second]
    kinds = {m for _, _, m in first if m}
    assert kinds == {kind for kind, _ in MALFORMED}
    good = [json.loads(v) for _, v, m in first if m is None]
    assert all(g["request_id"].startswith("r-") and g["query"] and g["query_type"] for g in good)


def test_every_query_is_replayed_once_before_any_repeats():
    order = replay_order(7, 17, seed=1)
    assert sorted(order[:7]) == list(range(7)) and sorted(order[7:14]) == list(range(7))
    assert list(order) == list(replay_order(7, 17, seed=1)) != list(replay_order(7, 17, seed=2))


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


def test_produce_to_a_port_where_nothing_listens_raises_broker_unavailable():
    with pytest.raises(BrokerUnavailable, match="did not take the messages"):
        produce(f"127.0.0.1:{free_port()}", "nowhere", [(b"k", b"v")], timeout_s=1)


@pytest.mark.integration
def test_produce_counts_the_records_the_broker_refused(broker):
    too_big = b"x" * (5 * 1024 * 1024)  # over the producer's 4 MiB request limit
    with pytest.raises(DeliveryFailed, match="1 of 3 messages .* MessageSizeTooLarge"):
        produce(broker, f"refused-{uuid.uuid4().hex[:8]}",
                [(b"a", b"1"), (b"b", too_big), (b"c", b"3")])


class _RefusingProducer:
    """Stands in for KafkaProducer: the broker answers every record, refusing those valued
    b"bad"."""

    def __init__(self, **config: object) -> None:
        self.config = config

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> Future:
        future = Future()
        return (future.failure(KafkaError("NOT_ENOUGH_REPLICAS")) if value == b"bad"
                else future.success(None))

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def test_produce_counts_records_the_broker_answered_with_an_error(monkeypatch):
    import kafka

    monkeypatch.setattr(kafka, "KafkaProducer", _RefusingProducer)
    with pytest.raises(DeliveryFailed,
                       match="2 of 4 messages to t were not stored .*NOT_ENOUGH_REPLICAS"):
        produce("127.0.0.1:9", "t", [(b"a", b"ok"), (b"b", b"bad"), (b"c", b"bad"), (b"d", b"ok")])
    assert produce("127.0.0.1:9", "t", [(b"a", b"ok"), (b"d", b"ok")]) == 2
