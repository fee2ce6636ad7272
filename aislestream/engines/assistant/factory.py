"""The assistant a worker serves, from settings."""

from __future__ import annotations

from pathlib import Path

from aislestream.connectors.search.base import SearchStore
from aislestream.core.artifacts import Artifacts
from aislestream.errors import ConfigError
from aislestream.settings import AssistantSettings


def build_assistant(settings: AssistantSettings, store: SearchStore, data_dir: Path):
    from aislestream.engines.assistant.rules import RuleAssistant

    path = settings.model_path or Artifacts(data_dir).trained_assistant(settings.preset)
    if settings.engine == "rules" or (settings.engine == "auto" and path is None):
        return RuleAssistant(store, settings.k)
    if path is None:
        raise ConfigError("assistant engine 'model' needs a checkpoint: "
                          "run `aisle train assistant --preset "
                          f"{settings.preset}` or set AISLE_ASSISTANT__MODEL_PATH")
    from aislestream.engines.assistant.model import ModelAssistant, build_decoder

    return ModelAssistant(build_decoder(path, settings.backend), store, settings.k,
                          name=f"model-{path.name}")
