"""Which assistant a worker serves: the trained model when it can run it, else the rules."""

import importlib.util

import pytest

from aislestream.engines.assistant import factory
from aislestream.engines.assistant.rules import RuleAssistant
from aislestream.errors import MissingExtra
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
    return tmp_path


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
