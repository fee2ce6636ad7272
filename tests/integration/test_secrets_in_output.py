"""No password reaches a worker's log or a CLI error line, whatever fails: the output is grepped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from aislestream.connectors.kafka_io import produce
from aislestream.streams import topics
from tests.integration.test_search_stream import ads_worker_settings
from tests.tcp_proxy import free_port

pytestmark = pytest.mark.integration
SECRET = "Sup3r-S3cret-9q"


def test_a_worker_whose_ad_store_is_unreachable_never_logs_its_password(
        broker, tantivy_store, micro_ads, started_worker, tmp_path):
    settings = ads_worker_settings(broker, tantivy_store.path, tmp_path, micro_ads)
    settings.ads.store = "postgres"
    settings.ads.postgres_dsn = f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/ads?password={SECRET}"
    worker = started_worker(settings)
    produce(broker, settings.topics.name(topics.ADS_REQUESTS), [(b"a1", json.dumps(
        {"request_id": "a1", "product_id": "p1", "shape": "ball", "colour": "red"}).encode())])
    deadline = time.monotonic() + 90
    while ("waits for a dependency" not in (log := worker.log_path.read_text())
           and time.monotonic() < deadline):
        time.sleep(1)
    assert "waits for a dependency" in log and "cannot reach PostgreSQL" in log
    assert SECRET not in log


def test_cli_errors_about_elasticsearch_never_show_its_password(tmp_path):
    env = {**os.environ, "AISLE_DATA_DIR": str(tmp_path), "AISLE_STORE__BACKEND": "elasticsearch",
           "AISLE_STORE__ES_URL": f"http://elastic:{SECRET}@127.0.0.1:{free_port()}"}
    done = subprocess.run([sys.executable, "-m", "aislestream.cli.main", "index"], env=env,
                          capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 2 and "error:" in output
    assert SECRET not in output
