"""Run the search-augmentation worker: build engines from settings, glue them to Kafka, serve."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import faust

from aislestream.connectors.broker import ensure_topics, wait_for_broker
from aislestream.connectors.search import build_search_store
from aislestream.engines.expansion.pool import ExpanderPool
from aislestream.errors import ConfigError
from aislestream.redact import install_log_filter
from aislestream.settings import Settings
from aislestream.streams.app import (
    attach_metrics,
    create_app,
    register_ads_agent,
    register_search_agent,
)
from aislestream.streams.experiments.config_table import register_experiment_table
from aislestream.streams.feedback import register_feedback_agents
from aislestream.streams.health import LatestReport, register_health
from aislestream.streams.pipeline import SearchPipeline
from aislestream.streams.topics import WorkerTopics, topic_specs

log = logging.getLogger(__name__)


def build_worker_app(settings: Settings, bootstrap: str) -> faust.App:
    """The worker's app, in the order of a faust example: engines, app, topics and tables,
    agents. All of it is built before the app starts, so a worker that cannot serve (an empty
    store, a missing model) fails here and never joins the consumer group."""
    # 1. engines: the search store (it must hold a catalog), the expanders over it, the
    #    assistant and the ads pipeline when enabled
    store = build_search_store(settings.store, settings.store_path())
    if store.count() == 0:
        raise ConfigError(
            f"search store at {settings.store_path()} is empty: run `aisle index` first"
        )
    pipeline = SearchPipeline(ExpanderPool(settings.expansion, store, settings.data_dir), store,
                              settings.stream)
    assistant = None
    if settings.assistant.enabled:
        from aislestream.engines.assistant.factory import build_assistant

        assistant = build_assistant(settings.assistant, store, settings.data_dir)
    ads = build_ads_pipeline(settings) if settings.ads.enabled else None

    # 2. the app, its state on disk tied to the broker; its metrics and probes (served from
    #    now: a port in use fails here, before the worker joins its group)
    app = create_app(settings, bootstrap, faust_datadir(settings, bootstrap))
    latest, metrics_url = LatestReport(settings.metrics.probe_max_age_s), None
    if settings.metrics.enabled:
        metrics_url = serve_metrics(app, settings, latest)

    # 3. topics and tables, all of them here; the experiments config has its own reader, which
    #    the search and ads pipelines consult for the arms of each request
    declared = WorkerTopics.declare(app, settings)
    registry = register_experiment_table(app, bootstrap, settings.stream.app_id, settings.topics,
                                         settings.stream.fetch_max_wait_ms)
    pipeline.experiments = registry

    # 4. agents (and timers), each given what it reads, writes and keeps
    register_search_agent(app, settings, pipeline, declared.search, ready=registry.loaded.wait)
    register_feedback_agents(app, settings, declared.feedback)
    register_health(app, settings, bootstrap, metrics_url=metrics_url, latest=latest)
    if assistant is not None and declared.assistant is not None:  # both follow assistant.enabled
        from aislestream.streams.assistant import register_assistant_agent

        register_assistant_agent(app, settings, declared.assistant, assistant)
    if ads is not None and declared.ads is not None:  # both follow ads.enabled
        ads.experiments = registry
        register_ads_agent(app, settings, ads, declared.ads, ready=registry.loaded.wait)
    return app


def serve_metrics(app: faust.App, settings: Settings, latest: LatestReport) -> str:
    """The worker's registry on ``app`` (agents registered after this find it) and its
    server, started; the URL it serves on."""
    from aislestream.streams.metrics import ProbeServer, WorkerMetrics

    metrics = WorkerMetrics()
    attach_metrics(app, metrics)
    server = ProbeServer(metrics.registry, settings.metrics.host, settings.metrics.port,
                         live=lambda: latest.problems(ready=False),
                         ready=lambda: latest.problems(ready=True))
    return server.start()


def faust_datadir(settings: Settings, bootstrap: str) -> Path:
    """faust keeps per-app state on disk; it is tied to the broker so a fresh (in-memory)
    broker never meets offsets remembered from an old one."""
    tag = hashlib.sha1(bootstrap.encode()).hexdigest()[:10]
    path = settings.artifacts.faust / f"{settings.stream.app_id}-{tag}"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
