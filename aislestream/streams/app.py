"""The faust app: built by a factory from settings (never at import time), then the agents.

Delivery: at-least-once. Each batch's outputs are sent and their delivery awaited before
the batch's events are acknowledged, and faust commits only acknowledged offsets, so a
killed worker re-processes (never loses) in-flight messages. Outputs are keyed by
request id so downstream consumers can de-duplicate. (Tansu has no transactions; on
Apache Kafka exactly-once could be layered on later.)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import faust

from aislestream.errors import MessageRejected, RetryableError
from aislestream.settings import Settings, StreamSettings
from aislestream.streams import topics, transport
from aislestream.streams.isolation import CrashJournal, IsolatingProcessor, fit_output
from aislestream.streams.pipeline import (
    Output,
    RawMessage,
    SearchPipeline,
    dead_letter_output,
    internal_error,
)

if TYPE_CHECKING:
    from aislestream.streams.ads import AdsPipeline
    from aislestream.streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)
EXIT_UNDELIVERED = 75  # EX_TEMPFAIL: the worker may be restarted as is
DEPENDENCY_RETRY_FIRST_S, DEPENDENCY_RETRY_MAX_S = 1.0, 30.0
METRICS_ATTRIBUTE = "aisle_metrics"


def broker_url(bootstrap: str) -> str:
    return ";".join(f"{transport.SCHEME}://{server.strip()}" for server in bootstrap.split(","))


def create_app(settings: Settings, bootstrap: str, datadir: Path) -> faust.App:
    from aislestream.connectors.security import faust_credentials

    stream = settings.stream
    app = faust.App(
        stream.app_id,
        broker=broker_url(bootstrap),
        # None (PLAINTEXT) unless TLS or SASL
        broker_credentials=faust_credentials(settings.broker),
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        broker_session_timeout=stream.session_timeout_s,
        broker_heartbeat_interval=min(3.0, stream.session_timeout_s / 3),
        broker_commit_interval=stream.commit_interval_s,
        consumer_auto_offset_reset="earliest",
    )
    setattr(app, transport.APP_ATTRIBUTE, stream.fetch_max_wait_ms)
    return app


def metrics_of(app: faust.App) -> WorkerMetrics | None:
    """The worker's metrics (``attach_metrics``), or None where it serves none."""
    return getattr(app, METRICS_ATTRIBUTE, None)


def attach_metrics(app: faust.App, metrics: WorkerMetrics) -> None:
    """Before any agent is registered: agents find their metrics on the app."""
    from aislestream.streams.metrics import faust_lag, install_faust_sensor

    install_faust_sensor(app, metrics.registry)
    metrics.add_lag(faust_lag(app))
    setattr(app, METRICS_ATTRIBUTE, metrics)


