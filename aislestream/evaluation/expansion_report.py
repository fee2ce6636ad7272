"""`aisle eval expansion`: every method on the held-out queries, the targets, the plot, the docs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import product
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aislestream.connectors.search.base import FusionConfig
from aislestream.connectors.search.tantivy_store import TantivyStore
from aislestream.engines.expansion import IdentityExpander, PrfExpander
from aislestream.engines.expansion.base import Expander, Expansion
from aislestream.engines.expansion.drift import DriftFilteredExpander, catalog_drift_filter
from aislestream.engines.expansion.llm import LLMConfig
from aislestream.engines.expansion.torch_backend import TorchLLMExpander
from aislestream.errors import ConfigError
from aislestream.evaluation.expansion import BASELINE, evaluate_expanders, plot_by_query_type
from aislestream.models.lm.presets import LMPreset
from aislestream.models.lm.run import held_out_queries, lm_dir, training_world
from aislestream.settings import SERVING_VERDICT, Settings

PLOT = Path("docs/plots/expansion_by_query_type.png")
# each expander is also scored served as a fused channel, and gated: only where the original
# retrieval looks weak (connectors/search/fusion.py)
MODES = {"fused": FusionConfig(), "gated": FusionConfig("expanded", gate=True),
         "gated fused": FusionConfig("rrf", gate=True)}


# how each evaluated mode is served (ExpansionSettings.fusion, .gate)
SERVED_MODES = {"": ("mix", False), " fused": ("rrf", False), " gated": ("mix", True),
                " gated fused": ("rrf", True)}
STAGE_DIRS = {"pretrain": "pretrain", "sft": "sft", "sft+rl": "rl"}  # method -> directory
DRIFT = " drift"  # the served stage behind the drift filter (engines/expansion/drift.py)
HARM = 0.005  # a query type whose NDCG@10 or recall@50 falls by more is harmed, and so is one
# whose NDCG@10 change has a 95% interval wholly below 0


def serving_verdict(table: dict, stage: str = "sft+rl") -> dict:
    """Whether and how the stage may be served by default (``engine=auto``): the mode with the
    largest NDCG@10 gain among those that gain significantly overall (interval above 0) and
    harm no query type. None qualifying: not served (the default is then no expansion)."""
    candidates = []
    for (suffix, (fusion, gate)), drift in product(SERVED_MODES.items(), (False, True)):
        method = stage + (DRIFT if drift else "") + suffix
        rows = table.get(method)
        if rows is None:
            continue
        base = table[BASELINE]
        harmed = sorted(t for t, r in rows.items() if t != "all" and (
            r["ndcg10_delta_ci95"][1] < 0 or r["ndcg10_delta"] < -HARM
            or r["recall50"] - base[t]["recall50"] < -HARM))
        overall = rows["all"]
        candidates.append({"method": method, "fusion": fusion, "gate": gate,
                           "drift_filter": drift,
                           "ndcg10_delta": overall["ndcg10_delta"],
                           "ndcg10_delta_ci95": overall["ndcg10_delta_ci95"],
                           "harmed_types": harmed,
                           "ok": not harmed and overall["ndcg10_delta_ci95"][0] > 0})
    passed = [c for c in candidates if c["ok"]]
    best = max(passed, key=lambda c: c["ndcg10_delta"]) if passed else None
    return {"serve": best is not None, "model": STAGE_DIRS[stage],
            **({k: best[k] for k in ("method", "fusion", "gate", "drift_filter")}
               if best else {}),
            "queries": table[BASELINE]["all"]["queries"], "harm_threshold": HARM,
            "candidates": candidates}


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
    for method in [m for m in ("sft", "sft+rl", *(f"sft+rl {mode}" for mode in MODES))
                   if m in table]:
        worst = min(table[method].items(), key=lambda kv: kv[1]["ndcg10_delta"])
        targets[f"{method}_ndcg10_vs_none_every_type"] = {
            "value": worst[1]["ndcg10_delta"], "worst_type": worst[0], "target": 0.0,
            "met": worst[1]["ndcg10_delta"] >= 0}  # do no harm: no type loses NDCG@10
    if "sft+rl" in table and "head" in table["sft+rl"]:
        ratio = get("sft+rl", "head", "ndcg10") / max(get("none", "head", "ndcg10"), 1e-9)
        targets["head_ndcg10_ratio_to_bm25"] = {"value": round(ratio, 4), "target": 0.99,
                                                "met": ratio >= 0.99}
    return targets


def run_expansion_eval(settings: Settings, preset: LMPreset, write: bool, console: Console,
                       out: Path | None = None, dense: bool = False) -> dict:
    """``out``: also write the JSON report there (a real catalog's figures need not go to
    docs/). ``dense``: also the dense channel alone and hybrid retrieval (BM25 + dense), with
    and without the best LLM stage's expansions, all judged against plain BM25."""
    w = settings.world
    if w.catalog_path is not None and w.labels_path is None and w.test_labels_path is None:
        raise ConfigError("eval expansion on an external catalog needs its labelled queries "
                          "(--labels, or --test-labels): without them there is nothing to score "
                          "(pseudo-queries made from titles only train the model)")
    root = lm_dir(settings, preset)
    if not (root / "split.json").exists():
        options = (" with the same --catalog/--labels options" if w.catalog_path is not None
                   else f" --world {w.profile}" if w.profile != "default" else "")
        raise ConfigError(f"no trained model under {root}: "
                          f"run `aisle train lm --preset {preset.name}`{options} first")
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
    methods = {name: _Memo(e) for name, e in methods.items()}  # the hybrid rows reuse them
    if "sft+rl" in methods:
        drift = catalog_drift_filter(root, (p.title for p in world.products))
        methods["sft+rl" + DRIFT] = _Memo(DriftFilteredExpander(methods["sft+rl"], drift))
    with console.status(f"evaluating {len(methods)} methods on {len(queries):,} held-out queries"):
        table = evaluate_expanders(store, queries, methods, modes=MODES)
    if dense:
        table.update(_hybrid_rows(store, world, root, queries, methods, console))
    targets = _targets(table)
    _print(table, targets, console)
    if not queries:
        raise ConfigError(f"the split under {root} holds no held-out query")
    verdict = serving_verdict(table)
    (root / SERVING_VERDICT).write_text(json.dumps(verdict, indent=2) + "\n")
    console.print(f"serving verdict ({root / SERVING_VERDICT}): " + (
        f"serve {verdict['method']} (fusion {verdict['fusion']}, gate {verdict['gate']}, "
        f"drift filter {verdict['drift_filter']})"
        if verdict["serve"] else "no LLM mode gains without harming a query type: engine=auto "
        "serves no expansion"))
    payload = {"preset": preset.name, "world": w.profile if w.catalog_path is None else "external",
               "held_out_queries": len(queries),
               "products": len(world.products), "methods": table, "targets": targets,
               "serving": verdict}
    if "sft+rl" + DRIFT in methods:
        payload["drift_filter"] = drift_summary(methods["sft+rl"], methods["sft+rl" + DRIFT],
                                                [q.text for q in queries])
    if w.catalog_path is not None:
        payload["catalog"] = str(w.catalog_path)
        payload["artifacts"] = str(root)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"report written to {out}")
    if write:
        from aislestream.evaluation.results import write_results

        # the hard world is a part of the same topic: expansion.json["hard_world"]
        hard = w.catalog_path is None and w.profile != "default"
        plot = plot_by_query_type(table, PLOT.with_name(f"expansion_by_query_type_{w.profile}"
                                                        ".png") if hard else PLOT)
        write_results("expansion", payload, _markdown(table, targets, preset, len(queries), plot,
                                                      w.profile if hard else None, verdict,
                                                      payload.get("drift_filter")),
                      _command(settings, preset, dense), page="RESULTS.md",
                      part=f"{w.profile}_world" if hard else None)
    return payload


