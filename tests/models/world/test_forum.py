import re

from aislestream.models.world.dimensions import PHRASINGS, price_bounds
from aislestream.models.world.forum import forum_posts
from aislestream.models.world.vocab import PRODUCT_TYPES


def test_every_phrasing_occurs_in_the_forum_without_a_parameter_label(small_world):
    posts = forum_posts(small_world.products, 20_000, seed=1)
    assert posts[:100] == forum_posts(small_world.products, 100, seed=1)
    text = "\n".join(posts)
    for name, table in PHRASINGS.items():
        for phrasing in table["train"] + table["held_out"]:
            head = phrasing.lower().split("{")[0].strip() or phrasing.lower().split("}")[-1].strip()
            assert head in text, (name, phrasing)
    # unlabelled: no parameter set anywhere
    assert not re.search(r"[{}\"]|price_max|exclude_", text)


def test_price_words_are_said_about_products_in_their_range(small_world):
    ranges = {t.name: price_bounds(t) for t in PRODUCT_TYPES}
    products = {(p.title, round(p.price)): p for p in small_world.products}  # titles alone repeat
    checked = 0
    for post in forum_posts(small_world.products, 3_000, seed=2):
        match = re.search(r"bought (.+) for (\d+) \.$", post)
        product = products[(match.group(1), int(match.group(2)))]
        low, high = ranges[product.category]
        if "wallet-friendly" in post or "cheap" in post:
            assert product.price <= low
            checked += 1
        if "luxury" in post or "premium" in post:
            assert product.price >= high
            checked += 1
    assert checked > 50


def test_restatements_say_the_same_thing_twice(small_world):
    from aislestream.models.world.vocab import COLOURS

    restated = [p for p in forum_posts(small_world.products, 3_000, seed=4) if " . i mean " in p]
    assert len(restated) > 200
    products = {(p.title, round(p.price)): p for p in small_world.products}
    for post in restated:
        match = re.search(r"shopper : (.+) \. i mean (.+) \. bought (.+) for (\d+) \.$", post)
        product = products[(match.group(3), int(match.group(4)))]
        first, second = match.group(1), match.group(2)
        if any(w in first for w in COLOURS[product.colour]) and "one" not in second.split()[:1]:
            assert any(w in second for w in COLOURS[product.colour]), post
