"""Experiment definitions: what a YAML file may say, checked before anything is published.

An experiment lives in one *layer*; layers are orthogonal (each hashes users with its own
salt), so a request can be in one experiment per layer at once — the overlapping-experiment
design. Within a layer at most one experiment runs at a time, and each layer owns the
parameters its arms set, so two experiments can never fight over the same knob.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from aislestream.errors import ConfigError, describe_validation_error

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ParamValue = str | float | int | bool

# What arms may set, per layer: the knobs the stream processors read.
LAYER_PARAMS: dict[str, frozenset[str]] = {
    "search.expansion": frozenset({"expander"}),
    "search.retrieval": frozenset({"retrieval"}),
    "ads.generation": frozenset({"generator", "reward_threshold"}),
}
NAME_PARAMS = frozenset({"expander", "generator"})  # variant names
LEVEL_PARAMS = frozenset({"reward_threshold"})  # probabilities in (0, 1)
# BM25 alone, or fused with the dense channel (a worker started with store.dense)
CHOICE_PARAMS: dict[str, tuple[str, ...]] = {"retrieval": ("lexical", "hybrid")}


class Arm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    share: float = Field(gt=0, le=1)
    params: dict[str, ParamValue] = Field(default_factory=dict)


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Name
    layer: str
    arms: list[Arm] = Field(min_length=1)
    salt: str = Field(min_length=1, max_length=128)
    start: datetime | None = None
    stop: datetime | None = None
    description: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> "Experiment":
        if self.layer not in LAYER_PARAMS:
            raise ValueError(f"layer {self.layer!r} is not one of {', '.join(LAYER_PARAMS)}")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names repeat: {names}")
        total = sum(a.share for a in self.arms)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"arm shares sum to {total:g}, they must sum to 1")
        for arm in self.arms:
            unknown = set(arm.params) - LAYER_PARAMS[self.layer]
            if unknown:
                raise ValueError(f"arm {arm.name!r} sets {sorted(unknown)}, "
                                 f"which layer {self.layer!r} does not own "
                                 f"(it owns {sorted(LAYER_PARAMS[self.layer])})")
            for key, value in arm.params.items():
                if key in NAME_PARAMS and not isinstance(value, str):
                    raise ValueError(
                        f"arm {arm.name!r}: {key} must be a variant name, got {value!r}")
                if key in CHOICE_PARAMS and value not in CHOICE_PARAMS[key]:
                    raise ValueError(f"arm {arm.name!r}: {key} must be one of "
                                     f"{', '.join(CHOICE_PARAMS[key])}, got {value!r}")
                if key in LEVEL_PARAMS and (isinstance(value, bool)
                                            or not isinstance(value, (int, float))
                                            or not 0 < value < 1):
                    raise ValueError(f"arm {arm.name!r}: {key} must be a probability in (0, 1), "
                                     f"got {value!r}")
        if self.start and self.stop and self.stop <= self.start:
            raise ValueError("stop must be after start")
        return self

    def active(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return ((self.start is None or _aware(self.start) <= now)
                and (self.stop is None or now < _aware(self.stop)))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def window(exp: Experiment) -> tuple[datetime, datetime]:
    """When it runs, open ends made explicit."""
    return (_aware(exp.start) if exp.start else datetime.min.replace(tzinfo=timezone.utc),
            _aware(exp.stop) if exp.stop else datetime.max.replace(tzinfo=timezone.utc))


def check_layers(experiments: Iterable[Experiment]) -> None:
    """At most one experiment per layer over any stretch of time."""
    by_layer: dict[str, list[Experiment]] = {}
    for exp in experiments:
        by_layer.setdefault(exp.layer, []).append(exp)
    for layer, exps in by_layer.items():
        for i, a in enumerate(exps):
            for b in exps[i + 1:]:
                (a0, a1), (b0, b1) = window(a), window(b)
                if a0 < b1 and b0 < a1:
                    raise ConfigError(f"experiments {a.id!r} and {b.id!r} overlap in time on "
                                      f"layer {layer!r}; one layer runs one experiment at a time "
                                      "(use another layer, or stop one)")


def parse_experiment(data: object, source: str = "experiment") -> Experiment:
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from exc


def load_experiments(path: Path) -> list[Experiment]:
    """One experiment or a list of them from a YAML file, every one validated."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    items = raw if isinstance(raw, list) else [raw]
    experiments = [parse_experiment(item, f"{path} (experiment {i + 1})")
                   for i, item in enumerate(items)]
    check_layers(experiments)
    return experiments
