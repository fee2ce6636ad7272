"""The identity expander: no terms. The baseline every other engine is measured against."""

from __future__ import annotations

from collections.abc import Sequence

from aislestream.engines.expansion.base import Expansion


class IdentityExpander:
    name = "identity"

    def __init__(self, variant: str = "default") -> None:
        self.variant = variant

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        return [Expansion(q, (), self.name, self.variant) for q in queries]
