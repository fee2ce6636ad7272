"""The synthetic commerce world (or a loaded real one): catalog, users, queries, behaviour."""

from aislestream.models.world.behaviour import BehaviourSimulator, ClickModel, SessionOutcome, User
from aislestream.models.world.external import (
    RelevanceScale,
    fingerprint,
    load_catalog,
    load_external,
    load_labels,
)
from aislestream.models.world.queries import QUERY_TYPES, LabelledQuery
from aislestream.models.world.world import World, WorldConfig

__all__ = [
    "QUERY_TYPES", "BehaviourSimulator", "ClickModel", "LabelledQuery", "RelevanceScale",
    "SessionOutcome", "User", "World", "WorldConfig", "build_world",
    "fingerprint", "load_catalog", "load_external", "load_labels",
]


def build_world(settings) -> World:
    """The world the settings ask for: external files when given, else synthetic by seed."""
    if settings.catalog_path is not None:
        return load_external(settings.catalog_path, settings.labels_path, settings.seed,
                             RelevanceScale.parse(settings.relevance_scale))
    return World.generate(WorldConfig(
        seed=settings.seed, n_products=settings.n_products,
        n_users=settings.n_users, n_queries=settings.n_queries, profile=settings.profile,
    ))
