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

ALL = (SEARCH_QUERIES, SEARCH_RESULTS, SEARCH_DLQ, ADS_REQUESTS, ADS_CREATIVES, ADS_DLQ)


def topic_specs(settings: TopicSettings) -> dict[str, TopicSpec]:
    spec = TopicSpec(settings.partitions, settings.replication_factor)
    return {settings.name(base): spec for base in ALL}
