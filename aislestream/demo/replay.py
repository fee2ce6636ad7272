"""Turn labelled world queries into search-query messages, optionally with malformed ones mixed in.

The malformed kinds cover what real producers get wrong: not JSON, not UTF-8, wrong types,
missing fields, blank or oversized queries. Each must come back as a dead letter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from aislestream.models.world.queries import LabelledQuery

MALFORMED: tuple[tuple[str, bytes], ...] = (
    ("not_json", b"{this is not json"),
    ("not_utf8", b"\xff\xfe\x00garbage"),
    ("not_object", b'["a", "list"]'),
    ("wrong_type", b'{"request_id": "bad-type", "query": 42}'),
    ("missing_field", b'{"query": "red shoes"}'),
    ("blank_query", b'{"request_id": "bad-blank", "query": "   "}'),
    ("oversized", json.dumps({"request_id": "bad-big", "query": "x" * 40_000}).encode()),
)


def query_message(q: LabelledQuery, request_id: str) -> bytes:
    return json.dumps({
        "request_id": request_id, "query": q.text, "user_id": q.user_id or None,
        "query_type": q.query_type, "sent_at": time.time(),
    }).encode()


def replay_order(n_queries: int, n: int, seed: int = 0) -> np.ndarray:
    """Which query each of ``n`` messages carries: every query once, in a shuffled order,
    before any repeats (a repeat is an expansion-cache hit, and counts no new query)."""
    order = np.random.default_rng(seed).permutation(n_queries)
    return np.resize(order, n)


def replay_messages(queries: Sequence[LabelledQuery], n: int, malformed_fraction: float = 0.0,
                    seed: int = 0, run_id: str = "r") -> Iterator[tuple[bytes, bytes, str | None]]:
    """Yield (key, value, malformed_kind or None); message i carries query
    ``replay_order(...)[i]`` with id ``{run_id}-{i}``."""
    picks = replay_order(len(queries), n, seed)
    bad = np.random.default_rng([seed, 1]).random(n) < malformed_fraction
    bad_seen = 0
    for i in range(n):
        if bad[i]:
            kind, value = MALFORMED[bad_seen % len(MALFORMED)]  # cycle so every kind occurs
            bad_seen += 1
            yield f"{run_id}-bad-{i}".encode(), value, kind
        else:
            request_id = f"{run_id}-{i}"
            yield request_id.encode(), query_message(queries[int(picks[i])], request_id), None


def paced(messages: Iterable[tuple[bytes, bytes, str | None]],
          rate: float) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs at ``rate`` messages/s (0 = as fast as possible), stamped when sent.

    Re-stamping ``sent_at`` at release time keeps end-to-end latency honest when pacing.
    """
    started = time.perf_counter()
    for i, (key, value, malformed) in enumerate(messages):
        if rate > 0:
            time.sleep(max(0.0, started + i / rate - time.perf_counter()))
        if malformed is None:
            data = json.loads(value)
            data["sent_at"] = time.time()
            value = json.dumps(data).encode()
        yield key, value
