"""What shoppers did, as an RL environment: their words in, the product they bought as the only
label.

An e-commerce site has a session's words and its purchase, not the parameters the shopper
meant. Each example is one shopper request of the world's forum (every phrasing, held-out ones
included) about a product they then bought, asked inside a session that already names the
product's category when the words are about one dimension (a price, a colour, a feature) and in
an empty session when the words name the product themselves. Its reward
(``Judge.behaviour_rewards``) asks whether the bought product satisfies the predicted
parameters and how high it ranks in the search they drive, so no gold parameter set, least of
all one of a held-out phrasing, ever reaches training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.core.products import Product
from aislestream.errors import ConfigError
from aislestream.models.assistant.data import assistant_prompt, rule_hint
from aislestream.models.world.dimensions import Params
from aislestream.models.world.forum import shopper_request

# request kinds whose words name the product (the session starts with them)
NAMES_PRODUCT = ("open", "vague", "chatter")


@dataclass(frozen=True)
class BehaviourExample:
    prompt: str
    product_id: str  # what the shopper bought: the reward's only label
    state: Params  # the session before the words: the category, or nothing
    words: str  # what the shopper said (the prompt's turn)


def purchase_log(products: Sequence[Product], n: int, seed: int = 0,
                 ) -> list[tuple[str, Product]]:
    """Up to ``n`` shoppers' requests and the product each bought, the words alone (no kind,
    no parameters): what a site's logs hold. Fewer when few products are of the world's
    product types (an external catalog)."""
    rng = np.random.default_rng([seed, 23])
    out: list[tuple[str, Product]] = []
    for _ in range(3 * n):
        if len(out) == n or not products:
            break
        product = products[int(rng.integers(len(products)))]
        request = shopper_request(product, rng)
        if request is not None:
            out.append((request[1], product))
    return out


def behaviour_examples(products: Sequence[Product], n: int, seed: int = 0,
                       ) -> list[BehaviourExample]:
    """``n`` requests about products drawn uniformly from the catalog (seeded apart from the
    adaptation stage's forum posts)."""
    rng = np.random.default_rng([seed, 13])
    out: list[BehaviourExample] = []
    for _ in range(50 * n):  # a kind fits most products; a catalog of unknown types fits none
        if len(out) == n:
            break
        product = products[int(rng.integers(len(products)))]
        request = shopper_request(product, rng)
        if request is None:
            continue
        kind, words = request
        state = Params() if kind in NAMES_PRODUCT else Params(category=product.category)
        out.append(BehaviourExample(assistant_prompt(state, rule_hint(state, words), words),
                                    product.id, state, words))
    if len(out) < n:
        raise ConfigError(f"only {len(out)} of {n} shopper requests fit this catalog's products "
                          "(their categories are not the world's product types)")
    return out
