"""The life cycle's feedbacks (ODD 7.21), each in isolation, and the survival study of cluster ages.

Knowledge diversity; lock-in (diversity below ``lock_in_diversity`` puts a grown cluster in decline); the
dissolution hazard of declining clusters; the discount prospective members apply to a declining cluster;
re-orientation toward the orientations that pay; renewals counted; and the life-table hazard of
:mod:`clustersim.studies.lifecycle`, on a table whose answer is known.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import add_cluster, quiet_model

from clustersim.model.mechanisms import actions, lifecycle
from clustersim.model.state import STAGE_DECLINE, STAGE_MATURITY
from clustersim.studies.lifecycle import hazard_table, size_distribution


def _grown_cluster(params: dict | None = None, members=(0, 1, 2, 3, 4, 5)) -> tuple:
    m = quiet_model(40, 3, {"clusters.min_size": 2, **(params or {})})
    row = add_cluster(m, members)
    m.now += m.p.clusters.emergence_age + 4  # past emergence
    return m, row, np.array(members)


def test_diversity_is_the_members_mean_absolute_deviation_from_their_mean():
    m, row, members = _grown_cluster({"clusters.lock_in_diversity": 0.01})  # computed when lock-in reads it
    cap = np.random.default_rng(2).uniform(0, 1, (len(members), m.K))
    m.firms.cap[members] = cap
    lifecycle.life_cycle(m)
    assert m.clusters.diversity[row] == pytest.approx(np.abs(cap - cap.mean(axis=0)).mean(), rel=1e-12)


@pytest.mark.parametrize(("threshold", "declines"), [(0.0, False), (0.05, True)])
def test_members_whose_knowledge_converged_lock_the_cluster_in(threshold, declines):
    m, row, members = _grown_cluster({"clusters.lock_in_diversity": threshold})
    m.firms.cap[members] = 0.4  # identical members: diversity 0
    m.prev_sizes = m.clusters.size[: m.clusters.n].astype(float)  # no membership trend
    lifecycle.life_cycle(m)
    assert m.clusters.diversity[row] == pytest.approx(0.0, abs=1e-12)
    assert (m.clusters.stage[row] == STAGE_DECLINE) == declines


def test_a_diverse_cluster_is_not_locked_in():
    m, row, members = _grown_cluster({"clusters.lock_in_diversity": 0.05})
    m.firms.cap[members] = np.random.default_rng(4).uniform(0, 1, (len(members), m.K))
    m.prev_sizes = m.clusters.size[: m.clusters.n].astype(float)
    lifecycle.life_cycle(m)
    assert m.clusters.diversity[row] > 0.05 and m.clusters.stage[row] == STAGE_MATURITY


@pytest.mark.parametrize(("hazard", "dissolved"), [(0.0, False), (1.0, True)])
def test_a_declining_cluster_dissolves_with_the_decline_hazard(hazard, dissolved):
    m, row, members = _grown_cluster({"clusters.lock_in_diversity": 0.05, "clusters.decline_hazard": hazard})
    m.firms.cap[members] = 0.4
    lifecycle.life_cycle(m)
    assert m.clusters.alive[row] != dissolved
    assert m.counters.clusters_dissolved == int(dissolved)


def test_the_decline_hazard_is_a_chance_per_quarter():
    """Many locked-in clusters, hazard 0.3: about 30 % dissolve in one quarter."""
    m = quiet_model(400, 5, {"clusters.min_size": 2, "clusters.lock_in_diversity": 0.05,
                             "clusters.decline_hazard": 0.3, "firms.max_memberships": 1})
    rows = [add_cluster(m, range(k, k + 4)) for k in range(0, 400, 4)]
    m.firms.cap[:400] = 0.4
    m.now += 20
    lifecycle.life_cycle(m)
    share = 1 - m.clusters.alive[rows].mean()
    assert share == pytest.approx(0.3, abs=0.1)  # 100 draws: sd 0.046


def test_prospective_members_discount_a_declining_cluster():
    """E(d = 0) − E(d) = d · gross: the discount applies to the gross estimate, not to the fee and contributions."""
    estimates = {}
    for d in (0.0, 0.5, 1.0):
        m, row, _ = _grown_cluster({"clusters.decline_discount": d})
        m.clusters.reputation[row] = 20.0
        m.clusters.stage[row] = STAGE_DECLINE
        outsiders = np.arange(10, 30)
        estimates[d] = m.expected_benefit(outsiders, np.full(len(outsiders), row), noise=False)
    gross = estimates[0.0] - estimates[1.0]
    assert (gross > 0).any()
    np.testing.assert_allclose(estimates[0.0] - estimates[0.5], 0.5 * gross, rtol=1e-12, atol=1e-12)


def test_the_orientation_mix_moves_toward_what_pays():
    m, row, _ = _grown_cluster({"clusters.reorientation_rate": 0.1})
    C = m.clusters
    C.orient[row] = [0.5, 0.5, 0.0]  # the club is not pursued: it stays dropped
    C.orient_payoff[row] = [3.0, 1.0, 9.0]
    lifecycle.reorient(m, np.array([row]))
    scale = m.p.learning.payoff_signal_scale
    np.testing.assert_allclose(C.orient[row], [0.5 + 0.1 * math.tanh(1.0 / scale), 0.5 + 0.1 * math.tanh(-1.0 / scale),
                                               0.0], rtol=1e-12)


def test_orientation_payoffs_remember_each_orientations_net_benefit_per_member():
    """π ← (1 − w) π + w · (Σ members' net benefit of the orientation) / members; a memberless cluster keeps π."""
    m = quiet_model(20, 1)
    C = m.clusters
    rows = [add_cluster(m, [0, 1, 2]), add_cluster(m, [3, 4, 5])]
    C.orient_payoff[rows[0]] = [1.0, 2.0, 3.0]
    C.orient_payoff[rows[1]] = [7.0, 7.0, 7.0]
    c = np.array([rows[0], rows[0], rows[0]])  # this quarter only the first cluster has members
    nets = (np.array([3.0, 0.0, 3.0]), np.array([-1.0, -2.0, 0.0]), np.zeros(3))
    size = np.bincount(c, minlength=C.n).astype(float)
    actions.orientation_payoffs(m, c, C.n, size, nets)
    w = m.p.learning.memory_weight
    np.testing.assert_allclose(C.orient_payoff[rows[0]], [(1 - w) * 1 + w * 2, (1 - w) * 2 + w * -1, (1 - w) * 3],
                               rtol=1e-12)
    np.testing.assert_array_equal(C.orient_payoff[rows[1]], [7.0, 7.0, 7.0])


def test_a_declining_cluster_that_returns_to_maturity_counts_as_renewed():
    m, row, members = _grown_cluster({"clusters.lock_in_diversity": 0.05})
    m.clusters.stage[row] = STAGE_DECLINE
    m.firms.cap[members] = np.random.default_rng(4).uniform(0, 1, (len(members), m.K))  # new variety
    m.prev_sizes = m.clusters.size[: m.clusters.n].astype(float)
    lifecycle.life_cycle(m)
    assert m.clusters.stage[row] == STAGE_MATURITY and m.counters.clusters_renewed == 1


# ------------------------------------------------------------------------------------------------ survival study


def test_hazard_table_counts_exposure_with_truncation_and_censoring():
    """Four clusters observed over 8 quarters, bands of 4 quarters of age:
    A born at -2 (enters at age 2), dissolved at 3 (age 5); B born at 1, alive at the end (censored at age 7);
    C born at 2, dissolved at 4 (age 2); D born at -6, dissolved at -1 (in the warm-up: not observed)."""
    table = pd.DataFrame({"born": [-2, 1, 2, -6], "died": [3, -1, 4, -1], "alive": [False, True, False, False]})
    h = hazard_table(table, steps=8, band=4)
    # ages 0-4: A 2 quarters (2..4), B 4, C 2 -> exposure 8, one event (C at age 2)
    # ages 4-8: A 1 (4..5), B 3 (4..7) -> exposure 4, one event (A at age 5)
    assert h["exposure"].tolist() == [8.0, 4.0]
    assert h["dissolved"].tolist() == [1, 1]
    assert h["hazard"].tolist() == pytest.approx([1 / 8, 1 / 4])
    assert h["survival"].tolist() == pytest.approx([(7 / 8) ** 4, (7 / 8) ** 4 * (3 / 4) ** 4])
    # exact (Garwood) bounds of one event: chi2(0.025, 2)/2 = −ln 0.975 and chi2(0.975, 4)/2 = 5.5716, over the exposure
    low, high = -math.log(0.975), 11.143287 / 2
    assert h["hazard_low"].tolist() == pytest.approx([low / 8, low / 4], rel=1e-6)
    assert h["hazard_high"].tolist() == pytest.approx([high / 8, high / 4], rel=1e-6)


def test_survival_is_unknown_after_an_age_band_nobody_was_observed_in():
    """Observed at ages 0-2 and 9-11 only: the band 4-8 has no exposure, so survival beyond it is unknown."""
    table = pd.DataFrame({"born": [1, -9], "died": [3, -1], "alive": [False, True]})
    h = hazard_table(table, steps=2, band=4)
    assert h["exposure"].tolist() == [2.0, 0.0, 2.0]
    assert h["survival"].iloc[0] == pytest.approx(0.5**4)
    assert np.isnan(h["survival"].iloc[1]) and np.isnan(h["survival"].iloc[2])


def test_size_distribution():
    d = size_distribution(np.array([3, 5, 8, 13, 40]))
    assert d == {"n": 5.0, "median": 8.0, "p90": pytest.approx(29.2), "largest": 40.0}
