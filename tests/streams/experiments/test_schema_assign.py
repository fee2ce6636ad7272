from collections import Counter
from datetime import datetime, timezone

import pytest

from aislestream.errors import ConfigError
from aislestream.streams.experiments.assign import arm_for, assign, bucket
from aislestream.streams.experiments.schema import Experiment, load_experiments, parse_experiment

GOOD = """
id: exp-prf-vs-llm
layer: search.expansion
salt: s1
arms:
  - {name: control, share: 0.5, params: {expander: prf}}
  - {name: llm, share: 0.5, params: {expander: llm}}
"""


def write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def exp(id_="e", layer="search.expansion", salt="s", shares=(0.5, 0.5), **kw):
    arms = [{"name": f"a{i}", "share": s, "params": {}} for i, s in enumerate(shares)]
    return Experiment.model_validate({"id": id_, "layer": layer, "salt": salt, "arms": arms, **kw})


def test_a_good_file_loads(tmp_path):
    (e,) = load_experiments(write(tmp_path, GOOD))
    assert e.id == "exp-prf-vs-llm" and [a.params["expander"] for a in e.arms] == ["prf", "llm"]


@pytest.mark.parametrize("change, message", [
    (("share: 0.5, params: {expander: llm}", "share: 0.4, params: {expander: llm}"), "sum to 0.9"),
    (("share: 0.5, params: {expander: prf}", "shares: 0.5, params: {expander: prf}"),
     "arms.0.shares"),
    (("layer: search.expansion", "layer: search.ranking"), "layer 'search.ranking' is not one of"),
    (("{expander: llm}", "{generator: rl}"),
     "sets ['generator'], which layer 'search.expansion' does not own"),
    (("layer: search.expansion", "layer: ads.generation"),
     "which layer 'ads.generation' does not own"),
    (("{expander: llm}", "{expander: 3}"), "expander must be a variant name"),
    (("salt: s1", "salt: ''"), "salt"),
    (("id: exp-prf-vs-llm", "id: 'bad id!'"), "id: String should match pattern"),
])
def test_bad_files_are_rejected_naming_the_field(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        load_experiments(write(tmp_path, GOOD.replace(*change)))
    assert message in str(err.value) and "exp.yaml" in str(err.value)


def test_two_experiments_on_one_layer_must_not_overlap_in_time(tmp_path):
    other = GOOD.replace("exp-prf-vs-llm", "second").replace("s1", "s2")
    both = "- " + GOOD.strip().replace("\n", "\n  ") + "\n- " + other.strip().replace("\n", "\n  ")
    with pytest.raises(ConfigError, match="overlap in time on layer 'search.expansion'"):
        load_experiments(write(tmp_path, both))
    later = other.replace("salt: s2", "salt: s2\nstart: 2030-01-01T00:00:00Z")
    first = GOOD.replace("salt: s1", "salt: s1\nstop: 2029-12-31T00:00:00Z")
    text = "- " + first.strip().replace("\n", "\n  ") + "\n- " + later.strip().replace("\n", "\n  ")
    assert len(load_experiments(write(tmp_path, text))) == 2


def test_assignment_is_deterministic_and_balanced():
    e = exp(shares=(0.2, 0.3, 0.5))
    users = [f"u{i}" for i in range(50_000)]
    first = [arm_for(e, u).name for u in users]
    assert first == [arm_for(e, u).name for u in users]
    counts = Counter(first)
    for name, share in (("a0", 0.2), ("a1", 0.3), ("a2", 0.5)):
        assert counts[name] / len(users) == pytest.approx(share, abs=0.01)


def test_layers_are_orthogonal():
    a, b = exp("a", salt="layer-1"), exp("b", salt="layer-2")  # what two layers' salts give
    joint = Counter((arm_for(a, f"u{i}").name, arm_for(b, f"u{i}").name) for i in range(40_000))
    for cell in joint.values():  # each of the 4 combinations holds about a quarter
        assert cell / 40_000 == pytest.approx(0.25, abs=0.015)
    both = assign([a, b], "u1")  # (one layer would never run both; assign() itself does not care)
    assert set(both.arms) == {"a", "b"}


def test_changing_a_share_moves_only_boundary_users():
    before, after = exp(shares=(0.5, 0.5)), exp(shares=(0.6, 0.4))
    moved = [u for u in (f"u{i}" for i in range(20_000))
             if arm_for(before, u).name != arm_for(after, u).name]
    assert all(arm_for(before, u).name == "a1" and arm_for(after, u).name == "a0" for u in moved)
    assert len(moved) / 20_000 == pytest.approx(0.1, abs=0.01)


def test_inactive_experiments_assign_nothing():
    e = parse_experiment({"id": "later", "layer": "search.expansion", "salt": "x",
                          "start": "2999-01-01T00:00:00Z", "arms": [{"name": "a", "share": 1}]})
    assert assign([e], "u1").arms == {}
    assert assign([e], "u1", now=datetime(3000, 1, 1, tzinfo=timezone.utc)).arms == {"later": "a"}
    assert 0 <= bucket("u1", "x") < 10_000


def test_reward_threshold_must_be_a_probability():
    arms = [{"name": "a", "share": 1, "params": {"reward_threshold": 1.5}}]
    with pytest.raises(ConfigError,
                       match=r"reward_threshold must be a probability in \(0, 1\), got 1.5"):
        parse_experiment({"id": "t", "layer": "ads.generation", "salt": "x", "arms": arms})


def test_retrieval_arms_name_bm25_or_hybrid_and_run_beside_an_expansion_experiment():
    arms = [{"name": "a", "share": 0.5, "params": {"retrieval": "lexical"}},
            {"name": "b", "share": 0.5, "params": {"retrieval": "hybrid"}}]
    retrieval = parse_experiment({"id": "r", "layer": "search.retrieval", "salt": "x",
                                  "arms": arms})
    expansion = parse_experiment({"id": "e", "layer": "search.expansion", "salt": "y", "arms": [
        {"name": "c", "share": 1, "params": {"expander": "prf"}}]})
    got = assign([retrieval, expansion], "u1")
    assert set(got.arms) == {"r", "e"} and got.params["expander"] == "prf"
    assert got.params["retrieval"] in {"lexical", "hybrid"}
    arms[1]["params"] = {"retrieval": "dense"}
    with pytest.raises(ConfigError, match="retrieval must be one of lexical, hybrid, got 'dense'"):
        parse_experiment({"id": "r", "layer": "search.retrieval", "salt": "x", "arms": arms})
    with pytest.raises(ConfigError, match="which layer 'search.expansion' does not own"):
        parse_experiment({"id": "r", "layer": "search.expansion", "salt": "x", "arms": arms})


def test_changelog_records_apply_as_a_table_with_tombstones_and_bad_records_rejected():
    from aislestream.connectors.kafka_io import apply_changelog

    table: dict = {}
    apply_changelog(table, b'"a"', b'{"x": 1}')
    apply_changelog(table, None, b'{"ignored": true}')
    assert table == {"a": {"x": 1}}
    apply_changelog(table, b'"a"', None)
    assert table == {}
    with pytest.raises(ValueError):
        apply_changelog(table, b"not json", b"{}")
