"""faust's aiokafka transport with a configurable consumer fetch wait.

faust hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer. A broker answers a
long-poll fetch as soon as data arrives (Apache Kafka) or only when the wait runs out (seen
with Tansu: 1500 ms gave a live-tail p50 of ~380 ms, 100 ms gave ~25 ms), so the wait is a
latency knob worth owning. Selected by the ``aislekafka://`` broker URL scheme; everything
else is faust's own driver.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver

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
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
