"""Deterministic assignment: the same user gets the same arm on every worker, every time.

A user's bucket in an experiment is a hash of (salt, unit id) into 10,000 buckets; arms own
consecutive bucket ranges in the order they are listed. Each experiment has its own salt, so
buckets in different layers are independent (orthogonal layers). Changing a share moves only
the users at the boundary between arms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aislestream.streams.experiments.schema import Arm, Experiment, ParamValue

BUCKETS = 10_000


def bucket(unit: str, salt: str) -> int:
    digest = hashlib.blake2b(f"{salt}\x00{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def arm_for(experiment: Experiment, unit: str) -> Arm:
    b = bucket(unit, experiment.salt)
    edge = 0.0
    for arm in experiment.arms:
        edge += arm.share * BUCKETS
        if b < round(edge):
            return arm
    return experiment.arms[-1]  # shares sum to 1 up to rounding


@dataclass(frozen=True)
class Assignment:
    arms: dict[str, str]  # experiment id -> arm name, recorded on every output
    params: dict[str, ParamValue]  # what the arms select, merged across layers


def assign(experiments: Iterable[Experiment], unit: str, now: datetime | None = None) -> Assignment:
    """The arm of every active experiment for this unit (a user id, or the request id when the
    shopper is anonymous)."""
    arms: dict[str, str] = {}
    params: dict[str, ParamValue] = {}
    for exp in sorted(experiments, key=lambda e: e.id):
        if not exp.active(now):
            continue
        arm = arm_for(exp, unit)
        arms[exp.id] = arm.name
        params.update(arm.params)  # layers own disjoint parameters, so nothing is overwritten
    return Assignment(arms, params)
