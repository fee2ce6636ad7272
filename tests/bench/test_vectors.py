import numpy as np

from aislestream.bench.vectors import RECALL_FLOOR, choose, compare


def test_every_index_is_measured_against_exact_search_and_the_choice_respects_the_floor():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(2_000, 16)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    results = compare(rows, rows[:100], k=10)
    assert set(results) == {"exact", "usearch", "faiss", "hnswlib"}
    assert results["exact"]["recall_at_10"] == 1.0
    for r in results.values():
        assert r["build_s"] >= 0 and r["queries_per_s_batch64"] > 0
    picked = choose(results, 10)
    assert results[picked]["recall_at_10"] >= RECALL_FLOOR
    slow_but_right = {"a": {"recall_at_10": 1.0, "queries_per_s_batch64": 10.0},
                      "b": {"recall_at_10": 0.5, "queries_per_s_batch64": 1e6}}
    assert choose(slow_but_right, 10) == "a"
