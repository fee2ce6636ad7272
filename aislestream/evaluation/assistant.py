"""Assistants played through whole dialogues, scored by the judge.

Per dialogue: the final turn's parameters against the hidden needs (slot precision/recall,
and per slot type), every question asked (and whether it was needed), and the first turn at
which the shopper saw a product that satisfies the hidden needs (simulated conversion). Turns
of many dialogues are answered together (``respond_many``) so a model decodes in batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from aislestream.models.assistant.dialogue import Reply, SessionState, clarifying_question
from aislestream.models.assistant.judge import Judge
from aislestream.models.world.dimensions import CHATTER, Dialogue, Params, Turn, score_slots

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
    needed_questions: int = 0  # turns after which no product was known (a question is due)
    missed_questions: int = 0  # of those, turns it did not ask


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
    needed, missed = [0] * len(dialogues), [0] * len(dialogues)
    for t in range(max(len(d.turns) for d in dialogues)):
        live = [i for i, d in enumerate(dialogues) if t < len(d.turns)]
        replies = respond_all(assistant, [states[i] for i in live],
                              [dialogues[i].turns[t].text for i in live])
        for i, (state, reply) in zip(live, replies):
            states[i] = state
            asked = reply.question is not None
            due = clarifying_question(dialogues[i].turns[t].gold) is not None
            questions[i] += asked
            wrong[i] += asked != due
            needed[i] += due
            missed[i] += due and not asked
            if success[i] is None and judge.satisfied([h.id for h in reply.products],
                                                      dialogues[i].needs):
                success[i] = t + 1
        if progress is not None:
            progress(len(live))
    return [DialogueOutcome(d.id, s.params, d.needs, success[i], questions[i], wrong[i],
                            needed[i], missed[i])
            for i, (d, s) in enumerate(zip(dialogues, states))]


def lengthen(dialogues: Sequence[Dialogue], turns: int = 16, seed: int = 0) -> list[Dialogue]:
    """Each dialogue padded to at least ``turns`` turns with chatter (which changes no
    parameter) after its opening: a long session whose opening must survive."""
    rng = np.random.default_rng([seed, 17])
    chatter = [*CHATTER["train"], *CHATTER["held_out"]]
    out = []
    for d in dialogues:
        body = list(d.turns)
        while len(body) < turns:
            at = int(rng.integers(1, len(body) + 1))  # never before the opening
            body.insert(at, Turn(chatter[int(rng.integers(len(chatter)))], "chatter",
                                 body[at - 1].gold))
        out.append(replace(d, turns=tuple(body)))
    return out


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
    asked = sum(o.questions for o in outcomes)
    due = sum(o.needed_questions for o in outcomes)
    hit = due - sum(o.missed_questions for o in outcomes)
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
        # per turn: of the questions asked, the share that were due; of those due, the share
        # asked (a question is due while no product is known: the vague openings)
        "question_precision": round(hit / asked, 4) if asked else None,
        "question_recall": round(hit / due, 4) if due else None,
        "questions_due": due,
        "slot_f1_by_type": {name: round(_f1(*counts[name]), 4) for name in SLOT_TYPES
                            if name in counts},
        # a dialogue that never showed a satisfying product: the parameters were wrong, or they
        # were right and search found nothing that satisfies them (the catalog may have none)
        "failures": {"understanding": misunderstood, "retrieval": len(failed) - misunderstood},
    }
