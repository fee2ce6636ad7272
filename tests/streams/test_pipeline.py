import asyncio
import json

import pytest

from aislestream.engines.expansion import GuardedExpander, IdentityExpander, PrfExpander
from aislestream.engines.expansion.pool import ExpanderPool
from aislestream.settings import ExpansionSettings, StreamSettings
from aislestream.streams.experiments.assign import arm_for
from aislestream.streams.experiments.schema import parse_experiment
from aislestream.streams.pipeline import RawMessage, SearchPipeline


def pool(expander, store=None, **settings):
    return ExpanderPool(ExpansionSettings(**settings), store, default=expander)


class BrokenExpander(IdentityExpander):
    def expand(self, queries):
        raise RuntimeError("boom")


class BrokenStore:
    name = "broken"

    def search_many(self, requests):
        raise OSError("index unavailable")

    def search(self, request):
        if request.query == "poison":
            raise OSError("index unavailable")
        return []


def msg(offset: int, value: bytes | None, key: bytes | None = None) -> RawMessage:
    return RawMessage("search.queries", 0, offset, key, value)


def query(request_id: str, text: str, **extra) -> bytes:
    return json.dumps({"request_id": request_id, "query": text, **extra}).encode()


def run(pipeline, messages):
    return asyncio.run(pipeline.process(messages))


def test_one_output_per_message_in_order(tantivy_store):
    pipeline = SearchPipeline(pool(GuardedExpander(PrfExpander(tantivy_store), 2.0)), tantivy_store,
                              StreamSettings(), worker_id="w1")
    messages = [msg(0, query("r0", "red kicks", k=5, user_id="u1", query_type="colloquial")),
                msg(1, b"not json"), msg(2, query("r2", "kettle")), msg(3, None)]
    out = run(pipeline, messages)
    assert [o.kind for o in out] == ["result", "dead_letter", "result", "dead_letter"]
    first = json.loads(out[0].value)
    assert out[0].key == b"r0"
    assert (first["request_id"], first["user_id"], first["query_type"], first["engine"]) == (
        "r0", "u1", "colloquial", "prf")
    assert len(first["hits"]) == 5 and first["expansion"] and first["fallback"] is None
    latency = first["latency_ms"]
    assert latency["batch_size"] == 4
    assert latency["message_ms"] >= latency["batch_total_ms"] >= latency["batch_retrieve_ms"] > 0
    letter = json.loads(out[1].value)
    assert letter["offset"] == 1 and letter["error_type"] == "not_json"
    assert out[1].key == b"search.queries:0:1"
    assert dict(pipeline.counts) == {"messages_in": 4, "results": 2, "dead_letters": 2,
                                     "dead_letters.not_json": 1, "dead_letters.empty": 1,
                                     "retrieval.lexical": 2}
    assert first["retrieval"] == "lexical"


def test_expansion_failure_still_searches_the_original_query(tantivy_store):
    pipeline = SearchPipeline(pool(GuardedExpander(BrokenExpander(), 1.0)), tantivy_store,
                              StreamSettings())
    (out,) = run(pipeline, [msg(0, query("r", "kettle"))])
    result = json.loads(out.value)
    assert result["fallback"] == "engine error: RuntimeError: boom"
    assert result["hits"] and result["expansion"] == []
    assert pipeline.counts["fallbacks"] == 1


def test_retrieval_failure_becomes_a_dead_letter_for_that_request_only():
    pipeline = SearchPipeline(pool(GuardedExpander(IdentityExpander(), 1.0)), BrokenStore(),
                              StreamSettings())
    out = run(pipeline, [msg(0, query("ok", "fine")), msg(1, query("bad", "poison"))])
    assert [o.kind for o in out] == ["result", "dead_letter"]
    assert json.loads(out[1].value)["reason"] == "retrieval failed: OSError: index unavailable"


def test_filters_and_k_reach_the_store(tantivy_store, small_world):
    pipeline = SearchPipeline(pool(GuardedExpander(IdentityExpander(), 1.0)), tantivy_store,
                              StreamSettings())
    (out,) = run(pipeline, [msg(0, query("r", "shoes", k=3, filters={"colour": "red"}))])
    hits = json.loads(out.value)["hits"]
    assert len(hits) == 3
    assert all(small_world.product_by_id[h["id"]].colour == "red" for h in hits)


