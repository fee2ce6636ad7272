"""Query expansion: protocol, backends and ``build_expander`` (the only thing streams need)."""

from __future__ import annotations

from aislestream.connectors.search.base import FusionConfig, SearchStore
from aislestream.engines.expansion.base import Expander, Expansion, normalize_query
from aislestream.engines.expansion.cache import CachedExpander, LruCache, RedisCache
from aislestream.engines.expansion.guard import GuardedExpander
from aislestream.engines.expansion.identity import IdentityExpander
from aislestream.engines.expansion.prf import PrfConfig, PrfExpander
from aislestream.errors import ConfigError
from aislestream.settings import DRIFT_FILTER_FILE, ExpansionSettings

__all__ = [
    "CachedExpander", "Expander", "Expansion", "GuardedExpander", "IdentityExpander",
    "LruCache", "PrfConfig", "PrfExpander", "RedisCache", "build_expander", "fusion_config",
    "normalize_query",
]


def build_backend(settings: ExpansionSettings, store: SearchStore) -> Expander:
    """The engine, behind the drift filter where asked (LLM only)."""
    engine = _engine(settings, store)
    if not settings.drift_filter or settings.engine != "llm":
        return engine
    from aislestream.engines.expansion.drift import DriftFilter, DriftFilteredExpander

    path = settings.model_path.parent / DRIFT_FILTER_FILE  # type: ignore[union-attr]
    if not path.exists():
        raise ConfigError(f"drift_filter is on but {path} does not exist: `aisle eval "
                          "expansion` writes it beside the model it evaluates")
    return DriftFilteredExpander(engine, DriftFilter.load(path))


def _engine(settings: ExpansionSettings, store: SearchStore) -> Expander:
    """LLM backends import lazily: torch, onnxruntime and vllm are optional extras."""
    if settings.engine == "identity":
        return IdentityExpander(settings.variant)
    if settings.engine == "llm":
        from aislestream.engines.expansion.llm import LLMConfig

        config = LLMConfig(settings.model_path, settings.llm_max_new_tokens,  # type: ignore[arg-type]
                           settings.llm_max_terms, batch_size=settings.llm_batch_size)
        if settings.llm_backend == "onnx":
            from aislestream.engines.expansion.onnx_backend import OnnxLLMExpander

            return OnnxLLMExpander(config, settings.variant)
        if settings.llm_backend == "vllm":
            from aislestream.engines.expansion.vllm_backend import VllmLLMExpander

            return VllmLLMExpander(config, settings.variant)
        from aislestream.engines.expansion.torch_backend import TorchLLMExpander

        return TorchLLMExpander(config, settings.variant)
    config = PrfConfig(settings.prf_docs, settings.prf_terms, settings.prf_original_weight)
    return PrfExpander(store, config, settings.variant)


def fusion_config(settings: ExpansionSettings) -> FusionConfig | None:
    """How this expander's terms are searched: None mixes them into the query."""
    if settings.fusion == "mix" and not settings.gate:
        return None  # one search, the terms in the query
    return FusionConfig("rrf" if settings.fusion == "rrf" else "expanded", settings.gate,
                        settings.fusion_k_original, settings.fusion_k_expansion,
                        settings.fusion_weight, settings.fusion_depth)


def build_expander(settings: ExpansionSettings, store: SearchStore) -> GuardedExpander:
    """Backend, wrapped in its caches (LRU, then Redis if configured) and the deadline guard,
    which carries how its terms are to be searched (``fusion``)."""
    engine: Expander = build_backend(settings, store)
    caches = []
    if settings.lru_size > 0:
        caches.append(LruCache(settings.lru_size))
    if settings.redis_url:
        caches.append(RedisCache(settings.redis_url, settings.redis_ttl_s))
    if caches:
        engine = CachedExpander(engine, caches)
    return GuardedExpander(engine, settings.deadline_ms / 1000.0, fusion=fusion_config(settings))
