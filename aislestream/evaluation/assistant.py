"""Assistants played through whole dialogues, scored by the judge.

Per dialogue: the final turn's parameters against the hidden needs (slot precision/recall,
and per slot type), every question asked (and whether it was needed), and the first turn at
which the shopper saw a product that satisfies the hidden needs (simulated conversion). Turns
of many dialogues are answered together (``respond_many``) so a model decodes in batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aislestream.models.assistant.dialogue import Reply, SessionState, clarifying_question
from aislestream.models.assistant.judge import Judge
from aislestream.models.world.dimensions import Dialogue, Params, score_slots

SLOT_TYPES = ("category", "colour", "material", "feature", "price_max", "price_min",
              "exclude_colours", "exclude_materials")


@dataclass(frozen=True)
class DialogueOutcome:
    dialogue_id: str
    final: Params
    needs: Params
    success_turn: int | None  # 1-based turn whose products satisfied the needs
    questions: int
    wrong_questions: int  # asked with a known product, or not asked without one


def respond_all(assistant, states: list[SessionState],
                turns: list[str]) -> list[tuple[SessionState, Reply]]:
    if hasattr(assistant, "respond_many"):
        return assistant.respond_many(states, turns)
    return [assistant.respond(s, t) for s, t in zip(states, turns)]


def play(assistant, dialogues: Sequence[Dialogue], judge: Judge,
         progress=None) -> list[DialogueOutcome]:
    states = [SessionState() for _ in dialogues]
    success: list[int | None] = [None] * len(dialogues)
    questions, wrong = [0] * len(dialogues), [0] * len(dialogues)
    for t in range(max(len(d.turns) for d in dialogues)):
        live = [i for i, d in enumerate(dialogues) if t < len(d.turns)]
        replies = respond_all(assistant, [states[i] for i in live],
                              [dialogues[i].turns[t].text for i in live])
        for i, (state, reply) in zip(live, replies):
            states[i] = state
            asked = reply.question is not None
            questions[i] += asked
            wrong[i] += asked != (clarifying_question(dialogues[i].turns[t].gold) is not None)
            if success[i] is None and judge.satisfied([h.id for h in reply.products],
                                                      dialogues[i].needs):
                success[i] = t + 1
        if progress is not None:
            progress(len(live))
    return [DialogueOutcome(d.id, s.params, d.needs, success[i], questions[i], wrong[i])
            for i, (d, s) in enumerate(zip(dialogues, states))]


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def summarise(outcomes: Sequence[DialogueOutcome]) -> dict[str, object]:
    scores = [score_slots(o.final, o.needs) for o in outcomes]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn per slot type
    for o in outcomes:
        predicted, gold = o.final.slots(), o.needs.slots()
        for slot in predicted | gold:
            c = counts[slot[0]]
            c[0 if slot in predicted and slot in gold else 1 if slot in predicted else 2] += 1
    turns = [o.success_turn for o in outcomes if o.success_turn is not None]
    failed = [o for o in outcomes if o.success_turn is None]
    misunderstood = sum(o.final != o.needs for o in failed)
    return {
        "dialogues": len(outcomes),
        "slot_f1": round(float(np.mean([s.f1 for s in scores])), 4),
        "slot_precision": round(float(np.mean([s.precision for s in scores])), 4),
        "slot_recall": round(float(np.mean([s.recall for s in scores])), 4),
        "exact_match": round(float(np.mean([o.final == o.needs for o in outcomes])), 4),
        "conversion": round(len(turns) / len(outcomes), 4),
        "mean_turns_to_success": round(float(np.mean(turns)), 3) if turns else None,
        "questions_per_dialogue": round(float(np.mean([o.questions for o in outcomes])), 3),
        "wrong_question_rate": round(float(np.mean([o.wrong_questions > 0 for o in outcomes])), 4),
        "slot_f1_by_type": {name: round(_f1(*counts[name]), 4) for name in SLOT_TYPES
                            if name in counts},
        # a dialogue that never showed a satisfying product: the parameters were wrong, or they
        # were right and search found nothing that satisfies them (the catalog may have none)
        "failures": {"understanding": misunderstood, "retrieval": len(failed) - misunderstood},
    }
