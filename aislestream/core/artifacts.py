"""Where everything the project trains, exports, indexes and logs lives under the data dir.

One place, so that a preset (or a model, for pruning) names one directory however the path is
reached: training writes there, evaluation and serving read there.

    <data_dir>/lm/<preset>/{store,split.json,pretrain,sft,rl,onnx-rl}
    <data_dir>/assistant/<preset>/{store,adapt,sft,rl}
    <data_dir>/ads/<preset>/{generator,reward/{specialized,monolithic},rl}
    <data_dir>/prune/<model>/<preset>/<method>-n<blocks>/{raw,healed}
    <data_dir>/{logs,faust,health,adstore}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Artifacts:
    root: Path

    def lm(self, preset: str) -> Path:
        return self.root / "lm" / preset

    def assistant(self, preset: str) -> Path:
        return self.root / "assistant" / preset

    def ads(self, preset: str) -> Path:
        return self.root / "ads" / preset

    def prune(self, model: str, preset: str) -> Path:
        return self.root / "prune" / model / preset

    def trained_assistant(self, preset: str) -> Path | None:
        """The most trained assistant checkpoint of the preset (RL, else SFT), if any."""
        root = self.assistant(preset)
        return next((root / s for s in ("rl", "sft") if (root / s / "config.json").exists()), None)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def faust(self) -> Path:
        return self.root / "faust"

    @property
    def health(self) -> Path:
        return self.root / "health"

    @property
    def adstore(self) -> Path:
        return self.root / "adstore"
