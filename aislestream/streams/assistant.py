"""The assistant stream: shopper turns keyed by session id in, one reply per turn out.

Session state lives in the faust Table ``assistant_sessions`` (session id -> parameters,
recent turns, next expected turn, last reply, last activity). Turns are keyed by session, so
a session's turns arrive in order on one partition, the table's changelog is co-partitioned
with them, and a restarted or rebalanced worker recovers every session from the changelog.

Every turn gets exactly one reply (a record that is not a turn at all goes to the dead-letter
topic with the reason):

* a reply with the parameters, a clarifying question or products;
* an error reply with ``error_type`` for a turn that cannot be answered: ``empty_turn``,
  ``oversized_turn``, ``unknown_session`` (not turn 0 and no live session: it expired or never
  started), ``out_of_order`` (a turn was skipped), ``stale_turn`` (an earlier turn number with
  new text), ``engine_error`` (the assistant raised; the session is left as it was);
* a redelivered turn (the worker stopped after replying, before committing) gets its stored
  reply again, so replies are idempotent by (session, turn).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import faust
from pydantic import BaseModel, ConfigDict, Field

from aislestream.errors import MessageRejected
from aislestream.models.assistant.dialogue import Reply, SessionState
from aislestream.models.world.dimensions import Params
from aislestream.settings import AssistantSettings, Settings
from aislestream.streams import topics
from aislestream.streams.app import metrics_of, register_event_agent
from aislestream.streams.decoding import Identifier, OptionalIdentifier, decode_model
from aislestream.streams.expiry import register_expiry
from aislestream.streams.isolation import CrashJournal, IsolatingProcessor
from aislestream.streams.pipeline import Output, RawMessage, dead_letter_output

log = logging.getLogger(__name__)
MAX_TURN_BYTES = 16_384
KEPT_TURNS = 16  # history a session keeps (the model reads the last 8)


class AssistantTurn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    session_id: Identifier
    turn: int = Field(ge=0, le=1_000_000, description="0 opens a session; then 1, 2, ...")
    text: str
    user_id: OptionalIdentifier | None = None
    sent_at: float | None = None


class AssistantReply(BaseModel):
    session_id: str
    turn: int
    params: dict[str, object] = Field(default_factory=dict)
    question: str | None = None
    products: list[dict[str, object]] = Field(default_factory=list)
    error_type: str | None = None
    error: str | None = None
    engine: str
    latency_ms: float
    processed_at: float
    worker: str


def encode_turn(session_id: str, turn: int, text: str) -> tuple[bytes, bytes]:
    """A shopper turn as the front end publishes it: (key, value) for ``assistant.turns``."""
    return session_id.encode(), json.dumps({"session_id": session_id, "turn": turn, "text": text,
                                            "sent_at": time.time()}).encode()


def decode_turn(raw: bytes | None) -> AssistantTurn:
    return decode_model(raw, AssistantTurn, MAX_TURN_BYTES)


@dataclass(frozen=True)
class Session:
    """One table entry."""

    params: Params
    turns: tuple[str, ...]
    next_turn: int
    last_seen: float
    last_reply: dict | None = None

    def to_json(self) -> dict:
        return {"params": self.params.to_json(), "turns": list(self.turns),
                "next_turn": self.next_turn, "last_seen": self.last_seen,
                "last_reply": self.last_reply}

    @classmethod
    def from_json(cls, data: dict) -> Session:
        return cls(Params.from_json(data["params"]), tuple(data["turns"]), int(data["next_turn"]),
                   float(data["last_seen"]), data.get("last_reply"))


def check_turn(turn: AssistantTurn, session: Session | None, settings: AssistantSettings
               ) -> tuple[str, str] | None:
    """Why a turn cannot be answered (error type, message), or None."""
    if not turn.text.strip():
        return "empty_turn", "the turn is empty; say what you are looking for"
    if len(turn.text) > settings.max_turn_chars:
        return "oversized_turn", (f"the turn is {len(turn.text)} characters, "
                                  f"the limit is {settings.max_turn_chars}")
    if turn.turn > 0 and session is None:
        return "unknown_session", (f"no live session {turn.session_id!r} (sessions expire after "
                                   f"{settings.session_ttl_s:.0f} s idle); "
                                   "start a new one with turn 0")
    if session is not None and turn.turn > session.next_turn:
        return "out_of_order", f"expected turn {session.next_turn}, got {turn.turn}"
    return None


def idle_past_ttl(raw: dict, settings: AssistantSettings, now: float) -> bool:
    return now - float(raw["last_seen"]) > settings.session_ttl_s


def live_session(raw: dict | None, settings: AssistantSettings, now: float) -> Session | None:
    return None if raw is None or idle_past_ttl(raw, settings, now) else Session.from_json(raw)


class AssistantProcessor:
    """The agent's logic without faust: the table is any mutable mapping (a dict in unit tests)."""

    def __init__(self, assistant, settings: AssistantSettings, sessions,
                 worker_id: str | None = None) -> None:
        self.assistant, self.settings, self.sessions = assistant, settings, sessions
        self.worker = worker_id or socket.gethostname()
        self.counts: dict[str, int] = {}

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def reply(self, turn: AssistantTurn, started: float, **fields: object) -> dict:
        return AssistantReply(session_id=turn.session_id, turn=turn.turn,
                              engine=self.assistant.name,
                              latency_ms=round((time.perf_counter() - started) * 1e3, 2),
                              processed_at=time.time(), worker=self.worker, **fields).model_dump()

    async def handle(self, turn: AssistantTurn) -> dict:
        started, now = time.perf_counter(), time.time()
        session = live_session(self.sessions.get(turn.session_id), self.settings, now)
        if session is not None and turn.turn < session.next_turn:
            last = session.last_reply
            if (last is not None and last["turn"] == turn.turn and session.turns
                    and session.turns[-1] == turn.text):
                self.count("redelivered")
                return last
            if turn.turn == 0:
                session = None  # turn 0 again: the shopper starts over
            else:
                self.count("stale_turn")
                return self.reply(turn, started, error_type="stale_turn",
                                  error=f"turn {turn.turn} was answered before; "
                                        f"the session is at turn {session.next_turn}")
        problem = check_turn(turn, session, self.settings)
        if problem is not None:
            self.count(problem[0])
            return self.reply(turn, started, error_type=problem[0], error=problem[1])
        state = SessionState(session.params, session.turns) if session else SessionState()
        try:
            new_state, answer = await asyncio.to_thread(self.assistant.respond, state, turn.text)
        # a failing engine answers this turn with an error, the stream goes on
        except Exception as exc:
            log.exception("assistant %s failed on session %s turn %d", self.assistant.name,
                          turn.session_id, turn.turn)
            self.count("engine_error")
            return self.reply(turn, started, error_type="engine_error",
                              error=f"{type(exc).__name__}: {exc}")
        out = self.reply(turn, started, **reply_fields(answer))
        self.sessions[turn.session_id] = Session(new_state.params, new_state.turns[-KEPT_TURNS:],
                                                 turn.turn + 1, now, out).to_json()
        self.count("replies")
        return out

    async def output(self, msg: RawMessage) -> Output:
        """The one output of one message: its reply, or its dead letter if it is not a turn."""
        try:
            turn = decode_turn(msg.value)
        except MessageRejected as error:
            self.count("dead_letters")
            return dead_letter_output(msg, error)
        # its session would be written on another key's partition
        if msg.key != turn.session_id.encode():
            self.count("dead_letters")
            return dead_letter_output(msg, MessageRejected("record key does not match session_id",
                                                           "invalid_field"))
        out = await self.handle(turn)
        return Output("result", turn.session_id.encode(), json.dumps(out).encode())