def drift_summary(expander: Expander, filtered: Expander, texts: Sequence[str],
                  examples: int = 8) -> dict:
    """What the drift filter took out of the expander's terms on these queries."""
    before, after = expander.expand(texts), filtered.expand(texts)
    dropped = [(b.query, sorted({t.term for t in b.terms} - {t.term for t in a.terms}))
               for b, a in zip(before, after)]
    changed = [(q, terms) for q, terms in dropped if terms]
    return {"queries": len(texts), "expanded": sum(bool(b.terms) for b in before),
            "changed": len(changed), "terms": sum(len(b.terms) for b in before),
            "dropped_terms": sum(len(terms) for _, terms in changed),
            "examples": [{"query": q, "dropped": terms} for q, terms in changed[:examples]]}


class _Memo:
    """An expander whose answer for the same queries is computed once."""

    def __init__(self, expander: Expander) -> None:
        self._expander = expander
        self.name, self.variant = expander.name, expander.variant
        self._last: tuple[tuple[str, ...], list[Expansion]] | None = None

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        key = tuple(queries)
        if self._last is None or self._last[0] != key:
            self._last = (key, self._expander.expand(queries))
        return self._last[1]


class _DenseOnly:
    """The hybrid store's dense channel as a store of its own (expansion terms unused)."""

    def __init__(self, hybrid) -> None:
        self.name, self._hybrid = "dense", hybrid

    def search_many(self, requests):
        return self._hybrid.dense_search_many(requests)


