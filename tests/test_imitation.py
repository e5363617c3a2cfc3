"""Cooperativeness learnt by imitation (docs/ODD.md 7.15, rule 'imitation'), in isolation: the pairwise-
comparison (Fermi) rule moves a population toward the better-paid strategy at the rate its formula gives,
x(1 − x) · N/(N − 1) · tanh(β Δπ / 2) for two strategies (whose weak-selection limit is the replicator
dynamics, x(1 − x) β Δπ / 2); exploration draws new strategies uniformly; imitation copies, never invents."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import add_cluster, quiet_model

from clustersim.model.mechanisms.actions import fermi_imitation, learn_cooperativeness


@pytest.mark.parametrize(("x", "beta", "gap"), [(0.3, 2.0, 0.4), (0.7, 0.5, -1.0), (0.5, 5.0, 0.1)])
def test_imitation_moves_toward_the_better_paid_strategy_at_the_fermi_rate(x, beta, gap):
    n = 200_000
    rng = np.random.default_rng(11)
    strategy = (np.arange(n) < x * n).astype(np.float64)  # a share x of cooperators (strategy 1)
    payoff = np.where(strategy == 1.0, gap, 0.0)
    new = fermi_imitation(rng, strategy, payoff, beta, revise=1.0, explore=0.0)
    got = new.mean() - strategy.mean()
    want = x * (1 - x) * n / (n - 1) * math.tanh(beta * gap / 2)
    # the change is a sum of n Bernoulli switches: its standard error is below sqrt(0.25 / n)
    assert got == pytest.approx(want, abs=5 * math.sqrt(0.25 / n))
    assert np.sign(got) == np.sign(gap)


def test_without_selection_imitation_is_neutral_and_exploration_draws_uniformly():
    n = 100_000
    rng = np.random.default_rng(3)
    strategy = (np.arange(n) < 0.2 * n).astype(np.float64)
    neutral = fermi_imitation(rng, strategy, np.where(strategy == 1.0, 5.0, 0.0), 0.0, 1.0, 0.0)
    assert neutral.mean() == pytest.approx(0.2, abs=5 * math.sqrt(0.25 / n))
    explored = fermi_imitation(rng, strategy, np.zeros(n), 1.0, 1.0, 1.0)
    assert explored.mean() == pytest.approx(0.5, abs=0.01) and len(np.unique(explored)) > n // 2
    untouched = fermi_imitation(rng, strategy, np.zeros(n), 1.0, 0.0, 1.0)
    assert np.array_equal(untouched, strategy)


def test_in_the_model_member_firms_copy_each_others_cooperativeness():
    m = quiet_model(30, seed=4, params={"learning.cooperativeness_rule": "imitation", "learning.exploration": 0.0})
    add_cluster(m, list(range(10)))
    add_cluster(m, list(range(10, 16)))
    before = m.firms.coop[: m.firms.n].copy()
    f, c = m.memberships.firm, m.memberships.cluster
    payoff = np.linspace(-1.0, 1.0, len(f))
    learn_cooperativeness(m, f, c, m.clusters.n, np.ones(len(f), dtype=bool), payoff)
    after = m.firms.coop[: m.firms.n]
    members = np.unique(f)
    assert set(after[members].tolist()) <= set(before[members].tolist())  # copied, never invented
    assert not np.array_equal(after[members], before[members])  # and some did copy
    outside = np.setdiff1d(np.arange(m.firms.n), members)
    assert np.array_equal(after[outside], before[outside])


def test_binary_cooperativeness_is_a_pure_strategy_and_stays_one():
    """firms.cooperativeness_kind = binary (docs/ODD.md 5, 7.15): every firm starts at 0 or 1, a share
    cooperativeness_mean at 1; exploration under imitation draws 0 or 1, never in between."""
    m = quiet_model(4000, seed=6, params={"firms.cooperativeness_kind": "binary", "firms.cooperativeness_mean": 0.3})
    coop = m.firms.coop[: m.firms.n]
    assert set(np.unique(coop).tolist()) == {0.0, 1.0}
    assert coop.mean() == pytest.approx(0.3, abs=5 * math.sqrt(0.21 / 4000))
    explored = fermi_imitation(np.random.default_rng(2), coop, np.zeros(len(coop)), 1.0, 1.0, 1.0, binary=True)
    assert set(np.unique(explored).tolist()) == {0.0, 1.0}
    assert explored.mean() == pytest.approx(0.5, abs=5 * math.sqrt(0.25 / len(coop)))
