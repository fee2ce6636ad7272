from aislestream.connectors.search.hybrid import HybridStore
from aislestream.models.world import World, WorldConfig
from aislestream.settings import load_settings
from aislestream.stack.indexing import ensure_indexed


def test_dense_turned_on_over_a_built_index_embeds_without_reindexing(tmp_path):
    world = World.generate(WorldConfig(seed=3, n_products=300, n_users=5, n_queries=10))
    settings = load_settings(data_dir=tmp_path, world={"n_products": 300})
    store, built = ensure_indexed(settings, world)
    assert built and store.count() == 300
    store.close()
    dense = load_settings(data_dir=tmp_path, world={"n_products": 300}, store={"dense": True})
    hybrid, rebuilt = ensure_indexed(dense, world)
    assert isinstance(hybrid, HybridStore) and not rebuilt  # the lexical index was left alone
    assert hybrid.embedded() == 300


def test_the_hard_world_is_not_taken_for_an_indexed_default_world(tmp_path):
    from aislestream.stack.indexing import world_fingerprint

    default = load_settings(data_dir=tmp_path)
    hard = load_settings(data_dir=tmp_path, world={"profile": "hard"})
    assert world_fingerprint(default) == "synthetic:7:50000"  # markers written before stay valid
    assert world_fingerprint(hard) != world_fingerprint(default)
