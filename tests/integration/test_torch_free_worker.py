"""The serving path starts without the ML stack: the slim worker image has no torch, transformers,
diffusers or onnxruntime. The CLI is imported and a PRF worker serves a query with them blocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from aislestream.connectors.broker import ensure_topics
from aislestream.connectors.kafka_io import collect, produce
from aislestream.stack.runtime import settings_env
from aislestream.streams import topics
from aislestream.streams.topics import topic_specs
from tests.integration.test_search_stream import worker_settings

pytestmark = pytest.mark.integration
BLOCKED = ("torch", "transformers", "diffusers", "onnxruntime")
BLOCKER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is not installed on the slim image")
sys.meta_path.insert(0, Block())
from aislestream.cli.main import main
sys.argv = ["aisle", *sys.argv[1:]]
main()
"""


def test_help_imports_no_ml_module():
    done = subprocess.run([sys.executable, "-c", BLOCKER, "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "worker" in done.stdout


def test_a_prf_worker_serves_with_the_ml_stack_blocked(broker, tantivy_store, tmp_path):
    settings = worker_settings(broker, tantivy_store.path, tmp_path, engine="prf")
    ensure_topics(broker, topic_specs(settings.topics))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AISLE_")}
    env.update(settings_env(settings))
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-c", BLOCKER, "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        rid = f"slim-{uuid.uuid4().hex[:6]}"
        produce(broker, settings.topics.name(topics.SEARCH_QUERIES),
                [(rid.encode(), json.dumps({"request_id": rid, "query": "red kicks"}).encode())])
        got = collect(broker, [settings.topics.name(topics.SEARCH_RESULTS)], 10**9, 120,
                      stop=lambda rs: (any(r.key == rid.encode() for r in rs)
                                       or worker.poll() is not None))
        answer = [json.loads(r.value) for r in got if r.key == rid.encode()]
        assert answer, (tmp_path / "worker.log").read_text()[-3000:]
        assert answer[0]["engine"] == "prf" and answer[0]["hits"]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
