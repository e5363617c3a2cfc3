"""The analytic side of docking, checked against the papers' own statements and against itself: each
gradient computed from the games' payoffs must equal the paper's closed form, and the fixed-point structure
must be the one the papers prove (Granovetter 1978; Pacheco et al. 2009, table 2; Santos & Pacheco 2011)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.studies.docking import analytic as a

XS = np.linspace(0.0, 1.0, 501)


def test_granovetter_classic_example():
    """Thresholds 0, 1, ..., 99: everybody joins; give the threshold-1 actor a threshold of 2: only one does."""
    assert a.cascade_adopters(range(100)) == 100
    assert a.cascade_adopters([0, 2, *range(2, 100)]) == 1
    assert a.cascade_adopters([1, 1, 1]) == 0  # nobody starts
    assert a.cascade_adopters([0, 0, 5, 5]) == 2


def test_granovetter_distribution_reaches_the_smallest_fixed_point():
    """r = N·F(r) from 0 for uniform thresholds on [0, N): every r is a fixed point, and from 0 nobody moves
    unless some thresholds are 0; with F(r) = min(1, 0.1 + r/N) the cascade runs to N."""
    n = 100
    assert a.cascade_adopters_expected(n, lambda r: min(1.0, r / n)) == 0.0
    assert a.cascade_adopters_expected(n, lambda r: min(1.0, 0.1 + r / n)) == pytest.approx(n, abs=1e-6)
    # a fixed point in between: F(r) = 0.2 + 0.5 r/N  ->  r = 0.2 N / 0.5 = 40
    assert a.cascade_adopters_expected(n, lambda r: 0.2 + 0.5 * r / n) == pytest.approx(40.0, abs=1e-6)


def test_binomial_weights_sum_to_one_and_match_math_comb():
    w = a.binomial_weights(7, XS)
    assert np.allclose(w.sum(axis=0), 1.0)
    x = 0.3
    assert w[:, 150] == pytest.approx([math.comb(7, k) * x**k * (1 - x) ** (7 - k) for k in range(8)])


@pytest.mark.parametrize(("n", "m", "f"), [(20, 10, 8.0), (20, 10, 25.0), (10, 5, 6.0), (5, 1, 3.0), (6, 6, 5.5)])
def test_stag_hunt_gradient_from_payoffs_equals_the_closed_form(n, m, f):
    assert np.allclose(a.stag_hunt_gradient(XS, n, m, f, 1.0), a.stag_hunt_gradient_closed(XS, n, m, f, 1.0),
                       atol=1e-12)


@pytest.mark.parametrize(("n", "m"), [(20, 10), (10, 3), (8, 7), (30, 20)])
def test_stag_hunt_fixed_points_follow_table_2(n, m):
    """Pacheco et al. (2009), table 2 (1 < M < N): no interior point below F*; x_L < x_R between F* and N; only
    x_L above N."""
    fstar = a.stag_hunt_critical(n, m)
    assert 0 < fstar < n
    assert a.stag_hunt_roots(n, m, 0.98 * fstar).roots == ()
    between = a.stag_hunt_roots(n, m, 0.5 * (fstar + n)).roots
    assert len(between) == 2 and 0 < between[0] < between[1] < 1
    # x_L unstable, x_R stable: the gradient goes - + - across them
    g = a.stag_hunt_gradient(np.array([between[0] / 2, sum(between) / 2, (between[1] + 1) / 2]), n, m,
                             0.5 * (fstar + n))
    assert g[0] < 0 < g[1] and g[2] < 0
    above = a.stag_hunt_roots(n, m, 1.5 * n).roots
    assert len(above) == 1


def test_stag_hunt_without_threshold_is_the_n_person_prisoners_dilemma():
    """M = 1: f_C − f_D = c (F/N − 1) everywhere: cooperation is dominated iff F < N, and F* = N."""
    assert a.stag_hunt_critical(10, 1) == pytest.approx(10.0)
    assert np.allclose(a.stag_hunt_gradient(XS, 10, 1, 7.0, 2.0), 2.0 * (7.0 / 10 - 1))


def test_stag_hunt_with_everyone_needed_is_a_coordination_game():
    """M = N (a degenerate case of the paper): S(x) = N x^{N−1}, so F* = 1 and, above it, one unstable point
    x = F^(−1/(N−1)) separating all-defect from all-cooperate."""
    n, f = 8, 3.0
    assert a.stag_hunt_critical(n, n) == pytest.approx(1.0, rel=1e-9)
    (root,) = a.stag_hunt_roots(n, n, f).roots
    assert root == pytest.approx(f ** (-1 / (n - 1)), abs=1e-9)


def test_stag_hunt_critical_is_where_roots_appear():
    """F* from the closed form (N / max S) and from counting the roots of the payoff gradient agree."""
    n, m = 20, 10
    fstar = a.stag_hunt_critical(n, m)
    lo, hi = 0.5 * fstar, n - 1e-9
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if a.stag_hunt_roots(n, m, mid).roots else (mid, hi)
    assert hi == pytest.approx(fstar, rel=1e-6)


@pytest.mark.parametrize(("n", "m", "cost", "risk"), [(6, 3, 0.1, 0.3), (10, 5, 0.1, 0.9), (4, 1, 0.2, 0.5)])
def test_collective_risk_gradient_from_payoffs_equals_the_closed_form(n, m, cost, risk):
    assert np.allclose(a.collective_risk_gradient(XS, n, m, cost, risk),
                       a.collective_risk_gradient_closed(XS, n, m, cost, risk), atol=1e-12)


def test_collective_risk_interior_points_exist_iff_risk_passes_the_critical_value():
    """Santos & Pacheco (2011): interior fixed points iff r > c / Γ((M−1)/(N−1)); then two of them, around
    (M−1)/(N−1); with the risk high enough (r = 1), cooperation is sustained."""
    n, m, c = 6, 3, 0.1
    rstar = a.collective_risk_critical(n, m, c)
    assert rstar is not None and 0 < rstar < 1
    assert a.collective_risk_roots(n, m, c, 0.98 * rstar).roots == ()
    roots = a.collective_risk_roots(n, m, c, min(1.0, 1.5 * rstar)).roots
    assert len(roots) == 2 and roots[0] < (m - 1) / (n - 1) < roots[1]
    assert a.collective_risk_critical(10, 5, 0.9) is None  # a cost this high cannot be made up by any risk


@pytest.mark.parametrize(("n", "m"), [(1, 1), (5, 0), (5, 6)])
def test_out_of_range_groups_are_refused(n, m):
    with pytest.raises(ValueError, match="group_size|threshold"):
        a.stag_hunt_gradient(XS, n, m, 5.0)
