"""Text as every layer sees it: one tokenisation (stores, expanders, metrics and training agree
on what a word is) and the weighted term an expander adds to a query."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; query syntax characters never reach a backend's parser."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class WeightedTerm:
    term: str
    weight: float
