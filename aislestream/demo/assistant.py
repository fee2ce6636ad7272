"""The demo's assistant part: held-out dialogues played through the running worker's assistant
stream, turn by turn for every session at once, scored by the judge like `aisle eval assistant`;
plus turns that must come back as error replies."""

from __future__ import annotations

import json

import numpy as np
from rich.console import Console
from rich.table import Table

from aislestream.connectors.kafka_io import collect, produce
from aislestream.connectors.search.base import Hit, SearchStore
from aislestream.evaluation.assistant import DialogueOutcome, summarise
from aislestream.evaluation.expansion import bootstrap_ci
from aislestream.models.assistant.dialogue import Reply
from aislestream.models.assistant.judge import Judge
from aislestream.models.world import World
from aislestream.models.world.dimensions import Params, generate_dialogues, score_slots
from aislestream.settings import Settings
from aislestream.stack.runtime import WorkerProcess
from aislestream.streams import topics
from aislestream.streams.assistant import encode_turn


def await_replies(settings: Settings, worker: WorkerProcess, wanted: set[tuple[str, int]],
                  timeout_s: float) -> dict[tuple[str, int], dict]:
    """Replies by (session id, turn) until every wanted one has arrived (or the timeout)."""
    def key(value: bytes) -> tuple[str, int]:
        reply = json.loads(value)
        return reply["session_id"], reply["turn"]

    got = collect(settings.broker.bootstrap_servers or "",
                  [settings.topics.name(topics.ASSISTANT_REPLIES)], 10**9, timeout_s,
                  stop=lambda rs: wanted <= {key(r.value) for r in rs} or worker.check_alive())
    return {key(r.value): json.loads(r.value) for r in got if key(r.value) in wanted}


def _exchange(settings: Settings, worker: WorkerProcess, turns: list[tuple[str, int, str]],
              timeout_s: float) -> dict[tuple[str, int], dict]:
    """Send turns and wait for one reply to each."""
    produce(settings.broker.bootstrap_servers or "", settings.topics.name(topics.ASSISTANT_TURNS),
            [encode_turn(*t) for t in turns])
    return await_replies(settings, worker, {(session, n) for session, n, _ in turns}, timeout_s)


def replay_dialogues(settings: Settings, worker: WorkerProcess, world: World, store: SearchStore,
                     run_id: str, n: int, timeout_s: float, console: Console) -> dict[str, object]:
    dialogues = generate_dialogues(n, "held_out", seed=settings.world.seed)
    judge = Judge(store, {p.id: p for p in world.products})
    sessions = [f"{run_id}-chat-{i}" for i in range(n)]
    last: dict[str, Reply] = {}
    success: dict[str, int] = {}
    engine, answered = "", 0
    latencies: list[float] = []
    with console.status(f"{n} held-out dialogues through the assistant stream"):
        for t in range(max(len(d.turns) for d in dialogues)):
            live = [(s, d) for s, d in zip(sessions, dialogues) if t < len(d.turns)]
            replies = _exchange(settings, worker, [(s, t, d.turns[t].text) for s, d in live],
                                timeout_s)
            for s, d in live:
                reply = replies.get((s, t))
                if reply is None or reply.get("error_type"):
                    continue
                answered += 1
                engine = reply["engine"]
                latencies.append(reply["latency_ms"])
                hits = tuple(Hit(p["id"], p["score"], p["title"]) for p in reply["products"])
                last[s] = Reply(Params.from_json(reply["params"]), reply["question"], hits)
                if s not in success and judge.satisfied([h.id for h in hits], d.needs):
                    success[s] = t + 1
        bad = [(f"{run_id}-chat-0", 99, "in red"), (f"{run_id}-ghost", 3, "in red"),
               (f"{run_id}-empty", 0, "   ")]
        errors = _exchange(settings, worker, bad, timeout_s)
    outcomes = [DialogueOutcome(d.id, last[s].params if s in last else Params(), d.needs,
                                success.get(s), 0, 0)
                for s, d in zip(sessions, dialogues)]
    summary = summarise(outcomes)
    with console.status("the baselines: the rules on the same dialogues"):
        baselines = rule_baselines(settings, store, dialogues, judge)
    mine = [score_slots(o.final, o.needs).f1 for o in outcomes]
    result = {"engine": engine, "dialogues": n, "turns": sum(len(d.turns) for d in dialogues),
              "answered": answered,
              "slot_f1": summary["slot_f1"], "conversion": summary["conversion"],
              "mean_turns_to_success": summary["mean_turns_to_success"],
              **{f"{name}_slot_f1": round(float(np.mean(f1s)), 4)
                 for name, f1s in baselines.items()},
              # per baseline: the served model's slot F1 minus its, paired by dialogue
              "slot_f1_diff_ci95": {name: list(bootstrap_ci(np.subtract(mine, f1s)))
                                    for name, f1s in baselines.items()},
              "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else float("nan"),
              "latency_p99_ms": float(np.percentile(latencies, 99)) if latencies else float("nan"),
              "error_replies": sorted(r.get("error_type") or "none" for r in errors.values())}
    table = Table(title=f"aisle demo: shopping assistant ({n} held-out dialogues)",
                  show_header=False)
    for k, v in result.items():
        table.add_row(k.replace("_", " "), f"{v:.3f}" if isinstance(v, float) else str(v))
    console.print(table)
    return result


def rule_baselines(settings: Settings, store: SearchStore, dialogues, judge: Judge,
                   ) -> dict[str, list[float]]:
    """Per dialogue, the slot F1 of the rule baseline on the same dialogues, and of the rules
    reading the cues mined from purchases where the lexicon stage has run (what `auto` may
    serve): the mined cues the model read, beside its checkpoint."""
    from aislestream.engines.assistant.rules import RuleAssistant
    from aislestream.evaluation.assistant import play
    from aislestream.models.assistant.lexicon import Lexicon, MinedCues

    a = settings.assistant
    assistants = {"rules": RuleAssistant(store, a.k)}
    cues = (a.model_path.parent if a.model_path is not None
            else settings.artifacts.assistant(a.preset)) / "lexicon"
    try:
        assistants["rules_mined"] = RuleAssistant(store, a.k, lex=Lexicon(MinedCues.load(cues)))
    except (OSError, ValueError):
        pass  # not mined: the baseline alone
    return {name: [score_slots(o.final, o.needs).f1 for o in play(rules, dialogues, judge)]
            for name, rules in assistants.items()}
