"""Plain Kafka producers and readers for tools (replay, demo, benchmarks, tests) and the
experiments config.

Producing is synchronous with kafka-python; reading uses aiokafka without a consumer group
(:func:`from_beginning`), which works on any Kafka-compatible broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aislestream.connectors.security import aiokafka_kwargs, kafka_python_kwargs
from aislestream.errors import BrokerUnavailable, DeliveryFailed

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
    from kafka import KafkaProducer

log = logging.getLogger(__name__)


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[bytes | None, bytes | None]],
            on_sent: Callable[[int], None] | None = None, timeout_s: float = 60.0) -> int:
    """Send (key, value) pairs and wait for the broker's answer to each; returns how many were sent.

    A tool that reports "sent N" must not count records the broker never stored, so every send's
    result is awaited. Raises BrokerUnavailable when no broker takes them within ``timeout_s``
    (none at ``bootstrap``, or it went away part-way) and DeliveryFailed when it refused some.
    """
    from kafka.errors import KafkaError

    acks = _Acks()
    try:
        sent = _send_all(bootstrap, topic, messages, on_sent, timeout_s, acks)
    except KafkaError as exc:  # bootstrap, a blocked send or the flush timed out
        raise BrokerUnavailable(
            f"the broker at {bootstrap} did not take the messages for {topic} "
            f"({acks.acked} acknowledged before {type(exc).__name__}: {exc})") from exc
    acks.raise_if_short(topic, sent)
    return sent


class _Acks:
    """Counts the broker's answers; kafka-python calls these from its sender thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acked = 0
        self.first_error = ""

    def ok(self, _metadata: object) -> None:
        with self._lock:
            self.acked += 1

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"

    def raise_if_short(self, topic: str, sent: int) -> None:
        if self.acked < sent:
            raise DeliveryFailed(f"{sent - self.acked} of {sent} messages to {topic} "
                                 "were not stored "
                                 f"(first error: {self.first_error or 'no answer'})")


def _send_all(bootstrap: str, topic: str, messages: Iterable[tuple[bytes | None, bytes | None]],
              on_sent: Callable[[int], None] | None, timeout_s: float, acks: _Acks) -> int:
    """One producer's sends and flush, each record's answer counted in ``acks``."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1,
                             enable_idempotence=False,
                             **kafka_python_kwargs(),
                             max_request_size=4 * 1024 * 1024,
                             bootstrap_timeout_ms=int(timeout_s * 1000),
                             max_block_ms=int(timeout_s * 1000))
    sent = 0
    try:
        for key, value in messages:
            _send_one(producer, topic, key, value, acks)
            sent += 1
            if on_sent is not None:
                on_sent(sent)
        producer.flush(timeout=timeout_s)
    except BaseException:
        # Give up on records still queued for a broker that is gone instead of waiting out their
        # delivery timeout (two minutes); close(0) raises when records are queued, as expected here.
        with contextlib.suppress(Exception):
            producer.close(timeout=0)
        raise
    producer.close(timeout=timeout_s)
    return sent


def _send_one(producer: KafkaProducer, topic: str, key: bytes | None, value: bytes | None,
              acks: _Acks) -> None:
    """Queue one record. A record refused before it is sent (too large) fails alone; a timeout
    waiting for the broker propagates, since every later record would meet it too."""
    from kafka.errors import BrokerResponseError

    try:
        future = producer.send(topic, key=key, value=value)
    except BrokerResponseError as exc:
        acks.fail(exc)
        return
    future.add_callback(acks.ok).add_errback(acks.fail)


@dataclass(frozen=True)
class Received:
    topic: str
    key: bytes | None
    value: bytes | None
    received_at: float


class TopicReader:
    """A group-less consumer that holds every partition of some topics, read from the beginning
    (partitions are assigned directly, so it works on any Kafka-compatible broker)."""

    def __init__(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        self.consumer, self.partitions = consumer, partitions
        self._ends: dict[TopicPartition, int] | None = None

    async def caught_up(self) -> bool:
        """Whether every partition has been read up to its end offset as of the first ask."""
        if not self.partitions:
            return True
        if self._ends is None:
            self._ends = await self.consumer.end_offsets(self.partitions)
        return all([await self.consumer.position(tp) >= self._ends[tp] for tp in self.partitions])

    async def fetch(self, timeout_ms: int = 200, max_records: int = 5000) -> list[ConsumerRecord]:
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return [record for records in batches.values() for record in records]


@contextlib.asynccontextmanager
async def from_beginning(bootstrap: str, topics: Sequence[str], fetch_max_wait_ms: int = 50,
                         wait_s: float = 0.0) -> AsyncIterator[TopicReader]:
    """A :class:`TopicReader` of ``topics`` at their beginning: the one "assign every partition,
    seek, read" of the collectors and the experiments config. A topic that has no partitions
    after ``wait_s`` (it may not exist yet) is left out.

    A short fetch wait keeps measured arrival times close to publication on brokers that hold
    long polls until the wait expires (see streams/transport.py)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                **aiokafka_kwargs(), auto_offset_reset="earliest",
                                fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    try:
        deadline = time.monotonic() + wait_s
        await consumer._client.force_metadata_update()
        partitions = []
        for topic in topics:
            while not (parts := consumer.partitions_for_topic(topic)):
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.2)
                await consumer._client.force_metadata_update()  # the topic may not exist yet
            partitions += [TopicPartition(topic, p) for p in sorted(parts or ())]
        consumer.assign(partitions)
        if partitions:
            await consumer.seek_to_beginning(*partitions)
        yield TopicReader(consumer, partitions)
    finally:
        await consumer.stop()


