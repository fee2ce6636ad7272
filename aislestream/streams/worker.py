"""Run the search-augmentation worker: build engines from settings, glue them to Kafka, serve."""

from __future__ import annotations

import hashlib
import logging

import faust

from aislestream.connectors.broker import ensure_topics, wait_for_broker
from aislestream.connectors.search import build_search_store
from aislestream.engines.expansion.pool import ExpanderPool
from aislestream.errors import ConfigError
from aislestream.redact import install_log_filter
from aislestream.settings import Settings
from aislestream.streams.app import create_app, register_ads_agent, register_search_agent
from aislestream.streams.experiments.config_table import register_experiment_table
from aislestream.streams.feedback import register_feedback_agents
from aislestream.streams.health import register_health
from aislestream.streams.pipeline import SearchPipeline
from aislestream.streams.topics import topic_specs

log = logging.getLogger(__name__)


def build_worker_app(settings: Settings, bootstrap: str) -> faust.App:
    store = build_search_store(settings.store, settings.store_path())
    if store.count() == 0:
        raise ConfigError(
            f"search store at {settings.store_path()} is empty: run `aisle index` first"
        )
    pipeline = SearchPipeline(ExpanderPool(settings.expansion, store, settings.data_dir), store, settings.stream)
    # faust keeps per-app state on disk; tie it to the broker so a fresh (in-memory) broker
    # never meets offsets remembered from an old one.
    tag = hashlib.sha1(bootstrap.encode()).hexdigest()[:10]
    datadir = settings.data_dir / "faust" / f"{settings.stream.app_id}-{tag}"
    datadir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, bootstrap, datadir)
    registry = register_experiment_table(app, bootstrap, settings.stream.app_id, settings.topics,
                                         settings.stream.fetch_max_wait_ms)
    pipeline.experiments = registry
    register_search_agent(app, settings, pipeline, ready=registry.loaded.wait)
    register_feedback_agents(app, settings)
    register_health(app, settings, bootstrap)
    if settings.assistant.enabled:
        from aislestream.engines.assistant.factory import build_assistant
        from aislestream.streams.assistant import register_assistant_agent

        register_assistant_agent(app, settings, build_assistant(settings.assistant, store, settings.data_dir))
    if settings.ads.enabled:
        register_ads_agent(app, settings, build_ads_pipeline(settings, registry), ready=registry.loaded.wait)
    return app


def build_ads_pipeline(settings: Settings, experiments=tuple):
    """The ads agent's pipeline: creative service and ad store from settings, arms from
    ``experiments``."""
    from aislestream.connectors.adstore import build_ad_store
    from aislestream.engines.generation import build_creative_service
    from aislestream.streams.ads import AdsPipeline

    return AdsPipeline(build_creative_service(settings), build_ad_store(settings), settings.stream,
                       experiments)


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    bootstrap = settings.broker.bootstrap_servers
    if not bootstrap:
        raise ConfigError(
            "no broker configured: set AISLE_BROKER__BOOTSTRAP_SERVERS (or run `aisle up` and "
            "use the address it prints)"
        )
    wait_for_broker(bootstrap, settings.broker.connect_timeout_s)
    ensure_topics(bootstrap, topic_specs(settings.topics))
    app = build_worker_app(settings, bootstrap)
    log.info("worker serving %s with expander %s/%s", bootstrap,
             settings.expansion.engine, settings.expansion.variant)
    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()


class Worker(faust.Worker):
    """faust's worker replaces the root logger's handlers when it starts, dropping the CLI's
    redacting filter: it is put back on the new handlers, so worker logs never show a password.
    (Named ``Worker`` because faust labels its log lines by class name: "[^Worker]: Ready" is
    what supervisors wait for.)"""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        install_log_filter()
