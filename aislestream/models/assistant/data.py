"""SFT examples from dialogues: the conversation so far in, the parameter set after the last
turn out (with the clarifying question while no category is known), as compact JSON in the
schema's key order — exactly what constrained decoding admits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aislestream.engines.assistant.base import missing_dimension
from aislestream.engines.assistant.schema import params_json_schema
from aislestream.models.world.dimensions import Dialogue, Params

TURN_SEPARATOR = " | "
MAX_TURNS = 8  # the longest dialogue the world writes is 7 turns


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str
    dialogue_id: str
    turn: int
    gold: Params


def assistant_prompt(turns: Sequence[str], max_turns: int = MAX_TURNS) -> str:
    """The multi-turn form of the attribute-extraction task the LLM already knows (`<attrs>`);
    only the last ``max_turns`` turns are kept, so prompts stay within the model's positions."""
    return f"<attrs> {TURN_SEPARATOR.join(t.strip().lower() for t in turns[-max_turns:])} <sep>"


def target_json(params: Params) -> str:
    missing = missing_dimension(params)
    values = {**params.to_json(), **({"ask": missing} if missing else {})}
    order = list(params_json_schema()["properties"])
    ordered = {k: (list(v) if isinstance(v, tuple) else int(v) if isinstance(v, float) else v)
               for k, v in sorted(values.items(), key=lambda kv: order.index(kv[0]))}
    return json.dumps(ordered, separators=(",", ":"))


def sft_examples(dialogues: Iterable[Dialogue], max_turns: int = MAX_TURNS) -> list[Example]:
    """One example per turn: what the assistant should hold after hearing it."""
    out = []
    for d in dialogues:
        texts = [t.text for t in d.turns]
        for i, turn in enumerate(d.turns):
            out.append(Example(assistant_prompt(texts[:i + 1], max_turns), target_json(turn.gold), d.id, i, turn.gold))
    return out
