"""The World: catalog, users, labelled queries and the behaviour simulator behind one API.

Built either from a seed (synthetic, deterministic) or from external files, so everything
downstream (indexing, training, evaluation, A/B simulation) runs the same on real data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from aislestream.core.products import Product
from aislestream.models.world.behaviour import BehaviourSimulator, ClickModel, User, generate_users
from aislestream.models.world.catalog import generate_catalog
from aislestream.models.world.hard import generate_hard
from aislestream.models.world.queries import LabelledQuery, generate_queries


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    n_products: int = 50_000
    n_users: int = 5_000
    n_queries: int = 4_000
    profile: str = "default"  # or "hard": titles only, near-duplicates, noise (world/hard.py)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown world profile {self.profile!r}; choose one of "
                             f"{', '.join(PROFILES)}")


PROFILES = ("default", "hard")


class World:
    def __init__(
        self, products: list[Product], users: list[User], queries: list[LabelledQuery], seed: int
    ) -> None:
        self.products = products
        self.users = users
        self.queries = queries
        self.seed = seed
        self.product_by_id = {p.id: p for p in products}
        self.user_by_id = {u.id: u for u in users}

    @classmethod
    def generate(cls, config: WorldConfig) -> "World":
        # Separate streams per part so changing n_queries does not reshuffle the catalog.
        seeds = np.random.SeedSequence(config.seed).spawn(3)
        users = generate_users(config.n_users, np.random.default_rng(seeds[1]))
        if config.profile == "hard":
            products, queries = generate_hard(
                config.n_products, config.n_queries, config.n_users,
                (np.random.default_rng(seeds[0]), np.random.default_rng(seeds[2])))
            return cls(products, users, queries, config.seed)
        products = generate_catalog(config.n_products, np.random.default_rng(seeds[0]))
        queries = generate_queries(
            products, config.n_queries, config.n_users, np.random.default_rng(seeds[2])
        )
        return cls(products, users, queries, config.seed)

    def simulator(self, seed: int | None = None,
                  model: ClickModel | None = None) -> BehaviourSimulator:
        return BehaviourSimulator(
            self.product_by_id, self.user_by_id, model, self.seed if seed is None else seed
        )

    def queries_by_type(self) -> dict[str, list[LabelledQuery]]:
        groups: dict[str, list[LabelledQuery]] = {}
        for q in self.queries:
            groups.setdefault(q.query_type, []).append(q)
        return groups

    def export(self, directory: Path) -> tuple[Path, Path]:
        """Write the catalog and labels in the external formats that ``load_external`` reads."""
        directory.mkdir(parents=True, exist_ok=True)
        catalog, labels = directory / "catalog.jsonl", directory / "labels.jsonl"
        with catalog.open("w") as fh:
            for p in self.products:
                row = asdict(p)
                row["features"] = ", ".join(p.features)
                row.update(row.pop("extra"))
                fh.write(json.dumps(row) + "\n")
        with labels.open("w") as fh:
            for q in self.queries:
                for pid, grade in q.relevance.items():
                    fh.write(json.dumps({"query": q.text, "product_id": pid, "relevance": grade,
                                         "query_type": q.query_type}) + "\n")
        return catalog, labels
