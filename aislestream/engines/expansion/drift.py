"""The drift filter: drop an expansion term that the catalog itself says excludes a query word.

On two real catalogs the LLM added rival brands (a toilet seat of one brand got another brand)
and neighbouring products (an Xbox controller query got "ps4"). Such a term and the query word
it contradicts are both common in the catalog's titles but never occur in the same title: a
product has one brand, one type, one colour. So, without any attribute column:

    drop term t  if  some query word q has  co(q, t) = 0  and  df(q) * df(t) / N >= min_expected

where ``df`` counts titles holding a word, ``co`` titles holding both and ``N`` all titles; the
expected co-occurrence under independence must be high enough for the absence to mean
exclusion rather than chance. Words rarer than ``min_df`` are never judged (a misspelling, a
word the catalog does not use: a correction of it must pass). The cost, measured by `aisle eval
expansion` as its own rows: two names for one thing that titles never use together (a true
synonym) are dropped as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from aislestream.core.text import tokenize
from aislestream.engines.expansion.base import Expander, Expansion
from aislestream.settings import DRIFT_FILTER_FILE


@dataclass(frozen=True)
class DriftConfig:
    min_df: int = 5
    min_expected: float = 2.0


class DriftFilter:
    """Title postings of every word at least ``min_df`` titles hold, as sorted row arrays."""

    def __init__(self, vocabulary: Sequence[str], offsets: np.ndarray, rows: np.ndarray,
                 n_titles: int, config: DriftConfig = DriftConfig()) -> None:
        self._slot = {word: i for i, word in enumerate(vocabulary)}
        self._offsets, self._rows, self.n_titles, self.config = offsets, rows, n_titles, config

    @classmethod
    def from_titles(cls, titles: Iterable[str], config: DriftConfig = DriftConfig()
                    ) -> "DriftFilter":
        postings: dict[str, list[int]] = {}
        n = 0
        for n, title in enumerate(titles, start=1):
            for word in set(tokenize(title)):
                postings.setdefault(word, []).append(n - 1)
        kept = sorted(w for w, rows in postings.items() if len(rows) >= config.min_df)
        lengths = np.array([len(postings[w]) for w in kept], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rows = (np.concatenate([np.asarray(postings[w], np.int32) for w in kept])
                if kept else np.zeros(0, np.int32))
        return cls(kept, offsets, rows, n, config)

    def save(self, path: Path) -> None:
        vocabulary = sorted(self._slot, key=self._slot.__getitem__)
        np.savez_compressed(path, offsets=self._offsets, rows=self._rows,
                            meta=np.frombuffer(json.dumps(
                                {"vocabulary": vocabulary, "n_titles": self.n_titles,
                                 "min_df": self.config.min_df,
                                 "min_expected": self.config.min_expected}).encode(), np.uint8))

    @classmethod
    def load(cls, path: Path) -> "DriftFilter":
        with np.load(path) as data:
            meta = json.loads(data["meta"].tobytes())
            return cls(meta["vocabulary"], data["offsets"], data["rows"], meta["n_titles"],
                       DriftConfig(meta["min_df"], meta["min_expected"]))

    def _postings(self, word: str) -> np.ndarray | None:
        slot = self._slot.get(word)
        if slot is None:
            return None
        return self._rows[self._offsets[slot]:self._offsets[slot + 1]]

    def conflict(self, query: str, term: str) -> str | None:
        """The query word ``term`` contradicts, if any."""
        t = self._postings(term)
        if t is None:
            return None
        for word in dict.fromkeys(tokenize(query)):
            q = self._postings(word)
            if q is None or word == term:
                continue
            if len(q) * len(t) / max(1, self.n_titles) < self.config.min_expected:
                continue
            small, large = (q, t) if len(q) < len(t) else (t, q)
            at = np.searchsorted(large, small).clip(max=len(large) - 1)
            if not (large[at] == small).any():
                return word
        return None

    def apply(self, expansion: Expansion) -> Expansion:
        """The expansion without its contradicting terms (the others keep their weights)."""
        kept = tuple(t for t in expansion.terms if self.conflict(expansion.query, t.term) is None)
        return expansion if len(kept) == len(expansion.terms) else replace(expansion, terms=kept)


class DriftFilteredExpander:
    """An expander whose terms pass the drift filter (``ExpansionSettings.drift_filter``)."""

    def __init__(self, expander: Expander, drift: DriftFilter) -> None:
        self._expander, self._drift = expander, drift
        # its own name: a shared expansion cache must not serve unfiltered terms for it
        self.name, self.variant = f"{expander.name}+drift", expander.variant

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        return [self._drift.apply(e) for e in self._expander.expand(queries)]


def catalog_drift_filter(root: Path, titles: Iterable[str]) -> DriftFilter:
    """The filter of the catalog a model is evaluated on, kept at ``root``/drift.npz for the
    workers; built afresh each time (a second), so it never describes another catalog."""
    drift = DriftFilter.from_titles(titles)
    drift.save(root / DRIFT_FILTER_FILE)
    return drift
