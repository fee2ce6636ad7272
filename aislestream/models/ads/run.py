"""The driver behind `aisle train ads`: the autoencoder (the latent space), the generator, the
reward models, then fine-tuning on their feedback, each stage written under the preset's
artifacts directory and read from there by the next."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aislestream.errors import ConfigError
from aislestream.models.ads.autoencoder import load_autoencoder
from aislestream.models.ads.generator import load_pipeline
from aislestream.models.ads.presets import AdsPreset
from aislestream.models.ads.reward_models import RewardEnsemble
from aislestream.models.ads.rl import finetune_on_feedback
from aislestream.models.ads.train_autoencoder import train_autoencoder
from aislestream.models.ads.train_generator import train_generator
from aislestream.models.ads.train_rewards import train_reward_models
from aislestream.settings import Settings


def train_ads(settings: Settings, preset: AdsPreset, stages: Sequence[str],
              log: Callable[[str], None] = print,
              on_stage: Callable[[str, float], None] | None = None) -> Path:
    root = settings.artifacts.ads(preset.name)
    for stage in stages:
        started = time.time()
        if stage == "autoencoder":
            train_autoencoder(preset.autoencoder, root / "autoencoder", log)
        elif stage == "generator":
            train_generator(preset.generator, load_autoencoder(root / "autoencoder"),
                            root / "generator", log)
        elif stage == "reward":
            report = train_reward_models(preset.reward, root / "reward", log,
                                         generator=load_pipeline(root / "generator"),
                                         steps=preset.generator.inference_steps)
            for data in ("generated", "generated_served", "renders"):
                overall = report[f"recall_at_p95_{data}"]["overall"]
                log(f"defect recall at 95% precision on {data} creatives: specialized "
                    f"{overall['specialized']}, monolithic {overall['monolithic']}")
            for data, row in report["at_reward_thresholds"].items():
                log(f"at the reward thresholds, {data}: {row}")
        elif stage == "rl":
            finetune_on_feedback(load_pipeline(root / "generator"),
                                 RewardEnsemble.load(root / "reward" / "specialized"),
                                 preset.feedback, root / "rl",
                                 progress=lambda r, rec: log(
                                     f"feedback round {r}: reward models accept "
                                     f"{rec['accept_rate']:.3f}, oracle usable "
                                     f"{rec['oracle_usable']:.3f} (n={rec['samples']})"))
        else:
            raise ConfigError(f"unknown ads stage {stage!r}")
        if on_stage:  # reports the stage instead of the log line
            on_stage(stage, time.time() - started)
        else:
            log(f"{stage} done in {time.time() - started:,.0f}s")
    return root
