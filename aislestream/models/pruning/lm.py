"""The expansion LLM's side of pruning: calibration on expansion prompts, decoder-layer
removal from a transformers causal LM, and healing by logit distillation."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence

import torch

from aislestream.models.pruning.capture import block_hooks
from aislestream.models.pruning.spectral import BlockStats, SpectralProfile


def decoder_layers(model) -> torch.nn.ModuleList:
    return model.model.layers


def calibration_runs(model, tokenizer, prompts: Sequence[str], batch_size: int
                     ) -> Iterator[tuple[Callable[[], object], int]]:
    """(thunk, real length) per batch: with left padding the last ``real length`` positions of
    every row are real tokens, the window the FFT over the sequence is taken on."""
    for i in range(0, len(prompts), batch_size):
        enc = tokenizer(list(prompts[i:i + batch_size]), return_tensors="pt", padding=True)
        shortest = int(enc["attention_mask"].sum(1).min())
        yield (lambda enc=enc: model(**enc)), shortest


def profile_lm(model, tokenizer, prompts: Sequence[str], batch_size: int = 64) -> SpectralProfile:
    layers = decoder_layers(model)
    stats = [BlockStats(4) for _ in layers]
    with torch.no_grad():
        for run, shortest in calibration_runs(model, tokenizer, prompts, batch_size):
            with block_hooks(layers, stats, grid=None, token_slice=lambda h, n=shortest: h[:, -n:]):
                run()
    return SpectralProfile.from_stats(stats)


def drop_layers(model, drop: Sequence[int]):
    """A copy without the decoder layers in ``drop``, layer indices renumbered (the KV cache is
    indexed by them) and the config rewritten, so it saves as an ordinary checkpoint."""
    layers = decoder_layers(model)
    depth = len(layers)
    bad = [i for i in drop if not 0 <= i < depth]
    if bad or len(set(drop)) >= depth:
        raise ValueError(f"cannot drop layers {sorted(drop)} from a {depth}-layer model")
    pruned = copy.deepcopy(model)
    kept = [layer for i, layer in enumerate(decoder_layers(pruned)) if i not in set(drop)]
    for new_index, layer in enumerate(kept):
        layer.self_attn.layer_idx = new_index
    pruned.model.layers = torch.nn.ModuleList(kept)
    pruned.config.num_hidden_layers = len(kept)
    if getattr(pruned.config, "layer_types", None):
        pruned.config.layer_types = [t for i, t in enumerate(pruned.config.layer_types)
                                     if i not in set(drop)]
    return pruned


@torch.no_grad()
def with_completions(teacher, tokenizer, prompts: Sequence[str], max_new_tokens: int,
                     batch_size: int = 128) -> list[list[int]]:
    """Token ids of each prompt followed by the teacher's greedy completion (through EOS):
    distillation then covers the positions serving decodes, not only the prompt."""
    from aislestream.models.lm.prompts import until_eos

    rows: list[list[int]] = []
    for i in range(0, len(prompts), batch_size):
        enc = tokenizer(list(prompts[i:i + batch_size]), return_tensors="pt", padding=True)
        out = teacher.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                               pad_token_id=tokenizer.pad_token_id,
                               eos_token_id=tokenizer.eos_token_id)
        width = enc["input_ids"].shape[1]
        for ids, mask, new in zip(enc["input_ids"], enc["attention_mask"], out[:, width:]):
            rows.append(ids[mask.bool()].tolist() + until_eos(new.tolist(), tokenizer.eos_token_id))
    return rows


def left_padded(rows: Sequence[list[int]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row)
        mask[i, width - len(row):] = 1
    return {"input_ids": ids, "attention_mask": mask}


def heal_lm(student, teacher, pad_id: int, rows: Sequence[list[int]], steps: int,
            batch_size: int = 32, lr: float = 2e-4,
            progress: Callable[[int, int, float], None] | None = None):
    """KL(teacher || student) on next-token distributions over token sequences."""
    teacher = teacher.eval().requires_grad_(False)
    student.train()
    opt = torch.optim.AdamW(student.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    for step in range(steps):
        idx = torch.randint(len(rows), (batch_size,), generator=generator).tolist()
        enc = left_padded([rows[i] for i in idx], pad_id)
        mask = enc["attention_mask"].bool()
        with torch.no_grad():
            target = torch.log_softmax(teacher(**enc).logits[mask], dim=-1)
        log_probs = torch.log_softmax(student(**enc).logits[mask], dim=-1)
        loss = torch.nn.functional.kl_div(log_probs, target, log_target=True, reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        if progress is not None:
            progress(step + 1, steps, float(loss.detach()))
    return student.eval()
