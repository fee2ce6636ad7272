"""SFT examples from dialogues: the session's state, the rules' reading of the new turn and the
turn in; the state after the turn out (with the clarifying question while no category is known),
as compact JSON in the schema's key order, exactly what constrained decoding admits.

State in, state out: a session of any length is one state and one turn, so its opening is
never pushed out of a window of recent turns (the first model re-read the last 8 turns). The
rules' proposal (``lexicon``) is a hint the model may accept or override; on training phrasings
the rules are nearly always right, so a share of the hint's slots are withheld (``hint_dropout``:
the slot then shows the unchanged state) and the model learns to read the turn for itself too."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from functools import lru_cache

import numpy as np

from aislestream.models.assistant.dialogue import missing_dimension
from aislestream.models.assistant.lexicon import Lexicon, lexicon
from aislestream.models.assistant.schema import params_json_schema
from aislestream.models.world.dimensions import PHRASINGS, Dialogue, Params, Turn, attribute_phrases
from aislestream.models.world.vocab import BRANDS, COLLOQUIAL_FILLERS

SEPARATOR = " | "
PROMPT_FORMAT = "state|hint|turn"  # recorded with each trained stage; a decoder checks it
MAX_TURNS = 8  # the augmentation keeps a dialogue this short (the world writes up to 7 turns)


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str
    dialogue_id: str
    turn: int
    gold: Params


def params_json(params: Params, ask: str | None = None) -> str:
    """Compact JSON in the schema's key order (whole values in the schema's own tokens)."""
    values = {**params.to_json(), **({"ask": ask} if ask else {})}
    order = list(params_json_schema()["properties"])
    ordered = {k: (list(v) if isinstance(v, tuple) else int(v) if isinstance(v, float) else v)
               for k, v in sorted(values.items(), key=lambda kv: order.index(kv[0]))}
    return json.dumps(ordered, separators=(",", ":"))


def assistant_prompt(state: Params, hint: Params, turn: str) -> str:
    """The stateful form of the attribute-extraction task the LLM already knows (`<attrs>`):
    the state so far, the rules' proposed next state, the new turn."""
    return (f"<attrs> {params_json(state)}{SEPARATOR}{params_json(hint)}{SEPARATOR}"
            f"{turn.strip().lower()} <sep>")


def target_json(params: Params) -> str:
    return params_json(params, missing_dimension(params))


def rule_hint(state: Params, turn: str, lex: Lexicon | None = None) -> Params:
    """The rule mapper's reading of ``turn`` on top of ``state`` (the baseline's lexicon unless
    one with mined cues is given)."""
    return (lex or lexicon()).update(state, turn)


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


def withhold(state: Params, hint: Params, rng: np.random.Generator, share: float) -> Params:
    """The hint with each slot it changes reverted to the state's value with probability
    ``share``, so the model learns to read the turn for what the rules miss. The category is
    never withheld: whether the rules found a product is what tells a vague opening ("I need a
    present") from a request the model should not question; and a hint that names another
    product (the rules started over) is kept whole, as reverting half of it would mix two."""
    if hint.category != state.category:
        return hint
    values = {}
    for slot in fields(Params):
        said, held = getattr(hint, slot.name), getattr(state, slot.name)
        values[slot.name] = held if said != held and rng.random() < share else said
    return Params(**values)


def sft_examples(dialogues: Iterable[Dialogue], hint_dropout: float = 0.0,
                 seed: int = 0) -> list[Example]:
    """One example per turn: the gold state before it and the rules' hint in, what the
    assistant should hold after hearing it out; ``hint_dropout`` of the hints' slots are
    withheld (``withhold``)."""
    rng = np.random.default_rng([seed, 3])
    out = []
    for d in dialogues:
        state = Params()
        for i, turn in enumerate(d.turns):
            hint = withhold(state, rule_hint(state, turn.text), rng, hint_dropout)
            out.append(Example(assistant_prompt(state, hint, turn.text), target_json(turn.gold),
                               d.id, i, turn.gold))
            state = turn.gold
    return out
