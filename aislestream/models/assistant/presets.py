"""Assistant training budgets. The assistant starts from the LLM family's stage-1 checkpoint of
``lm_preset`` (the same tokenizer and decoder), so its size is that preset's."""

from __future__ import annotations

from dataclasses import dataclass

from aislestream.errors import ConfigError


@dataclass(frozen=True)
class AssistantPreset:
    name: str
    lm_preset: str
    n_dialogues: int  # training dialogues (one SFT example per turn)
    forum_posts: int  # unlabelled shopper posts for the adaptation stage
    # stage a: continued pre-training on forum posts and product text, with longer positions
    adapt_steps: int
    adapt_batch: int
    adapt_lr: float
    # stage b: SFT on (dialogue so far -> parameter JSON)
    sft_steps: int
    sft_batch: int
    sft_lr: float
    # stage c: GRPO with the judge's reward
    rl_steps: int
    rl_prompts_per_step: int
    rl_generations: int
    rl_lr: float
    rl_beta: float
    rl_max_new_tokens: int
    max_positions: int = 512  # prompt (<= 8 turns) + the schema's longest output
    eval_dialogues: int = 400
    freeze_vocab: bool = False  # SFT and RL train only the embeddings of tokens the outputs use
    forum_restate: float = 0.3  # share of forum posts that say the same thing twice in other words
    # share of training turns given neutral words (see models.assistant.data.augment)
    noise: float = 0.0
    # share of training turns whose rule hint is withheld (see models.assistant.data)
    hint_dropout: float = 0.0
    # shoppers' requests (words and what they bought, no gold) beside the labelled turns in RL
    behaviour_prompts: int = 0
    # shoppers' requests and purchases the lexicon stage mines cues from
    mined_requests: int = 60_000


PRESETS: dict[str, AssistantPreset] = {
    "micro": AssistantPreset(
        "micro", lm_preset="micro", n_dialogues=120, forum_posts=400,
        adapt_steps=10, adapt_batch=16, adapt_lr=2e-3, sft_steps=20, sft_batch=16, sft_lr=2e-3,
        rl_steps=2, rl_prompts_per_step=2, rl_generations=4, rl_lr=1e-5, rl_beta=0.04,
        rl_max_new_tokens=32, eval_dialogues=20, freeze_vocab=True, noise=0.5,
        hint_dropout=0.3, behaviour_prompts=40, mined_requests=2_000),
    "tiny": AssistantPreset(
        "tiny", lm_preset="tiny", n_dialogues=4_000, forum_posts=40_000,
        adapt_steps=800, adapt_batch=32, adapt_lr=1e-3, sft_steps=1_500, sft_batch=32, sft_lr=1e-3,
        rl_steps=120, rl_prompts_per_step=8, rl_generations=8, rl_lr=1e-5, rl_beta=0.04,
        rl_max_new_tokens=48, freeze_vocab=True, noise=0.5, hint_dropout=0.3,
        behaviour_prompts=4_000),
    # what `aisle demo` trains on a fresh clone: from the demo LLM's stage 1, cues mined from
    # shoppers' purchases, a shorter adaptation and SFT; `aisle demo` runs no RL stage (on tiny,
    # RL moved held-out slot F1 by -0.001)
    "demo": AssistantPreset(
        "demo", lm_preset="demo", n_dialogues=2_000, forum_posts=10_000,
        adapt_steps=250, adapt_batch=32, adapt_lr=1e-3, sft_steps=500, sft_batch=32, sft_lr=1e-3,
        rl_steps=0, rl_prompts_per_step=8, rl_generations=8, rl_lr=1e-5, rl_beta=0.04,
        rl_max_new_tokens=48, eval_dialogues=40, freeze_vocab=True, noise=0.5, hint_dropout=0.3),
    "small": AssistantPreset(
        "small", lm_preset="small", n_dialogues=20_000, forum_posts=200_000,
        adapt_steps=3_000, adapt_batch=64, adapt_lr=3e-4,
        sft_steps=4_000, sft_batch=64, sft_lr=3e-4,
        rl_steps=300, rl_prompts_per_step=16, rl_generations=8, rl_lr=2e-6, rl_beta=0.04,
        rl_max_new_tokens=128, eval_dialogues=1_000, freeze_vocab=True, noise=0.5,
        hint_dropout=0.3, behaviour_prompts=20_000, mined_requests=200_000),
}


def get_assistant_preset(name: str) -> AssistantPreset:
    if name not in PRESETS:
        raise ConfigError(f"unknown assistant preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
