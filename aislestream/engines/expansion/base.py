"""The query-expansion contract. Streams depend on this and on ``build_expander`` only.

An expander turns a batch of queries into weighted terms that are added to the original
query at retrieval time (the original is never replaced, so a bad expansion can only
dilute, not lose, the shopper's words). Backends: identity, PRF (RM3); the LLM backends
(torch, vLLM, ONNX Runtime) implement the same protocol.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aislestream.core.text import WeightedTerm


@dataclass(frozen=True)
class Expansion:
    query: str
    terms: tuple[WeightedTerm, ...]
    engine: str
    variant: str
    fallback: str | None = None  # why the original query alone was used, if it was
    cached: bool = False


@runtime_checkable
class Expander(Protocol):
    name: str
    variant: str

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        """One Expansion per query, in order."""


def normalize_query(query: str) -> str:
    """Cache key form of a query: case and spacing do not change an expansion."""
    return re.sub(r"\s+", " ", query.strip().lower())
