from aislestream.engines.expansion import IdentityExpander, PrfExpander
from aislestream.evaluation.full_link import (
    QueryTyper,
    TermJudge,
    evaluate_chain,
    first_failed_stage,
)
from aislestream.models.world.queries import LabelledQuery


def test_the_typer_reads_most_query_types_from_the_vocabulary(small_world):
    typer = QueryTyper()
    right = sum(typer(q.text) == q.query_type for q in small_world.queries)
    assert right / len(small_world.queries) > 0.6


def test_terms_naming_the_true_values_are_right_and_other_values_drift():
    q = LabelledQuery("q1", "red kettle", "torso", category="kettle", constraints={"colour": "red"})
    right, drifted, total = TermJudge.from_world().judge(q, ["steel", "blue", "kettle", "lid"])
    # "kettle" is in the query; "lid" names no attribute
    assert (right, drifted, total) == (0, 2, 3)
    # an alias of the asked colour is not drift
    assert TermJudge.from_world().judge(q, ["crimson"])[1] == 0


def test_failures_are_attributed_to_the_first_failing_stage(small_world, tantivy_store):
    assert first_failed_stage({"drifted": True, "recall100": 0.0}) == "expansion"
    assert first_failed_stage({"drifted": False, "recall100": 0.2}) == "retrieval"
    assert first_failed_stage({"drifted": False, "recall100": 0.9}) == "ranking"
    queries = small_world.queries[:150]
    none = evaluate_chain(tantivy_store, small_world, queries, IdentityExpander())
    prf = evaluate_chain(tantivy_store, small_world, queries, PrfExpander(tantivy_store))
    # identity adds nothing
    assert none["all"]["queries"] == 150 and none["all"]["term_precision"] is None
    assert none["all"]["drift_rate"] == 0 and prf["all"]["term_precision"] is not None
    for table in (none, prf):
        row = table["all"]
        assert sum(row["failures_by_stage"].values()) == round(row["failure_rate"] * 150)
        by_type = [r for name, r in table.items() if name != "all"]
        weighted = sum(r["expected_conversion"] * r["queries"] for r in by_type) / 150
        assert row["expected_conversion"] > 0 and abs(row["expected_conversion"] - weighted) < 1e-9


def test_the_full_link_scores_the_assistant_locally_and_end_to_end_once_trained(
        micro_assistant, tmp_path):
    from aislestream.evaluation.full_link_report import assistant_chain
    from aislestream.settings import load_settings

    assert assistant_chain(load_settings(data_dir=tmp_path)) is None
    settings, _ = micro_assistant
    settings = settings.model_copy(deep=True)
    settings.assistant.preset = "micro"
    settings.assistant.engine = "model"  # auto would follow an evaluation's verdict
    out = assistant_chain(settings, n_dialogues=10)
    assert out["engine"] == "model-rl" and out["dialogues"] == 10
    assert "category" in out["slot_f1_by_type"]
    assert sum(out["failures"].values()) == round(10 * (1 - out["conversion"]))
