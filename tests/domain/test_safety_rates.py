"""Wilson score intervals, table-tested against values computed another way.

References: Newcombe RG. Two-sided confidence intervals for the single proportion:
comparison of seven methods. Stat Med 1998;17:857-872, Table II, method 3 (score
interval without continuity correction) — 81/263, 15/148, 0/20, 1/29; the closed forms
at 0/n (upper = z²/(n+z²)) and n/n (lower = n/(n+z²)); and the roots of the score
equation (p̂ - p)² = z²·p(1 - p)/n solved as a quadratic here, independently of the
module's formula.
"""

from __future__ import annotations

import math

import pytest

from needlewise.domain.safety_rates import Z95, events_rate, rate, wilson_interval


def quadratic_roots(count: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Both roots of (1 + z²/n)p² - (2p̂ + z²/n)p + p̂² = 0."""
    p = count / total
    a = 1 + z * z / total
    b = -(2 * p + z * z / total)
    c = p * p
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.mark.parametrize(
    ("count", "total", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_newcombe_1998_table(count: int, total: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(count, total)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize("total", [1, 7, 300, 7629, 20494])
def test_zero_events_closed_form(total: int) -> None:
    low, high = wilson_interval(0, total)
    assert low == 0.0
    assert high == pytest.approx(Z95**2 / (total + Z95**2), rel=1e-12)


@pytest.mark.parametrize("total", [1, 7, 300, 7629])
def test_all_events_closed_form(total: int) -> None:
    low, high = wilson_interval(total, total)
    assert high == 1.0
    assert low == pytest.approx(total / (total + Z95**2), rel=1e-12)


@pytest.mark.parametrize(
    ("count", "total"), [(1, 2), (3, 40), (1463, 7629), (20, 20494), (7531, 20494), (99, 100)]
)
def test_matches_the_score_equation(count: int, total: int) -> None:
    assert wilson_interval(count, total) == pytest.approx(quadratic_roots(count, total), abs=1e-12)


def test_brady_zero_of_7629_upper_bound() -> None:
    """0 significant events in 7,629 treatments: our upper bound is 0.050 per 100 (the
    authors' own estimate, ≤ 0.04%, is a different method and is shown as theirs)."""
    r = rate(0, 7629)
    assert (r.per_100, r.low) == (0.0, 0.0)
    assert r.high == pytest.approx(0.0503, abs=5e-5)


def test_no_treatments_is_no_rate() -> None:
    r = rate(0, 0)
    assert (r.count, r.total, r.per_100, r.low, r.high, r.known) == (0, 0, None, None, None, False)


def test_rate_per_100() -> None:
    r = rate(3, 40)
    assert r.per_100 == pytest.approx(7.5)
    low, high = quadratic_roots(3, 40)
    assert r.low == pytest.approx(100 * low)
    assert r.high == pytest.approx(100 * high)


def test_events_rate_keeps_the_events_rate() -> None:
    r = events_rate(1463, 7629)
    low, mid, high = r.low, r.per_100, r.high
    assert mid == pytest.approx(19.177, abs=1e-3)
    assert low is not None
    assert mid is not None
    assert high is not None
    assert low < mid < high


@pytest.mark.parametrize(("count", "total"), [(-1, 5), (6, 5), (0, 0), (0, -1)])
def test_bad_counts_are_refused(count: int, total: int) -> None:
    with pytest.raises(ValueError, match=r"treatment|count"):
        wilson_interval(count, total)
