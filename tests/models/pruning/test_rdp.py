import numpy as np
import pytest

from aislestream.models.pruning.rdp import epsilon_for_budget, rdp, rdp_mask, segment_distances


def test_straight_line_keeps_only_its_end_points():
    line = np.stack([np.linspace(0, 1, 50), np.linspace(0, 2, 50)], axis=1)
    assert rdp_mask(line, 1e-9).tolist() == [True] + [False] * 48 + [True]


def test_corner_of_an_l_is_kept_and_the_straight_runs_are_dropped():
    corner = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [3, 2], [3, 3]], dtype=float)
    assert rdp(corner, 0.1).tolist() == [[0, 0], [3, 0], [3, 3]]


def test_matches_the_textbook_recursion_on_random_walks():
    def reference(points, eps):
        if len(points) < 3:
            return points
        d = segment_distances(points[1:-1], points[0], points[-1])
        i = int(np.argmax(d)) + 1
        if d[i - 1] <= eps:
            return np.stack([points[0], points[-1]])
        return np.concatenate([reference(points[:i + 1], eps)[:-1], reference(points[i:], eps)])

    rng = np.random.default_rng(0)
    for _ in range(20):
        walk = np.cumsum(rng.normal(size=(40, 2)), axis=0)
        eps = rng.uniform(0.2, 3.0)
        assert np.array_equal(rdp(walk, eps), reference(walk, eps))


def test_distance_is_to_the_segment_not_the_infinite_line():
    start, end = np.array([0.0, 0.0]), np.array([1.0, 0.0])
    assert (segment_distances(np.array([[3.0, 0.0], [0.5, 2.0]]), start, end)
            == pytest.approx([2.0, 2.0]))


def test_epsilon_for_budget_drops_exactly_the_flattest_points():
    # a piecewise-linear curve with one kink: every interior point but the kink can go
    x = np.arange(9, dtype=float)
    y = np.where(x <= 4, x, 4 + 3 * (x - 4))
    curve = np.stack([x, y], axis=1)
    eps = epsilon_for_budget(curve, 6)
    assert (~rdp_mask(curve, eps)).sum() == 6 and rdp_mask(curve, eps)[4]
    assert (~rdp_mask(curve, epsilon_for_budget(curve, 7))).sum() == 7
    assert epsilon_for_budget(curve, 0) == 0.0
    with pytest.raises(ValueError, match="between 0 and 7"):
        epsilon_for_budget(curve, 8)


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="n >= 2"):
        rdp_mask(np.zeros((1, 2)), 0.1)
    with pytest.raises(ValueError, match="epsilon"):
        rdp_mask(np.zeros((3, 2)), -1)
