"""The Grafana dashboard charts only metrics a worker exports (names drift silently otherwise)."""

import json
import re
from pathlib import Path

from faust.sensors.prometheus import FaustMetrics

from aislestream.streams.metrics import WorkerMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "aislestream.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
            "gauge": ("",)}


def exported() -> set[str]:
    metrics = WorkerMetrics()
    FaustMetrics.create(metrics.registry, "faust")  # what install_faust_sensor registers
    return {family.name + suffix for family in metrics.registry.collect()
            for suffix in SUFFIXES.get(family.type, ("",))}


def test_every_expression_names_an_exported_metric():
    dashboard = json.loads(DASHBOARD.read_text())
    names = exported()
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 12
    used = {m for e in exprs for m in re.findall(r"\b(?:aisle|faust)_[a-z_]+", e)}
    assert used and used <= names, used - names
    assert {"aisle_messages_in_total", "aisle_dead_letters_total", "aisle_consumer_lag",
            "aisle_message_latency_seconds_bucket"} <= used
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
