"""faust's aiokafka transport with two changes, selected by the ``aislekafka://`` broker URL
scheme; everything else is faust's own driver.

Fetch wait: faust hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer. A broker
answers a long-poll fetch as soon as data arrives (Apache Kafka) or only when the wait runs
out (seen with Tansu: 1500 ms gave a live-tail p50 of ~380 ms, 100 ms gave ~25 ms), so the
wait is a latency knob worth owning.

Seek before resume: after a rebalance faust's table recovery resumes the stream partitions
and only then seeks them to their committed offsets (``Recovery._resume_streams``). Records
fetched in between reach the streams while flow control is still off, so they are skipped
and *acknowledged*; the seek then rewinds the read offset, the next record looks like a gap,
and faust commits past both. A worker restarted after a crash lost the first 10-50 queries of
each partition that way (about one start in ten, more under CPU load). Here the stream
partitions stay paused until the seek has happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

SCHEME = "aislekafka"
APP_ATTRIBUTE = "aisle_fetch_max_wait_ms"


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, APP_ATTRIBUTE, None)
        if wait_ms is not None:
            # aiokafka hands this to its fetcher in start(), which has not run yet.
            consumer._fetch_max_wait_ms = int(wait_ms)
        return consumer


class Consumer(driver.Consumer):
    #: stream partitions faust asked to resume, waiting for the seek to their committed offsets
    _held: frozenset[TP] = frozenset()

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        # faust hands the consumer thread its live set of active partitions; aiokafka reads it
        # later, in that thread, and takes an empty set to mean every assigned partition, so a
        # pause racing a fetch would hand over records of held partitions. A snapshot cannot race.
        if active_partitions is not None:
            active_partitions = set(active_partitions)
            if not active_partitions:
                return {}
        return await super()._getmany(active_partitions, timeout)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        streams = {tp for tp in tps if not self._is_changelog_tp(tp)}
        self._held |= streams
        super().resume_partitions(tps - streams)

    async def perform_seek(self) -> None:
        held = self._held  # only a seek that starts after the hold may release it
        try:
            await super().perform_seek()
        finally:
            # Even a failed seek releases them, at the positions aiokafka took from the committed
            # offsets on assignment: a partition left paused would be a silent outage.
            self._held -= held
            super().resume_partitions(held & self.assignment())  # a rebalance may have revoked some


class Transport(driver.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
