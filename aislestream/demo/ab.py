"""The A/B part of `aisle demo`: an experiment served live, shoppers' feedback, the report, and
checks of the report against the simulator's ground truth and against A/A splits.

Arms: PRF against the best other expander this machine has (the LLM once `aisle train lm`
ran, else no expansion). The ground truth is each arm's *expected* conversion and click
rate on the result lists it actually served, estimated by replaying every list through the
behaviour simulator many times; the report sees one simulated session per query, as a live
experiment would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

import numpy as np

from aislestream.connectors.kafka_io import produce
from aislestream.demo.shoppers import feedback_batch
from aislestream.evaluation.ab import compare_proportions, compare_ratios
from aislestream.evaluation.experiment_report import analyse
from aislestream.models.world import LabelledQuery, World
from aislestream.models.world.behaviour import BehaviourSimulator
from aislestream.settings import Settings, apply_llm_defaults
from aislestream.streams import topics
from aislestream.streams.experiments.assign import bucket
from aislestream.streams.experiments.schema import Experiment, parse_experiment
from aislestream.streams.feedback import read_arm_metrics

GROUND_TRUTH_SESSIONS = 50
AA_EXPERIMENTS = 20
AA_PRECISE = 200  # splits of the demo's own outcomes: a standard error of 0.015 instead of 0.049


def demo_experiment(settings: Settings) -> Experiment:
    # the LLM the worker's `llm` variant would load: the configured model, else tiny's
    llm = apply_llm_defaults(settings.expansion.model_copy(update={"engine": "llm"}),
                             settings.data_dir)
    llm_ready = llm.model_path is not None and (llm.model_path / "config.json").exists()
    treatment = "llm" if llm_ready else "identity"
    return parse_experiment({
        "id": f"demo-prf-vs-{treatment}", "layer": "search.expansion", "salt": "demo",
        "description": f"PRF (control) against {treatment}, half the shoppers each",
        "arms": [{"name": "prf", "share": 0.5, "params": {"expander": "prf"}},
                 {"name": treatment, "share": 0.5, "params": {"expander": treatment}}]})


def expected_outcomes(results: list[dict], labelled: Mapping[str, LabelledQuery],
                      world: World) -> dict[str, dict]:
    """Per arm: mean over queries of the probability of a click and of a purchase, each list
    replayed ``GROUND_TRUTH_SESSIONS`` times (a seed apart from the feedback's)."""
    simulator = BehaviourSimulator({p.id: p for p in world.products},
                                   {u.id: u for u in world.users}, seed=12345)
    per_arm: dict[str, dict[str, list[float]]] = {}
    for r in results:
        q = labelled.get(r["request_id"])
        if q is None or not r["arms"]:
            continue
        ranked = [h["id"] for h in r["hits"]]
        expected = simulator.expected(r.get("user_id") or "", ranked, q.relevance,
                                      GROUND_TRUTH_SESSIONS)
        arm = next(iter(r["arms"].values()))
        acc = per_arm.setdefault(arm, {"ctr": [], "conversion_rate": []})
        acc["ctr"].append(expected.click_rate)
        acc["conversion_rate"].append(expected.conversion_rate)
    return {arm: {m: float(np.mean(v)) for m, v in acc.items()} for arm, acc in per_arm.items()}


def aa_false_positive_rate(results: list[dict], draw_feedback: Callable[[int], Mapping[str, dict]],
                           n: int = AA_EXPERIMENTS, alpha: float = 0.05) -> dict:
    """``n`` A/A experiments on the served traffic: experiment i splits users in two by a fresh
    salt (the project's own hashing) and tests conversion on ``draw_feedback(i)``, shoppers'
    outcomes for that experiment; ideally ``alpha`` of them come out 'significant'. Tested per
    user with the delta method (the unit that was randomised) and, for contrast, per query as
    if queries were independent."""
    by_unit, by_query, units = [], [], 0
    for i in range(n):
        feedback = draw_feedback(i)
        per_unit: dict[str, list[int]] = {}
        for r in results:
            fb = feedback.get(r["request_id"])
            if fb is not None:
                acc = per_unit.setdefault(r.get("user_id") or r["request_id"], [0, 0])
                acc[0] += int(fb["purchases"] > 0)
                acc[1] += 1
        names = list(per_unit)
        half = np.array([bucket(unit, f"aa-{i}") % 2 for unit in names])
        x = np.array([per_unit[u][0] for u in names])
        y = np.array([per_unit[u][1] for u in names])
        by_unit.append(compare_ratios(x[half == 0], y[half == 0], x[half == 1], y[half == 1],
                                      alpha).significant(alpha))
        by_query.append(compare_proportions(int(x[half == 0].sum()), int(y[half == 0].sum()),
                                            int(x[half == 1].sum()), int(y[half == 1].sum()),
                                            alpha).significant(alpha))
        units = len(names)
    return {"experiments": n, "alpha": alpha, "units": units, "queries": len(results),
            "false_positives": int(sum(by_unit)), "aa_false_positive_rate": float(np.mean(by_unit)),
            "false_positives_query_level": int(sum(by_query)),
            "aa_false_positive_rate_query_level": float(np.mean(by_query))}


def run_ab(settings: Settings, experiment: Experiment, world: World,
           labelled: Mapping[str, LabelledQuery], results: list[dict],
           timeout_s: float = 60.0) -> dict:
    """Shoppers' feedback for every served result, then the report once the worker's metrics
    table has absorbed all of it."""
    bootstrap = settings.broker.bootstrap_servers or ""
    simulator = BehaviourSimulator({p.id: p for p in world.products},
                                   {u.id: u for u in world.users}, seed=settings.world.seed)
    feedback = feedback_batch(results, labelled, simulator)
    produce(bootstrap, settings.topics.name(topics.SEARCH_FEEDBACK), feedback)
    want = sum(json.loads(v)["impressions"] for _, v in feedback)
    deadline, metrics = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        metrics = read_arm_metrics(bootstrap, settings.stream.app_id)
        if sum(v.get("impressions", 0) for k, v in metrics.items()
               if k.startswith(experiment.id + "|")) >= want:
            break
        time.sleep(1.0)
    units = read_arm_metrics(bootstrap, settings.stream.app_id, topics.UNIT_METRICS)
    report = analyse(experiment, metrics, units=units)
    truth = expected_outcomes(results, labelled, world)
    control, treatment = experiment.arms[0].name, experiment.arms[1].name
    found = {}
    for metric in ("ctr", "conversion_rate"):
        c = report["comparisons"].get(treatment, {}).get(metric)
        true_diff = (truth.get(treatment, {}).get(metric, np.nan)
                     - truth.get(control, {}).get(metric, np.nan))
        found[metric] = {"true_diff": true_diff, "reported_diff": c["diff"] if c else None,
                         "p_value": c["p_value"] if c else None,
                         "significant": bool(c and c["p_value"] < report["alpha"]),
                         "right_direction": bool(c and np.sign(c["diff"]) == np.sign(true_diff))}
    by_id = {k.decode(): json.loads(v) for k, v in feedback}
    products, users = {p.id: p for p in world.products}, {u.id: u for u in world.users}

    def fresh_outcomes(i: int) -> dict[str, dict]:  # experiment i's own shoppers' outcomes
        draws = feedback_batch(results, labelled,
                               BehaviourSimulator(products, users, seed=10_000 + i))
        return {k.decode(): json.loads(v) for k, v in draws}

    return {"experiment": experiment.model_dump(mode="json"), "report": report,
            "ground_truth": truth, "found": found,
            "aa": aa_false_positive_rate(results, fresh_outcomes),
            "feedback_records": len(feedback),
            "aa_precise": aa_false_positive_rate(results, lambda i: by_id, n=AA_PRECISE)}


def experiments_markdown(ab: dict, messages: int) -> str:
    r = ab["report"]
    rows = [f"| {arm} | {a['queries']:,} | {a['ctr']:.4f} | {a['conversion_rate']:.4f} | "
            f"{a['revenue_per_query']:.2f} | "
            f"{ab['ground_truth'].get(arm, {}).get('ctr', float('nan')):.4f} | "
            f"{ab['ground_truth'].get(arm, {}).get('conversion_rate', float('nan')):.4f} |"
            for arm, a in r["arms"].items()]
    found = [f"| {m} | {f['true_diff']:+.4f} | {f['reported_diff']:+.4f} | {f['p_value']:.3g} | "
             f"{'yes' if f['significant'] else 'no'} | "
             f"{'yes' if f['right_direction'] else '**no**'} |"
             for m, f in ab["found"].items()]
    aa = ab["aa"]
    return "\n".join([
        f"## A/B experiment in the demo: `{r['experiment']}`", "",
        f"`aisle demo` served {messages:,} replayed queries under the experiment (hash of user id "
        f"and salt, 50/50); the worker joined {ab['feedback_records']:,} simulated shoppers' "
        "feedback records with the arms that served each query and kept per-arm metrics in its "
        "tables; the report below is computed from them. Expected = the simulator's ground truth "
        f"on the same result lists ({GROUND_TRUTH_SESSIONS} simulated sessions per list). "
        f"Sample-ratio check p = {r['srm_p_value']:.3g}.", "",
        "| arm | queries | CTR | conversion | revenue/query | expected CTR | expected conversion |",
        "|---|---|---|---|---|---|---|", *rows, "",
        "| metric | true difference | reported difference | p | significant | right direction |",
        "|---|---|---|---|---|---|", *found, "",
        f"A/A: {aa['experiments']} experiments on the served traffic ({aa['units']:,} users, "
        f"{aa['queries']:,} queries), each with a fresh salt and its own simulated shoppers' "
        f"outcomes, conversion compared at alpha {aa['alpha']}. Per user with the delta method "
        f"(the randomised unit): {aa['false_positives']} significant, false-positive rate "
        f"**{aa['aa_false_positive_rate']:.2f}**. Per query as if independent: "
        f"{aa['false_positives_query_level']} significant "
        f"({aa['aa_false_positive_rate_query_level']:.2f}): a user's repeated queries are "
        "correlated, so query-level tests over-reject; the report above therefore tests "
        f"per {r['test_unit']}, from the worker's per-user table. "
        f"{ab['aa_precise']['experiments']} salts over the demo's own outcomes (standard error "
        f"0.015): per user **{ab['aa_precise']['aa_false_positive_rate']:.3f}**, per query "
        f"{ab['aa_precise']['aa_false_positive_rate_query_level']:.3f}.",
    ])
