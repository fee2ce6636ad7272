"""Expanders by variant name, built on first use, so that experiments can choose per request.

The names ``identity``, ``prf`` and ``llm`` switch the engine of the configured expansion
settings; any other name must be declared in ``AISLE_EXPANSION__VARIANTS`` with the settings it
overrides (a pruned LLM: ``{"llm-pruned": {"engine": "llm", "model_path": "..."}}``).
"""

from __future__ import annotations

import logging

from aislestream.connectors.search.base import SearchStore
from aislestream.engines.expansion import build_expander
from aislestream.engines.expansion.guard import GuardedExpander
from aislestream.errors import ConfigError
from aislestream.settings import ExpansionSettings

log = logging.getLogger(__name__)
ENGINES = ("identity", "prf", "llm")


class ExpanderPool:
    def __init__(self, settings: ExpansionSettings, store: SearchStore,
                 default: GuardedExpander | None = None) -> None:
        self.settings = settings
        self.store = store
        self.default = default or build_expander(settings, store)
        self._built: dict[str, GuardedExpander] = {}

    def variant_settings(self, name: str) -> ExpansionSettings:
        if name in self.settings.variants:
            return self.settings.model_validate({**self.settings.model_dump(exclude={"variants"}),
                                                 **self.settings.variants[name], "variant": name})
        if name in ENGINES:
            return self.settings.model_copy(update={"engine": name, "variant": name, "variants": {}})
        known = ", ".join([*ENGINES, *self.settings.variants])
        raise ConfigError(f"unknown expander variant {name!r}; known: {known}")

    def get(self, name: str | None) -> GuardedExpander:
        """The named variant (built now if it is new); the default for None."""
        if name is None:
            return self.default
        if name not in self._built:
            log.info("building expander variant %r", name)
            self._built[name] = build_expander(self.variant_settings(name), self.store)
        return self._built[name]
