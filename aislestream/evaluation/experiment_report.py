"""`aisle experiments report`: per-arm metrics of one experiment with intervals, lift against
the first arm (the control), significance, and the sample-ratio check; markdown, HTML, plot."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aislestream.core import figures
from aislestream.evaluation.ab import (
    Comparison,
    compare_means,
    compare_proportions,
    compare_ratios,
    proportion_interval,
    sample_ratio_mismatch,
)
from aislestream.streams.experiments.schema import Experiment

# metric -> (kind, numerator field, denominator field); "mean" uses sum and sum of squares
METRICS: dict[str, tuple[str, str, str]] = {
    "ctr": ("proportion", "clicked_queries", "queries"),
    "conversion_rate": ("proportion", "converted_queries", "queries"),
    "revenue_per_query": ("mean", "revenue", "revenue_sq"),
    "zero_result_rate": ("proportion", "zero_results", "queries"),
}


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    share: float
    totals: dict[str, float]

    @property
    def queries(self) -> int:
        return int(self.totals.get("queries", 0))

    def rate(self, metric: str) -> float:
        kind, num, den = METRICS[metric]
        n = self.queries
        return self.totals.get(num, 0) / n if n else float("nan")


def arm_totals(experiment: Experiment,
               metrics: Mapping[str, Mapping[str, float]]) -> list[ArmSummary]:
    """Sum every time window of each arm (keys are ``experiment|arm|window_start``)."""
    sums: dict[str, dict[str, float]] = {a.name: {} for a in experiment.arms}
    for key, values in metrics.items():
        exp_id, arm, _ = key.split("|", 2)
        if exp_id != experiment.id or arm not in sums:
            continue
        for field, value in values.items():
            sums[arm][field] = sums[arm].get(field, 0) + value
    return [ArmSummary(a.name, a.share, sums[a.name]) for a in experiment.arms]


def compare(control: ArmSummary, treatment: ArmSummary, metric: str, alpha: float) -> Comparison:
    kind, num, den = METRICS[metric]
    if kind == "proportion":
        return compare_proportions(int(control.totals.get(num, 0)), control.queries,
                                   int(treatment.totals.get(num, 0)), treatment.queries, alpha)
    return compare_means(control.totals.get(num, 0), control.totals.get(den, 0), control.queries,
                         treatment.totals.get(num, 0), treatment.totals.get(den, 0),
                         treatment.queries, alpha)


def unit_arrays(experiment: Experiment,
                units: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, np.ndarray]]:
    """Per arm, per field: one value per user (keys are ``experiment|arm|user``)."""
    rows: dict[str, list[Mapping[str, float]]] = {a.name: [] for a in experiment.arms}
    for key, values in units.items():
        exp_id, arm, _ = key.split("|", 2)
        if exp_id == experiment.id and arm in rows:
            rows[arm].append(values)
    return {arm: {f: np.array([r.get(f, 0.0) for r in rs], dtype=float)
                  for f in ("queries", "clicked_queries", "converted_queries", "revenue",
                            "zero_results")}
            for arm, rs in rows.items()}


def compare_by_unit(control: Mapping[str, np.ndarray], treatment: Mapping[str, np.ndarray],
                    metric: str, alpha: float) -> Comparison:
    numerator = METRICS[metric][1]
    return compare_ratios(control[numerator], control["queries"], treatment[numerator],
                          treatment["queries"], alpha)


def analyse(experiment: Experiment, metrics: Mapping[str, Mapping[str, float]], alpha: float = 0.05,
            units: Mapping[str, Mapping[str, float]] | None = None) -> dict:
    """With per-user sums (``units``) every comparison is made at the randomised unit by the
    delta method; without them, per query (anti-conservative when users repeat queries)."""
    arms = arm_totals(experiment, metrics)
    control, treatments = arms[0], arms[1:]
    result: dict = {
        "experiment": experiment.id, "layer": experiment.layer, "alpha": alpha,
        "srm_p_value": sample_ratio_mismatch({a.arm: a.queries for a in arms},
                                             {a.arm: a.share for a in arms}),
        "arms": {a.arm: {"share": a.share, "queries": a.queries,
                         "mean_latency_ms": (a.totals.get("latency_ms_sum", 0) / a.queries
                                             if a.queries else None),
                         **{m: a.rate(m) for m in METRICS}} for a in arms},
        "comparisons": {},
    }
    for a in arms:
        for metric, (kind, num, _) in METRICS.items():
            if kind == "proportion":
                low, high = proportion_interval(int(a.totals.get(num, 0)), a.queries, alpha)
                result["arms"][a.arm][f"{metric}_ci"] = [low, high]
    per_unit = unit_arrays(experiment, units) if units else None
    result["test_unit"] = "user (delta method)" if per_unit else "query"
    for t in treatments:
        if per_unit is not None:
            if min(len(per_unit[control.arm]["queries"]), len(per_unit[t.arm]["queries"])) < 2:
                continue
            result["comparisons"][t.arm] = {
                m: vars(compare_by_unit(per_unit[control.arm], per_unit[t.arm], m, alpha))
                for m in METRICS}
        elif control.queries >= 2 and t.queries >= 2:
            result["comparisons"][t.arm] = {m: vars(compare(control, t, m, alpha)) for m in METRICS}
    result["srm_ok"] = result["srm_p_value"] >= 0.001
    return result


def to_markdown(r: dict) -> str:
    lines = [f"# Experiment `{r['experiment']}` ({r['layer']})", "",
             f"Sample-ratio check: p = {r['srm_p_value']:.3g} "
             f"({'ok' if r['srm_ok'] else '**mismatch: do not trust the numbers below**'}).", "",
             "| arm | share | queries | CTR | conversion | revenue/query | zero-result | "
             "latency ms |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, a in r["arms"].items():
        lines.append(f"| {arm} | {a['share']:.0%} | {a['queries']:,} | {a['ctr']:.3f} | "
                     f"{a['conversion_rate']:.3f} | {a['revenue_per_query']:.2f} | "
                     f"{a['zero_result_rate']:.3f} | "
                     f"{(a['mean_latency_ms'] or float('nan')):.1f} |")
    for arm, comparisons in r["comparisons"].items():
        lines += ["", f"**{arm}** vs control (difference, {1 - r['alpha']:.0%} interval, "
                  f"relative lift, p; tested per {r['test_unit']}):", "",
                  "| metric | difference | interval | lift | p | significant |",
                  "|---|---|---|---|---|---|"]
        for metric, c in comparisons.items():
            lift = f"{c['lift']:+.1%}" if c["lift"] is not None else "n/a"
            lines.append(f"| {metric} | {c['diff']:+.4f} | "
                         f"[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}] | {lift} | "
                         f"{c['p_value']:.3g} | {'yes' if c['p_value'] < r['alpha'] else 'no'} |")
    return "\n".join(lines)


def to_html(markdown: str, plot: Path | None) -> str:
    """A self-contained page: the markdown tables as preformatted text plus the plot."""
    body = f"<pre>{html.escape(markdown)}</pre>"
    if plot is not None:
        body += f'<img src="{html.escape(plot.name)}" alt="per-arm metrics">'
    return ("<!doctype html><html><head><meta charset='utf-8'><title>experiment report</title>"
            f"</head><body>{body}</body></html>")


def plot_arms(r: dict, path: Path) -> Path:
    plt = figures.pyplot()

    metrics = ["ctr", "conversion_rate", "zero_result_rate"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5))
    for ax, metric in zip(axes, metrics):
        arms = list(r["arms"])
        values = [r["arms"][a][metric] for a in arms]
        cis = [r["arms"][a][f"{metric}_ci"] for a in arms]
        errors = [[v - lo for v, (lo, _) in zip(values, cis)],
                  [hi - v for v, (_, hi) in zip(values, cis)]]
        ax.bar(arms, values, yerr=errors, capsize=6, color=["0.6"] + ["tab:blue"] * (len(arms) - 1))
        ax.set_title(metric)
    fig.suptitle(f"experiment {r['experiment']} (95% intervals)")
    return figures.save(fig, path)


def write_report(r: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = plot_arms(r, out_dir / f"{r['experiment']}.png")
    markdown = to_markdown(r) + f"\n\n![per-arm metrics]({plot.name})\n"
    md_path, html_path = out_dir / f"{r['experiment']}.md", out_dir / f"{r['experiment']}.html"
    md_path.write_text(markdown)
    html_path.write_text(to_html(to_markdown(r), plot))
    return md_path, html_path
