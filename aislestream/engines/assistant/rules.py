"""The lexicon baseline: a turn read by the rule mapper's lexicon (models/assistant/lexicon.py),
which knows the world's vocabulary and only the training phrasings, word for word; a
paraphrase it has not seen passes it by, which is what the learned assistant must do better."""

from __future__ import annotations

from aislestream.connectors.search.base import SearchStore
from aislestream.models.assistant.dialogue import (
    Reply,
    SessionState,
    clarifying_question,
    find_products,
)
from aislestream.models.assistant.lexicon import Lexicon, lexicon
from aislestream.models.world.dimensions import Params


class RuleAssistant:
    """``lex``: the lexicon to read with (the baseline's, or one with mined cues)."""

    def __init__(self, store: SearchStore | None = None, k: int = 10, lex: Lexicon | None = None,
                 name: str = "rules") -> None:
        self.store, self.k, self.name = store, k, name
        self.lexicon = lex or lexicon()

    def respond(self, state: SessionState, user_turn: str) -> tuple[SessionState, Reply]:
        params = self.update(state.params, user_turn)
        question = clarifying_question(params)
        turns = (*state.turns, user_turn)
        products = (tuple(find_products(self.store, params, self.k, turns))
                    if self.store is not None and not question else ())
        return SessionState(params, turns), Reply(params, question, products)

    def update(self, params: Params, turn: str) -> Params:
        return self.lexicon.update(params, turn)
