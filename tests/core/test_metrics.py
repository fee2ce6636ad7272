import math

import pytest

from aislestream.core.metrics import ndcg_at_k, recall_at_k, score_by_type


def test_recall_is_capped_at_k():
    relevance = {f"p{i}": 2 for i in range(100)}
    assert recall_at_k([f"p{i}" for i in range(10)], relevance, 10) == 1.0
    assert recall_at_k(["x", "p1", "y"], {"p1": 3, "p2": 2}, 10) == 0.5
    assert recall_at_k(["p1"], {"p1": 1}, 10) == 0.0  # grade 1 is not "relevant"


def test_ndcg_known_values():
    relevance = {"a": 3, "b": 1}
    assert ndcg_at_k(["a", "b"], relevance, 10) == pytest.approx(1.0)
    swapped = (1 / 1 + 7 / math.log2(3)) / (7 / 1 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], relevance, 10) == pytest.approx(swapped)
    assert ndcg_at_k(["z"], relevance, 10) == 0.0


def test_score_by_type_averages_per_type_and_overall():
    rows = [("head", ["a"], {"a": 3}), ("head", ["z"], {"a": 3}), ("brand", ["a"], {"a": 2})]
    scores = score_by_type(rows, 10)
    assert scores["head"].queries == 2 and scores["head"].recall == 0.5
    assert scores["brand"].recall == 1.0
    assert scores["all"].queries == 3 and scores["all"].recall == pytest.approx(2 / 3)
