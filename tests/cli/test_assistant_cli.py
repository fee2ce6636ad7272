"""`aisle eval assistant` and `aisle chat` from the command line (training:
tests/models/assistant)."""

import json

from click.testing import CliRunner

from aislestream.cli.main import cli


def test_eval_writes_the_headline_keys_for_every_method(micro_assistant, tmp_path, monkeypatch):
    settings, _ = micro_assistant
    monkeypatch.chdir(tmp_path)  # --write lands in ./docs
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "eval", "assistant",
                                      "--preset", "micro", "-n", "8", "--write"],
                                env={"AISLE_WORLD__N_USERS": "50"})
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "docs" / "results" / "assistant.json").read_text())
    assert set(out["methods"]) == {"rules", "sft", "rl", "sft no hint", "rl no hint",
                                   "sft per slot", "rl per slot", "rules mined", "sft mined",
                                   "rl mined"}
    calibration = out["per_slot_calibration"]["rl"]
    assert calibration["requests"] == 50 and set(calibration["points"]) == {"rules", "model"}
    assert set(calibration["sources"].values()) <= {"rules", "model"}
    for key in ("slot_f1_rule", "slot_f1_sft", "slot_f1_rl", "slot_f1_sft_no_hint",
                "slot_f1_rl_no_hint", "conversion_rule", "conversion_sft", "conversion_rl",
                "mean_turns_rl", "parse_rate_sft", "parse_rate_rl", "goal_met", "served",
                "slot_f1_served", "missing_question_rate_served", "served_slots_below_rules",
                "long_slot_f1_rl", "question_recall_rule", "train_seconds", "train_within_budget",
                "slot_f1_rule_mined", "slot_f1_rl_mined"):
        assert key in out
    assert set(out["methods"]["rl"]) == {"held_out", "train_phrasings", "long_held_out",
                                         "selection"}
    assert set(out["methods"]["rl no hint"]) == {"held_out", "selection"}
    held = out["methods"]["rules"]["held_out"]
    assert held["questions_due"] > 0 and 0 <= held["question_recall"] <= 1
    assert out["parse_rate_sft"] == out["parse_rate_rl"] == 1.0  # constrained decoding
    assert "## Shopping assistant" in (tmp_path / "docs" / "RESULTS.md").read_text()
    verdict = json.loads((settings.artifacts.assistant("micro") / "serving.json").read_text())
    assert verdict == out["serving"] and set(verdict["slot_f1"]) == set(out["methods"])
    best = max(verdict["slot_f1"].values())  # chosen on the selection dialogues
    assert verdict["slot_f1"][verdict["method"]] == best  # what engine=auto then serves
    assert verdict["slot_f1"] == {m: s["selection"]["slot_f1"] for m, s in out["methods"].items()}
    assert verdict["method"] == "rules" or verdict["slot_f1"]["rules"] < best
    assert verdict["serve"] in ("rules", "sft", "rl") and isinstance(verdict["hints"], bool)
    assert (verdict["sources"] is not None) == verdict["method"].endswith("per slot")
    assert verdict["lexicon"] == ("mined" if verdict["method"].endswith("mined") else "base")
    assert "lexicon" in out["train_seconds_by_stage"]


def test_a_smoke_run_with_fewer_dialogues_leaves_the_serving_verdict_alone(micro_assistant):
    settings, _ = micro_assistant
    verdict = settings.artifacts.assistant("micro") / "serving.json"
    before = verdict.read_text() if verdict.exists() else None
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "eval", "assistant",
                                      "--preset", "micro", "-n", "4"],
                                env={"AISLE_WORLD__N_USERS": "50"})
    assert result.exit_code == 0, result.output
    assert (verdict.read_text() if verdict.exists() else None) == before


def test_eval_without_a_trained_model_says_what_to_run(tmp_path):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "eval", "assistant",
                                      "--preset", "micro", "-n", "2"],
                                env={"AISLE_WORLD__N_USERS": "50"})
    assert result.exit_code == 2 and "aisle train assistant --preset micro" in result.output


def test_chat_needs_a_broker():
    result = CliRunner().invoke(cli, ["chat", "--say", "hi"],
                                env={"AISLE_BROKER__BOOTSTRAP_SERVERS": ""})
    assert result.exit_code == 2 and "no broker configured" in result.output
