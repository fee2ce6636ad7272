"""Which assistant a worker serves: what the evaluation found best, when it can run it, else
the rules."""

import importlib.util
import json

import pytest

from aislestream.engines.assistant import factory
from aislestream.engines.assistant.rules import RuleAssistant
from aislestream.errors import MissingExtra
from aislestream.models.assistant.dialogue import SessionState
from aislestream.settings import AssistantSettings


@pytest.fixture
def slim_install(monkeypatch):
    """An install without the 'ml' extra, as the slim image is."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: (
        None if name in factory.MODEL_MODULES else real(name, *args)))


@pytest.fixture
def trained(tmp_path):
    (tmp_path / "assistant" / "tiny" / "rl").mkdir(parents=True)
    (tmp_path / "assistant" / "tiny" / "rl" / "config.json").write_text("{}")
    _verdict(tmp_path, "rl")
    return tmp_path


def _verdict(data_dir, serve):
    (data_dir / "assistant" / "tiny" / "serving.json").write_text(json.dumps({"serve": serve}))


def test_auto_without_a_trained_model_serves_the_rules(tmp_path):
    assistant = factory.build_assistant(AssistantSettings(engine="auto"), None, tmp_path)
    assert isinstance(assistant, RuleAssistant)


def test_auto_on_a_slim_install_serves_the_rules_and_says_why(slim_install, trained, caplog):
    assistant = factory.build_assistant(AssistantSettings(engine="auto"), None, trained)
    assert isinstance(assistant, RuleAssistant)
    assert "'ml' extra is not installed" in caplog.text and str(trained) in caplog.text


def test_asking_for_the_model_on_a_slim_install_names_the_extra(slim_install, trained):
    with pytest.raises(MissingExtra, match=r"pip install 'aislestream\[ml\]'"):
        factory.build_assistant(AssistantSettings(engine="model"), None, trained)


def test_auto_serves_the_rules_while_the_model_is_unmeasured_or_lost_to_them(tmp_path, caplog,
                                                                            monkeypatch):
    (tmp_path / "assistant" / "tiny" / "rl").mkdir(parents=True)
    (tmp_path / "assistant" / "tiny" / "rl" / "config.json").write_text("{}")
    assert isinstance(factory.build_assistant(AssistantSettings(), None, tmp_path), RuleAssistant)
    assert "until `aisle eval assistant` measures the model" in caplog.text
    _verdict(tmp_path, "rules")
    assert isinstance(factory.build_assistant(AssistantSettings(), None, tmp_path), RuleAssistant)
    _verdict(tmp_path, "sft")  # names a stage that is not there
    assert isinstance(factory.build_assistant(AssistantSettings(), None, tmp_path), RuleAssistant)
    assert "names 'sft'" in caplog.text


def test_auto_builds_the_stage_the_verdict_names(micro_assistant, tmp_path):
    import shutil

    _, ctx = micro_assistant
    root = tmp_path / "assistant" / "tiny"
    for stage in ("sft", "rl"):
        shutil.copytree(ctx.out_dir / stage, root / stage)
    _verdict(tmp_path, "sft")
    assistant = factory.build_assistant(AssistantSettings(), None, tmp_path)
    assert assistant.name == "model-sft"
    state, reply = assistant.respond(SessionState(), "I need running shoes")
    assert reply.params == state.params  # a real model answered, its output parsed
    sources = dict.fromkeys(["category", "colour", "material", "feature", "price_max",
                             "price_min", "exclude_colours", "exclude_materials"], "rules")
    (tmp_path / "assistant" / "tiny" / "serving.json").write_text(json.dumps(
        {"serve": "rl", "hints": True, "sources": sources}))
    combined = factory.build_assistant(AssistantSettings(), None, tmp_path)
    assert combined.name == "model-rl-per-slot" and combined.sources == sources
    # every slot from the rules: the rules' reading, whatever the model said
    state, reply = combined.respond(SessionState(), "something cheap in red")
    assert state.params == RuleAssistant().update(SessionState().params, "something cheap in red")
    assert reply.question is not None  # no product named: the combined state asks


def test_auto_reads_with_the_mined_lexicon_the_verdict_chose_and_measured(tmp_path, caplog):
    from aislestream.models.assistant.lexicon import MinedCues, cues_digest

    root = tmp_path / "assistant" / "tiny"
    root.mkdir(parents=True)

    def verdict():
        (root / "serving.json").write_text(json.dumps({
            "serve": "rules", "lexicon": "mined",
            "lexicon_digest": cues_digest(root / "lexicon")}))

    verdict()
    baseline = factory.build_assistant(AssistantSettings(), None, tmp_path)
    assert baseline.name == "rules" and "cannot be read" in caplog.text  # no cues on disk
    (root / "lexicon").mkdir()
    (root / "lexicon" / "cues.json").write_text('{"features": [["x", "cushioned"]]}')
    assert factory.build_assistant(AssistantSettings(), None, tmp_path).name == "rules"
    MinedCues(negations=("avoid",)).save(root / "lexicon")
    caplog.clear()
    assert factory.build_assistant(AssistantSettings(), None, tmp_path).name == "rules"
    assert "changed since" in caplog.text  # these cues were never measured
    verdict()
    mined = factory.build_assistant(AssistantSettings(), None, tmp_path)
    assert mined.name == "rules-mined"
    state, _ = mined.respond(SessionState(), "I need a winter jacket")
    avoided = mined.respond(state, "I avoid down")[0].params.exclude_materials
    assert avoided == ("down",)
    assert baseline.respond(state, "I avoid down")[0].params == state.params


def test_an_explicit_engine_reads_with_the_mined_lexicon_it_was_told_to(tmp_path):
    from aislestream.errors import ConfigError
    from aislestream.models.assistant.lexicon import MinedCues

    settings = AssistantSettings(engine="rules", lexicon="mined")
    with pytest.raises(ConfigError, match="--stage lexicon"):  # chosen, so missing is an error
        factory.build_assistant(settings, None, tmp_path)
    MinedCues(negations=("avoid",)).save(tmp_path / "assistant" / "tiny" / "lexicon")
    mined = factory.build_assistant(settings, None, tmp_path)
    assert mined.name == "rules-mined"  # no verdict needed: the operator chose it
    state, _ = mined.respond(SessionState(), "I need a winter jacket")
    assert mined.respond(state, "I avoid down")[0].params.exclude_materials == ("down",)
    assert factory.build_assistant(AssistantSettings(engine="rules"), None, tmp_path).name == \
        "rules"
