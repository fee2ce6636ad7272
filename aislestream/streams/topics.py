"""Every topic and table name in one place, and the one declaration of what a worker reads,
writes and keeps (:class:`WorkerTopics`). A prefix from settings namespaces a deployment or a
test run; table changelogs are named by faust from the app id (:func:`changelog`).

faust is imported only for type checking, so tools that need only the names (the CLI, demos,
benchmarks) do not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aislestream.connectors.broker import TopicSpec
from aislestream.settings import Settings, TopicSettings

if TYPE_CHECKING:
    import faust
    from faust.types import TableT, TopicT

SEARCH_QUERIES = "search.queries"
SEARCH_RESULTS = "search.results"
SEARCH_DLQ = "search.queries.dlq"
ADS_REQUESTS = "ads.requests"
ADS_CREATIVES = "ads.creatives"
ADS_DLQ = "ads.requests.dlq"
SEARCH_FEEDBACK = "search.feedback"  # what shoppers did with each result list, keyed by request id
SEARCH_FEEDBACK_DLQ = "search.feedback.dlq"
# internal: feedback waiting for its result, with a due time
SEARCH_FEEDBACK_RETRY = "search.feedback.retry"
SERVED_EXPIRY = "search.served.expiry"  # internal: request ids whose `served` entry is past its TTL
ARM_DELTAS = "experiments.arm-deltas"  # internal: metric increments keyed by experiment|arm
ASSISTANT_TURNS = "assistant.turns"  # shopper turns, keyed by session id
ASSISTANT_REPLIES = "assistant.replies"
ASSISTANT_DLQ = "assistant.turns.dlq"
ASSISTANT_EXPIRY = "assistant.expiry"  # internal: idle session ids to drop, keyed by session id

ALL = (SEARCH_QUERIES, SEARCH_RESULTS, SEARCH_DLQ, ADS_REQUESTS, ADS_CREATIVES, ADS_DLQ,
       SEARCH_FEEDBACK, SEARCH_FEEDBACK_DLQ, SEARCH_FEEDBACK_RETRY, SERVED_EXPIRY, ARM_DELTAS,
       ASSISTANT_TURNS, ASSISTANT_REPLIES, ASSISTANT_DLQ, ASSISTANT_EXPIRY)
DEAD_LETTERS = frozenset({SEARCH_DLQ, ADS_DLQ, SEARCH_FEEDBACK_DLQ, ASSISTANT_DLQ})

# Tables (their changelogs are `<app id>-<table>-changelog`)
SERVED = "served"  # request id -> the arms that served it (feedback's join side)
ARM_METRICS = "arm_metrics"  # experiment|arm|window -> metric sums
UNIT_METRICS = "unit_metrics"  # experiment|arm|user -> metric sums
ASSISTANT_SESSIONS = "assistant_sessions"  # session id -> session state
# Not a faust table: `aisle experiments publish` writes it in a table changelog's format and each
# worker follows it with its own consumer (streams/experiments/config_table.py).
EXPERIMENTS = "experiments"


def changelog(app_id: str, table: str) -> str:
    """The topic faust keeps ``table``'s changelog in."""
    return f"{app_id}-{table}-changelog"


def topic_specs(settings: TopicSettings) -> dict[str, TopicSpec]:
    spec = TopicSpec(settings.partitions, settings.replication_factor)
    return {settings.name(base): spec for base in ALL}


def raw_topic(app: faust.App, name: str) -> TopicT:
    """``name`` as a faust topic of raw bytes. Messages are decoded by the project
    (streams/decoding.py), never by faust's serializers, so that a bad message becomes a dead
    letter with a reason instead of a log line and a skip."""
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw")


@dataclass(frozen=True)
class BatchTopics:
    """A batch agent's input and its two outputs (one record per input message)."""

    source: TopicT
    result: TopicT
    dead_letter: TopicT

    def outputs(self) -> dict[str, TopicT]:
        """By output kind (``Output.kind``)."""
        return {"result": self.result, "dead_letter": self.dead_letter}


@dataclass(frozen=True)
class FeedbackTopics:
    """The feedback join's inputs, outputs and tables (streams/feedback.py)."""

    results: TopicT
    feedback: TopicT
    retries: TopicT
    dead_letter: TopicT
    deltas: TopicT
    expiry: TopicT
    served: TableT
    arm_metrics: TableT
    unit_metrics: TableT


@dataclass(frozen=True)
class AssistantTopics:
    """The assistant's turns, replies and session table (streams/assistant.py)."""

    turns: TopicT
    replies: TopicT
    dead_letter: TopicT
    expiry: TopicT
    sessions: TableT


@dataclass(frozen=True)
class WorkerTopics:
    """Everything a worker's agents read, write and keep; ``assistant`` and ``ads`` are None when
    settings turn them off (their tables must not exist then: faust would recover them)."""

    search: BatchTopics
    feedback: FeedbackTopics
    assistant: AssistantTopics | None
    ads: BatchTopics | None

    @classmethod
    def declare(cls, app: faust.App, settings: Settings) -> WorkerTopics:
        t = settings.topics

        def raw(base: str) -> TopicT:
            return raw_topic(app, t.name(base))

        def table(name: str) -> TableT:
            return app.Table(name, default=None, partitions=t.partitions)

        search = BatchTopics(raw(SEARCH_QUERIES), raw(SEARCH_RESULTS), raw(SEARCH_DLQ))
        feedback = FeedbackTopics(
            search.result, raw(SEARCH_FEEDBACK), raw(SEARCH_FEEDBACK_RETRY),
            raw(SEARCH_FEEDBACK_DLQ), raw(ARM_DELTAS), raw(SERVED_EXPIRY),
            table(SERVED), table(ARM_METRICS), table(UNIT_METRICS))
        assistant = (AssistantTopics(raw(ASSISTANT_TURNS), raw(ASSISTANT_REPLIES),
                                     raw(ASSISTANT_DLQ), raw(ASSISTANT_EXPIRY),
                                     table(ASSISTANT_SESSIONS))
                     if settings.assistant.enabled else None)
        ads = (BatchTopics(raw(ADS_REQUESTS), raw(ADS_CREATIVES), raw(ADS_DLQ))
               if settings.ads.enabled else None)
        return cls(search, feedback, assistant, ads)
