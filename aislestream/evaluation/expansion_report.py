"""`aisle eval expansion`: every method on the held-out queries, the targets, the plot, the docs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.engines.expansion import IdentityExpander, PrfExpander
from aislestream.engines.expansion.llm import LLMConfig
from aislestream.engines.expansion.torch_backend import TorchLLMExpander
from aislestream.errors import ConfigError
from aislestream.evaluation.expansion import evaluate_expanders, plot_by_query_type
from aislestream.models.lm.presets import LMPreset
from aislestream.models.lm.run import held_out_queries, training_world
from aislestream.settings import Settings

PLOT = Path("docs/plots/expansion_by_query_type.png")


def _targets(table: dict) -> dict[str, dict[str, float | bool]]:
    def get(method: str, qtype: str, metric: str) -> float:
        return table.get(method, {}).get(qtype, {}).get(metric, float("nan"))

    targets: dict[str, dict[str, float | bool]] = {}
    if "sft+rl" in table and "long_tail" in table["sft+rl"]:
        for name, base, factor in (("vs_bm25", "none", 1.3), ("vs_rm3", "rm3", 1.1)):
            ratio = (get("sft+rl", "long_tail", "recall50")
                     / max(get(base, "long_tail", "recall50"), 1e-9))
            targets[f"long_tail_recall50_{name}"] = {"value": round(ratio, 4), "target": factor,
                                                     "met": ratio >= factor}
    if "sft+rl" in table and "sft" in table:
        diff = get("sft+rl", "all", "ndcg10") - get("sft", "all", "ndcg10")
        targets["rl_ndcg10_gain_over_sft"] = {"value": round(diff, 4), "target": 0.0,
                                              "met": diff > 0}
    if "sft+rl" in table and "head" in table["sft+rl"]:
        ratio = get("sft+rl", "head", "ndcg10") / max(get("none", "head", "ndcg10"), 1e-9)
        targets["head_ndcg10_ratio_to_bm25"] = {"value": round(ratio, 4), "target": 0.99,
                                                "met": ratio >= 0.99}
    return targets


def run_expansion_eval(settings: Settings, preset: LMPreset, write: bool, console: Console) -> dict:
    root = settings.artifacts.lm(preset.name)
    if not (root / "split.json").exists():
        raise ConfigError(f"no trained model under {root}: "
                          f"run `aisle train lm --preset {preset.name}` first")
    with console.status("rebuilding the training world and its held-out split"):
        world = training_world(settings, preset)
        queries = held_out_queries(settings, preset, world)
        store = TantivyStore(root / "store")
    if store.count() != len(world.products):
        raise ConfigError(f"the store under {root} holds {store.count():,} products but the world "
                          f"has {len(world.products):,}: the model was trained on another world; "
                          "retrain it")
    methods = {"none": IdentityExpander(), "rm3": PrfExpander(store)}
    stages = [("pretrain", "pretrain", "behaviour"), ("sft", "sft", "expand"),
              ("sft+rl", "rl", "expand")]
    for label, stage, style in stages:
        if (root / stage / "config.json").exists():
            methods[label] = TorchLLMExpander(LLMConfig(root / stage, preset.max_new_tokens,
                                                        prompt_style=style), variant=stage)
    with console.status(f"evaluating {len(methods)} methods on {len(queries):,} held-out queries"):
        table = evaluate_expanders(store, queries, methods)
    targets = _targets(table)
    _print(table, targets, console)
    payload = {"preset": preset.name, "held_out_queries": len(queries),
               "products": len(world.products), "methods": table, "targets": targets}
    if write:
        from aislestream.evaluation.results import write_results

        plot = plot_by_query_type(table, PLOT)
        write_results("expansion", payload, _markdown(table, targets, preset, len(queries), plot),
                      f"aisle eval expansion --preset {preset.name}", page="RESULTS.md")
    return payload


def _print(table: dict, targets: dict, console: Console) -> None:
    out = Table(title="held-out queries: recall@50 / NDCG@10 by query type")
    qtypes = list(next(iter(table.values())))
    out.add_column("method")
    for qtype in qtypes:
        out.add_column(qtype, justify="right")
    for method, rows in table.items():
        out.add_row(method, *(f"{rows[t]['recall50']:.3f} / {rows[t]['ndcg10']:.3f}"
                              for t in qtypes))
    console.print(out)
    for name, t in targets.items():
        console.print(f"{name}: {t['value']} "
                      f"(target {t['target']}: {'met' if t['met'] else 'missed'})")


def _markdown(table: dict, targets: dict, preset: LMPreset, n: int, plot: Path) -> str:
    qtypes = list(next(iter(table.values())))
    lines = [f"## LLM query expansion on held-out queries (preset `{preset.name}`)", "",
             f"{n:,} held-out queries never seen in training. Cells: recall@50 / NDCG@10.", "",
             "| method | " + " | ".join(qtypes) + " |", "|---" * (len(qtypes) + 1) + "|"]
    for method, rows in table.items():
        lines.append(f"| {method} | "
                     + " | ".join(f"{rows[t]['recall50']:.3f} / {rows[t]['ndcg10']:.3f}"
                                  for t in qtypes) + " |")
    lines += ["", "| target | value | goal | met |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['value']} | {v['target']} | {'yes' if v['met'] else '**no**'} |"
              for k, v in targets.items()]
    lines += ["", f"![retrieval by query type]({plot.relative_to('docs')})",
              "", "Zero-result and drift rates per method and type are in "
              "docs/results/expansion.json."]
    return "\n".join(lines)
