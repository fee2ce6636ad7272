"""The assistant's three stages, on the LLM family's trainer stack. Each reads the previous
stage's directory and writes its own, like the expansion LLM's stages:

    <out>/adapt  continued pre-training of the LLM's stage-1 checkpoint on shopper forum posts
                 and product text, with positions extended to hold a dialogue and its JSON
    <out>/sft    SFT (TRL) on training dialogues: the conversation so far -> parameter JSON
    <out>/rl     GRPO (TRL) with the judge's reward, KL to the SFT policy

and, apart from the chain (it needs no model), ``<out>/lexicon``: cues mined from shoppers'
requests and purchases (models/assistant/mining.py) for the rules and the model's hint.

Fine-tuning sees training phrasings only; presets add neutral-word noise to its turns and
freeze the embeddings of tokens outputs never use, which is what lets phrasings met only in the
forum posts keep their meaning (docs/ARCHITECTURE.md, "Shopping assistant").
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from aislestream.connectors.search.base import SearchStore
from aislestream.models.assistant.behaviour import (
    BehaviourExample,
    behaviour_examples,
    purchase_log,
)
from aislestream.models.assistant.data import PROMPT_FORMAT, Example, augment, sft_examples
from aislestream.models.assistant.judge import Judge
from aislestream.models.assistant.presets import AssistantPreset
from aislestream.models.lm.data import product_text
from aislestream.models.lm.train import _args, _record, fit_causal_lm
from aislestream.models.world import World
from aislestream.models.world.dimensions import Params, generate_dialogues
from aislestream.models.world.forum import forum_posts

log = logging.getLogger(__name__)
STAGES = ("lexicon", "adapt", "sft", "rl")
CHAIN = ("adapt", "sft", "rl")  # each reads the one before it


@dataclass
class AssistantContext:
    preset: AssistantPreset
    out_dir: Path
    base: Path  # the LLM's stage-1 checkpoint
    world: World
    store: SearchStore
    seed: int = 0

    def judge(self) -> Judge:
        return Judge(self.store, {p.id: p for p in self.world.products})

    def examples(self) -> list[Example]:
        dialogues = generate_dialogues(self.preset.n_dialogues, "train", seed=self.seed)
        if self.preset.noise > 0:
            rng = np.random.default_rng([self.seed, 1])
            dialogues = [augment(d, rng, self.preset.noise) for d in dialogues]
        return sft_examples(dialogues, self.preset.hint_dropout, self.seed)


def add_schema_tokens(model, tokenizer) -> int:
    """Give the schema's keys and values tokens of their own, initialised from the words they
    name (``"running shoes"`` from `` running shoes``), so fine-tuning starts from meaning.

    Byte-level pre-tokenisation stops adding a leading space to every segment: between added
    tokens that would put a space inside the JSON. Prompts keep their spaces (they start with
    a task token and a space), so nothing else changes."""
    import torch
    from tokenizers import pre_tokenizers

    from aislestream.models.assistant.schema import schema_tokens

    tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    new = [t for t in schema_tokens() if t not in tokenizer.get_vocab()]
    words = [tokenizer(" " + t.strip('":').replace("_", " "), add_special_tokens=False)["input_ids"]
             for t in new]
    tokenizer.add_tokens(new)
    model.resize_token_embeddings(len(tokenizer))
    weights = model.get_input_embeddings().weight
    with torch.no_grad():
        for token, ids in zip(new, words):
            weights[tokenizer.convert_tokens_to_ids(token)] = weights[ids].mean(0)
    return len(new)


def freeze_embeddings_except(model, learn: set[int]) -> None:
    """Only the embeddings of tokens the outputs use (schema tokens, digits, punctuation) learn
    in fine-tuning: words the fine-tuning data never shows (held-out phrasings) keep their place
    next to the words adaptation put them beside."""
    weights = model.get_input_embeddings().weight
    mask = weights.new_zeros(weights.shape[0], 1)
    mask[sorted(learn)] = 1.0
    weights.register_hook(lambda grad: grad * mask)


def output_tokens(examples: list[Example], tokenizer) -> set[int]:
    return ({i for e in examples for i in tokenizer(e.completion)["input_ids"]}
            | {tokenizer.eos_token_id})


def run_adapt(ctx: AssistantContext) -> Path:
    """Continued pre-training: forum posts (every phrasing, training and held-out, in the same
    contexts) mixed with product text so the catalog is not forgotten."""
    from aislestream.models.lm.model import load_checkpoint

    started = time.time()
    out = ctx.out_dir / "adapt"
    model, tokenizer = load_checkpoint(ctx.base)
    model.config.max_position_embeddings = ctx.preset.max_positions  # RoPE: no learned positions
    added = add_schema_tokens(model, tokenizer)
    rng = np.random.default_rng(ctx.seed)
    posts = forum_posts(ctx.world.products, ctx.preset.forum_posts, ctx.seed,
                        ctx.preset.forum_restate)
    picks = rng.choice(len(ctx.world.products), size=min(len(posts) // 2, len(ctx.world.products)),
                       replace=False)
    texts = posts + [product_text(ctx.world.products[int(i)]) for i in picks]
    p = ctx.preset
    result = fit_causal_lm(model, tokenizer, texts, 96,
                           _args(p.adapt_lr, p.adapt_steps, p.adapt_batch, out, ctx.seed), ctx.seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _record(out, "adapt", started, posts=len(posts), product_texts=len(picks), schema_tokens=added,
            train_loss=result.training_loss,
            base=str(ctx.base), preset=asdict(p))
    return out


def run_sft(ctx: AssistantContext) -> Path:
    """Completion-only SFT on one example per dialogue turn."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from aislestream.models.lm.model import load_checkpoint

    started = time.time()
    out = ctx.out_dir / "sft"
    model, tokenizer = load_checkpoint(ctx.out_dir / "adapt")
    examples = ctx.examples()
    if ctx.preset.freeze_vocab:
        freeze_embeddings_except(model, output_tokens(examples, tokenizer))
    dataset = Dataset.from_dict({"prompt": [e.prompt for e in examples],
                                 "completion": [e.completion for e in examples]})
    lengths = [len(tokenizer(e.prompt + e.completion)["input_ids"]) for e in examples[:500]]
    tokenizer.padding_side = "right"
    p = ctx.preset
    trainer = SFTTrainer(model=model, processing_class=tokenizer,
                         train_dataset=dataset.shuffle(seed=ctx.seed),
                         args=SFTConfig(**_args(p.sft_lr, p.sft_steps, p.sft_batch, out, ctx.seed),
                                        max_length=p.max_positions))
    result = trainer.train()
    tokenizer.padding_side = "left"
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _record(out, "sft", started, prompt_format=PROMPT_FORMAT, examples=len(examples),
            dialogues=p.n_dialogues,
            train_loss=result.training_loss, tokens_per_example_mean=float(np.mean(lengths)),
            tokens_per_example_max=int(max(lengths)))
    return out


