"""A seeded corpus of hostile messages for every input topic, with what each must come back as.

Each kind is something a real producer (or attacker) sends: deeply nested JSON, lone surrogates,
records near the broker's size limit, ids that are paths, NUL bytes, non-finite numbers,
tombstones, keys of half a megabyte. Every message must yield exactly one output on one of its
topic's output topics, keyed so it can be found again (``expected_key``); nothing may crash the
worker or write outside its data directory. Ids may repeat (every ``dot_id`` record is "."), so
outputs are counted per key against how many inputs carry that key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aislestream.streams import topics
from aislestream.streams.decoding import safe_key

SHAPES = ("bottle", "box", "shoe", "phone", "can", "ball")
COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")
OUTPUTS = {  # input topic -> the topics its one output per message may land on
    topics.SEARCH_QUERIES: (topics.SEARCH_RESULTS, topics.SEARCH_DLQ),
    topics.ADS_REQUESTS: (topics.ADS_CREATIVES, topics.ADS_DLQ),
    topics.ASSISTANT_TURNS: (topics.ASSISTANT_REPLIES, topics.ASSISTANT_DLQ),
    topics.SEARCH_FEEDBACK: (topics.SEARCH_FEEDBACK_DLQ,),  # never served: each one ends unjoinable
}


@dataclass(frozen=True)
class Hostile:
    topic: str  # base name of the input topic
    kind: str
    key: bytes
    value: bytes | None

    @property
    def expected_key(self) -> bytes:
        return safe_key(self.key)  # type: ignore[return-value]


def _valid(topic: str, ident: str, rng: np.random.Generator) -> dict:
    """A well-formed record of ``topic`` whose id (the output key) is ``ident``."""
    if topic == topics.SEARCH_QUERIES:
        return {"request_id": ident,
                "query": str(rng.choice(["red running shoes", "kettle", "leather bag"]))}
    if topic == topics.ADS_REQUESTS:
        return {"request_id": ident, "product_id": f"p{int(rng.integers(1000))}",
                "shape": str(rng.choice(SHAPES)), "colour": str(rng.choice(COLOURS))}
    if topic == topics.ASSISTANT_TURNS:
        return {"session_id": ident, "turn": 0, "text": "I need kicks in red"}
    return {"request_id": ident, "impressions": 10, "clicks": 1, "carts": 0, "purchases": 0,
            "revenue": 0.0}


ID_FIELD = {topics.SEARCH_QUERIES: "request_id", topics.ADS_REQUESTS: "request_id",
            topics.ASSISTANT_TURNS: "session_id", topics.SEARCH_FEEDBACK: "request_id"}
TEXT_FIELD = {topics.SEARCH_QUERIES: "query", topics.ADS_REQUESTS: "product_id",
              topics.ASSISTANT_TURNS: "text", topics.SEARCH_FEEDBACK: "user_id"}
NUMBER_FIELD = {topics.SEARCH_QUERIES: "price_max", topics.ADS_REQUESTS: "shape",
                topics.ASSISTANT_TURNS: "sent_at", topics.SEARCH_FEEDBACK: "revenue"}


def _kinds(escape_dir: Path) -> dict[str, Callable[[str, str, np.random.Generator],
                                                   tuple[str, bytes | None]]]:
    """kind -> (topic, ident, rng) -> (the id the record carries, value bytes). The id carried is
    the output key for records that are answered by id (paths and NUL included)."""
    def record(topic, ident, rng, **fields) -> bytes:
        return json.dumps({**_valid(topic, ident, rng), **fields}).encode()

    def path_id(prefix: str):
        def make(topic, ident, rng):
            carried = f"{prefix}{ident}"
            return carried, record(topic, carried, rng)
        return make

    def with_text(text: str):
        def make(topic, ident, rng):
            body = record(topic, ident, rng, **{TEXT_FIELD[topic]: "@@TEXT@@"})
            return ident, body.replace(b'"@@TEXT@@"', text.encode())
        return make

    def with_number(number: bytes):
        def make(topic, ident, rng):
            body = record(topic, ident, rng, **{NUMBER_FIELD[topic]: "@@N@@"})
            return ident, body.replace(b'"@@N@@"', number)
        return make

    def nested(topic, ident, rng):
        depth = 5_000  # 10 KB of brackets: RecursionError in the standard decoder
        return ident, record(topic, ident, rng, extra="@@").replace(b'"@@"',
                                                                    b"[" * depth + b"]" * depth)

    def oversized(topic, ident, rng):
        size = int(rng.integers(750_000, 950_000))
        return ident, record(topic, ident, rng, padding="x" * size)

    return {
        "valid": lambda topic, ident, rng: (ident, record(topic, ident, rng)),
        "valid_unicode": with_text('"\\u00e9t\\u00e9 \\ud83d\\udc5f \\u05e9\\u05dc\\u05d5\\u05dd"'),
        "nested_json": nested,
        "lone_surrogate": with_text('"x \\udfff"'),
        "oversized": oversized,
        "path_traversal": path_id("../../../"),
        "absolute_path": path_id(f"{escape_dir}/"),
        "slash_in_id": path_id("missing/dir/"),
        # feedback carries ".." (no query does), so that it stays unjoinable like every
        # feedback here
        "dot_id": lambda topic, ident, rng: (
            dot := ".." if topic == topics.SEARCH_FEEDBACK else ".", record(topic, dot, rng)),
        "nul_in_id": path_id("nul\x00"),
        "long_id": path_id("x" * 300),
        "not_utf8": lambda topic, ident, rng: (
            ident, b'{"' + ID_FIELD[topic].encode() + b'": "\xff\xfe"}'),
        "nan": with_number(b"NaN"),
        "infinity": with_number(b"Infinity"),
        "huge_float": with_number(b"1e400"),
        "huge_int": with_number(b"9" * 5_000),
        "wrong_type": with_number(b'"10"'),
        "tombstone": lambda topic, ident, rng: (ident, None),
        "not_object": lambda topic, ident, rng: (ident, b'["a", "list"]'),
        "huge_key": lambda topic, ident, rng: (ident, b"{not json"),
    }


def hostile_corpus(n_per_topic: int, seed: int, escape_dir: Path, run_id: str,
                   topic_names: tuple[str, ...] = tuple(OUTPUTS)) -> list[Hostile]:
    """``n_per_topic`` messages per input topic, kinds cycled so each occurs, order shuffled.

    ``escape_dir`` is where an absolute-path id points: nothing may ever appear there.
    """
    rng = np.random.default_rng(seed)
    kinds = _kinds(escape_dir)
    names = list(kinds)
    out: list[Hostile] = []
    for topic in topic_names:
        for i in range(n_per_topic):
            kind = names[i % len(names)]
            ident = f"{run_id}-{topic}-{i}"
            carried, value = kinds[kind](topic, ident, rng)
            # keyed by the id it carries, as producers do: its output is keyed the same either way
            key = carried.encode("utf-8") if kind != "huge_key" else ident.encode() + b"k" * 500_000
            out.append(Hostile(topic, kind, key, value))
    order = rng.permutation(len(out))
    return [out[i] for i in order]
