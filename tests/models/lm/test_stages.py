import json

from aislestream.connectors.search.base import FusionConfig, SearchRequest
from aislestream.core.text import tokenize
from aislestream.models.lm.data import (
    SftExample,
    _raises_retrieval,
    dedupe,
    mine_sft_examples,
    pseudo_queries,
    spelling_examples,
    split_queries,
    validation_split,
)
from aislestream.models.lm.model import load_checkpoint
from aislestream.models.lm.prompts import expand_prompt, parse_terms, weigh_terms
from aislestream.models.lm.reward import ExpansionReward
from aislestream.models.lm.tokenizer import TASKS, train_tokenizer
from aislestream.models.world import World, WorldConfig


def test_tokenizer_knows_the_task_tokens_and_round_trips():
    tok = train_tokenizer(["red running shoes", "blue kettle with rapid boil"] * 50, vocab_size=300)
    for token in TASKS:
        assert len(tok(token, add_special_tokens=False)["input_ids"]) == 1
    ids = tok("<expand> red shoes <sep>")["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True).split() == ["red", "shoes"]
    assert tok.padding_side == "left" and tok.pad_token == "<pad>"


def test_split_is_by_text_and_disjoint(small_world):
    train, held = split_queries(small_world.queries)
    assert train and held
    assert not {q.text for q in train} & {q.text for q in held}
    assert len(train) + len(held) == len(small_world.queries)


def test_every_stage_writes_a_loadable_checkpoint(micro_run):
    for stage in ("pretrain", "sft", "rl"):
        model, tokenizer = load_checkpoint(micro_run.out_dir / stage)
        assert model.config.model_type == "llama"
        record = json.loads((micro_run.out_dir / stage / "stage.json").read_text())
        assert record["stage"] == stage and record["seconds"] >= 0
    sft = json.loads((micro_run.out_dir / "sft" / "stage.json").read_text())
    assert sft["examples"] > 0 and set(sft["by_task"]) == {"expand", "spell", "rewrite", "attrs"}
    assert sft["validation_examples"] > 0 and sft["best_eval_loss"] is not None  # early stopping
    assert sft["steps"] <= micro_run.preset.sft_steps
    rl = json.loads((micro_run.out_dir / "rl" / "stage.json").read_text())
    assert len(rl["reward_history"]) == micro_run.preset.rl_steps
    assert rl["groups"] > 0 and 0 <= rl["zero_variance_group_share"] <= 1
    # the reward is scored on the gated channel, on the prompts whose gate opens
    assert (rl["fusion"]["method"], rl["fusion"]["gate"]) == ("expanded", True)
    assert 0 < rl["prompts"] <= rl["train_queries"] == len(micro_run.train)


def test_rl_prompts_are_the_queries_whose_original_retrieval_is_weak(micro_run):
    from aislestream.connectors.search.base import SearchRequest
    from aislestream.connectors.search.fusion import weak
    from aislestream.models.lm.train import gate_opens

    prompts = gate_opens(micro_run.store, micro_run.train)
    assert 0 < len(prompts) < len(micro_run.train)
    chosen = {q.id for q in prompts}
    for q in micro_run.train[:60]:
        hits = micro_run.store.search(SearchRequest(q.text, k=10))
        assert (q.id in chosen) == weak(q.text, hits)


def test_mined_pairs_add_words_and_survive_the_retrieval_filter(micro_run):
    examples = mine_sft_examples(micro_run.world, micro_run.store, micro_run.train, micro_run.log)
    expand = [e for e in examples if e.task == "expand"]
    assert expand
    for e in expand:
        query = e.prompt.removeprefix("<expand> ").removesuffix(" <sep>")
        assert not set(e.completion.split()) & set(query.split())
    rewrites = [e for e in examples if e.task == "rewrite"]
    assert all(e.completion.strip() for e in rewrites)
    assert len({e.prompt for e in expand}) == len(expand)  # one target per query
    # every kept pair raises its query's retrieval under the filter's own search
    by_prompt = {expand_prompt(q.text): q for q in micro_run.train}
    for e in expand[:30]:
        q = by_prompt[e.prompt]
        base = micro_run.store.search(SearchRequest(q.text, k=50))
        grown = micro_run.store.search(SearchRequest(q.text, weigh_terms(e.completion.split()),
                                                     k=50))
        assert _raises_retrieval([h.id for h in base], [h.id for h in grown], q, 50) > 0


def test_spelling_pairs_restore_catalog_words_broken_by_typos(micro_run):
    pairs = spelling_examples(micro_run.world, micro_run.train, 60, seed=3)
    assert len(pairs) >= 20
    vocabulary = {w for p in micro_run.world.products for w in tokenize(p.title)}
    for e in pairs:
        typed = e.prompt.removeprefix("<expand> ").removesuffix(" <sep>")
        target = e.completion.split()
        assert target and set(target) <= vocabulary and not set(target) & set(typed.split())
    assert spelling_examples(micro_run.world, micro_run.train, 60, seed=3) == pairs


def test_dedupe_keeps_the_first_target_and_the_validation_split_is_by_prompt():
    a, b = SftExample("<expand> x <sep>", " y", "expand", "head"), SftExample(
        "<expand> x <sep>", " z", "expand", "head")
    c = SftExample("<rewrite> x <sep>", " y", "rewrite", "head")
    assert dedupe([a, b, c]) == [a, c]
    many = [SftExample(f"<expand> q{i} <sep>", " t", "expand", "head") for i in range(500)]
    train, validation = validation_split(many + many[:50])
    assert 20 < len(validation) < 90
    assert not {e.prompt for e in train} & {e.prompt for e in validation}


def test_an_expansion_that_changes_nothing_earns_exactly_nothing(micro_run):
    """Even with the stochastic shopper on: the conversion term is a difference, not a bonus."""
    reward = ExpansionReward(micro_run.store, micro_run.train, micro_run.world.simulator(seed=1),
                             fusion=FusionConfig())
    query = next(q for q in micro_run.train if q.query_type == "head")
    assert reward(["", query.text], [query.id] * 2) == [0.0, 0.0]  # query words add nothing


def test_reward_prefers_an_expansion_that_bridges_the_vocabulary_gap(micro_run):
    reward = ExpansionReward(micro_run.store, micro_run.train)
    query = next(q for q in micro_run.train
                 if q.query_type == "colloquial" and len(q.relevance) > 20)
    good = " ".join(query.category.split())
    bad = "kettle lipstick sofa"
    r_good, r_bad, r_none = reward([good, bad, ""], [query.id] * 3)
    assert r_good > r_none > r_bad or (r_good > r_bad and r_none == 0.0)
    assert r_none == 0.0  # no expansion: no gain, no drift


def test_parse_and_weigh_terms():
    assert (parse_terms(" running shoes running the Shoes trainers!", "red shoes")
            == ["running", "trainers"])
    terms = weigh_terms(["running", "trainers"], mass=0.5)
    assert [t.weight for t in terms] == [0.25, 0.25]  # the mass is the total, for any query
    assert expand_prompt("Red  KICKS!") == "<expand> red kicks <sep>"


def test_pseudo_queries_for_catalogs_without_labels():
    world = World.generate(WorldConfig(seed=2, n_products=400, n_users=1, n_queries=10))
    world.queries = []
    queries = pseudo_queries(world, 30, seed=1)
    assert len(queries) >= 20
    for q in queries:
        assert 2 <= len(q.text.split()) <= 3 and 3 in q.relevance.values()
        source = next(pid for pid, g in q.relevance.items() if g == 3)
        assert set(q.text.split()) <= set(tokenize(world.product_by_id[source].title))


_MINE = """
import hashlib, sys
from pathlib import Path
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.models.lm.data import mine_sft_examples, simulate_log
from aislestream.models.world import World, WorldConfig
from dataclasses import replace
world = World.generate(WorldConfig(seed=4, n_products=400, n_users=20, n_queries=60))
world.queries = [replace(q, user_id="") for q in world.queries]  # as on an external catalog
store = TantivyStore(Path(sys.argv[1]))
store.index(world.products)
log = simulate_log(world, store, world.queries, seed=0)
examples = mine_sft_examples(world, store, world.queries, log)
print(len(examples), hashlib.sha256(repr(examples).encode()).hexdigest())
"""


def test_sft_data_is_the_same_whatever_the_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    outputs = set()
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", _MINE, str(tmp_path / seed)], check=True,
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.add(done.stdout.strip())
    assert len(outputs) == 1 and int(next(iter(outputs)).split()[0]) > 0, outputs


def test_a_titles_only_catalog_gives_no_empty_targets(small_world, tmp_path):
    from dataclasses import replace

    from aislestream.connectors.search.tantivy_store import TantivyStore
    from aislestream.models.lm.data import simulate_log

    bare = [replace(p, description="", category="", department="", colour="", material="",
                    brand="") for p in small_world.products]
    world = World(bare, small_world.users, small_world.queries, 0)
    store = TantivyStore(tmp_path / "store")
    store.index(world.products)
    log = simulate_log(world, store, world.queries, seed=0)
    examples = mine_sft_examples(world, store, world.queries, log)
    store.close()
    assert examples and all(e.completion.strip() for e in examples)
    assert not any("=" in e.completion and e.completion.strip().endswith("=") for e in examples)
    assert {e.task for e in examples} <= {"expand", "attrs"}  # no category: no rewrite target
