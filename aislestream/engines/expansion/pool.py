"""Expanders by variant name, built on first use, so that experiments can choose per request.

The names ``identity``, ``prf`` and ``llm`` switch the engine of the configured expansion
settings; any other name must be declared in ``AISLE_EXPANSION__VARIANTS`` with the settings it
overrides (a pruned LLM: ``{"llm-pruned": {"engine": "llm", "model_path": "..."}}``).
"""

from __future__ import annotations

from pathlib import Path

from aislestream.connectors.search.base import SearchStore
from aislestream.engines.expansion import build_expander
from aislestream.engines.expansion.cache import CachedExpander
from aislestream.engines.expansion.guard import GuardedExpander
from aislestream.engines.variants import Variants
from aislestream.errors import ConfigError
from aislestream.settings import EXPANDER_ENGINES, ExpansionSettings, apply_llm_defaults


class ExpanderPool:
    def __init__(self, settings: ExpansionSettings, store: SearchStore,
                 data_dir: Path = Path(".aisle"),
                 default: GuardedExpander | None = None) -> None:
        self.settings = settings
        self.store = store
        self.data_dir = data_dir
        self.default = default or build_expander(settings, store)
        self._variants = Variants(lambda name: build_expander(self.variant_settings(name), store),
                                  "expander")

    def variant_settings(self, name: str) -> ExpansionSettings:
        if name in self.settings.variants:
            overrides = self.settings.variants[name]
            base = self.settings.model_dump(exclude={"variants"}, exclude_unset=True)
            return apply_llm_defaults(
                ExpansionSettings.model_validate({**base, **overrides, "variant": name}),
                self.data_dir)
        if name in EXPANDER_ENGINES:
            # an LLM path configured for the default engine carries over; a derived default does not
            drop = ({"variants"} if self.settings.engine == "llm"
                    else {"variants", "model_path", "deadline_ms"})
            base = self.settings.model_dump(exclude=drop, exclude_unset=True)
            return apply_llm_defaults(
                ExpansionSettings.model_validate({**base, "engine": name, "variant": name}),
                self.data_dir)
        known = ", ".join([*EXPANDER_ENGINES, *self.settings.variants])
        raise ConfigError(f"unknown expander variant {name!r}; known: {known}")

    def counts(self) -> dict[str, int]:
        """Per expander built so far: queries that fell back, and cache hits and misses."""
        out: dict[str, int] = {}
        for name, guarded in {"default": self.default, **self._variants.built()}.items():
            out[f"{name}.fallbacks"] = guarded.fallbacks
            if isinstance(guarded.inner, CachedExpander):
                out[f"{name}.cache_hits"] = guarded.inner.hits
                out[f"{name}.cache_misses"] = guarded.inner.misses
        return out

    def get(self, name: str | None) -> GuardedExpander:
        """The named variant (built now if it is new); the default for None. A variant that
        cannot be built raises ``ConfigError``."""
        return self.default if name is None else self._variants.get(name)