def reply_fields(answer: Reply) -> dict[str, object]:
    return {"params": answer.params.to_json(), "question": answer.question,
            "products": [{"id": h.id, "title": h.title, "score": round(h.score, 4)}
                         for h in answer.products]}


def register_assistant_agent(app: faust.App, settings: Settings, declared: topics.AssistantTopics,
                             assistant) -> AssistantProcessor:
    processor = AssistantProcessor(assistant, settings.assistant, declared.sessions)

    isolated = IsolatingProcessor("assistant",
                                  lambda batch: asyncio.gather(*map(processor.output, batch)),
                                  CrashJournal(Path(app.conf.datadir) / "inflight-assistant.json"),
                                  settings.stream.quarantine_after_crashes)
    # the journal too: a turn that crashes the worker (a native fault in the model) is quarantined
    register_event_agent(app, "assistant", declared.turns, lambda msg: isolated([msg]),
                         {"result": declared.replies, "dead_letter": declared.dead_letter},
                         settings.stream)
    if (metrics := metrics_of(app)) is not None:  # engine_error: the error replies
        metrics.add_counts("assistant", lambda: processor.counts)
        metrics.add_counts("assistant.isolation", lambda: isolated.counts)

    register_expiry(app, declared.sessions, declared.expiry,
                    interval_s=max(1.0, settings.assistant.session_ttl_s / 4),
                    stale=lambda value, now: idle_past_ttl(value, settings.assistant, now),
                    on_expired=lambda: processor.count("expired"))

    @app.timer(interval=10.0)
    async def report() -> None:
        if processor.counts:
            log.info("assistant counts: %s", processor.counts)

    return processor
