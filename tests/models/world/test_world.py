import numpy as np
import pytest

from aislestream.models.world import QUERY_TYPES, World, WorldConfig
from aislestream.models.world.queries import misspell
from aislestream.models.world.vocab import PRODUCT_TYPES


def test_same_seed_gives_the_same_world(small_world):
    again = World.generate(WorldConfig(seed=11, n_products=3_000, n_users=200, n_queries=400))
    assert [p.title for p in again.products] == [p.title for p in small_world.products]
    assert [(q.text, q.relevance) for q in again.queries] == [
        (q.text, q.relevance) for q in small_world.queries
    ]


def test_other_seed_gives_another_world(small_world):
    other = World.generate(WorldConfig(seed=12, n_products=3_000, n_users=200, n_queries=400))
    assert [p.title for p in other.products] != [p.title for p in small_world.products]


def test_catalog_has_categories_brands_attributes_and_varied_titles(small_world):
    products = small_world.products
    assert len({p.category for p in products}) >= 30
    assert len({p.brand for p in products}) >= 50
    assert all(p.title and p.description and p.price > 0 and p.colour for p in products)
    shoes = [p for p in products if p.category == "running shoes"]
    forms = {form for p in shoes for form in ("running shoes", "running trainers", "jogging shoes")
             if form in p.title}
    assert len(forms) == 3, "titles should name a type with several surface forms"


def test_every_query_type_is_generated_and_labelled(small_world):
    by_type = small_world.queries_by_type()
    assert set(by_type) == set(QUERY_TYPES)
    for q in small_world.queries:
        grades = set(q.relevance.values())
        assert grades <= {1, 2, 3}
        # The intent is drawn from a real product, so a perfect answer always exists.
        assert 3 in grades or (not q.constraints and grades == {2})
        assert q.user_id.startswith("u")


def test_relevance_follows_the_constraints(small_world):
    q = next(q for q in small_world.queries
             if q.query_type == "torso" and "colour" in q.constraints)
    products = small_world.product_by_id
    for pid, grade in q.relevance.items():
        assert products[pid].category == q.category
        assert (grade == 3) == (products[pid].colour == q.constraints["colour"])


def test_colloquial_queries_name_the_type_by_its_slang(small_world):
    slang = {s for t in PRODUCT_TYPES for s in t.slang}
    colloquial = small_world.queries_by_type()["colloquial"]
    for q in colloquial:
        word = next(s for s in slang if q.text.endswith(" " + s))
        assert q.category not in q.text.removesuffix(word), "the type is named only by slang"


def test_misspell_changes_long_words_only():
    rng = np.random.default_rng(0)
    out = misspell("red running shoes", rng)
    assert out != "red running shoes"
    assert out.split()[0] == "red"


def test_world_size_is_configurable():
    w = World.generate(WorldConfig(seed=1, n_products=500, n_users=10, n_queries=20))
    assert (len(w.products), len(w.users), len(w.queries)) == (500, 10, 20)


@pytest.mark.parametrize("n", [50_000])
def test_default_catalog_size_is_at_least_50k(n):
    assert WorldConfig().n_products >= n
