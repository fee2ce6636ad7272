"""The assistant contract every engine (rules, model) implements."""

from __future__ import annotations

from typing import Protocol

from aislestream.models.assistant.dialogue import Reply, SessionState


class Assistant(Protocol):
    name: str

    def respond(self, state: SessionState, user_turn: str) -> tuple[SessionState, Reply]:
        """The new session state and the reply to one shopper turn."""
