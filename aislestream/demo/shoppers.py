"""Simulated shoppers: the front end that shows each search result and reports what the
shopper did with it (impressions, clicks, add-to-cart, purchases) on the feedback topic.

The behaviour simulator knows each query's graded relevance, so the difference between two
arms that it produces is the ground truth an A/B report must find.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aislestream.models.world.behaviour import BehaviourSimulator
from aislestream.models.world.queries import LabelledQuery


def feedback_for(result: dict, query: LabelledQuery,
                 simulator: BehaviourSimulator) -> tuple[bytes, bytes]:
    ranked = [h["id"] for h in result["hits"]]
    outcome = simulator.session(result.get("user_id") or "", ranked, query.relevance)
    record = {"request_id": result["request_id"], "user_id": result.get("user_id"),
              "impressions": len(outcome.impressions), "clicks": len(outcome.clicks),
              "carts": len(outcome.carts), "purchases": len(outcome.purchases),
              "revenue": round(outcome.revenue, 2)}
    return result["request_id"].encode(), json.dumps(record).encode()


def feedback_batch(results: list[dict], labelled: Mapping[str, LabelledQuery],
                   simulator: BehaviourSimulator) -> list[tuple[bytes, bytes]]:
    """Feedback for every result whose query the simulator knows (probes and strangers are
    skipped)."""
    return [feedback_for(r, labelled[r["request_id"]], simulator)
            for r in results if r["request_id"] in labelled]
