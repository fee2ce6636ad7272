"""Per-message isolation for batch agents: one message can cost only its own output.

Two kinds of failure, two defences:

* **An exception** while processing a batch (a bug, a library raising on odd input): the batch is
  split and each message processed alone; the one that still raises gets an ``internal_error``
  dead letter holding its bytes. Nothing is lost and the stream goes on.
* **A crash** (segfault in a native library, out of memory, a kill): no exception to catch, and
  at-least-once delivery hands the same message to the restarted worker, which would crash again
  for ever. :class:`CrashJournal` writes the positions being processed to a file before processing
  and removes them after, so a restarted worker knows which messages were in flight when it died.
  A message found there is processed alone (the innocent messages of its batch pass); one that was
  in flight ``quarantine_after`` times is not processed again but dead-lettered as ``quarantined``
  with the count.

Outputs too large for the producer (a huge key echoed into a record) are dead-lettered here as
well: a send the broker must refuse would otherwise stop delivery of the whole batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aislestream.errors import MessageRejected, RetryableError
from aislestream.streams.pipeline import Output, RawMessage, dead_letter_output, internal_error

log = logging.getLogger(__name__)
# below the producer's 1,000,000-byte request limit, with room for headers
MAX_OUTPUT_BYTES = 900_000
JOURNAL_MAX_AGE_S = 24 * 3600  # positions older than this belong to partitions long since moved


class CrashJournal:
    """Message positions in processing, with how many processing attempts each has begun.

    Written with a rename, so a crash leaves either the old or the new file, never half of one.
    Kept on the worker's data directory: a supervisor restarting the worker in place (``aisle up``,
    a Kubernetes container restart with the data dir on an ``emptyDir``) finds it again.
    """

    def __init__(self, path: Path, max_slots: int = 64) -> None:
        self.path, self._lock = self._claim(path, max_slots)
        self._entries: dict[str, tuple[int, float]] = self._load()
        self._write_failed = False

    @staticmethod
    def _claim(path: Path, max_slots: int) -> tuple[Path, object]:
        """The lowest journal slot no live process holds (a lock dies with its process): a worker
        restarted in place gets its own journal back, two workers sharing a data dir get two."""
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        for slot in range(max_slots):
            lock = open(path.with_name(f"{path.stem}.{slot}.lock"), "w")  # noqa: SIM115 - held for life
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            return path.with_name(f"{path.stem}.{slot}{path.suffix}"), lock
        raise RuntimeError(
            f"all {max_slots} crash-journal slots of {path} are held by live processes")

    def _load(self) -> dict[str, tuple[int, float]]:
        try:
            raw = json.loads(self.path.read_text())
            cutoff = time.time() - JOURNAL_MAX_AGE_S
            return {k: (int(v[0]), float(v[1])) for k, v in raw.items() if float(v[1]) >= cutoff}
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            log.warning("crash journal %s is unreadable (%s); starting a new one", self.path, exc)
            return {}

    def _save(self) -> None:
        """Never fails the batch: without the journal a crash loop is possible again, which is
        logged (once per outage of the disk), but the messages are still processed."""
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({k: list(v) for k, v in self._entries.items()}))
            os.replace(tmp, self.path)
        except OSError as exc:
            if not self._write_failed:
                log.error("crash journal %s cannot be written (%s): crashes are not counted "
                          "until it can", self.path, exc)
            self._write_failed = True
            return
        if self._write_failed:
            log.warning("crash journal %s is written again", self.path)
        self._write_failed = False

    def close(self) -> None:
        """Give the slot up (what the process's death does too)."""
        self._lock.close()  # type: ignore[attr-defined]

    def crashes(self, msg: RawMessage) -> int:
        """How many times this message was in flight when the worker died."""
        entry = self._entries.get(msg.position)
        return entry[0] if entry else 0

    def begin(self, messages: Sequence[RawMessage]) -> None:
        now = time.time()
        for m in messages:
            self._entries[m.position] = (self.crashes(m) + 1, now)
        self._save()

    def end(self, messages: Sequence[RawMessage]) -> None:
        for m in messages:
            self._entries.pop(m.position, None)
        self._save()


class IsolatingProcessor:
    """Wraps a batch ``process`` so that its result is one output per message, whatever happens.

    A :class:`RetryableError` (a dependency is down: no message is at fault) is not split up but
    raised to the caller, which waits for the dependency.
    """

    def __init__(self, name: str, process: Callable[[list[RawMessage]], Awaitable[list[Output]]],
                 journal: CrashJournal, quarantine_after: int) -> None:
        self.name = name
        self.process = process
        self.journal = journal
        self.quarantine_after = quarantine_after
        self.counts: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def __call__(self, batch: Sequence[RawMessage]) -> list[Output]:
        outputs: list[Output | None] = [None] * len(batch)
        fresh: list[int] = []
        quarantined: list[RawMessage] = []
        for i, msg in enumerate(batch):
            crashes = self.journal.crashes(msg)
            if crashes >= self.quarantine_after:
                log.error("%s: %s was in flight in %d worker crashes; quarantined to the "
                          "dead-letter topic", self.name, msg.position, crashes)
                self._count("quarantined")
                outputs[i] = dead_letter_output(msg, MessageRejected(
                    f"the worker stopped {crashes} times while processing this message; "
                    "not processed again",
                    "quarantined"), attempts=crashes)
                quarantined.append(msg)
            elif crashes:
                self._count("suspects")
                # alone: only its own crash counts against it
                (outputs[i],) = await self._guarded([msg])
            else:
                fresh.append(i)
        if fresh:
            for i, out in zip(fresh, await self._guarded([batch[i] for i in fresh])):
                outputs[i] = out
        if quarantined:
            self.journal.end(quarantined)
        return [self._fit(batch[i], out) for i, out in enumerate(outputs)]  # type: ignore[arg-type]

    async def _guarded(self, messages: list[RawMessage]) -> list[Output]:
        self.journal.begin(messages)
        try:
            outputs = await self.process(messages)
            if len(outputs) != len(messages) or any(o is None for o in outputs):
                raise RuntimeError(f"{len(messages)} messages gave {len(outputs)} outputs")
        except (RetryableError, asyncio.CancelledError):
            self.journal.end(messages)  # an outage or a graceful stop is not a crash
            raise
        except Exception as exc:
            self.journal.end(messages)  # an exception is not a crash: it must not count as one
            if len(messages) == 1:
                log.exception("%s: %s failed; dead-lettered", self.name, messages[0].position)
                self._count("internal_errors")
                return [dead_letter_output(messages[0], internal_error(exc))]
            log.warning("%s: batch of %d failed (%s: %s); processing its messages one by one",
                        self.name, len(messages), type(exc).__name__, exc)
            return [(await self._guarded([m]))[0] for m in messages]
        self.journal.end(messages)
        return outputs

    def _fit(self, msg: RawMessage, out: Output) -> Output:
        fitted = fit_output(msg, out)
        if fitted is not out:
            self._count("oversized_outputs")
        return fitted


def fit_output(msg: RawMessage, out: Output) -> Output:
    """``out``, or the dead letter of ``msg`` if ``out`` is too large for the producer to send."""
    size = len(out.key) + len(out.value)
    if size <= MAX_OUTPUT_BYTES:
        return out
    return dead_letter_output(msg, MessageRejected(
        f"its {out.kind} record would be {size} bytes, above the {MAX_OUTPUT_BYTES}-byte limit",
        "oversized"))