async def deliver(send: Callable[[Output], Awaitable[Awaitable[object]]], outputs: Sequence[Output],
                  attempts: int, first_delay_s: float = 0.2) -> None:
    """Send every output and wait until the broker has them, retrying the batch with backoff.

    A retry re-sends outputs that may already have landed: consumers see at-least-once
    delivery and de-duplicate by key.
    """
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            pending = [await send(o) for o in outputs]
            await asyncio.gather(*pending)
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("delivery attempt %d/%d failed (%s); retrying in %.1fs",
                        attempt, attempts, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def stop_uncommitted(name: str, what: str) -> NoReturn:
    """Stop the worker at once, skipping faust's shutdown.

    faust acknowledges events when the agent leaves them, even by an exception (and restarts a
    crashed agent), and acknowledged offsets get committed. Events whose outputs were not
    delivered must never be committed, so the worker exits 75 without the shutdown that would
    commit; its supervisor restarts it and the messages are read again."""
    log.critical("%s: %s; stopping the worker uncommitted", name, what, exc_info=True)
    logging.shutdown()
    os._exit(EXIT_UNDELIVERED)


async def deliver_or_stop(name: str, send: Callable[[Output], Awaitable[Awaitable[object]]],
                          outputs: Sequence[Output], attempts: int) -> None:
    """Deliver, or stop the worker uncommitted: the one failure that is not per message."""
    try:
        await deliver(send, outputs, attempts)
    except Exception:
        stop_uncommitted(name, f"{len(outputs)} outputs not delivered")


async def outputs_or_stop(name: str, isolated: IsolatingProcessor, batch: list[RawMessage],
                          ready: Callable[[], Awaitable[object]] | None = None) -> list[Output]:
    """The batch's outputs; a dependency outage is waited out here, outside the crash journal (a
    worker stopped during an outage must not count against the messages it was waiting with).
    Anything else escaping the isolation is a bug of ours: stop rather than lose the batch."""
    try:
        if ready is not None:
            await ready()
        return await retry_while_unavailable(lambda: isolated(batch),
                                             f"{name}: batch of {len(batch)}")
    except Exception:
        stop_uncommitted(name, f"isolation failed on a batch of {len(batch)}")


Handler = Callable[[RawMessage], "list[Output] | Awaitable[list[Output]]"]


async def guarded_outputs(name: str, handle: Handler, msg: RawMessage) -> list[Output]:
    """``handle(msg)``'s outputs, each small enough to send; a rejection or a failure is this
    message's dead letter. A dependency outage (RetryableError) is raised to be waited out."""
    try:
        outputs = handle(msg)
        if inspect.isawaitable(outputs):
            outputs = await outputs
    except MessageRejected as error:
        outputs = [dead_letter_output(msg, error)]
    except RetryableError:
        raise
    except Exception as exc:
        log.exception("%s failed on %s", name, msg.position)
        outputs = [dead_letter_output(msg, internal_error(exc))]
    return [fit_output(msg, out) for out in outputs]


def guarded(name: str, handle: Handler) -> Callable[[RawMessage], Awaitable[list[Output]]]:
    """``handle`` as an event agent's ``outputs_of``: each failure is that event's dead letter."""
    return lambda msg: guarded_outputs(name, handle, msg)


def register_event_agent(app: faust.App, name: str, source: faust.types.TopicT,
                         outputs_of: Callable[[RawMessage], Awaitable[list[Output]]],
                         outputs: dict[str, faust.types.TopicT],
                         stream_settings: StreamSettings) -> None:
    """An agent that handles one event at a time (it writes tables keyed like its input, which
    faust routes by the current event), with 0..n outputs per event, each delivered before the
    event can be committed. ``outputs_of`` keeps failures per event (``guarded``, or an
    ``IsolatingProcessor`` over a batch of one); a dependency outage is waited out here, and
    anything else escaping it stops the worker uncommitted rather than lose the event."""
    async def send(output: Output) -> Awaitable[object]:
        return await outputs[output.kind].send(key=output.key, value=output.value)

    metrics = metrics_of(app)

    async def agent(stream: faust.Stream) -> None:
        async for event in stream.events():
            read_at = time.perf_counter()
            m = event.message
            msg = RawMessage(m.topic, m.partition, m.offset, m.key, m.value)
            try:
                produced = await retry_while_unavailable(lambda: outputs_of(msg),
                                                         f"{name}: {msg.position}")
            except Exception:
                stop_uncommitted(name, f"handling {msg.position} failed outside its guard")
            processed_at = time.perf_counter()
            if produced:
                await deliver_or_stop(name, send, produced, stream_settings.delivery_attempts)
            if metrics is not None:
                metrics.observe(name, 1, produced, read_at, processed_at, time.perf_counter())

    app.agent(source, name=name)(agent)


def register_batch_agent(app: faust.App, name: str, declared: topics.BatchTopics,
                         process: Callable[[list[RawMessage]], Awaitable[list[Output]]],
                         stream_settings: StreamSettings,
                         ready: Callable[[], Awaitable[object]] | None = None
                         ) -> IsolatingProcessor:
    """An agent that reads ``declared.source`` in bounded batches and publishes one output per
    message. ``ready`` is awaited before each batch (the experiment config has been read once).

    ``process`` runs behind an :class:`IsolatingProcessor`: a message that raises or crashes the
    worker costs only its own output (a dead letter). The only failure that stops the worker is
    the broker refusing the outputs."""
    outputs = {kind: topic.get_topic_name() for kind, topic in declared.outputs().items()}
    journal = CrashJournal(Path(app.conf.datadir) / f"inflight-{name}.json")
    isolated = IsolatingProcessor(name, process, journal, stream_settings.quarantine_after_crashes)

    async def send(output: Output) -> Awaitable[object]:
        # Values are already bytes, so the producer is used directly: faust's Topic.send wrapper
        # (codecs, sensors, attachments) halved the no-op agent's throughput (BENCHMARKS.md).
        return await app.producer.send(outputs[output.kind], output.key, output.value,
                                       None, None, None)

    metrics = metrics_of(app)
    if metrics is not None:
        metrics.add_counts(f"{name}.isolation", lambda: isolated.counts)

    async def agent(stream: faust.Stream) -> None:
        async for events in stream.take_events(stream_settings.batch_size,
                                               stream_settings.batch_within_s):
            received = time.perf_counter()
            batch = [
                RawMessage(e.message.topic, e.message.partition, e.message.offset,
                           e.message.key, e.message.value, received)
                for e in events
            ]
            produced = await outputs_or_stop(name, isolated, batch, ready)
            processed_at = time.perf_counter()
            await deliver_or_stop(name, send, produced, stream_settings.delivery_attempts)
            if metrics is not None:
                metrics.observe(name, len(batch), produced, received, processed_at,
                                time.perf_counter())

    app.agent(declared.source, name=name)(agent)
    return isolated


def register_search_agent(app: faust.App, settings: Settings, pipeline: SearchPipeline,
                          declared: topics.BatchTopics,
                          ready: Callable[[], Awaitable[object]] | None = None) -> None:
    isolated = register_batch_agent(app, "search-augment", declared, pipeline.process,
                                    settings.stream, ready)
    if (metrics := metrics_of(app)) is not None:
        metrics.add_counts("search-augment", lambda: pipeline.counts)
        metrics.add_counts("expansion", pipeline.expanders.counts)

    @app.timer(interval=10.0)
    async def report() -> None:
        if pipeline.counts:  # with the isolation's own (suspects, quarantined, internal errors)
            log.info("search-augment counts: %s",
                     {**pipeline.counts,
                      **{f"isolation.{k}": v for k, v in isolated.counts.items()}})


async def retry_while_unavailable(call: Callable[[], Awaitable[list[Output]]], what: str,
                                  first_delay_s: float = DEPENDENCY_RETRY_FIRST_S,
                                  max_delay_s: float = DEPENDENCY_RETRY_MAX_S,
                                  sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
                                  ) -> list[Output]:
    """``call()`` until no dependency is unavailable (the ad store, say), with backoff. While it
    waits, its agent's buffer fills and faust pauses only that agent's partitions: the other
    agents go on."""
    delay, waited = first_delay_s, 0
    while True:
        try:
            return await call()
        except RetryableError as exc:
            waited += 1
            # an outage of an hour is a few lines, not thousands
            if waited == 1 or waited % 10 == 0:
                log.warning("%s waits for a dependency (try %d, next in %.0f s): %s",
                            what, waited, delay, exc)
            await sleep(delay)
            delay = min(delay * 2, max_delay_s)


def register_ads_agent(app: faust.App, settings: Settings, pipeline: "AdsPipeline",
                       declared: topics.BatchTopics,
                       ready: Callable[[], Awaitable[object]] | None = None) -> None:
    """Generation takes seconds of CPU, so it runs on a worker thread: heartbeats and commits
    of the event loop must not wait for it. While the ad store is down the agent waits and
    retries its batch (only its own partitions stop; search and the other agents go on)."""

    async def process(batch: list[RawMessage]) -> list[Output]:
        return await asyncio.get_running_loop().run_in_executor(None, pipeline.process, batch)

    ads_stream = settings.stream.model_copy(update={"batch_size": settings.ads.batch_size})
    register_batch_agent(app, "ads-creatives", declared, process, ads_stream, ready)
    if (metrics := metrics_of(app)) is not None:
        metrics.add_counts("ads-creatives", lambda: pipeline.counts)