def test_experiment_arms_choose_the_expander_and_are_recorded(tantivy_store):
    experiment = parse_experiment({"id": "exp1", "layer": "search.expansion", "salt": "s", "arms": [
        {"name": "control", "share": 0.5, "params": {"expander": "identity"}},
        {"name": "treatment", "share": 0.5, "params": {"expander": "prf"}}]})
    pipeline = SearchPipeline(
        pool(GuardedExpander(IdentityExpander(), 1.0), tantivy_store, lru_size=0),
        tantivy_store, StreamSettings(), experiments=lambda: [experiment])
    users = [f"user{i}" for i in range(40)]
    outputs = run(pipeline, [msg(i, query(f"r{i}", "red shoes", user_id=u))
                             for i, u in enumerate(users)])
    results = [json.loads(o.value) for o in outputs]
    for user, result in zip(users, results):
        arm = arm_for(experiment, user).name
        assert result["arms"] == {"exp1": arm}
        assert result["engine"] == ("prf" if arm == "treatment" else "identity")
    assert {r["arms"]["exp1"] for r in results} == {"control", "treatment"}


def test_an_arm_naming_an_unknown_variant_searches_the_original_query(tantivy_store):
    experiment = parse_experiment({"id": "exp2", "layer": "search.expansion", "salt": "s", "arms": [
        {"name": "broken", "share": 1.0, "params": {"expander": "no-such-model"}}]})
    pipeline = SearchPipeline(pool(GuardedExpander(IdentityExpander(), 1.0), tantivy_store),
                              tantivy_store, StreamSettings(), experiments=lambda: [experiment])
    (out,) = run(pipeline, [msg(0, query("r0", "red shoes", user_id="u"))])
    result = json.loads(out.value)
    assert (out.kind == "result" and result["hits"]
            and "unknown expander variant" in result["fallback"])
    assert result["arms"] == {"exp2": "broken"}


def test_an_arm_naming_a_variant_with_a_corrupt_checkpoint_searches_the_original_query(
        tantivy_store, tmp_path):
    (tmp_path / "pruned").mkdir()
    (tmp_path / "pruned" / "config.json").write_text("{half a file")
    experiment = parse_experiment({"id": "exp3", "layer": "search.expansion", "salt": "s", "arms": [
        {"name": "pruned", "share": 1.0, "params": {"expander": "llm-pruned"}}]})
    variants = {"llm-pruned": {"engine": "llm", "model_path": str(tmp_path / "pruned")}}
    pipeline = SearchPipeline(
        pool(GuardedExpander(IdentityExpander(), 1.0), tantivy_store, variants=variants),
        tantivy_store, StreamSettings(), experiments=lambda: [experiment])
    for batch in range(2):  # the failure is remembered, never raised out of the batch
        (out,) = run(pipeline, [msg(batch, query(f"r{batch}", "red shoes", user_id="u"))])
        result = json.loads(out.value)
        assert out.kind == "result" and result["hits"]
        assert "variant 'llm-pruned' failed to build: OSError" in result["fallback"]


def test_engine_variants_get_the_llm_defaults_and_declared_variants_their_overrides(tmp_path):
    variants = {"llm-pruned": {"engine": "llm", "model_path": str(tmp_path / "p")}}
    pool = ExpanderPool(ExpansionSettings(engine="prf", variants=variants),
                        None, data_dir=tmp_path, default=GuardedExpander(IdentityExpander(), 1.0))
    llm = pool.variant_settings("llm")
    assert llm.model_path == tmp_path / "lm" / "tiny" / "rl" and llm.deadline_ms == 1_000.0
    pruned = pool.variant_settings("llm-pruned")
    assert pruned.model_path == tmp_path / "p" and pruned.variant == "llm-pruned"
    assert pool.variant_settings("identity").engine == "identity"


class DownStore:
    name = "down"

    def search_many(self, requests):
        from aislestream.errors import StoreUnavailable
        raise StoreUnavailable("Elasticsearch is unreachable")

    search = search_many


