"""The ads presets: autoencoder and generator size and schedule, reward-model and feedback
training, evaluation size. Plain data, importable without torch (the CLI's choices come from
here)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from aislestream.errors import ConfigError

STAGES = ("autoencoder", "generator", "reward", "rl")  # what `--stage all` runs, in order


@dataclass(frozen=True)
class AutoencoderPreset:
    """A diffusers ``AutoencoderKL`` for the 32 px creatives and its training schedule. Two
    blocks halve the resolution once (32 -> 16 px); ``latent_channels`` per latent pixel."""

    name: str
    block_out_channels: tuple[int, ...]
    layers_per_block: int
    latent_channels: int
    norm_num_groups: int
    train_steps: int
    batch_size: int
    lr: float
    pixel_loss: str = "l2"  # or "l1" (measured slower: it fits the background before products)
    edge_weight: float = 0.0  # L1 on pixel differences; measured to slow early training
    kl_weight: float = 1e-6  # just enough to keep the latent bounded for the generator
    ema_decay: float = 0.999
    mid_attention: bool = False
    eval_every: int = 500  # learning-curve points
    curve_images: int = 512  # held-out renders per learning-curve point
    eval_images: int = 2_000  # held-out renders for the final figure
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pixel_loss not in ("l1", "l2"):
            raise ConfigError(f"pixel_loss {self.pixel_loss!r} is not one of l1, l2")


AUTOENCODER_PRESETS = {
    "micro": AutoencoderPreset("micro", (8, 16), 1, 4, 8, 20, 8, 1e-3, ema_decay=0.9,
                               eval_every=10, curve_images=16, eval_images=32),
    "tiny": AutoencoderPreset("tiny", (32, 64), 1, 4, 32, 1_500, 32, 1e-3, eval_every=150),
    # `aisle demo`'s first run (0.31 s a step on 2 cores): 74.6% of reconstructions usable at
    # 600 steps (n=512), which caps the demo generator's quality
    "demo": AutoencoderPreset("demo", (32, 64), 1, 4, 32, 500, 32, 1e-3, eval_every=250,
                              curve_images=256, eval_images=500),
    "small": AutoencoderPreset("small", (64, 128), 2, 4, 32, 40_000, 128, 5e-4,
                               ema_decay=0.9999, mid_attention=True, eval_every=2_000,
                               eval_images=5_000),
}


@dataclass(frozen=True)
class GeneratorPreset:
    """The latent diffusion transformer and its schedule. ``patch_size`` is on the 16 px latent
    grid (2 gives 64 tokens); ``cond_dropout`` is the share of training examples whose four
    attribute tokens are all null (what classifier-free guidance needs)."""

    name: str
    num_layers: int
    num_heads: int
    head_dim: int
    patch_size: int
    train_steps: int
    batch_size: int
    lr: float
    inference_steps: int
    ema_decay: float = 0.999
    guidance_scale: float = 3.0
    cond_dropout: float = 0.1
    eval_every: int = 1_000  # learning-curve points
    curve_reps: int = 2  # every spec combination this many times per point
    seed: int = 0


GENERATOR_PRESETS = {
    # three blocks: FFT + RDP removes neither the first nor the last, so two leave it nothing
    "micro": GeneratorPreset("micro", 3, 2, 16, 4, 30, 8, 1e-3, 4, ema_decay=0.9,
                             eval_every=15, curve_reps=1),
    # batch 32: at batch 64 a step took twice as long and 8,000 of them (plus the autoencoder)
    # would not fit the 90-minute budget on 2 cores; 7,000 steps: an 8,000-step run's curve
    # was flat from there (97.9% usable at 7k, 95.8% at 8k, n=192) and the whole tiny preset
    # ran 5,600 s, over the 90 minutes
    "tiny": GeneratorPreset("tiny", 6, 4, 32, 2, 7_000, 32, 5e-4, 20, curve_reps=1),
    # `aisle demo`'s first run: tiny's generator for 1,800 steps (0.28 s a step on 2 cores;
    # with the demo autoencoder 18% of first tries were usable at 2,500 steps, n=192; tiny's
    # curve: 41% at 2,000 steps, 71% at 3,000)
    "demo": GeneratorPreset("demo", 6, 4, 32, 2, 1_800, 32, 5e-4, 20, eval_every=900,
                            curve_reps=1),
    "small": GeneratorPreset("small", 12, 6, 64, 2, 60_000, 128, 2e-4, 30, ema_decay=0.9999,
                             eval_every=5_000, curve_reps=4),
}


@dataclass(frozen=True)
class SamplingRegime:
    """How one share of the reward data's generated creatives is sampled. At the served
    settings the base generator makes few mistakes (44 shape defects in 2,000, no placement or
    colour ones, in the first run), too few for a scorer to learn; weaker settings (less
    guidance, fewer steps, no cleanup) make the same generator's mistakes in numbers.
    ``None`` is the served choice."""

    guidance_scale: float | None = None
    steps: int | None = None
    cleanup: bool | None = None

    @property
    def served(self) -> bool:
        return self.guidance_scale is None and self.steps is None and self.cleanup is None


SERVED = SamplingRegime()
REWARD_DATA_REGIMES = (SERVED, SamplingRegime(1.5, 10), SamplingRegime(1.0, 6),
                       SamplingRegime(cleanup=False))


@dataclass(frozen=True)
class RewardTrainConfig:
    train_images: int = 12_000
    val_images: int = 3_000
    steps: int = 1_500
    specialized_width: int = 8
    monolithic_width: int = 22  # 208,677 parameters vs 3 x 70,609 for the specialized scorers
    # the base generator's own creatives, labelled per aspect by the oracle, from seeds no
    # evaluation uses: what the scorers must judge when they serve
    generated_train: int = 2_000
    generated_val: int = 500
    generated_test: int = 1_000
    # cycled chunk by chunk over each split, so every split holds every regime
    generated_regimes: tuple[SamplingRegime, ...] = REWARD_DATA_REGIMES
    generated_chunk: int = 125
    seed: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class FeedbackConfig:
    rounds: int = 6
    samples_per_round: int = 256
    steps_per_round: int = 100  # each step runs the guided velocity: two passes
    batch_size: int = 32
    lr: float = 5e-5
    base_weight: float = 1.0  # weight of the distillation-to-base regulariser
    inference_steps: int = 20
    seed: int = 0


@dataclass(frozen=True)
class AdsPreset:
    name: str
    generator: GeneratorPreset
    reward: RewardTrainConfig
    feedback: FeedbackConfig
    eval_reps: int  # every spec combination this many times
    eval_stride: int = 1  # or every n-th combination, for quick checks
    autoencoder: AutoencoderPreset = AUTOENCODER_PRESETS["tiny"]


ADS_PRESETS = {
    "micro": AdsPreset("micro", GENERATOR_PRESETS["micro"],
                       RewardTrainConfig(train_images=400, val_images=200, steps=30,
                                         generated_train=48, generated_val=24,
                                         generated_test=24, generated_chunk=6),
                       FeedbackConfig(rounds=1, samples_per_round=16, steps_per_round=3,
                                      batch_size=8, inference_steps=4), eval_reps=1, eval_stride=9,
                       autoencoder=AUTOENCODER_PRESETS["micro"]),
    "tiny": AdsPreset("tiny", GENERATOR_PRESETS["tiny"], RewardTrainConfig(), FeedbackConfig(),
                      eval_reps=2, autoencoder=AUTOENCODER_PRESETS["tiny"]),
    "demo": AdsPreset("demo", GENERATOR_PRESETS["demo"],
                      RewardTrainConfig(train_images=4_000, val_images=1_000, steps=600,
                                        generated_train=800, generated_val=200,
                                        generated_test=400, generated_chunk=50),
                      FeedbackConfig(), eval_reps=1, autoencoder=AUTOENCODER_PRESETS["demo"]),
    "small": AdsPreset("small", GENERATOR_PRESETS["small"],
                       RewardTrainConfig(train_images=50_000, steps=6_000),
                       FeedbackConfig(rounds=20, samples_per_round=1_024), eval_reps=4,
                       autoencoder=AUTOENCODER_PRESETS["small"]),
}


def get_ads_preset(name: str) -> AdsPreset:
    if name not in ADS_PRESETS:
        raise ConfigError(f"unknown ads preset {name!r}; choose one of {', '.join(ADS_PRESETS)}")
    return ADS_PRESETS[name]
