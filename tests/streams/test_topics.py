"""The worker's one declaration of topics and tables."""

from aislestream.settings import load_settings
from aislestream.streams import topics
from aislestream.streams.app import create_app


def declared(tmp_path, **overrides):
    settings = load_settings(topics={"prefix": "t1."}, **overrides)
    app = create_app(settings, "127.0.0.1:9", tmp_path)
    return app, topics.WorkerTopics.declare(app, settings)


def test_every_topic_is_raw_bytes_and_prefixed(tmp_path):
    _, worker = declared(tmp_path)
    search, feedback = worker.search, worker.feedback
    assert search.source.get_topic_name() == "t1.search.queries"
    assert {k: t.get_topic_name() for k, t in search.outputs().items()} == {
        "result": "t1.search.results", "dead_letter": "t1.search.queries.dlq"}
    assert feedback.results is search.result  # the join reads what search writes
    for topic in (search.source, feedback.feedback, feedback.retries, feedback.expiry):
        assert topic.key_serializer == topic.value_serializer == "raw"
        assert topic.key_type is topic.value_type is bytes


def test_optional_agents_declare_nothing_when_off(tmp_path):
    app, worker = declared(tmp_path, assistant={"enabled": False}, ads={"enabled": False})
    assert worker.assistant is None and worker.ads is None
    assert set(app.tables) == {topics.SERVED, topics.ARM_METRICS, topics.UNIT_METRICS}


def test_optional_agents_topics_and_tables_when_on(tmp_path):
    app, worker = declared(tmp_path, assistant={"enabled": True}, ads={"enabled": True})
    assert worker.assistant.turns.get_topic_name() == "t1.assistant.turns"
    assert worker.assistant.sessions is app.tables[topics.ASSISTANT_SESSIONS]
    assert worker.ads.source.get_topic_name() == "t1.ads.requests"
    assert worker.ads.result.get_topic_name() == "t1.ads.creatives"


def test_changelog_names_follow_faust():
    assert topics.changelog("app", topics.SERVED) == "app-served-changelog"
    assert topics.DEAD_LETTERS <= set(topics.ALL)