def test_a_store_that_is_down_is_waited_for_not_a_dead_letter_per_query():
    from aislestream.errors import StoreUnavailable

    pipeline = SearchPipeline(pool(GuardedExpander(IdentityExpander(), 1.0)), DownStore(),
                              StreamSettings())
    with pytest.raises(StoreUnavailable):
        run(pipeline, [msg(0, query("a", "fine")), msg(1, query("b", "also fine"))])
    assert pipeline.counts["dead_letters"] == 0


def test_an_arm_can_serve_its_expansion_as_a_fused_channel(tantivy_store):
    """`prf-fused` declares fusion=rrf: its results keep the original query's top 3; plain
    `prf` mixes the terms into the query, as before."""
    from aislestream.connectors.search import SearchRequest

    experiment = parse_experiment({"id": "exp2", "layer": "search.expansion", "salt": "s", "arms": [
        {"name": "mixed", "share": 0.5, "params": {"expander": "prf"}},
        {"name": "fused", "share": 0.5, "params": {"expander": "prf-fused"}}]})
    pipeline = SearchPipeline(
        pool(GuardedExpander(IdentityExpander(), 1.0), tantivy_store, lru_size=0,
             variants={"prf-fused": {"engine": "prf", "fusion": "rrf"}}),
        tantivy_store, StreamSettings(), experiments=lambda: [experiment])
    users = [f"user{i}" for i in range(30)]
    outputs = run(pipeline, [msg(i, query(f"r{i}", "red shoes", user_id=u, k=10))
                             for i, u in enumerate(users)])
    original = [h.id for h in tantivy_store.search(SearchRequest("red shoes", k=10))]
    seen = set()
    for result in (json.loads(o.value) for o in outputs):
        arm, ids = result["arms"]["exp2"], [h["id"] for h in result["hits"]]
        seen.add(arm)
        assert result["expansion"] and len(ids) == 10
        if arm == "fused":
            assert set(original[:3]) <= set(ids[:6])
    assert seen == {"mixed", "fused"}


def test_a_retrieval_arm_chooses_bm25_or_hybrid_per_request(minilm, tmp_path, tantivy_store):
    """One worker with a dense channel serves both arms; a worker without one serves BM25 to the
    hybrid arm and says so in the result."""
    from aislestream.connectors.search.hybrid import HybridConfig, HybridStore
    from aislestream.connectors.search.tantivy_store import TantivyStore
    from tests.conftest import shoe_products

    store = HybridStore(TantivyStore(tmp_path / "lexical"), minilm, tmp_path / "dense",
                        HybridConfig(default=False))
    store.index(shoe_products())
    experiment = parse_experiment({"id": "ret", "layer": "search.retrieval", "salt": "s", "arms": [
        {"name": "bm25", "share": 0.5, "params": {"retrieval": "lexical"}},
        {"name": "hybrid", "share": 0.5, "params": {"retrieval": "hybrid"}}]})
    users = [f"user{i}" for i in range(20)]
    messages = [msg(i, query(f"r{i}", "sneakers", user_id=u)) for i, u in enumerate(users)]
    messages.append(msg(99, query("anon", "sneakers")))  # no user: bucketed by request id
    results = [json.loads(o.value) for o in run(SearchPipeline(
        pool(IdentityExpander()), store, StreamSettings(), experiments=lambda: [experiment]),
        messages)]
    for result in results:
        arm = result["arms"]["ret"]
        assert result["retrieval"] == ("hybrid" if arm == "hybrid" else "lexical")
        # "sneakers" is in no title: only the dense channel finds the shoes
        assert bool(result["hits"]) == (arm == "hybrid")
    assert {r["arms"]["ret"] for r in results} == {"bm25", "hybrid"}

    plain = SearchPipeline(pool(IdentityExpander()), tantivy_store, StreamSettings(),
                           experiments=lambda: [experiment])
    served = {json.loads(o.value)["retrieval"] for o in run(plain, messages)}
    assert served == {"lexical"} and plain.counts["retrieval.lexical"] == len(messages)
