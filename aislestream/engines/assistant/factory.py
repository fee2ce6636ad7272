"""The assistant a worker serves, from settings."""

from __future__ import annotations

import logging
from pathlib import Path

from aislestream.connectors.search.base import SearchStore
from aislestream.core.artifacts import Artifacts
from aislestream.errors import ConfigError, missing_modules, require_extra
from aislestream.settings import AssistantSettings

log = logging.getLogger(__name__)
MODEL_MODULES = ("torch", "transformers", "xgrammar")


def build_assistant(settings: AssistantSettings, store: SearchStore, data_dir: Path):
    from aislestream.engines.assistant.rules import RuleAssistant

    path = settings.model_path or Artifacts(data_dir).trained_assistant(settings.preset)
    if settings.engine == "auto" and path is not None and missing_modules(*MODEL_MODULES):
        # auto serves the best assistant this install can run: a slim image has no model stack
        log.warning("a trained assistant is at %s, but the 'ml' extra is not installed: serving "
                    "the rule assistant (pip install 'aislestream[ml]' to serve the model)", path)
        path = None
    if settings.engine == "rules" or (settings.engine == "auto" and path is None):
        return RuleAssistant(store, settings.k)
    if path is None:
        raise ConfigError("assistant engine 'model' needs a checkpoint: "
                          "run `aisle train assistant --preset "
                          f"{settings.preset}` or set AISLE_ASSISTANT__MODEL_PATH")
    require_extra("ml", *MODEL_MODULES, needed_by="the model assistant")
    from aislestream.engines.assistant.model import ModelAssistant, build_decoder

    return ModelAssistant(build_decoder(path, settings.backend), store, settings.k,
                          name=f"model-{path.name}")
