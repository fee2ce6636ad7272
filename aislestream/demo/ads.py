"""The demo's ads part: ad requests through the running worker's creative agent (generator,
reward models, ad store), every accepted creative re-judged by the pixel oracle from its stored
PNG, against the baseline of serving the generator's first try with no reward model."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from aislestream.connectors.kafka_io import collect, produce
from aislestream.errors import AisleError
from aislestream.evaluation.ab import compare_proportions
from aislestream.settings import Settings
from aislestream.stack.progress import progress_bar
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams import topics

log = logging.getLogger(__name__)
BASELINE_SEED = 4242  # the first tries' noise: apart from every training and evaluation seed


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def first_try_baseline(settings: Settings, specs: list) -> list[bool] | None:
    """Per spec, whether the oracle finds the base generator's first try usable, kept whatever
    it looks like: what the ad path would serve without its reward models. None (with a
    warning) unless the worker serves that generator with torch: another one cannot be
    compared here."""
    from aislestream.models.ads.generator import load_pipeline
    from aislestream.models.ads.judged import judged_samples
    from aislestream.models.ads.presets import get_ads_preset

    ads = settings.ads
    if ads.use_rl or ads.generator_path is not None or ads.generator_backend != "torch":
        log.warning("the ads baseline runs the base torch generator; this worker may serve "
                    "another (use_rl, generator_path or the onnx backend): no baseline")
        return None
    try:
        pipeline = load_pipeline(settings.artifacts.ads(ads.preset) / "generator")
    except AisleError as exc:
        log.warning("no ads baseline: %s", exc)
        return None
    steps = get_ads_preset(ads.preset).generator.inference_steps
    judged = judged_samples(pipeline, specs, steps, BASELINE_SEED, chunk=32)
    return [v.usable for v in judged.served_verdicts]


def replay_ad_requests(settings: Settings, worker: WorkerProcess, run_id: str, n: int,
                       timeout_s: float, console: Console) -> dict:
    """Ad requests for random specs (plus two malformed ones) through the ads agent."""
    from PIL import Image

    from aislestream.core.adspec import ALL_SPECS, AdSpec
    from aislestream.models.ads.conditioning import is_held_out
    from aislestream.models.ads.oracle import judge

    rng = np.random.default_rng(settings.world.seed)
    specs = [ALL_SPECS[int(i)] for i in rng.integers(len(ALL_SPECS), size=n)]
    messages = [(f"{run_id}-ad-{i}".encode(),
                 json.dumps({"request_id": f"{run_id}-ad-{i}", "product_id": f"p{i}",
                             **s.__dict__}).encode())
                for i, s in enumerate(specs)]
    messages += [(f"{run_id}-ad-bad-0".encode(), b"{not json"),
                 (f"{run_id}-ad-bad-1".encode(),
                  json.dumps({"request_id": "x", "product_id": "p", "shape": "vase",
                              "colour": "red"}).encode())]
    bootstrap = settings.broker.bootstrap_servers or ""
    outputs = [settings.topics.name(topics.ADS_CREATIVES), settings.topics.name(topics.ADS_DLQ)]
    started = time.time()
    with progress_bar(console) as progress:
        task = progress.add_task("ad requests -> creatives", total=len(messages))
        produce(bootstrap, settings.topics.name(topics.ADS_REQUESTS), messages)
        received = collect(bootstrap, outputs, len(messages), timeout_s,
                           on_message=lambda _: progress.advance(task), stop=worker.check_alive)
    elapsed = time.time() - started
    # at-least-once delivery: one creative per request
    creatives = list({c["request_id"]: c for c in (json.loads(r.value) for r in received
                                                   if r.topic == outputs[0])}.values())
    accepted = [c for c in creatives if c["status"] == "accepted"]
    verdicts = [judge(np.asarray(Image.open(c["image_path"]).convert("RGB")),
                      AdSpec(**c["spec"])) for c in accepted]
    with console.status(f"the baseline: the generator's first try at the same {n} specs"):
        baseline = first_try_baseline(settings, specs)
    latencies = [c["latency_ms"] for c in creatives]
    usable_served = sum(v.usable for v in verdicts)
    against = (compare_proportions(sum(baseline), len(baseline), usable_served, n)
               if baseline else None)
    result = {
        "requests": len(messages), "accepted": len(accepted),
        "rejected": len(creatives) - len(accepted),
        "dead_letters": sum(r.topic == outputs[1] for r in received),
        "unaccounted": len(messages) - len(creatives)
        - sum(r.topic == outputs[1] for r in received),
        "held_out_combination_specs": sum(is_held_out(s) for s in specs),
        "mean_attempts": (float(np.mean([c["attempts"] for c in creatives])) if creatives
                          else float("nan")),
        "oracle_usable_of_accepted": (float(np.mean([v.usable for v in verdicts])) if verdicts
                                      else float("nan")),
        # what reaches the ad store and is usable, per request: a rejection serves nothing
        "usable_served_per_request": usable_served / max(1, n),
        "baseline_first_try_usable": float(np.mean(baseline)) if baseline else None,
        "usable_diff_ci95": None if against is None else [against.ci_low, against.ci_high],
        "creatives_per_s": len(creatives) / max(elapsed, 1e-9),
        # a creative's latency_ms is its batch's time over the batch's requests
        "latency_p50_ms": _percentile(latencies, 50), "latency_p99_ms": _percentile(latencies, 99),
        "generator": sorted({c["model_version"] for c in creatives}),
        "creatives": [{"image_path": c["image_path"], "spec": c["spec"], "status": c["status"],
                       "usable": v.usable,
                       "failing": [a for a, ok in v.aspects().items() if not ok]}
                      for c, v in zip(accepted, verdicts)]
        + [{"image_path": c["image_path"], "spec": c["spec"], "status": c["status"]}
           for c in creatives if c["status"] != "accepted" and c.get("image_path")],
    }
    table = Table(title=f"aisle demo: ad creatives ({n} requests + 2 malformed)",
                  show_header=False)
    for key, value in result.items():
        if key not in ("creatives", "usable_diff_ci95"):
            table.add_row(key.replace("_", " "),
                          f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)
    return result
