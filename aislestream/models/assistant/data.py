"""SFT examples from dialogues: the conversation so far in, the parameter set after the last
turn out (with the clarifying question while no category is known), as compact JSON in the
schema's key order — exactly what constrained decoding admits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from aislestream.models.assistant.dialogue import missing_dimension
from aislestream.models.assistant.schema import params_json_schema
from aislestream.models.world.dimensions import PHRASINGS, Dialogue, Params, Turn, attribute_phrases
from aislestream.models.world.vocab import BRANDS, COLLOQUIAL_FILLERS

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


@lru_cache(maxsize=1)
def neutral_words() -> tuple[str, ...]:
    """Words that say nothing about any slot: brands and fillers, minus every word of every
    phrasing (training or held-out) and of every attribute value."""
    def words(texts: Iterable[str]) -> set[str]:
        return {w for t in texts for w in re.findall(r"[a-z0-9'&-]+", t.lower())}

    taken = words(p for table in PHRASINGS.values() for split in table.values() for p in split)
    taken |= words(attribute_phrases())
    candidates = [b for names in BRANDS.values() for b in names] + list(COLLOQUIAL_FILLERS)
    candidates += ["ok", "well", "hmm", "thanks", "right", "sure", "so", "yes", "maybe", "really",
                   "honestly"]
    return tuple(sorted(w for w in dict.fromkeys(candidates) if not words([w]) & taken))


def augment(dialogue: Dialogue, rng: np.random.Generator, rate: float) -> Dialogue:
    """Noise that changes no parameter: neutral words inserted into turns, and turns of neutral
    words between them. It teaches the model that words it does not know are not needs, which is
    what an unseen wrapper or chatter is (held-out phrasings are never used)."""
    vocab = neutral_words()
    turns: list[Turn] = []
    room = MAX_TURNS - len(dialogue.turns)  # the model reads at most MAX_TURNS turns
    for turn in dialogue.turns:
        if turns and room > 0 and rng.random() < rate / 2:
            room -= 1
            filler = " ".join(vocab[int(i)]
                              for i in rng.integers(len(vocab), size=int(rng.integers(2, 5))))
            turns.append(Turn(filler, "chatter", turns[-1].gold))
        words = turn.text.split()
        if rng.random() < rate:
            for _ in range(int(rng.integers(1, 3))):
                words.insert(int(rng.integers(len(words) + 1)),
                             vocab[int(rng.integers(len(vocab)))])
        turns.append(replace(turn, text=" ".join(words)))
    return replace(dialogue, turns=tuple(turns))


def sft_examples(dialogues: Iterable[Dialogue], max_turns: int = MAX_TURNS) -> list[Example]:
    """One example per turn: what the assistant should hold after hearing it."""
    out = []
    for d in dialogues:
        texts = [t.text for t in d.turns]
        for i, turn in enumerate(d.turns):
            out.append(Example(assistant_prompt(texts[:i + 1], max_turns), target_json(turn.gold),
                               d.id, i, turn.gold))
    return out