def _hybrid_rows(store, world, root: Path, queries, methods: dict, console: Console) -> dict:
    """dense, hybrid, and hybrid with the last LLM stage (as is, fused, gated), each against
    plain BM25's per-query NDCG@10."""
    from aislestream.connectors.search.dense import MiniLMEncoder
    from aislestream.connectors.search.hybrid import HybridStore

    hybrid = HybridStore(store, MiniLMEncoder(), root / "dense")
    missing = hybrid.missing(world.products)
    if missing:
        with console.status(f"embedding {len(missing):,} products (all-MiniLM-L6-v2)"):
            hybrid.embed(missing)  # the lexical index stays as the other rows saw it
    llm = [name for name in ("sft+rl", "sft", "pretrain") if name in methods][:1]
    rows = {}
    with console.status(f"dense and hybrid retrieval on {len(queries):,} held-out queries"):
        dense = evaluate_expanders(_DenseOnly(hybrid), queries,  # type: ignore[arg-type]
                                   {"dense": methods[BASELINE]}, baseline_store=store)
        rows["dense"] = dense["dense"]
        mixed = evaluate_expanders(hybrid, queries, {"hybrid": methods[BASELINE],
                                                     **{f"hybrid {m}": methods[m] for m in llm}},
                                   modes=MODES, baseline_store=store)
        rows.update(mixed)
    return rows


def _command(settings: Settings, preset: LMPreset, dense: bool = False) -> str:
    """The command that reproduces the figures, catalog options included."""
    w = settings.world
    parts = [f"aisle eval expansion --preset {preset.name}"] + (["--dense"] if dense else [])
    if w.catalog_path is None and w.profile != "default":
        parts += [f"--world {w.profile}"]
    if w.catalog_path is not None:
        parts += [f"--catalog {w.catalog_path}"]
        parts += [f"--labels {w.labels_path}"] if w.labels_path else []
        parts += [f"--test-labels {w.test_labels_path}"] if w.test_labels_path else []
        parts += [f"--relevance-scale {w.relevance_scale}",
                  f"--held-out {w.held_out_fraction}"]
    return " ".join(parts)


