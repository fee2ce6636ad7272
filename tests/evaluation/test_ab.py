import numpy as np
import pytest
from scipy import stats

from aislestream.evaluation.ab import (
    compare_means,
    compare_proportions,
    proportion_interval,
    sample_ratio_mismatch,
)


def test_aa_tests_reject_at_about_the_significance_level():
    rng = np.random.default_rng(0)
    n, p = 4_000, 0.1
    rejections = [compare_proportions(rng.binomial(n, p), n, rng.binomial(n, p), n).significant()
                  for _ in range(2_000)]
    assert np.mean(rejections) == pytest.approx(0.05, abs=0.015)


def test_a_real_difference_is_found_in_the_right_direction():
    c = compare_proportions(2_000, 20_000, 2_400, 20_000)
    assert c.significant() and c.diff == pytest.approx(0.02) and c.lift == pytest.approx(0.2)
    assert c.ci_low < 0.02 < c.ci_high and c.ci_low > 0


def test_welch_from_sums_matches_scipy_on_the_raw_data():
    rng = np.random.default_rng(1)
    a, b = rng.exponential(10, 500), rng.exponential(11, 700)
    got = compare_means(a.sum(), (a ** 2).sum(), len(a), b.sum(), (b ** 2).sum(), len(b))
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    assert got.diff == pytest.approx(b.mean() - a.mean())


def test_wilson_interval_and_sample_ratio_mismatch():
    low, high = proportion_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-3)
    assert (sample_ratio_mismatch({"a": 5_000, "b": 5_000}, {"a": 0.5, "b": 0.5})
            == pytest.approx(1.0))
    assert sample_ratio_mismatch({"a": 5_300, "b": 4_700}, {"a": 0.5, "b": 0.5}) < 1e-6
    assert sample_ratio_mismatch({"a": 9_000, "b": 1_000}, {"a": 0.9, "b": 0.1}) > 0.5


def test_degenerate_inputs_are_errors_not_nans():
    with pytest.raises(ValueError, match="at least one unit"):
        compare_proportions(0, 0, 1, 10)
    with pytest.raises(ValueError, match="at least two units"):
        compare_means(1.0, 1.0, 1, 2.0, 4.0, 1)


def test_delta_method_holds_alpha_where_query_level_tests_over_reject():
    """Users with several correlated queries each (a per-user propensity): A/A splits by user."""
    from aislestream.evaluation.ab import compare_ratios

    rng = np.random.default_rng(2)
    by_unit, by_query = [], []
    for _ in range(400):
        users = 2_000
        queries = rng.integers(1, 8, users)
        propensity = rng.beta(1, 4, users)
        conversions = rng.binomial(queries, propensity)
        half = rng.random(users) < 0.5
        by_unit.append(compare_ratios(conversions[half], queries[half], conversions[~half],
                                      queries[~half]).significant())
        by_query.append(compare_proportions(int(conversions[half].sum()), int(queries[half].sum()),
                                            int(conversions[~half].sum()),
                                            int(queries[~half].sum())).significant())
    assert np.mean(by_unit) == pytest.approx(0.05, abs=0.03)
    assert np.mean(by_query) > 0.1
