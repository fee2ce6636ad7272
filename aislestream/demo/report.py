"""The demo's one summary: per path (search, ads, assistant) what went in, what came out, the
served model's quality against its baseline on held-out data, and per-message latency; printed,
and written as a static HTML page with its plots and the creatives' contact sheet."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aislestream.core import figures


@dataclass(frozen=True)
class PathRow:
    path: str
    model: str
    went_in: str
    came_out: str
    quality: str  # the served model's figure, with its sample count
    baseline: str
    latency: str  # per message, p50 / p99


def _ms(p50: float, p99: float) -> str:
    return "n/a" if math.isnan(p50) else f"{p50:,.1f} / {p99:,.1f} ms"


def path_figures(summary) -> list[dict]:
    """Per path (search: per engine that served) the served model's figure, its baselines on the
    same inputs with the 95% interval of the difference to each, the sample count and latency:
    docs/results/demo.json. ``beats_every_baseline``: every interval above zero (None without
    a baseline), so a difference inside the noise does not count."""
    k = summary.k
    out = [{"path": "search", "served": engine, "metric": f"ndcg@{k}", "value": r["ndcg_with"],
            "baselines": {"no expansion": r["ndcg_without"]},
            "diff_ci95": {"no expansion": r["ndcg_delta_ci95"]}, "n": r["queries"],
            "unit": "distinct held-out queries", "recall_with": r["recall_with"],
            "recall_without": r["recall_without"], "messages": r["messages"],
            "cached_share": r["cached_share"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"]}
           for engine, r in summary.retrieval_by_engine.items()]
    ads = summary.ads
    if ads:
        base, ci = ads.get("baseline_first_try_usable"), ads.get("usable_diff_ci95")
        out.append({"path": "ads", "served": ", ".join(ads.get("generator") or []) or "generator",
                    "metric": "usable_served_per_request",
                    "value": ads["usable_served_per_request"],
                    "baselines": {} if base is None else {"first try, no reward model": base},
                    "diff_ci95": {} if ci is None else {"first try, no reward model": ci},
                    "n": ads["requests"] - 2,
                    "unit": f"ad requests ({ads.get('held_out_combination_specs', 0)} of held-out "
                            "combinations)",
                    "oracle_usable_of_accepted": ads["oracle_usable_of_accepted"],
                    "p50_ms": ads["latency_p50_ms"], "p99_ms": ads["latency_p99_ms"]})
    chat = summary.assistant
    if chat:
        out.append({"path": "assistant", "served": chat["engine"], "metric": "slot_f1",
                    "value": chat["slot_f1"],
                    "baselines": {name.removesuffix("_slot_f1").replace("_", " "): value
                                  for name, value in chat.items()
                                  if name.endswith("_slot_f1") and name != "slot_f1"},
                    "diff_ci95": {name.replace("_", " "): ci for name, ci
                                  in chat.get("slot_f1_diff_ci95", {}).items()},
                    "n": chat["dialogues"], "unit": "held-out dialogues",
                    "conversion": chat["conversion"],
                    "p50_ms": chat["latency_p50_ms"], "p99_ms": chat["latency_p99_ms"]})
    for f in out:
        cis = [f["diff_ci95"].get(name) for name in f["baselines"]]
        f["beats_every_baseline"] = (None if not cis or None in cis
                                     else all(ci[0] > 0 for ci in cis))
    return out


def path_rows(summary) -> list[PathRow]:
    """Rows of the summary table from a DemoSummary (search: one per engine that served)."""
    k = summary.k
    rows = []
    for f in path_figures(summary):
        baselines = ", ".join(
            f"{name} {value:.3f}" + (f" (diff {ci[0]:+.3f} to {ci[1]:+.3f})"
                                     if (ci := f["diff_ci95"].get(name)) else "")
            for name, value in f["baselines"].items())
        if f["path"] == "search":
            went_in = f"{summary.messages_in:,} messages"
            came_out = (f"{summary.results_out:,} results, {summary.dead_letters} dead letters, "
                        f"{summary.missing} unaccounted")
            quality = (f"NDCG@{k} {f['value']:.3f}, recall@{k} {f['recall_with']:.3f}; "
                       f"{f['messages']} messages, {f['cached_share']:.0%} from the cache")
            baselines += f"; recall@{k} {f['recall_without']:.3f}"
        elif f["path"] == "ads":
            ads = summary.ads
            went_in = f"{ads['requests']} requests"
            came_out = (f"{ads['accepted']} accepted, {ads['rejected']} rejected, "
                        f"{ads['dead_letters']} dead letters, {ads['unaccounted']} unaccounted")
            quality = (f"usable creatives served {f['value']:.3f} per request (oracle; "
                       f"{f['oracle_usable_of_accepted']:.3f} of accepted)")
        else:
            chat = summary.assistant
            went_in = f"{chat['turns']} turns + 3 bad"
            came_out = f"{chat['answered']} replies, error replies {chat['error_replies']}"
            quality = f"slot F1 {f['value']:.3f}, conversion {f['conversion']:.3f}"
        rows.append(PathRow(f["path"], f["served"], went_in, came_out,
                            f"{quality} (n={f['n']} {f['unit']})", baselines or "n/a",
                            _ms(f["p50_ms"], f["p99_ms"])))
    return rows


def print_paths(summary, console: Console) -> None:
    table = Table(title="aisle demo: every path (quality on held-out data, baselines on the same "
                        "inputs, 95% interval of the difference; latency per message)")
    for col in ("path", "served", "in", "out", "quality", "baselines", "p50 / p99"):
        table.add_column(col, overflow="fold")
    for row in path_rows(summary):
        table.add_row(*asdict(row).values())
    console.print(table)


def creatives_sheet(ads: dict, path: Path, n: int = 48) -> Path | None:
    """The demo's creatives as the ad store holds them, each framed by the oracle's verdict
    (green usable, red not, grey rejected by the reward models)."""
    plt = figures.pyplot()
    from PIL import Image

    shown = [c for c in ads.get("creatives", []) if c.get("image_path")][:n]
    if not shown:
        return None
    cols = min(12, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.25 * cols, 1.45 * rows), squeeze=False)
    for ax, c in zip(axes.flat, shown):
        colour = ("grey" if c["status"] != "accepted" else "green" if c["usable"] else "red")
        ax.imshow(Image.open(c["image_path"]).convert("RGB"), interpolation="nearest")
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(2.5)
        spec = c["spec"]
        verdict = ("rejected" if c["status"] != "accepted"
                   else ", ".join(c["failing"]) or "usable")
        ax.set_title(f"{spec['colour']} {spec['shape']} {spec['layout']}\n{verdict}",
                     fontsize=5, color=colour)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    fig.suptitle(f"{len(shown)} creatives of this demo run from the ad store; frame: the pixel "
                 "oracle's verdict (grey: rejected by the reward models)", fontsize=8)
    return figures.save(fig, path)


def _bars(ax, labels: list[str], groups: dict[str, list[float]], title: str) -> None:
    width = 0.8 / max(1, len(groups))
    for i, (name, values) in enumerate(groups.items()):
        ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
    ax.set_xticks([x + width * (len(groups) - 1) / 2 for x in range(len(labels))], labels,
                  fontsize=7, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def quality_plot(summary, path: Path) -> Path:
    """Served model against baseline per path, and search NDCG by query type."""
    plt = figures.pyplot()

    k = summary.k
    panels = 2 + bool(summary.ads) + bool(summary.assistant)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), squeeze=False)
    axes = list(axes.flat)
    engines = list(summary.retrieval_by_engine)
    _bars(axes[0], engines,
          {"no expansion": [summary.retrieval_by_engine[e]["ndcg_without"] for e in engines],
           "served": [summary.retrieval_by_engine[e]["ndcg_with"] for e in engines]},
          f"search: NDCG@{k} by served engine (held-out)")
    types = list(summary.retrieval)
    _bars(axes[1], types,
          {"no expansion": [summary.retrieval[t]["ndcg_without"] for t in types],
           "served": [summary.retrieval[t]["ndcg_with"] for t in types]},
          f"search: NDCG@{k} by query type")
    at = 2
    if summary.ads:
        a = summary.ads
        base = a.get("baseline_first_try_usable")
        _bars(axes[at], ["usable per request"],
              {"first try, no reward model": [base if base is not None else 0.0],
               "served (reward models)": [a["usable_served_per_request"]]},
              f"ads: oracle-usable creatives (n={a['requests'] - 2})")
        at += 1
    if summary.assistant:
        c = summary.assistant
        names = [n for n in c if n.endswith("_slot_f1") and n != "slot_f1"]
        _bars(axes[at], [n.removesuffix("_slot_f1").replace("_", " ") for n in names]
              + [f"served: {c['engine']}"],
              {"slot F1": [c[n] for n in names] + [c["slot_f1"]]},
              f"assistant: held-out slot F1 (n={c['dialogues']})")
    return figures.save(fig, path)


def _img(path: Path | None) -> str:
    if path is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(summary, out_dir: Path, machine: str) -> Path:
    """A standalone page (plots inlined) a person can open: the paths, the models (trained or
    reused), retrieval by query type, the stream's counts, the contact sheet."""
    out_dir.mkdir(parents=True, exist_ok=True)
    quality = quality_plot(summary, out_dir / "quality.png")
    sheet = creatives_sheet(summary.ads, out_dir / "creatives.png") if summary.ads else None
    k = summary.k
    paths = _table(["path", "served", "in", "out", "quality", "baselines (95% interval of the "
                    "difference)", "p50 / p99 per message"],
                   [list(asdict(r).values()) for r in path_rows(summary)])
    models = _table(["path", "preset", "status", "training seconds"],
                    [[p, m["preset"], "reused" if m["reused"] else "trained",
                      ", ".join(f"{s} {v:,.0f}" for s, v in m["seconds"].items())]
                     for p, m in summary.models.items()])
    types = _table(["query type", "n", f"recall@{k} without", f"recall@{k} with",
                    f"NDCG@{k} without", f"NDCG@{k} with"],
                   [[t, r["queries"], f"{r['recall_without']:.3f}", f"{r['recall_with']:.3f}",
                     f"{r['ndcg_without']:.3f}", f"{r['ndcg_with']:.3f}"]
                    for t, r in summary.retrieval.items()])
    stream = _table(["", ""], [
        ["messages in", summary.messages_in], ["results out", summary.results_out],
        ["dead letters", f"{summary.dead_letters} {summary.dead_letters_by_type}"],
        ["unaccounted", summary.missing], ["expansion fallbacks", summary.fallbacks],
        ["throughput", f"{summary.throughput_msgs_per_s:,.0f} msg/s"],
        ["end-to-end p50 / p99", _ms(summary.e2e_p50_ms, summary.e2e_p99_ms)],
        ["processing p50 / p99", _ms(summary.processing_p50_ms, summary.processing_p99_ms)]])
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>aisle demo report</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;
font-size:13px;text-align:left}}th{{background:#f3f3f3}}img{{max-width:100%}}</style></head>
<body><h1>aisle demo</h1>
<p>Machine: {html.escape(machine)}. Every figure is measured in this run. Search: distinct queries
the LLM's split held out of training; assistant: held-out dialogues; ads: fresh seeds on every
spec combination (those the generator never trained on are counted). The baselines ran on the
same inputs. An ad's latency is its batch's time over the batch's requests.</p>
<h2>Every path</h2>{paths}{_img(quality)}
<h2>Models</h2>{models}
<h2>Search stream</h2>{stream}
<h2>Retrieval by query type</h2>{types}
{"<h2>Creatives</h2>" + _img(sheet) if sheet else ""}
</body></html>"""
    out = out_dir / "report.html"
    out.write_text(page)
    return out
