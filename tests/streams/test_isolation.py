"""Per-message isolation: exceptions cost one message, crashes are counted across restarts and a
message that keeps crashing the worker is quarantined, not processed for ever."""

from __future__ import annotations

import asyncio
import json

import pytest

from aislestream.errors import StoreUnavailable
from aislestream.streams.isolation import MAX_OUTPUT_BYTES, CrashJournal, IsolatingProcessor
from aislestream.streams.pipeline import Output, RawMessage


def msg(offset: int, value: bytes = b"ok") -> RawMessage:
    return RawMessage("t", 0, offset, f"k{offset}".encode(), value)


def echo_unless_poison(calls: list[int]):
    async def process(batch: list[RawMessage]) -> list[Output]:
        calls.append(len(batch))
        if any(m.value == b"poison" for m in batch):
            raise ValueError("cannot handle poison")
        return [Output("result", m.key, m.value) for m in batch]
    return process


def run(processor, batch):
    return asyncio.run(processor(batch))


def test_an_exception_costs_only_the_message_that_raises(tmp_path):
    calls: list[int] = []
    processor = IsolatingProcessor("t", echo_unless_poison(calls),
                                   CrashJournal(tmp_path / "j.json"), 3)
    out = run(processor, [msg(0), msg(1, b"poison"), msg(2)])
    assert [o.kind for o in out] == ["result", "dead_letter", "result"]
    letter = json.loads(out[1].value)
    assert (letter["error_type"] == "internal_error"
            and "ValueError: cannot handle poison" in letter["reason"])
    assert calls == [3, 1, 1, 1]  # the batch, then each message alone
    assert processor.counts == {"internal_errors": 1}
    assert not json.loads((tmp_path / "j.0.json").read_text())  # nothing left in flight


def crash_on_poison(journal_path, batch):
    """A worker that dies (no exception, no cleanup) while processing: the journal is all that is
    left."""
    class Crash(BaseException):
        pass

    async def process(messages):
        if any(m.value == b"poison" for m in messages):
            raise Crash()
        return [Output("result", m.key, m.value) for m in messages]

    journal = CrashJournal(journal_path)
    try:
        run(IsolatingProcessor("t", process, journal, 3), batch)
    except Crash:
        journal.close()  # the process is gone, and its lock with it
        return None
    raise AssertionError("expected the simulated crash")


def test_a_message_that_keeps_crashing_the_worker_is_quarantined_and_its_batch_survives(tmp_path):
    journal = tmp_path / "inflight.json"
    batch = [msg(10), msg(11, b"poison"), msg(12)]
    crash_on_poison(journal, batch)  # crash 1: the whole batch was in flight
    # restart: each suspect alone: 10 passes, 11 crashes (12 not reached)
    crash_on_poison(journal, batch)
    assert ({k: v[0] for k, v in json.loads(slot(journal).read_text()).items()}
            == {"t:0:11": 2, "t:0:12": 1})
    crash_on_poison(journal, batch)  # crash 3, again with 11 alone
    calls: list[int] = []
    out = run(IsolatingProcessor("t", echo_unless_poison(calls), CrashJournal(journal), 3), batch)
    assert [o.kind for o in out] == ["result", "dead_letter", "result"]
    letter = json.loads(out[1].value)
    assert letter["error_type"] == "quarantined" and letter["attempts"] == 3
    assert calls == [1, 1]  # 12 alone (still a suspect), then 10; the quarantined one not again
    assert not json.loads(slot(journal).read_text())


def slot(journal, n: int = 0):
    return journal.with_name(f"{journal.stem}.{n}{journal.suffix}")


def test_two_workers_sharing_a_data_dir_keep_two_journals_and_a_restart_gets_its_own_back(tmp_path):
    first, second = CrashJournal(tmp_path / "j.json"), CrashJournal(tmp_path / "j.json")
    assert (first.path.name, second.path.name) == ("j.0.json", "j.1.json")
    first.begin([msg(5)])
    first.close()  # the process holding slot 0 dies: its lock goes with it
    restarted = CrashJournal(tmp_path / "j.json")
    assert restarted.path.name == "j.0.json" and restarted.crashes(msg(5)) == 1


def test_a_journal_that_cannot_be_written_does_not_fail_the_batch(tmp_path):
    journal = CrashJournal(tmp_path / "j.json")
    journal.path = tmp_path / "missing" / "j.json"  # its directory is gone
    calls: list[int] = []
    out = run(IsolatingProcessor("t", echo_unless_poison(calls), journal, 3), [msg(0), msg(1)])
    assert [o.kind for o in out] == ["result", "result"]


def test_a_dependency_outage_is_raised_not_dead_lettered(tmp_path):
    async def process(batch):
        raise StoreUnavailable("ad store down")
    processor = IsolatingProcessor("t", process, CrashJournal(tmp_path / "j.json"), 3)
    with pytest.raises(StoreUnavailable):
        run(processor, [msg(0), msg(1)])
    assert not json.loads((tmp_path / "j.0.json").read_text())


def test_an_output_too_large_for_the_producer_becomes_a_dead_letter(tmp_path):
    async def process(batch):
        return [Output("result", m.key, b"x" * (MAX_OUTPUT_BYTES + 1)) for m in batch]
    (out,) = run(IsolatingProcessor("t", process, CrashJournal(tmp_path / "j.json"), 3), [msg(0)])
    letter = json.loads(out.value)
    assert out.kind == "dead_letter" and letter["error_type"] == "oversized"


def test_an_unreadable_journal_starts_empty(tmp_path):
    (tmp_path / "j.0.json").write_text("{not json")
    assert CrashJournal(tmp_path / "j.json").crashes(msg(0)) == 0
