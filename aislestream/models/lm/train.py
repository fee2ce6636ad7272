"""The three training stages. Each reads the previous stage's directory and writes its own
(``save_pretrained`` model + tokenizer), so any stage can be re-run or replaced.

    <out>/pretrain   stage 1: tokenizer + causal LM on product text and behaviour sequences
    <out>/sft        stage 2: multi-task SFT on mined expansion / rewrite / attribute pairs
    <out>/rl         stage 3: GRPO against the simulated search engine, KL to the SFT policy
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from aislestream.connectors.search.base import FusionConfig, SearchRequest, SearchStore
from aislestream.connectors.search.fusion import GATE_TOP, weak
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.models.lm.data import (
    BehaviourLog,
    SftExample,
    dedupe,
    mine_sft_examples,
    pretrain_texts,
    simulate_log,
    spelling_examples,
    split_queries,
    validation_split,
)
from aislestream.models.lm.presets import LMPreset
from aislestream.models.lm.prompts import expand_prompt
from aislestream.models.lm.reward import ExpansionReward
from aislestream.models.world import LabelledQuery, World

log = logging.getLogger(__name__)
STAGES = ("pretrain", "sft", "rl")


@dataclass
class StageContext:
    """Everything the stages share: the world, its store, the split and the behaviour log."""
    preset: LMPreset
    out_dir: Path
    world: World
    store: SearchStore
    train: list[LabelledQuery]
    held_out: list[LabelledQuery]
    log: BehaviourLog
    seed: int = 0


def prepare(preset: LMPreset, out_dir: Path, world: World, seed: int = 0,
            split: tuple[list[LabelledQuery], list[LabelledQuery]] | None = None) -> StageContext:
    """``split`` is (train, held out); by default a hash split of the world's queries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    store = TantivyStore(out_dir / "store")
    if store.count() != len(world.products):
        store.index(world.products)
    train, held_out = split if split is not None else split_queries(world.queries)
    behaviour = simulate_log(world, store, train, seed=seed)
    (out_dir / "split.json").write_text(json.dumps({"train": [q.id for q in train],
                                                    "held_out": [q.id for q in held_out]}))
    return StageContext(preset, out_dir, world, store, train, held_out, behaviour, seed)


def _args(lr: float, steps: int, batch: int, out: Path, seed: int) -> dict[str, object]:
    """TrainingArguments fields every stage shares (TRL's configs extend TrainingArguments)."""
    return dict(output_dir=str(out / "trainer"), max_steps=steps, per_device_train_batch_size=batch,
                learning_rate=lr, lr_scheduler_type="cosine", warmup_steps=max(1, steps // 20),
                logging_steps=max(1, steps // 10), save_strategy="no", report_to=[], use_cpu=True,
                bf16=False, seed=seed, dataloader_num_workers=0)


def _record(out: Path, stage: str, started: float, **metrics: object) -> None:
    (out / "stage.json").write_text(json.dumps({"stage": stage,
                                                "seconds": round(time.time() - started, 1),
                                                **metrics}, indent=2))


def fit_causal_lm(model, tokenizer, texts: list[str], max_length: int, args: dict[str, object],
                  seed: int = 0):
    """Next-token training on plain texts (stage 1, and any continued pre-training)."""
    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    bos, eos = tokenizer.bos_token, tokenizer.eos_token
    dataset = Dataset.from_dict({"text": [f"{bos}{t}{eos}" for t in texts]}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
        batched=True, remove_columns=["text"])
    tokenizer.padding_side = "right"  # training pads on the right; generation switches back
    trainer = Trainer(model=model, train_dataset=dataset.shuffle(seed=seed),
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
                      args=TrainingArguments(**args))
    result = trainer.train()
    tokenizer.padding_side = "left"
    return result


def run_pretrain(ctx: StageContext) -> Path:
    """Stage 1: train the tokenizer, then a Llama from scratch on product and behaviour text."""
    from aislestream.models.lm.model import build_model
    from aislestream.models.lm.tokenizer import train_tokenizer

    started = time.time()
    out = ctx.out_dir / "pretrain"
    texts = list(pretrain_texts(ctx.world, ctx.log, ctx.train))
    # The tokenizer must know the prompt vocabulary too (queries are short and colloquial).
    tokenizer = train_tokenizer(texts + [expand_prompt(q.text) for q in ctx.train],
                                ctx.preset.vocab_size)
    model = build_model(ctx.preset, tokenizer, ctx.seed)
    result = fit_causal_lm(model, tokenizer, texts, ctx.preset.max_length,
                           _args(ctx.preset.pretrain_lr, ctx.preset.pretrain_steps,
                                 ctx.preset.pretrain_batch, out, ctx.seed), ctx.seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _record(out, "pretrain", started, texts=len(texts), train_loss=result.training_loss,
            parameters=sum(p.numel() for p in model.parameters()), preset=asdict(ctx.preset))
    return out


def sft_examples(ctx: StageContext) -> list[SftExample]:
    """Mined pairs, then spelling pairs (about one per four training queries), de-duplicated."""
    mined = mine_sft_examples(ctx.world, ctx.store, ctx.train, ctx.log)
    return dedupe(mined + spelling_examples(ctx.world, ctx.train, len(ctx.train) // 4,
                                            seed=ctx.seed))


def run_sft(ctx: StageContext, base: Path | None = None) -> Path:
    """Stage 2: completion-only SFT (TRL) on mined pairs, multi-task, stopped early on a
    validation split (a small catalog's few hundred pairs were memorised: loss 0.0009)."""
    from datasets import Dataset
    from transformers import EarlyStoppingCallback
    from trl import SFTConfig, SFTTrainer

    from aislestream.models.lm.model import load_checkpoint

    started = time.time()
    out = ctx.out_dir / "sft"
    model, tokenizer = load_checkpoint(base or ctx.out_dir / "pretrain")
    examples = sft_examples(ctx)
    if not examples:
        from aislestream.errors import AisleError

        raise AisleError("no SFT pairs survived mining; the behaviour log is too small")
    train, validation = validation_split(examples)
    if not validation or not train:  # too few to split: train on all, no early stopping
        train, validation = examples, []

    def dataset(rows: list[SftExample]) -> Dataset:
        return Dataset.from_dict({"prompt": [e.prompt for e in rows],
                                  "completion": [e.completion for e in rows]})

    args = _args(ctx.preset.sft_lr, ctx.preset.sft_steps, ctx.preset.sft_batch, out, ctx.seed)
    if validation:
        args.update(eval_strategy="steps", eval_steps=args["logging_steps"],
                    save_strategy="steps", save_steps=args["logging_steps"], save_total_limit=2,
                    load_best_model_at_end=True, metric_for_best_model="eval_loss",
                    greater_is_better=False)
    tokenizer.padding_side = "right"
    trainer = SFTTrainer(
        model=model, processing_class=tokenizer,
        train_dataset=dataset(train).shuffle(seed=ctx.seed),
        eval_dataset=dataset(validation) if validation else None,
        args=SFTConfig(**args, max_length=ctx.preset.max_length),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=3)] if validation else None,
    )
    result = trainer.train()
    tokenizer.padding_side = "left"
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    tasks = {t: sum(e.task == t for e in examples) for t in ("expand", "spell", "rewrite",
                                                               "attrs")}
    evals = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h]
    _record(out, "sft", started, examples=len(examples), by_task=tasks,
            validation_examples=len(validation), train_loss=result.training_loss,
            steps=trainer.state.global_step, best_eval_loss=min(evals) if evals else None,
            eval_loss_history=evals)
    return out


