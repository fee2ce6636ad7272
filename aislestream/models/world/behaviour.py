"""Shoppers and what they do with a ranked list: the simulated half of the search engine.

A position-based click model (examination falls off with rank) where attractiveness
grows with graded relevance and the user's brand and colour preferences, followed by
add-to-cart and purchase steps that also weigh price against the user's sensitivity.
RL rewards and A/B tests read outcomes from here, so it is deterministic given its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aislestream.core.products import Product
from aislestream.models.world.vocab import BRANDS, COLOURS


@dataclass(frozen=True)
class User:
    id: str
    favourite_brands: tuple[str, ...]
    favourite_colours: tuple[str, ...]
    price_sensitivity: float  # 0 = ignores price, 1 = buys only cheap


def generate_users(n_users: int, rng: np.random.Generator) -> list[User]:
    all_brands = [b for brands in BRANDS.values() for b in brands]
    colours = list(COLOURS)
    return [
        User(
            id=f"u{i:06d}",
            favourite_brands=tuple(str(b) for b in rng.choice(all_brands, size=3, replace=False)),
            favourite_colours=tuple(str(c) for c in rng.choice(colours, size=2, replace=False)),
            price_sensitivity=float(rng.beta(2, 2)),
        )
        for i in range(n_users)
    ]


@dataclass(frozen=True)
class ClickModel:
    position_decay: float = 1.0  # examination probability = 1 / (rank + 1) ** decay
    attractiveness: tuple[float, float, float, float] = (0.02, 0.12, 0.35, 0.6)  # by grade
    brand_boost: float = 1.3
    colour_boost: float = 1.2
    cart_given_click: float = 0.35
    purchase_given_cart: float = 0.6


@dataclass
class SessionOutcome:
    impressions: list[str] = field(default_factory=list)
    clicks: list[str] = field(default_factory=list)
    carts: list[str] = field(default_factory=list)
    purchases: list[str] = field(default_factory=list)
    revenue: float = 0.0

    @property
    def converted(self) -> bool:
        return bool(self.purchases)


@dataclass(frozen=True)
class ExpectedOutcome:
    click_rate: float  # share of sessions with at least one click
    conversion_rate: float  # share of sessions with a purchase


class BehaviourSimulator:
    """Plays one shopper looking at one ranked result list."""

    def __init__(
        self,
        products: dict[str, Product],
        users: dict[str, User],
        model: ClickModel | None = None,
        seed: int = 0,
    ) -> None:
        self.products = products
        self.users = users
        self.model = model or ClickModel()
        self.rng = np.random.default_rng(seed)
        self._max_price = max((p.price for p in products.values()), default=1.0) or 1.0

    def session(
        self, user_id: str, ranked_ids: list[str], relevance: dict[str, int]
    ) -> SessionOutcome:
        m = self.model
        user = self.users.get(user_id)
        out = SessionOutcome()
        for rank, pid in enumerate(ranked_ids):
            out.impressions.append(pid)
            if self.rng.random() >= 1.0 / (rank + 1) ** m.position_decay:
                continue
            product = self.products.get(pid)
            grade = relevance.get(pid, 0)
            attract = m.attractiveness[min(grade, 3)]
            if user is not None and product is not None:
                attract *= m.brand_boost if product.brand in user.favourite_brands else 1.0
                attract *= m.colour_boost if product.colour in user.favourite_colours else 1.0
            if self.rng.random() >= min(attract, 1.0):
                continue
            out.clicks.append(pid)
            price_penalty = 0.0
            if user is not None and product is not None:
                price_penalty = user.price_sensitivity * product.price / self._max_price
            if self.rng.random() >= m.cart_given_click * (grade / 3.0) * (1.0 - price_penalty):
                continue
            out.carts.append(pid)
            if self.rng.random() < m.purchase_given_cart:
                out.purchases.append(pid)
                out.revenue += product.price if product is not None else 0.0
        return out

    def expected(self, user_id: str, ranked_ids: list[str], relevance: dict[str, int],
                 sessions: int) -> ExpectedOutcome:
        """What a list is worth, estimated by replaying it ``sessions`` times: the ground truth
        that evaluations and A/B checks compare against."""
        outcomes = [self.session(user_id, ranked_ids, relevance) for _ in range(sessions)]
        return ExpectedOutcome(float(np.mean([bool(o.clicks) for o in outcomes])),
                               float(np.mean([o.converted for o in outcomes])))
