"""`aisle bench expansion`: expansions/s of each LLM backend on one checkpoint, batch 1 and 64.

Same checkpoint, same prompts, greedy decoding; the run also checks that every backend
produced the same token ids (backend parity) and records it.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aislestream.engines.expansion.llm import LLMConfig, LLMExpander
from aislestream.errors import ConfigError
from aislestream.evaluation.results import write_results
from aislestream.models.lm.presets import LMPreset
from aislestream.models.lm.prompts import expand_prompt
from aislestream.models.lm.run import lm_dir, training_world
from aislestream.settings import Settings


def _backends(model: Path, onnx_dir: Path, preset: LMPreset,
              console: Console) -> dict[str, LLMExpander]:
    from aislestream.engines.expansion.onnx_backend import ONNX_FILE, OnnxLLMExpander, export_onnx
    from aislestream.engines.expansion.torch_backend import TorchLLMExpander

    config = LLMConfig(model, preset.max_new_tokens)
    backends: dict[str, LLMExpander] = {"torch": TorchLLMExpander(config, "speed")}
    if not (onnx_dir / ONNX_FILE).exists():
        with console.status("exporting to ONNX"):
            export_onnx(model, onnx_dir)
    backends["onnx"] = OnnxLLMExpander(LLMConfig(onnx_dir, preset.max_new_tokens), "speed")
    try:
        from aislestream.engines.expansion.vllm_backend import VllmLLMExpander

        with console.status("starting vLLM"):
            backends["vllm"] = VllmLLMExpander(config, "speed")
    except ConfigError as exc:
        console.print(f"[yellow]vLLM not measured: {exc}[/]")
    return backends


def _rate(backend: LLMExpander, prompts: list[str], batch: int) -> tuple[float, list[list[int]]]:
    backend.generate_ids(prompts[:batch])  # warm-up
    ids: list[list[int]] = []
    started = time.perf_counter()
    for i in range(0, len(prompts), batch):
        ids += backend.generate_ids(prompts[i:i + batch])
    return len(prompts) / (time.perf_counter() - started), ids


def run_speed_bench(settings: Settings, preset: LMPreset, stage: str, n: int, write: bool,
                    console: Console) -> dict:
    root = lm_dir(settings, preset)
    model = root / stage
    if not (model / "config.json").exists():
        raise ConfigError(f"no {stage} model under {root}: "
                          f"run `aisle train lm --preset {preset.name}`")
    queries = [q.text for q in training_world(settings, preset).queries[:n]]
    prompts = [expand_prompt(q) for q in queries]
    backends = _backends(model, root / f"onnx-{stage}", preset, console)
    rates: dict[str, dict[str, float]] = {}
    outputs: dict[str, list[list[int]]] = {}
    for name, backend in backends.items():
        with console.status(f"{name}: batch 1 and 64"):
            single, _ = _rate(backend, prompts[: max(8, n // 8)], 1)
            batched, ids = _rate(backend, prompts, 64)
        rates[name] = {"batch1_per_s": round(single, 1), "batch64_per_s": round(batched, 1)}
        outputs[name] = ids
    reference = outputs["torch"]
    parity = {name: sum(a == b for a, b in zip(ids, reference)) / len(reference)
              for name, ids in outputs.items()}
    vllm_ratio = (rates["vllm"]["batch64_per_s"] / rates["torch"]["batch64_per_s"]
                  if "vllm" in rates else None)
    table = Table(title=f"LLM expansion speed ({preset.name}/{stage}, {n} queries, greedy)")
    for col in ("backend", "batch 1 /s", "batch 64 /s", "same ids as torch"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    rows = [[name, f"{r['batch1_per_s']:,.1f}", f"{r['batch64_per_s']:,.1f}", f"{parity[name]:.1%}"]
            for name, r in rates.items()]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    payload = {"preset": preset.name, "stage": stage, "queries": n, "backends": rates,
               "parity_with_torch": parity, "vllm_to_torch_batch64": vllm_ratio,
               "target_vllm_to_torch_batch64": 3.0,
               "target_met": vllm_ratio is not None and vllm_ratio >= 3.0}
    if write:
        header = ["backend", "batch 1 expansions/s", "batch 64 expansions/s",
                  "same greedy ids as torch"]
        verdict = ("not measured (vLLM not installed)" if vllm_ratio is None else
                   f"{vllm_ratio:.2f}x ({'met' if vllm_ratio >= 3 else 'missed'})")
        markdown = "\n".join([
            "## LLM expansion backends", "",
            f"Checkpoint `{preset.name}/{stage}`, {n} world queries, greedy, up to "
            f"{preset.max_new_tokens} new tokens.", "",
            "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), "",
            f"vLLM vs transformers at batch 64 (target 3x): {verdict}.",
        ])
        write_results("expansion_speed", payload, markdown,
                      f"aisle bench expansion --preset {preset.name} --stage {stage} -n {n}")
    return payload