def run_rl(ctx: StageContext, base: Path | None = None) -> Path:
    """Stage 3: GRPO (TRL) with the simulated search engine as reward, KL to the SFT policy."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from aislestream.models.lm.model import load_checkpoint

    started = time.time()
    out = ctx.out_dir / "rl"
    model, tokenizer = load_checkpoint(base or ctx.out_dir / "sft")
    # scored through the channel the serving verdict chose on both worlds (gated), on the
    # prompts where its gate opens: elsewhere every completion earns exactly 0 and its group
    # teaches nothing (55% of groups had zero variance on the fused channel over all prompts)
    fusion = RL_FUSION
    prompts = gate_opens(ctx.store, ctx.train)
    if len(prompts) < ctx.preset.rl_prompts_per_step:
        prompts = list(ctx.train)  # too few weak queries to fill a step: all of them
    reward = ExpansionReward(ctx.store, prompts, ctx.world.simulator(seed=ctx.seed),
                             fusion=fusion)
    history: list[float] = []
    spreads: list[float] = []  # per group (one prompt's completions): the rewards' std
    group = ctx.preset.rl_generations

    def search_reward(prompts, completions, query_id, **_) -> list[float]:
        values = reward(completions, query_id)
        history.append(sum(values) / len(values))
        spreads.extend(float(np.std(values[i:i + group])) for i in range(0, len(values), group))
        return values

    dataset = Dataset.from_dict({"prompt": [expand_prompt(q.text) for q in prompts],
                                 "query_id": [q.id for q in prompts]})
    p = ctx.preset
    config = GRPOConfig(
        **_args(p.rl_lr, p.rl_steps, p.rl_prompts_per_step * p.rl_generations, out, ctx.seed),
        num_generations=p.rl_generations, max_completion_length=p.max_new_tokens, beta=p.rl_beta,
        temperature=1.0,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=[search_reward], args=config,
                          train_dataset=dataset.shuffle(seed=ctx.seed), processing_class=tokenizer)
    trainer.train()
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    quarter = max(1, len(history) // 4)
    zero = sum(s < 1e-9 for s in spreads) / max(1, len(spreads))
    log.info("GRPO: %d groups, %.1f%% with zero reward variance (they teach nothing), mean "
             "group std %.4f", len(spreads), 100 * zero, float(np.mean(spreads or [0.0])))
    _record(out, "rl", started, reward_first_quarter=sum(history[:quarter]) / quarter,
            reward_last_quarter=sum(history[-quarter:]) / quarter, reward_history=history,
            groups=len(spreads), zero_variance_group_share=round(zero, 4),
            group_reward_std_mean=round(float(np.mean(spreads or [0.0])), 5),
            fusion=asdict(fusion), prompts=len(prompts), train_queries=len(ctx.train))
    return out


RL_FUSION = FusionConfig("expanded", gate=True)


def gate_opens(store: SearchStore, queries: Sequence[LabelledQuery]) -> list[LabelledQuery]:
    """The queries whose original retrieval the gate finds weak (where expansion is served)."""
    hits = store.search_many([SearchRequest(q.text, k=GATE_TOP) for q in queries])
    return [q for q, hs in zip(queries, hits) if weak(q.text, hs)]
