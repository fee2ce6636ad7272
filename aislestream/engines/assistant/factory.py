"""The assistant a worker serves, from settings.

``auto`` serves what `aisle eval assistant` found best on held-out dialogues: its verdict
(``serving.json`` beside the stages) names a trained stage or the rules, and the lexicon they
read with (the baseline's, or the one with cues mined from shoppers' purchases). Without a
verdict the rules are served, so a model that was trained but never measured (or measured
below the rules) cannot become the default.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aislestream.connectors.search.base import SearchStore
from aislestream.core.artifacts import Artifacts
from aislestream.errors import ConfigError, missing_modules, require_extra
from aislestream.models.assistant.lexicon import CUES_FILE, Lexicon, MinedCues, cues_digest
from aislestream.settings import SERVING_VERDICT, AssistantSettings

log = logging.getLogger(__name__)
MODEL_MODULES = ("torch", "transformers", "xgrammar")


def verdict_path(settings: AssistantSettings, data_dir: Path) -> Path:
    root = (settings.model_path.parent if settings.model_path is not None
            else Artifacts(data_dir).assistant(settings.preset))
    return root / SERVING_VERDICT


def _auto_path(settings: AssistantSettings, data_dir: Path) -> tuple[Path | None, dict]:
    """The checkpoint ``auto`` serves (None for the rules, logged with the reason) and how:
    whether it reads the rules' hint, which slots it takes from the rules."""
    where = verdict_path(settings, data_dir)
    try:
        verdict = json.loads(where.read_text())
    except (OSError, ValueError):
        verdict = {}
    chosen = verdict.get("serve")
    how = {"hints": verdict.get("hints", True) is not False, "sources": verdict.get("sources"),
           "lexicon": (_lexicon(where.parent, verdict.get("lexicon_digest"))
                       if verdict.get("lexicon") == "mined" else None)}
    if chosen is None:
        if Artifacts(data_dir).trained_assistant(settings.preset) or settings.model_path:
            log.warning("a trained assistant exists but %s does not: serving the rule assistant "
                        "until `aisle eval assistant` measures the model against it", where)
        return None, how
    if chosen == "rules":
        log.info("%s: the rules did best on held-out dialogues; serving them", where)
        return None, how
    path = settings.model_path or where.parent / str(chosen)
    if path.name != chosen or not (path / "config.json").exists():
        log.warning("%s names %r, not the checkpoint at %s: serving the rule assistant", where,
                    chosen, path)
        return None, how
    if missing_modules(*MODEL_MODULES):
        # a slim image has no model stack: the best assistant this install can run
        log.warning("a trained assistant is at %s, but the 'ml' extra is not installed: serving "
                    "the rule assistant (pip install 'aislestream[ml]' to serve the model)", path)
        return None, how
    return path, how


def _lexicon(root: Path, measured: str | None) -> Lexicon | None:
    """The mined lexicon the verdict chose and measured (``measured``: the digest of its cues
    file then), or None (the baseline's) with a warning."""
    path = root / "lexicon" / CUES_FILE
    try:
        cues = MinedCues.load(path.parent)
    except (OSError, ValueError) as exc:
        log.warning("the serving verdict chose the mined lexicon, but %s cannot be read (%s): "
                    "reading with the baseline's", path, exc)
        return None
    if cues_digest(path.parent) != measured:
        log.warning("%s changed since `aisle eval assistant` measured it: reading with the "
                    "baseline's lexicon until it measures these cues", path)
        return None
    return Lexicon(cues)


def _chosen_lexicon(settings: AssistantSettings, data_dir: Path) -> Lexicon | None:
    """The mined lexicon an explicit engine was told to read with (None: the baseline's). A
    choice made in settings, so a missing or invalid cues file is an error, not a fallback."""
    if settings.lexicon == "baseline":
        return None
    root = (settings.model_path.parent if settings.model_path is not None
            else Artifacts(data_dir).assistant(settings.preset))
    try:
        return Lexicon(MinedCues.load(root / "lexicon"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"assistant lexicon 'mined' needs {root / 'lexicon' / CUES_FILE}: run "
                          f"`aisle train assistant --preset {settings.preset} --stage lexicon` "
                          f"({exc})") from exc


def build_assistant(settings: AssistantSettings, store: SearchStore, data_dir: Path):
    from aislestream.engines.assistant.rules import RuleAssistant

    if settings.engine == "rules":
        lex = _chosen_lexicon(settings, data_dir)
        if lex is not None:
            return RuleAssistant(store, settings.k, lex=lex, name="rules-mined")
        return RuleAssistant(store, settings.k)
    how: dict = {"hints": True, "sources": None, "lexicon": None}
    if settings.engine == "auto":
        path, how = _auto_path(settings, data_dir)
        if path is None:
            if how["lexicon"] is not None:
                return RuleAssistant(store, settings.k, lex=how["lexicon"], name="rules-mined")
            return RuleAssistant(store, settings.k)
    else:
        path = settings.model_path or Artifacts(data_dir).trained_assistant(settings.preset)
        if path is None:
            raise ConfigError("assistant engine 'model' needs a checkpoint: "
                              "run `aisle train assistant --preset "
                              f"{settings.preset}` or set AISLE_ASSISTANT__MODEL_PATH")
        how["lexicon"] = _chosen_lexicon(settings, data_dir)
    require_extra("ml", *MODEL_MODULES, needed_by="the model assistant")
    from aislestream.engines.assistant.model import ModelAssistant, build_decoder

    suffix = (("" if how["hints"] else "-no-hint") + ("-per-slot" if how["sources"] else "")
              + ("-mined" if how["lexicon"] is not None else ""))
    return ModelAssistant(build_decoder(path, settings.backend), store, settings.k,
                          name=f"model-{path.name}{suffix}", hints=how["hints"],
                          sources=how["sources"], lex=how["lexicon"])