def _print(table: dict, targets: dict, console: Console) -> None:
    n = table[BASELINE]["all"]["queries"]
    console.print(f"{n:,} held-out queries, {len(table)} methods")
    overall = Table(title=f"held-out queries (n={n:,}): all types")
    for column in ("method", "queries", "R@10", "R@50", "R@100", "R@100 uncapped", "NDCG@10",
                   "dNDCG@10 vs none [95% CI]", "better/worse", "zero-result", "drift"):
        overall.add_column(column, justify="left" if column == "method" else "right")
    for method, rows in table.items():
        r = rows["all"]
        overall.add_row(method, f"{r['queries']:,}", *(f"{r[m]:.3f}" for m in (
            "recall10", "recall50", "recall100", "recall100_uncapped", "ndcg10")),
            _delta(r), f"{r['better']}/{r['worse']}", f"{r['zero_result_rate']:.3f}",
            f"{r['drift_rate']:.3f}")
    console.print(overall)
    qtypes = [t for t in next(iter(table.values())) if t != "all"]
    if len(qtypes) > 1:
        by_type = Table(title="by query type: recall@50 / NDCG@10, dNDCG@10 vs none [95% CI]")
        by_type.add_column("method")
        for qtype in qtypes:
            by_type.add_column(f"{qtype} (n={table[BASELINE][qtype]['queries']:,})",
                               justify="right")
        for method, rows in table.items():
            by_type.add_row(method, *(f"{rows[t]['recall50']:.3f} / {rows[t]['ndcg10']:.3f}"
                                      f"\n{_delta(rows[t])}" for t in qtypes))
        console.print(by_type)
    for name, t in targets.items():
        console.print(f"{name}: {t['value']} "
                      f"(target {t['target']}: {'met' if t['met'] else 'missed'})")


def _delta(row: dict) -> str:
    lo, hi = row["ndcg10_delta_ci95"]
    return f"{row['ndcg10_delta']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _markdown(table: dict, targets: dict, preset: LMPreset, n: int, plot: Path,
              world: str | None = None, verdict: dict | None = None,
              drift: dict | None = None) -> str:
    qtypes = list(next(iter(table.values())))
    where = f", {world} world (`--world {world}`)" if world else ""
    lines = [f"## LLM query expansion on held-out queries (preset `{preset.name}`{where})", "",
             f"{n:,} held-out queries never seen in training. Cells: recall@50 / NDCG@10.", "",
             "| method | " + " | ".join(qtypes) + " |", "|---" * (len(qtypes) + 1) + "|"]
    for method, rows in table.items():
        lines.append(f"| {method} | "
                     + " | ".join(f"{rows[t]['recall50']:.3f} / {rows[t]['ndcg10']:.3f}"
                                  for t in qtypes) + " |")
    lines += ["", "NDCG@10 change against no expansion, per query, with a paired bootstrap 95% "
              "interval (queries better / worse):", "",
              "| method | " + " | ".join(qtypes) + " |", "|---" * (len(qtypes) + 1) + "|"]
    for method, rows in table.items():
        if method != BASELINE:
            lines.append(f"| {method} | " + " | ".join(
                f"{_delta(rows[t])} ({rows[t]['better']}/{rows[t]['worse']})" for t in qtypes)
                + " |")
    lines += ["", "| target | value | goal | met |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['value']} | {v['target']} | {'yes' if v['met'] else '**no**'} |"
              for k, v in targets.items()]
    if verdict is not None:
        lines += ["", "Serving verdict (`engine=auto` reads it for the default world): " + (
            f"**{verdict['method']}** (fusion `{verdict['fusion']}`, gate "
            f"{'on' if verdict['gate'] else 'off'}, drift filter "
            f"{'on' if verdict.get('drift_filter') else 'off'}): the largest NDCG@10 gain whose "
            "95% interval is above 0 among the modes that lower no query type's NDCG@10 or "
            f"recall@50 by more than {verdict['harm_threshold']} (nor NDCG@10 significantly)."
            if verdict["serve"] else "no LLM mode gains without harming a query type; the "
            "default serves no expansion.")]
    if drift:
        shown = "; ".join(f"{e['query']!r} -{', -'.join(e['dropped'])}"
                          for e in drift["examples"][:4])
        lines += ["", f"Drift filter (`sft+rl drift` rows): {drift['dropped_terms']:,} of "
                  f"{drift['terms']:,} terms dropped, {drift['changed']:,} of "
                  f"{drift['expanded']:,} expanded queries changed (of {drift['queries']:,}); "
                  f"e.g. {shown}."]
    lines += ["", f"![retrieval by query type]({plot.relative_to('docs')})",
              "", "Recall@10/100 (capped, and recall@100 uncapped), zero-result and drift "
              "rates per method and type are in docs/results/expansion.json; the metrics are "
              "defined in `aislestream/evaluation/expansion.py` (recall counts grade >= 2 as "
              "relevant)."]
    return "\n".join(lines)
