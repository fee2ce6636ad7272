"""Topic names in one place. A prefix from settings namespaces a deployment or a test run."""

from __future__ import annotations

from aislestream.connectors.broker import TopicSpec
from aislestream.settings import TopicSettings

SEARCH_QUERIES = "search.queries"
SEARCH_RESULTS = "search.results"
SEARCH_DLQ = "search.queries.dlq"
ADS_REQUESTS = "ads.requests"
ADS_CREATIVES = "ads.creatives"
ADS_DLQ = "ads.requests.dlq"
SEARCH_FEEDBACK = "search.feedback"  # what shoppers did with each result list, keyed by request id
SEARCH_FEEDBACK_DLQ = "search.feedback.dlq"
SEARCH_FEEDBACK_RETRY = "search.feedback.retry"  # internal: feedback waiting for its result, with a due time
SERVED_EXPIRY = "search.served.expiry"  # internal: request ids whose `served` entry is past its TTL
ARM_DELTAS = "experiments.arm-deltas"  # internal: metric increments keyed by experiment|arm
ASSISTANT_TURNS = "assistant.turns"  # shopper turns, keyed by session id
ASSISTANT_REPLIES = "assistant.replies"
ASSISTANT_DLQ = "assistant.turns.dlq"
ASSISTANT_EXPIRY = "assistant.expiry"  # internal: idle session ids to drop, keyed by session id

# Messages are decoded by the project (streams/decoding.py), never by faust's serializers, so that a
# bad message becomes a dead letter with a reason instead of a log line and a skip.
RAW_BYTES = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}

ALL = (SEARCH_QUERIES, SEARCH_RESULTS, SEARCH_DLQ, ADS_REQUESTS, ADS_CREATIVES, ADS_DLQ,
       SEARCH_FEEDBACK, SEARCH_FEEDBACK_DLQ, SEARCH_FEEDBACK_RETRY, SERVED_EXPIRY, ARM_DELTAS,
       ASSISTANT_TURNS, ASSISTANT_REPLIES, ASSISTANT_DLQ, ASSISTANT_EXPIRY)


def topic_specs(settings: TopicSettings) -> dict[str, TopicSpec]:
    spec = TopicSpec(settings.partitions, settings.replication_factor)
    return {settings.name(base): spec for base in ALL}
