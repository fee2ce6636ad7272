"""Which generator the ad path serves: the RL generator only where its serving gate found it
better than the base one (``rl/rl.json``, written by ``models.ads.rl``). Read by the worker, the
evaluation and pruning, which prunes what is served. No torch here: the worker imports it."""

from __future__ import annotations

import json
from pathlib import Path


def rl_beats_base(rl: Path) -> bool:
    """The RL stage's serving gate: False when there is no RL generator or no gate verdict."""
    record = rl / "rl.json"
    if not (rl / "model_index.json").exists() or not record.exists():
        return False
    return bool(json.loads(record.read_text()).get("gate", {}).get("serve_rl", False))


def served_generator(root: Path) -> Path:
    """The directory of the generator a preset's artifacts ``root`` serves by default."""
    return root / "rl" if rl_beats_base(root / "rl") else root / "generator"
