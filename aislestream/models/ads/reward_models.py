"""Reward models: three small specialized scorers (shape, placement, colour) and, as the
baseline, one monolithic scorer of comparable total size trained on the same data.

Each scorer sees the image plus the spec (one-hot) and outputs P(aspect is right). Two coordinate
channels let convolutions know *where* things are, which placement needs. Probabilities are
calibrated by temperature scaling on validation data; the reward thresholds (see
:class:`RewardEnsemble`) are chosen there too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aislestream.core.adspec import ALL_SPECS, ASPECTS, N_CLASSES, SIZE, SPEC_DIM, AdSpec
from aislestream.models.ads.renderer import DEFECTS, render

THRESHOLDS_FILE = "reward_thresholds.json"  # aspect -> reward threshold, beside <aspect>.pt
_DEFECT_THRESHOLDS_FILE = "thresholds.json"  # the older form: aspect -> max defect score (1 - p)


class Scorer(nn.Module):
    """image (B,3,32,32) in [0,1] + spec one-hot (B,SPEC_DIM) -> logit (B,)"""

    def __init__(self, width: int = 8, hidden: int = 64) -> None:
        super().__init__()
        self.config = {"width": width, "hidden": hidden}
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(5, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.GELU(),  # 16x16
            nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1), nn.GELU(),  # 8x8
        )
        self.head = nn.Sequential(nn.Linear(2 * w * 64 + SPEC_DIM, hidden), nn.GELU(),
                                  nn.Linear(hidden, 1))
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, SIZE), torch.linspace(-1, 1, SIZE),
                                indexing="ij")
        self.register_buffer("coords", torch.stack([ys, xs])[None], persistent=False)
        self.temperature = nn.Parameter(torch.ones(()), requires_grad=False)  # set by calibration

    def forward(self, images: torch.Tensor, specs: torch.Tensor) -> torch.Tensor:
        x = torch.cat([images, self.coords.expand(len(images), -1, -1, -1)], dim=1)
        h = self.features(x).flatten(1)
        return self.head(torch.cat([h, specs], dim=1)).squeeze(1) / self.temperature


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass
class Batch:
    images: torch.Tensor  # (N,3,32,32) float in [0,1]
    specs: torch.Tensor  # (N,SPEC_DIM)
    labels: dict[str, torch.Tensor]  # aspect -> (N,) 1.0 = right; plus "usable"


def to_tensors(images: np.ndarray, specs: Sequence[AdSpec]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(images).float().permute(0, 3, 1, 2) / 255.0
    s = torch.tensor([spec.one_hot() for spec in specs], dtype=torch.float32)
    return x, s


def make_dataset(n: int, seed: int, defect_rate: float = 0.5) -> Batch:
    """Renders: half clean, half with one defect (uniform over the defect kinds)."""
    rng = np.random.default_rng(seed)
    kinds = list(DEFECTS)
    images, specs, labels = [], [], {a: [] for a in (*ASPECTS, "usable")}
    for _ in range(n):
        spec = ALL_SPECS[int(rng.integers(N_CLASSES))]
        defect = kinds[int(rng.integers(len(kinds)))] if rng.random() < defect_rate else None
        r = render(spec, rng, defect)
        images.append(r.image)
        specs.append(spec)
        ok = r.labels()
        for aspect in ASPECTS:
            labels[aspect].append(float(ok[aspect]))
        labels["usable"].append(float(all(ok.values())))
    x, s = to_tensors(np.stack(images), specs)
    return Batch(x, s, {k: torch.tensor(v) for k, v in labels.items()})


def labelled(images: np.ndarray, specs: Sequence[AdSpec]) -> Batch:
    """Images labelled per aspect by the oracle (the human raters' part in RF1M)."""
    from aislestream.models.ads.oracle import judge_all

    verdicts = judge_all(images, specs)
    labels = {a: torch.tensor([float(v.aspects()[a]) for v in verdicts]) for a in ASPECTS}
    labels["usable"] = torch.tensor([float(v.usable) for v in verdicts])
    x, s = to_tensors(images, specs)
    return Batch(x, s, labels)


def take(batch: Batch, keep: np.ndarray) -> Batch:
    """The rows where ``keep`` (a boolean mask) holds."""
    idx = torch.from_numpy(np.nonzero(keep)[0])
    return Batch(batch.images[idx], batch.specs[idx], {k: v[idx] for k, v in batch.labels.items()})


def concat(*batches: Batch) -> Batch:
    return Batch(torch.cat([b.images for b in batches]), torch.cat([b.specs for b in batches]),
                 {k: torch.cat([b.labels[k] for b in batches]) for k in batches[0].labels})


def train_scorer(model: Scorer, data: Batch, target: str, steps: int, batch: int = 64,
                 lr: float = 2e-3, seed: int = 0) -> list[float]:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    y = data.labels[target]
    losses = []
    model.train()
    for step in range(steps):
        idx = torch.randint(len(y), (batch,))
        loss = nn.functional.binary_cross_entropy_with_logits(
            model(data.images[idx], data.specs[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def predict(model: Scorer, images: torch.Tensor, specs: torch.Tensor,
            batch: int = 512) -> np.ndarray:
    """Calibrated P(right)."""
    out = [torch.sigmoid(model(images[i:i + batch], specs[i:i + batch]))
           for i in range(0, len(images), batch)]
    return torch.cat(out).numpy()


@torch.no_grad()
def calibrate(model: Scorer, data: Batch, target: str) -> float:
    """Temperature scaling: the T minimising validation NLL (a grid is plenty for one scalar)."""
    model.temperature.fill_(1.0)
    logits = torch.cat([model(data.images[i:i + 512], data.specs[i:i + 512])
                        for i in range(0, len(data.images), 512)])
    y = data.labels[target]
    grid = torch.exp(torch.linspace(np.log(0.05), np.log(20), 200))
    nll = [float(nn.functional.binary_cross_entropy_with_logits(logits / t, y)) for t in grid]
    best = float(grid[int(np.argmin(nll))])
    model.temperature.fill_(best)
    return best


def recall_at_precision(defect_scores: np.ndarray, is_defect: np.ndarray, precision: float = 0.95
                        ) -> tuple[float, float]:
    """Best recall of defects with precision >= ``precision``; returns (recall, threshold)."""
    order = np.argsort(-defect_scores)
    hits = np.cumsum(is_defect[order])
    flagged = np.arange(1, len(order) + 1)
    ok = hits / flagged >= precision
    positives = max(1, int(is_defect.sum()))
    if not ok.any():
        return 0.0, float("inf")
    best_hits = hits[ok].max()
    k = int(np.nonzero(ok & (hits == best_hits))[0][0])  # the strictest cut with that recall
    return float(hits[k] / positives), float(defect_scores[order][k])


def save_scorer(model: Scorer, path: Path) -> None:
    torch.save({"config": model.config, "state": model.state_dict(),
                "temperature": float(model.temperature)}, path)


def load_scorer(path: Path) -> Scorer:
    blob = torch.load(path, weights_only=True)
    model = Scorer(**blob["config"])
    model.load_state_dict(blob["state"])
    model.temperature.fill_(blob["temperature"])
    return model.eval()


@dataclass
class RewardEnsemble:
    """The three specialized scorers and their reward thresholds: the usability decision.

    A reward threshold is the P(right) an aspect's score must exceed for a creative to be
    accepted; every aspect must exceed its own. Training sets one per aspect (the cut with 95%
    precision on validation defects); an experiment arm may set one for all aspects (the
    ``reward_threshold`` param of the ``ads.generation`` layer, via ``with_reward_threshold``).
    An aspect without one uses 0.5. Satisfies ``aislestream.engines.reward.RewardModel``.
    """
    scorers: dict[str, Scorer]
    reward_thresholds: dict[str, float] = field(default_factory=dict)

    @torch.no_grad()
    def score(self, images: np.ndarray, specs: Sequence[AdSpec]) -> dict[str, np.ndarray]:
        return self.score_tensors(*to_tensors(images, specs))

    def score_tensors(self, images: torch.Tensor, specs: torch.Tensor) -> dict[str, np.ndarray]:
        """:meth:`score` of a :class:`Batch`'s tensors."""
        return {aspect: predict(model, images, specs) for aspect, model in self.scorers.items()}

    def usable(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        thresholds = self.reward_thresholds
        return np.all([scores[a] > thresholds.get(a, 0.5) for a in self.scorers], axis=0)

    def reward(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """Scalar RL reward: the product of per-aspect probabilities (all must be right)."""
        return np.prod([scores[a] for a in self.scorers], axis=0)

    def with_reward_threshold(self, reward_threshold: float) -> "RewardEnsemble":
        """The same scorers with one reward threshold for every aspect."""
        return replace(self, reward_thresholds=dict.fromkeys(self.scorers, reward_threshold))

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for aspect, model in self.scorers.items():
            save_scorer(model, path / f"{aspect}.pt")
        (path / THRESHOLDS_FILE).write_text(json.dumps(self.reward_thresholds, indent=2))

    @classmethod
    def load(cls, path: Path) -> "RewardEnsemble":
        from aislestream.errors import ConfigError

        if (path / THRESHOLDS_FILE).exists():
            reward_thresholds = json.loads((path / THRESHOLDS_FILE).read_text())
        elif (path / _DEFECT_THRESHOLDS_FILE).exists():  # trained before the file held P(right)
            defect = json.loads((path / _DEFECT_THRESHOLDS_FILE).read_text())
            reward_thresholds = {aspect: 1.0 - cut for aspect, cut in defect.items()}
        else:
            raise ConfigError(f"no reward models at {path}: run `aisle train ads --stage reward`")
        scorers = {aspect: load_scorer(path / f"{aspect}.pt") for aspect in ASPECTS}
        return cls(scorers, reward_thresholds)
