"""A/B statistics for per-arm aggregates: intervals, lift, significance, sample-ratio mismatch.

Rates (CTR, conversion, zero-result rate) are per-query proportions compared with a pooled
two-proportion z-test; revenue and latency per query are means compared with Welch's t-test
(from sums and sums of squares, so arms can be aggregated in a stream). The sample-ratio
check compares arm sizes with the configured shares by a chi-square test: a mismatch means
assignment or logging is broken and the other numbers should not be trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Comparison:
    control: float
    treatment: float
    diff: float
    ci_low: float  # of the difference, at 1 - alpha
    ci_high: float
    lift: float | None  # treatment / control - 1
    p_value: float

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def _lift(control: float, treatment: float) -> float | None:
    return treatment / control - 1 if control else None


def compare_proportions(x_c: int, n_c: int, x_t: int, n_t: int, alpha: float = 0.05) -> Comparison:
    if min(n_c, n_t) == 0:
        raise ValueError("both arms need at least one unit")
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    p_value = 1.0 if se_pooled == 0 else float(2 * stats.norm.sf(abs(p_t - p_c) / se_pooled))
    se = math.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    z = float(stats.norm.ppf(1 - alpha / 2))
    diff = p_t - p_c
    return Comparison(p_c, p_t, diff, diff - z * se, diff + z * se, _lift(p_c, p_t), p_value)


def compare_means(sum_c: float, sq_c: float, n_c: int, sum_t: float, sq_t: float, n_t: int,
                  alpha: float = 0.05) -> Comparison:
    """Welch's t-test from sums and sums of squares."""
    if min(n_c, n_t) < 2:
        raise ValueError("both arms need at least two units")
    m_c, m_t = sum_c / n_c, sum_t / n_t
    v_c = max(sq_c - n_c * m_c ** 2, 0.0) / (n_c - 1)
    v_t = max(sq_t - n_t * m_t ** 2, 0.0) / (n_t - 1)
    se2 = v_c / n_c + v_t / n_t
    diff = m_t - m_c
    if se2 == 0:
        return Comparison(m_c, m_t, diff, diff, diff, _lift(m_c, m_t), 1.0 if diff == 0 else 0.0)
    dof = se2 ** 2 / ((v_c / n_c) ** 2 / (n_c - 1) + (v_t / n_t) ** 2 / (n_t - 1))
    t = diff / math.sqrt(se2)
    p_value = float(2 * stats.t.sf(abs(t), dof))
    half = float(stats.t.ppf(1 - alpha / 2, dof)) * math.sqrt(se2)
    return Comparison(m_c, m_t, diff, diff - half, diff + half, _lift(m_c, m_t), p_value)


def compare_ratios(x_c: np.ndarray, y_c: np.ndarray, x_t: np.ndarray, y_t: np.ndarray,
                   alpha: float = 0.05) -> Comparison:
    """Ratio metrics (sum x / sum y, e.g. conversions per query) when the randomised unit (a
    user) contributes several y: the delta method on per-unit sums. Treating each query as
    independent instead under-states the variance whenever a unit's queries are correlated,
    and A/A tests then 'find' differences far more often than alpha."""
    def ratio_and_var(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        n, mx, my = len(x), x.mean(), y.mean()
        r = mx / my
        cov = np.cov(x, y, ddof=1)
        return r, float((cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * my * my))

    if min(len(x_c), len(x_t)) < 2:
        raise ValueError("both arms need at least two units")
    r_c, v_c = ratio_and_var(np.asarray(x_c, float), np.asarray(y_c, float))
    r_t, v_t = ratio_and_var(np.asarray(x_t, float), np.asarray(y_t, float))
    diff, se = r_t - r_c, math.sqrt(v_c + v_t)
    p_value = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(diff) / se))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return Comparison(r_c, r_t, diff, diff - z * se, diff + z * se, _lift(r_c, r_t), p_value)


def sample_ratio_mismatch(counts: Mapping[str, int], shares: Mapping[str, float]) -> float:
    """p-value of the chi-square test of observed arm sizes against the configured shares."""
    arms: Sequence[str] = list(shares)
    observed = [counts.get(a, 0) for a in arms]
    total = sum(observed)
    if total == 0 or len(arms) < 2:
        return 1.0
    expected = [shares[a] * total for a in arms]
    return float(stats.chisquare(observed, expected).pvalue)


def proportion_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval (sane at rates near 0 or 1, unlike the Wald interval)."""
    if n == 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)
