"""The driver behind `aisle train ads`: generator, then reward models, then fine-tuning on their
feedback, each stage written under the preset's artifacts directory.

The ``autoencoder`` stage (the latent space a latent generator will denoise in) runs only when
named: nothing consumes it until that generator lands, so ``--stage all`` leaves it out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aislestream.errors import ConfigError
from aislestream.models.ads.generator import load_pipeline, train_generator
from aislestream.models.ads.presets import AdsPreset
from aislestream.models.ads.reward_models import RewardEnsemble
from aislestream.models.ads.rl import finetune_on_feedback
from aislestream.models.ads.train_autoencoder import train_autoencoder
from aislestream.models.ads.train_rewards import train_reward_models
from aislestream.settings import Settings


def train_ads(settings: Settings, preset: AdsPreset, stages: Sequence[str],
              log: Callable[[str], None] = print) -> Path:
    root = settings.artifacts.ads(preset.name)
    for stage in stages:
        started = time.time()
        if stage == "autoencoder":
            train_autoencoder(preset.autoencoder, root / "autoencoder", log)
        elif stage == "generator":
            step_every = max(1, preset.generator.train_steps // 10)
            train_generator(preset.generator, root / "generator", progress=lambda s, n, loss: (
                log(f"generator step {s}/{n} loss {loss:.4f}") if s % step_every == 0 else None))
        elif stage == "reward":
            report = train_reward_models(preset.reward, root / "reward", log)
            overall = report["recall_at_p95"]["overall"]
            log(f"defect recall at 95% precision: specialized {overall['specialized']:.3f}, "
                f"monolithic {overall['monolithic']:.3f}")
        elif stage == "rl":
            finetune_on_feedback(load_pipeline(root / "generator"),
                                 RewardEnsemble.load(root / "reward" / "specialized"),
                                 preset.feedback, root / "rl",
                                 progress=lambda r, rec: log(f"feedback round {r}: "
                                                             f"accepted {rec['accept_rate']:.2f}"))
        else:
            raise ConfigError(f"unknown ads stage {stage!r}")
        log(f"{stage} done in {time.time() - started:,.0f}s")
    return root