async def collect_async(bootstrap: str, topics: list[str], expected: int, timeout_s: float,
                        on_message: Callable[[Received], None] | None = None,
                        stop: Callable[[list[Received]], bool] | None = None) -> list[Received]:
    """Read every partition of ``topics`` from the beginning until ``expected`` records or
    timeout (waiting for topics that do not exist yet)."""
    deadline = time.monotonic() + timeout_s
    received: list[Received] = []
    async with from_beginning(bootstrap, topics, wait_s=timeout_s) as reader:
        while len(received) < expected and time.monotonic() < deadline:
            records = await reader.fetch()
            now = time.time()
            for r in records:
                item = Received(r.topic, r.key, r.value, now)
                received.append(item)
                if on_message is not None:
                    on_message(item)
            if stop is not None and stop(received):
                break
    return received


def collect(bootstrap: str, topics: list[str], expected: int, timeout_s: float,
            on_message: Callable[[Received], None] | None = None,
            stop: Callable[[list[Received]], bool] | None = None) -> list[Received]:
    return asyncio.run(collect_async(bootstrap, topics, expected, timeout_s, on_message, stop))


async def read_to_end_async(bootstrap: str, topic: str, timeout_s: float = 15.0) -> list[Received]:
    """Every record of ``topic`` from the beginning up to its end offsets as of now."""
    deadline = time.monotonic() + timeout_s
    received: list[Received] = []
    async with from_beginning(bootstrap, [topic]) as reader:
        while time.monotonic() < deadline and not await reader.caught_up():
            records = await reader.fetch()
            now = time.time()
            received += [Received(r.topic, r.key, r.value, now) for r in records]
    return received


def read_to_end(bootstrap: str, topic: str, timeout_s: float = 15.0) -> list[Received]:
    return asyncio.run(read_to_end_async(bootstrap, topic, timeout_s))


def apply_changelog(table: dict, key: bytes | None, value: bytes | None) -> None:
    """One record of a table changelog (faust's convention: JSON key, JSON value, a tombstone
    deletes) applied to ``table``. Keyless records carry no table entry. Raises ValueError on
    a key or value that is not JSON."""
    if key is None:
        return
    name = json.loads(key)
    if value is None:
        table.pop(name, None)
    else:
        table[name] = json.loads(value)


def read_changelog(bootstrap: str, topic: str) -> dict:
    """The latest value of every key of a table changelog, unreadable records logged and skipped."""
    table: dict = {}
    for record in read_to_end(bootstrap, topic):
        try:
            apply_changelog(table, record.key, record.value)
        except ValueError as exc:
            log.error("unreadable record on %s (%s); skipped", topic, exc)
    return table
