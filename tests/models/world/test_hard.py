import numpy as np
import pytest

from aislestream.models.world import World, WorldConfig
from aislestream.models.world.hard import human_misspell, noisy_grades
from aislestream.models.world.queries import LabelledQuery


@pytest.fixture(scope="module")
def hard():
    return World.generate(WorldConfig(seed=3, n_products=3_000, n_users=20, n_queries=600,
                                      profile="hard"))


def test_titles_only_brand_first_with_near_duplicates(hard):
    products = hard.products
    assert all(p.description == "" and not p.attributes() for p in products)
    # brand-heavy: every title starts with a capitalised brand word and most carry a model code
    assert sum(any(w[:1].isupper() and "-" in w for w in p.title.split()) for p in products) \
        > 0.3 * len(products)
    # near-duplicates: titles that differ from another product's in one word only
    skeletons = {}
    for p in products:
        words = p.title.split()
        for i in range(len(words)):
            skeletons.setdefault(" ".join(words[:i] + ["_"] + words[i + 1:]), set()).add(p.id)
    twins = {pid for ids in skeletons.values() if len(ids) > 1 for pid in ids}
    assert len(twins) > 0.3 * len(products)


def test_more_misspelled_queries_and_every_type_present(hard):
    groups = hard.queries_by_type()
    assert set(groups) == {"head", "torso", "long_tail", "colloquial", "misspelled",
                           "attribute_heavy", "brand"}
    assert len(groups["misspelled"]) > 0.12 * len(hard.queries)


def test_the_same_seed_gives_the_same_world_and_the_default_is_unchanged(hard):
    again = World.generate(WorldConfig(seed=3, n_products=3_000, n_users=20, n_queries=600,
                                       profile="hard"))
    assert [p.title for p in again.products] == [p.title for p in hard.products]
    assert [q.relevance for q in again.queries] == [q.relevance for q in hard.queries]
    default = World.generate(WorldConfig(seed=3, n_products=3_000, n_users=20, n_queries=600))
    assert default.products[0].description and default.products[0].colour


def test_human_misspellings_change_the_text_and_stay_close():
    rng = np.random.default_rng(0)
    texts = ["cordless drill", "toilet seat", "stainless steel kettle", "phone charger"]
    typed = [human_misspell(t, rng) for t in texts for _ in range(50)]
    assert sum(t not in texts for t in typed) > 0.9 * len(typed)
    assert all(abs(len(a) - len(b)) <= 5 for a, b in zip(typed, [t for t in texts
                                                                   for _ in range(50)]))
    assert any(" " not in t for t in typed[:100])  # words run together sometimes


def test_rater_noise_moves_a_share_of_grades_by_one_within_the_scale():
    q = LabelledQuery("q1", "kettle", "head", relevance={f"p{i}": 2 for i in range(2_000)})
    (noisy,) = noisy_grades([q], 0.15, np.random.default_rng(0))
    moved = [g for g in noisy.relevance.values() if g != 2]
    assert 0.1 < len(moved) / 2_000 < 0.2 and set(moved) <= {1, 3}
    assert set(noisy.relevance) == set(q.relevance)


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="unknown world profile"):
        WorldConfig(profile="harder")
