"""The synthetic catalog: products with realistic variation in wording."""

from __future__ import annotations

import numpy as np

from aislestream.core.products import Product
from aislestream.models.world.vocab import BRANDS, COLOURS, PRODUCT_TYPES, USE_PHRASES

_TITLE_TEMPLATES = (
    "{brand} {colour} {form}",
    "{brand} {feature} {form} in {colour}",
    "{form} - {brand} {material} {colour}",
    "{brand} {material} {form}, {size}",
    "{colour} {material} {form} by {brand}",
    "{brand} {form} {size} {colour} {feature}",
)


def generate_catalog(n_products: int, rng: np.random.Generator) -> list[Product]:
    """Generate products with realistic variation in wording.

    Types are Zipf-distributed like real assortments; titles pick one of several surface
    forms for the type and the colour; only ~30% of descriptions mention a colloquial name.
    """
    n_types = len(PRODUCT_TYPES)
    type_weights = 1.0 / np.arange(1, n_types + 1) ** 0.6
    type_ids = rng.choice(n_types, size=n_products, p=type_weights / type_weights.sum())
    colour_names = list(COLOURS)
    # Draw every random number up front: per-item rng.choice calls dominate generation time.
    u = rng.random((n_products, 10))
    colour_ids = rng.integers(len(colour_names), size=n_products)
    colour_forms = rng.choice(3, size=n_products, p=(0.6, 0.25, 0.15))
    form_ids = rng.choice(3, size=n_products, p=(0.5, 0.3, 0.2))
    templates = rng.integers(len(_TITLE_TEMPLATES), size=n_products)
    sentence_orders = rng.random((n_products, 3)).argsort(axis=1) + 1

    def pick(options: tuple[str, ...], x: float) -> str:
        return options[int(x * len(options))]

    products = []
    for i, t in enumerate(type_ids):
        ptype = PRODUCT_TYPES[int(t)]
        brand = pick(BRANDS[ptype.department], u[i, 0])
        colour = colour_names[int(colour_ids[i])]
        colour_form = COLOURS[colour][int(colour_forms[i])]
        material = pick(ptype.materials, u[i, 1])
        size = pick(ptype.sizes, u[i, 2])
        first = int(u[i, 3] * len(ptype.features))
        features = (ptype.features[first],)
        if u[i, 4] < 0.5:  # a second, different feature
            features += (ptype.features[(first + 1) % len(ptype.features)],)
        lo, hi = ptype.price
        price = round(float(np.exp(np.log(lo) + u[i, 5] * (np.log(hi) - np.log(lo)))), 2)
        form = ptype.title_forms[int(form_ids[i])]
        title = _TITLE_TEMPLATES[int(templates[i])].format(
            brand=brand.title(), colour=colour_form, form=form, material=material,
            size=size, feature=features[0],
        )
        body = [
            f"Features: {', '.join(features)}.",
            f"{pick(USE_PHRASES, u[i, 6]).capitalize()} {pick(ptype.uses, u[i, 7])}.",
            f"Size {size}.",
        ]
        sentences = [f"This {form} from {brand} is made of {material} in a {colour_form} finish."]
        sentences += [body[j - 1] for j in sentence_orders[i]]
        if u[i, 8] < 0.3:
            sentences.append(
                f"Shoppers call it the best {pick(ptype.slang, u[i, 9])} in its class.")
        products.append(
            Product(
                id=f"p{i:07d}", title=title, description=" ".join(sentences),
                category=ptype.name, department=ptype.department, brand=brand, colour=colour,
                material=material, size=size, price=price, features=features,
            )
        )
    return products
