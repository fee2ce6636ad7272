"""The worker consumer's ordering contract: a stream partition is fetched only after it has been
sought to its committed offset. The broker-level proof is the kill test in
tests/integration/test_search_stream.py; these pin the mechanism without timing luck."""

import asyncio

import pytest
from faust.types import TP

from aislestream.settings import load_settings
from aislestream.streams.app import create_app

QUERIES = [TP("t.search.queries", p) for p in range(2)]


def consumer(tmp_path):
    app = create_app(load_settings(stream={"app_id": "app"}), "127.0.0.1:9", tmp_path)
    app.Table("served", default=int)  # its changelog, app-served-changelog, is not a stream
    return app.consumer


class RecordingThread:
    """Stands in for the aiokafka consumer thread, which needs a broker: records what the
    faust-side consumer asks of it."""

    def __init__(self, active: set[TP] | None = None) -> None:
        self.calls: list[tuple[str, object]] = []
        self.active = active

    async def seek_to_committed(self):
        # the partitions must still be held while the seek is in flight
        self.calls.append(("seek", set(self.active or ())))
        return {tp: 7 for tp in QUERIES}

    def assignment(self):
        return set(QUERIES)

    async def getmany(self, active_partitions, timeout):
        self.calls.append(("getmany", active_partitions))
        return {}


def test_stream_partitions_resume_only_after_the_seek_to_committed_offsets(tmp_path):
    c = consumer(tmp_path)
    changelog = TP("app-served-changelog", 0)
    c._set_active_tps(set())
    c._thread = RecordingThread(active=c._get_active_partitions())

    c.resume_partitions({*QUERIES, changelog})  # what faust's recovery does before it seeks
    assert c._get_active_partitions() == {changelog}

    asyncio.run(c.perform_seek())
    assert c._thread.calls == [("seek", {changelog})]
    assert c._get_active_partitions() == {changelog, *QUERIES}
    assert all(c._read_offset[tp] == 7 for tp in QUERIES)


def test_a_partition_revoked_while_held_is_not_resumed(tmp_path):
    c = consumer(tmp_path)
    c._thread = RecordingThread()
    c._set_active_tps(set())
    c.resume_partitions({*QUERIES, TP("t.search.queries", 9)})
    asyncio.run(c.perform_seek())
    assert c._get_active_partitions() == set(QUERIES)


def test_a_failed_seek_still_resumes_the_held_partitions(tmp_path):
    c = consumer(tmp_path)

    class UnreachableBroker(RecordingThread):
        async def seek_to_committed(self):
            raise ConnectionError("broker went away")

    c._thread = UnreachableBroker()
    c._set_active_tps(set())
    c.resume_partitions(set(QUERIES))
    with pytest.raises(ConnectionError):
        asyncio.run(c.perform_seek())
    assert c._get_active_partitions() == set(QUERIES)  # never a silent stall


def test_the_consumer_thread_gets_a_snapshot_of_the_active_partitions(tmp_path):
    c = consumer(tmp_path)
    c._thread = RecordingThread()
    live = set(QUERIES)
    asyncio.run(c._getmany(live, 1.0))
    live.clear()  # a pause while the thread still reads: aiokafka takes an empty set as "all"
    ((_, handed),) = c._thread.calls
    assert handed == set(QUERIES)
    assert asyncio.run(c._getmany(set(), 1.0)) == {} and len(c._thread.calls) == 1