def run_rl(ctx: AssistantContext) -> Path:
    """GRPO: sampled (unconstrained) outputs rewarded by the judge; invalid JSON is penalised
    here so that the policy needs the constraint less, while serving still enforces it."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from aislestream.models.lm.model import load_checkpoint

    started = time.time()
    out = ctx.out_dir / "rl"
    model, tokenizer = load_checkpoint(ctx.out_dir / "sft")
    judge = ctx.judge()
    history: list[float] = []
    invalid: list[float] = []
    behaviour: list[float] = []  # the mean reward of the shoppers' requests in each batch

    def judge_reward(prompts, completions, gold, bought, state, **_) -> list[float]:
        """Labelled dialogue turns by the judge, shoppers' requests by what they bought."""
        values = [0.0] * len(completions)
        labelled = [i for i, g in enumerate(gold) if g]
        for i, v in zip(labelled, judge.rewards(
                [completions[i] for i in labelled],
                [Params.from_json(json.loads(gold[i])) for i in labelled])):
            values[i] = v
        shoppers = [i for i, b in enumerate(bought) if b]
        for i, v in zip(shoppers, judge.behaviour_rewards(
                [completions[i] for i in shoppers], [bought[i] for i in shoppers],
                [Params.from_json(json.loads(state[i])) for i in shoppers])):
            values[i] = v
        history.append(float(np.mean(values)))
        invalid.append(float(np.mean([v == -judge.w.invalid_penalty for v in values])))
        if shoppers:
            behaviour.append(float(np.mean([values[i] for i in shoppers])))
        return values

    examples = ctx.examples()
    if ctx.preset.freeze_vocab:
        freeze_embeddings_except(model, output_tokens(examples, tokenizer))
    rows = rl_rows(examples, behaviour_examples(ctx.world.products, ctx.preset.behaviour_prompts,
                                                ctx.seed))
    dataset = Dataset.from_dict(rows)
    p = ctx.preset
    config = GRPOConfig(**_args(p.rl_lr, p.rl_steps, p.rl_prompts_per_step * p.rl_generations,
                                out, ctx.seed),
                        num_generations=p.rl_generations, max_completion_length=p.rl_max_new_tokens,
                        beta=p.rl_beta, temperature=1.0)
    trainer = GRPOTrainer(model=model, reward_funcs=[judge_reward], args=config,
                          train_dataset=dataset.shuffle(seed=ctx.seed), processing_class=tokenizer)
    trainer.train()
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    quarter = max(1, len(history) // 4)
    _record(out, "rl", started, prompt_format=PROMPT_FORMAT,
            reward_first_quarter=float(np.mean(history[:quarter])),
            reward_last_quarter=float(np.mean(history[-quarter:])),
            invalid_first_quarter=float(np.mean(invalid[:quarter])),
            invalid_last_quarter=float(np.mean(invalid[-quarter:])), reward_history=history,
            prompts_labelled=len(examples),
            prompts_behaviour=sum(1 for b in rows["bought"] if b),
            behaviour_reward_history=behaviour)
    return out


def run_lexicon(ctx: AssistantContext) -> Path:
    """Cues mined from ``preset.mined_requests`` shoppers' requests and what they bought (seeded
    apart from RL's and the per-slot calibration's requests)."""
    from aislestream.models.assistant.mining import mine_cues

    started = time.time()
    out = ctx.out_dir / "lexicon"
    log_ = purchase_log(ctx.world.products, ctx.preset.mined_requests, ctx.seed + 9_000)
    if len(log_) < ctx.preset.mined_requests // 10:
        log.warning("only %d of %d shoppers' requests fit this catalog's products (their "
                    "categories are not the world's product types): few or no cues will be "
                    "mined", len(log_), ctx.preset.mined_requests)
    cues = mine_cues(log_, progress=lambda line: log.info("mined %s", line))
    cues.save(out)
    _record(out, "lexicon", started, requests=len(log_), cues=cues.to_json())
    return out


def rl_rows(examples: Sequence[Example], shoppers: Sequence[BehaviourExample],
            ) -> dict[str, list[str]]:
    """GRPO's dataset: labelled training turns carry their gold parameters, shoppers' requests
    only the id of what they bought (their phrasings, held-out ones included, have no gold)."""
    return {"prompt": [e.prompt for e in examples] + [b.prompt for b in shoppers],
            "gold": [json.dumps(e.gold.to_json()) for e in examples] + [""] * len(shoppers),
            "bought": [""] * len(examples) + [b.product_id for b in shoppers],
            "state": [""] * len(examples) + [json.dumps(b.state.to_json()) for b in shoppers]}


RUNNERS = {"lexicon": run_lexicon, "adapt": run_adapt, "sft": run_sft, "rl": run_rl}
