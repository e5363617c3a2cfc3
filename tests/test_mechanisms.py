"""Each mechanism of clustersim shown in isolation, by a test of the effect its docstring documents.

The orientation functions are called directly on hand-made :class:`ActionContext` arrays; the model's
mechanisms (trust, rivalry, leaving, joining, links, demography, accounting) go through small seeded
models (30–80 firms, a few steps) with the unrelated dynamics switched off through the scenario.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import add_cluster, make_scenario, quiet_model
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.model import ClusterModel
from clustersim.model.mechanisms import demography, knowledge, links, membership
from clustersim.model.orientations import (
    ActionContext,
    club_action,
    cognitive_learning_factor,
    draw_thresholds,
    moyens_action,
    pooled_cost_per_contributor,
    products_markets_action,
)
from clustersim.model.pairs import PairStore
from clustersim.scenario.schema import CriticalMass, Scenario
from clustersim.util.arrays import segment_max, segment_sum

# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------

# (QUIET, make_scenario, quiet_model and add_cluster live in helpers.py, shared with test_mechanisms_more)


def one_cluster_ctx(coop, *, thresholds=(2, 2, 2), cap=None, size=None, orient=(1.0, 1.0, 1.0),
                    effectiveness: float = 1.0, seed: int = 0) -> ActionContext:
    """One cluster (row 0) whose members are firms 0..n-1, all users of Moyens domain 0."""
    coop = np.asarray(coop, dtype=bool)
    n = len(coop)
    return ActionContext(
        f=np.arange(n, dtype=np.int64), c=np.zeros(n, dtype=np.int64), coop=coop, n_clusters=1,
        orient=np.array([orient], dtype=np.float64), domain=np.zeros((1, 3), dtype=np.int64),
        effectiveness=np.array([effectiveness]),
        size=np.full(n, 10.0) if size is None else np.asarray(size, dtype=np.float64),
        need=np.zeros(n, dtype=np.int64),
        cap=np.full((n, 4), 0.5) if cap is None else np.asarray(cap, dtype=np.float64),
        thresholds=[np.array([t], dtype=np.int64) for t in thresholds],
        rng=np.random.default_rng(seed))


def all_pairs(n: int, trust: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    keep = i != j
    return i[keep].astype(np.int64), j[keep].astype(np.int64), np.full(int(keep.sum()), trust)


def run_orientation(name: str, ctx: ActionContext):
    s = Scenario().orientations
    if name == "moyens":
        return moyens_action(ctx, s.moyens)
    if name == "products_markets":
        return products_markets_action(ctx, s.products_markets)
    n = len(ctx.f)
    return club_action(ctx, s.club, all_pairs(n, 0.8), np.full(n, 100.0))


def trust_snapshot(model: ClusterModel) -> dict[int, float]:
    return dict(zip(model.trust.key.tolist(), model.trust.value.tolist(), strict=True))


# --------------------------------------------------------------------------------------------------------
# 1. critical mass
# --------------------------------------------------------------------------------------------------------

HETERO_CAP = np.array([[0.1, 0.9, 0.3, 0.5], [0.8, 0.2, 0.4, 0.6], [0.3, 0.5, 0.9, 0.1],
                       [0.6, 0.4, 0.2, 0.9], [0.5, 0.7, 0.6, 0.3], [0.2, 0.3, 0.7, 0.8]])


@pytest.mark.parametrize("orientation", ["moyens", "products_markets", "club"])
@pytest.mark.parametrize("k", range(7))
def test_critical_mass_gates_each_orientation(orientation, k):
    """Below its domain's threshold (4) an action yields and costs nothing; at or above it, it does."""
    threshold = 4
    coop = np.arange(6) < k
    ctx = one_cluster_ctx(coop, thresholds=(threshold,) * 3, cap=HETERO_CAP)
    res = run_orientation(orientation, ctx)
    assert bool(res.attempted[0])
    if k < threshold:
        assert not res.success[0]
        np.testing.assert_array_equal(res.benefit, 0.0)
        np.testing.assert_array_equal(res.cost, 0.0)
    else:
        assert res.success[0]
        assert (res.benefit[coop] > 0).any()
        assert (res.cost[coop] > 0).all()
        np.testing.assert_array_equal(res.cost[~coop], 0.0)  # non-contributors never pay


def test_critical_mass_thresholds_follow_the_documented_lognormal():
    """draw_thresholds = max(minimum, rint(median·exp(dispersion·z))) with z the generator's own normals."""
    spec = CriticalMass(median=6.0, dispersion=0.7, minimum=2)
    got = draw_thresholds(np.random.default_rng(7), spec, 40)
    z = np.random.default_rng(7).standard_normal(40)
    np.testing.assert_array_equal(got, np.maximum(2, np.rint(6.0 * np.exp(0.7 * z))))
    assert got.dtype == np.int64
    assert len(np.unique(got)) > 3  # domains differ when dispersion > 0


@pytest.mark.parametrize("median", [1.0, 3.0, 3.4, 4.6, 7.0, 12.0])
def test_critical_mass_without_dispersion_is_round_median_everywhere(median):
    """With dispersion 0 every domain's threshold is round(median) (floored at minimum)."""
    spec = CriticalMass(median=median, dispersion=0.0, minimum=1)
    got = draw_thresholds(np.random.default_rng(3), spec, 25)
    np.testing.assert_array_equal(got, round(median))


def test_critical_mass_respects_minimum_in_draws_and_in_the_model():
    """No drawn threshold is below `minimum`, whether drawn directly or by the model at initialisation."""
    got = draw_thresholds(np.random.default_rng(0), CriticalMass(median=2.0, dispersion=2.0, minimum=5), 200)
    assert got.min() == 5  # the floor binds for many domains ...
    assert got.max() > 5  # ... and the others are still drawn
    m = quiet_model(30, params={"orientations.moyens.critical_mass.minimum": 9,
                                "orientations.club.critical_mass.minimum": 7,
                                "orientations.products_markets.critical_mass.minimum": 8})
    assert [int(t.min()) >= lo for t, lo in zip(m.thresholds, (9, 8, 7), strict=True)] == [True] * 3
    assert [len(t) for t in m.thresholds] == [3, 6, m.K]


# --------------------------------------------------------------------------------------------------------
# 2. Moyens
# --------------------------------------------------------------------------------------------------------

def test_moyens_cost_per_contributor_falls_with_contributors():
    """Economies of scale: each of k equal contributors pays w·(F + v·k·L)/k, which falls with k."""
    p = Scenario().orientations.moyens
    w, size = 0.8, 12.0
    costs = []
    for k in range(2, 11):
        ctx = one_cluster_ctx(np.ones(k, bool), thresholds=(2, 2, 2), size=np.full(k, size),
                              orient=(w, 0.0, 0.0))
        res = moyens_action(ctx, p)
        expected = w * (p.pooled_fixed_cost + p.pooled_variable_cost * k * size) / k
        np.testing.assert_allclose(res.cost, expected, rtol=1e-12)
        assert expected == pytest.approx(pooled_cost_per_contributor(
            p.pooled_fixed_cost, p.pooled_variable_cost, k * size, k, scope=w))
        costs.append(res.cost[0])
    assert np.all(np.diff(costs) < 0)


def test_moyens_cost_is_shared_in_proportion_to_size():
    """Contributors of different sizes share the pooled cost in proportion to their size."""
    p = Scenario().orientations.moyens
    res = moyens_action(one_cluster_ctx(np.ones(3, bool), size=[5.0, 10.0, 25.0]), p)
    np.testing.assert_allclose(res.cost / res.cost.sum(), [5 / 40, 10 / 40, 25 / 40])
    assert res.cost.sum() == pytest.approx(p.pooled_fixed_cost + p.pooled_variable_cost * 40.0)


def test_moyens_free_rider_gets_access_share_of_benefit_at_zero_cost():
    """A non-contributing user gets free_rider_access × a same-size contributor's benefit and pays nothing."""
    p = Scenario().orientations.moyens.model_copy(update={"free_rider_access": 0.35})
    w, e, size = 0.6, 0.7, 10.0
    coop = np.array([True, True, True, False, False])
    res = moyens_action(one_cluster_ctx(coop, thresholds=(3, 2, 2), orient=(w, 0.0, 0.0),
                                        effectiveness=e), p)
    contributor = e * w * p.need_cost_per_employee * size
    np.testing.assert_allclose(res.benefit[coop], contributor)
    np.testing.assert_allclose(res.benefit[~coop], 0.35 * contributor)
    np.testing.assert_array_equal(res.cost[~coop], 0.0)
    assert (res.cost[coop] > 0).all()


def test_moyens_only_members_with_the_clusters_need_are_users():
    """A member whose need is not the cluster's Moyens domain neither benefits nor pays."""
    ctx = one_cluster_ctx(np.ones(4, bool), thresholds=(2, 2, 2))
    ctx.need = np.array([0, 0, 0, 1])
    res = moyens_action(ctx, Scenario().orientations.moyens)
    assert res.benefit[3] == 0.0
    assert res.cost[3] == 0.0
    assert (res.benefit[:3] > 0).all()


# --------------------------------------------------------------------------------------------------------
# 3. Produits/Marchés
# --------------------------------------------------------------------------------------------------------

def test_products_markets_revenue_grows_with_complementarity():
    """Same k and mean capability: more complementary contributors earn more revenue per contributor."""
    p = Scenario().orientations.products_markets
    k, K = 4, 4
    uniform = np.full((k, K), 0.3)
    specialised = 0.1 + 0.8 * np.eye(k, K)  # each firm strong in its own domain; mean 0.3 as well
    revenues, qs = [], []
    for a in (0.0, 0.25, 0.5, 0.75, 1.0):
        cap = (1 - a) * uniform + a * specialised
        res = products_markets_action(one_cluster_ctx(np.ones(k, bool), thresholds=(2, 2, 2), cap=cap), p)
        q = (cap.max(axis=0) - cap.mean(axis=0)).mean()
        assert res.extra["complementarity"][0] == pytest.approx(q)
        np.testing.assert_allclose(res.benefit, p.project_revenue * k**p.scale_elasticity
                                   * (1 + p.complementarity_gain * q) / k)
        np.testing.assert_allclose(res.cost, p.contribution)  # independent of complementarity
        revenues.append(res.benefit[0])
        qs.append(q)
    assert qs[0] == 0.0
    assert qs[-1] == pytest.approx(0.6)
    assert np.all(np.diff(revenues) > 0)


def test_products_markets_revenue_scales_with_contributors():
    """Joint revenue is w·e·R0·k^β·(1+γQ): with Q = 0 each contributor gets w·e·R0·k^(β−1)."""
    p = Scenario().orientations.products_markets
    w, e = 0.5, 0.8
    for k in (2, 5, 9):
        res = products_markets_action(one_cluster_ctx(np.ones(k, bool), orient=(0.0, w, 0.0), effectiveness=e,
                                                      cap=np.full((k, 4), 0.4)), p)
        np.testing.assert_allclose(res.benefit, w * e * p.project_revenue * k ** (p.scale_elasticity - 1))
        np.testing.assert_allclose(res.cost, w * p.contribution)


# --------------------------------------------------------------------------------------------------------
# 4. Club de travail
# --------------------------------------------------------------------------------------------------------

def test_cognitive_learning_factor_is_an_inverted_u_peaking_at_optimal_distance():
    """h(0) = 0, h(d*) = 1, h rises before d*, falls after, and h(d) = (d/d*)·exp(1 − d/d*)."""
    d_star = 0.25
    assert cognitive_learning_factor(np.array([0.0]), d_star)[0] == 0.0
    assert cognitive_learning_factor(np.array([d_star]), d_star)[0] == pytest.approx(1.0)
    grid = np.linspace(0.0, 1.0, 401)
    h = cognitive_learning_factor(grid, d_star)
    assert grid[np.argmax(h)] == pytest.approx(d_star)
    peak = int(np.argmax(h))
    assert np.all(np.diff(h[: peak + 1]) > 0)
    assert np.all(np.diff(h[peak:]) < 0)
    np.testing.assert_allclose(h, grid / d_star * np.exp(1 - grid / d_star))


def _club_pair_gain(source_cap, learner_cap, trust, p, orient=1.0, eff=1.0):
    cap = np.array([learner_cap, source_cap])
    ctx = one_cluster_ctx(np.ones(2, bool), thresholds=(2, 2, 2), cap=cap, orient=(0.0, 0.0, orient),
                          effectiveness=eff)
    pairs = (np.array([0]), np.array([1]), np.array([trust]))
    return club_action(ctx, p, pairs, np.full(2, 100.0))


def test_club_learning_is_inverted_u_in_cognitive_distance():
    """With the partner's lead fixed, the learner's gain peaks at distance optimal_distance."""
    p = Scenario().orientations.club
    learner = np.array([0.3, 0.9, 0.9, 0.9])
    ys = np.linspace(0.0, 0.9, 91)  # the source lags by y in 3 domains: distance grows, lead stays 0.1
    gains, dists = [], []
    for y in ys:
        source = np.array([0.4, 0.9 - y, 0.9 - y, 0.9 - y])
        res = _club_pair_gain(source, learner, 1.0, p)
        gains.append(res.extra["capability_gain"][0, 0])
        dists.append(np.abs(source - learner).mean())
        assert np.all(res.extra["capability_gain"][0, 1:] == 0.0)  # nothing learned where the source lags
        assert np.all(res.extra["capability_gain"][1] == 0.0)  # the source did not learn (not a learner here)
    gains, dists = np.array(gains), np.array(dists)
    assert dists[np.argmax(gains)] == pytest.approx(p.optimal_distance)
    h = cognitive_learning_factor(dists, p.optimal_distance)
    np.testing.assert_allclose(gains, p.learning_rate * h * 0.1)
    assert gains[np.argmax(gains)] > gains[0]
    assert gains[np.argmax(gains)] > gains[-1]


def test_club_learning_grows_with_trust():
    """Higher trust of the learner in its partner gives a proportionally larger gain (and benefit)."""
    p = Scenario().orientations.club
    learner, source = np.array([0.3, 0.5, 0.2, 0.6]), np.array([0.6, 0.4, 0.5, 0.6])
    low, high = (_club_pair_gain(source, learner, t, p) for t in (0.3, 0.9))
    g_low, g_high = low.extra["capability_gain"][0], high.extra["capability_gain"][0]
    assert g_high.sum() > g_low.sum() > 0
    np.testing.assert_allclose(g_high, 3.0 * g_low)
    assert high.benefit[0] == pytest.approx(g_high.mean() * 100.0)
    assert high.extra["participant"].tolist() == [True, True]
    assert _club_pair_gain(source, learner, 0.0, p).extra["capability_gain"].sum() == 0.0


# --------------------------------------------------------------------------------------------------------
# 5. trust
# --------------------------------------------------------------------------------------------------------

TRUST_PARAMS = {"firms.cooperativeness_sd": 0.0, "trust.cooperation_weight": 0.0,
                "clusters.alignment_weight": 0.0, "trust.partners_observed": 1, "clusters.min_stay": 100}


def _trust_model(cooperativeness: float, seed: int = 5) -> tuple[ClusterModel, list[int]]:
    m = quiet_model(40, seed, {**TRUST_PARAMS, "firms.cooperativeness_mean": cooperativeness})
    members = list(range(0, 24, 3))  # 8 members
    add_cluster(m, members)
    return m, members


@pytest.mark.parametrize("cooperativeness", [1.0, 0.0])
def test_trust_moves_by_gain_or_loss_rate_after_one_meeting(cooperativeness):
    """After one quarter, a partner that cooperated is trusted t0 + g(1−t0); one that free-rode t0 − l·t0."""
    m, members = _trust_model(cooperativeness)
    tp = m.p.trust
    m.step()
    assert len(m.trust) >= len(members) - 2  # (almost) every member met a co-member
    assert set(m.trust.src.tolist()) | set(m.trust.dst.tolist()) <= set(members)
    assert (m.trust.src != m.trust.dst).all()
    t0 = tp.initial
    expected = t0 + tp.gain_rate * (1 - t0) if cooperativeness == 1.0 else t0 - tp.loss_rate * t0
    np.testing.assert_allclose(m.trust.value, expected, rtol=1e-12)


def test_trust_follows_the_partners_behaviour_not_the_observers():
    """Mixed cluster: trust of i in j rises iff j cooperated, whatever i itself did."""
    m = quiet_model(40, 5, {**TRUST_PARAMS, "firms.cooperativeness_mean": 1.0})
    members = list(range(0, 24, 3))
    m.firms.coop[members[::2]] = 0.0  # half the members free-ride, the other half contribute
    add_cluster(m, members)
    tp = m.p.trust
    t0 = tp.initial
    m.step()
    cooperated = np.isin(m.trust.dst, members[1::2])
    assert cooperated.any()
    assert (~cooperated).any()
    assert np.isin(m.trust.src[cooperated], members[::2]).any()  # a free-rider observing a contributor
    np.testing.assert_allclose(m.trust.value[cooperated], t0 + tp.gain_rate * (1 - t0))
    np.testing.assert_allclose(m.trust.value[~cooperated], t0 - tp.loss_rate * t0)


def test_trust_one_defection_undoes_more_than_one_cooperation_builds():
    """Default loss_rate > gain_rate: in the model, a free-ride costs more trust than a cooperation earns."""
    tp = Scenario().trust
    assert tp.loss_rate > tp.gain_rate
    t0 = tp.initial
    m, _ = _trust_model(1.0)
    m.step()  # everybody cooperates: met pairs go to t1 = t0 + g(1 - t0)
    t1 = t0 + tp.gain_rate * (1 - t0)
    np.testing.assert_allclose(m.trust.value, t1)
    assert t0 * tp.loss_rate > t1 - t0 > 0  # from the same trust, one defection would cost more
    once = set(m.trust.key.tolist())  # pairs that have seen exactly one cooperation
    m.firms.coop[: m.firms.n] = 0.0  # the same firms now free-ride
    undone = 0
    for _ in range(12):
        before = trust_snapshot(m)
        m.step()
        met = np.flatnonzero(m.trust.last_used == m.now)
        assert len(met) > 0
        for pos in met.tolist():
            k = int(m.trust.key[pos])
            prev = before.get(k, t0)
            assert m.trust.value[pos] == pytest.approx(prev * (1 - tp.loss_rate), rel=1e-12)
            if k in once:  # one cooperation, then one defection: below where it started
                assert m.trust.value[pos] < t0
                once.discard(k)
                undone += 1
        if undone >= 3:
            break
    assert undone >= 3


def test_trust_in_comembers_feeds_willingness_to_contribute():
    """Members' EWMA trust in co-members (memberships.trust) rises if partners cooperate, falls otherwise."""
    up, _ = _trust_model(1.0)
    down, _ = _trust_model(0.0)
    t0 = up.p.trust.initial
    for _ in range(3):
        up.step()
        down.step()
    assert up.memberships.trust.mean() > t0 > down.memberships.trust.mean()


# --------------------------------------------------------------------------------------------------------
# 6. internal competition and the conglomerate penalty
# --------------------------------------------------------------------------------------------------------

def _rivalry_setup(coordination: float, seed: int = 2):
    """60 firms in 2 sectors; one cluster of 5 sector-0 firms and 1 sector-1 firm."""
    m = quiet_model(60, seed, {"region.n_sectors": 2, "competition.market_coordination": coordination})
    F = m.firms
    rows = m.alive_rows
    s0 = rows[F.sector[rows] == 0][:5]
    s1 = rows[F.sector[rows] == 1][:1]
    row = add_cluster(m, np.concatenate([s0, s1]))
    return m, row, s0, s1


def _documented_rivalry(outside_rivals: float, co_members: float, q: float, rho: float, half: float):
    """n_eff = ρ·(same-sector firms outside one's clusters) + (1 − q)·(same-sector co-members)."""
    n_eff = rho * outside_rivals + (1 - q) * co_members
    free = rho * outside_rivals + co_members
    return n_eff / (n_eff + half), free / (free + half) - n_eff / (n_eff + half)


def test_rivalry_market_coordination_reduces_rivalry_of_same_sector_comembers_only():
    """q = market_coordination removes that share of rivalry among same-sector co-members; nobody else's."""
    m, _, s0, s1 = _rivalry_setup(0.0)
    F, comp = m.firms, m.p.competition
    rows = m.alive_rows
    n_sec = np.bincount(F.sector[rows], minlength=2)
    others = n_sec[F.sector[rows]] - 1
    same = np.isin(rows, s0)
    results = {}
    for q in (0.0, 0.3, 1.0):
        m.p.competition.market_coordination = q
        rivalry, penalty = knowledge.internal_rivalry(m, rows)
        rho, half = comp.regional_rivalry_weight, comp.rivalry_half
        exp_same = _documented_rivalry(others[same] - 4, 4, q, rho, half)
        exp_rest = _documented_rivalry(others[~same], 0, q, rho, half)
        np.testing.assert_allclose(rivalry[same], exp_same[0])
        np.testing.assert_allclose(penalty[same], exp_same[1], atol=1e-15)
        np.testing.assert_allclose(rivalry[~same], exp_rest[0])  # the sector-1 member and non-members
        np.testing.assert_array_equal(penalty[~same], 0.0)
        results[q] = rivalry
    assert np.all(results[0.0][same] > results[0.3][same])
    assert np.all(results[0.3][same] > results[1.0][same])
    np.testing.assert_array_equal(results[0.0][~same], results[1.0][~same])
    assert np.isin(s1, rows[~same]).all()


def test_rivalry_counts_a_rival_met_in_two_clusters_once():
    """At q = 1 only outside rivals count: sharing a second cluster with a rival must not change rivalry."""
    m = quiet_model(60, 2, {"region.n_sectors": 2, "competition.market_coordination": 1.0})
    F, comp = m.firms, m.p.competition
    rows = m.alive_rows
    s0, s1 = rows[F.sector[rows] == 0], rows[F.sector[rows] == 1]
    a, b = int(s0[0]), int(s0[1])
    outside = len(s0) - 2  # every sector-0 firm but a itself and its co-member b
    documented = comp.regional_rivalry_weight * outside
    documented = documented / (documented + comp.rivalry_half)
    add_cluster(m, [a, b, int(s1[0])])
    one, _ = knowledge.internal_rivalry(m, rows)
    assert one[rows == a][0] == pytest.approx(documented)  # b shares one cluster with a: as documented
    add_cluster(m, [a, b, int(s1[1])])  # a and b now also meet in a second cluster
    two, _ = knowledge.internal_rivalry(m, rows)
    assert two[rows == a][0] == pytest.approx(documented)


def test_conglomerate_coordination_slows_productivity_growth_in_one_step():
    """Same seeded model and cluster: with coordination 1, co-members' productivity grows less than with 0."""
    out = {}
    for q in (0.0, 1.0):
        m, _, s0, _ = _rivalry_setup(q)
        p0 = m.firms.prod[: m.firms.n].copy()
        m.step()
        out[q] = (m.firms.prod[: m.firms.n] / p0, s0)
    g0, s0 = out[0.0]
    g1, _ = out[1.0]
    same = np.zeros(len(g0), bool)
    same[s0] = True
    assert np.all(g1[same] < g0[same])
    np.testing.assert_array_equal(g1[~same], g0[~same])


def test_conglomerate_coordination_slows_mean_productivity_growth_over_a_run():
    """Same-sector clusters: mean log productivity growth over 8 quarters is lower at coordination 1."""
    growth = {}
    for q in (0.0, 1.0):
        m = quiet_model(60, 11, {"region.n_sectors": 2, "competition.market_coordination": q,
                                 "clusters.min_stay": 100})
        F = m.firms
        rows = m.alive_rows
        for s in (0, 1):
            same = rows[F.sector[rows] == s]
            for chunk in np.array_split(same, max(1, len(same) // 8)):
                add_cluster(m, chunk)
        p0 = F.prod[: F.n].copy() / m.frontier
        m.run(8)
        alive = F.alive[: len(p0)]
        growth[q] = float(np.mean(np.log(F.prod[: len(p0)][alive] / m.frontier / p0[alive])))
        penalty = m.indicators["conglomerate_penalty"]
        assert penalty > 0 if q == 1.0 else penalty == 0
    assert growth[1.0] < growth[0.0]


# --------------------------------------------------------------------------------------------------------
# 7. leaving
# --------------------------------------------------------------------------------------------------------

def test_leave_requires_low_memory_and_minimum_tenure():
    """Only a member with remembered benefit below leave_threshold and tenure ≥ min_stay leaves."""
    m = quiet_model(30, 3, {"clusters.leave_threshold": -1.0, "clusters.min_stay": 4})
    members = [0, 1, 2, 3, 4, 5]
    row = add_cluster(m, members)
    mem = m.memberships
    m.now = 10
    order = mem.firm.tolist()
    idx = {f: order.index(f) for f in members}
    mem.memory[:] = 5.0
    mem.joined[:] = 0
    mem.memory[idx[0]] = -3.0  # below, old enough -> leaves
    mem.memory[idx[1]] = -3.0
    mem.joined[idx[1]] = m.now - 3  # below but too recent -> stays
    mem.memory[idx[2]] = -0.5  # above the threshold -> stays
    mem.memory[idx[3]] = -3.0
    mem.joined[idx[3]] = m.now - 4  # below, tenure exactly min_stay -> leaves
    mem.memory[idx[4]] = -1.0  # exactly at the threshold (not below) -> stays
    membership.leave(m)
    assert sorted(m.memberships.firm.tolist()) == [1, 2, 4, 5]
    assert m.clusters.size[row] == 4
    assert m.firms.n_memberships[[0, 3]].tolist() == [0, 0]
    assert m.firms.n_memberships[[1, 2, 4, 5]].tolist() == [1, 1, 1, 1]
    assert m.counters["leave_negative_benefit"] == 2
    assert m.cluster(row).members == [1, 2, 4, 5]


def test_leaver_does_not_rejoin_in_the_same_quarter():
    """A member that leaves at _leave() is not a candidate for the same cluster at the following _join()."""
    m = quiet_model(30, 3, {"clusters.awareness_probability": 1.0, "clusters.attraction_threshold": 0.0,
                            "clusters.join_threshold": -1000.0, "learning.information_noise": 0.0})
    row = add_cluster(m, [0, 1, 2, 3, 4, 5])
    m.now = 10
    m.memberships.memory[m.memberships.firm == 0] = -50.0  # firm 0 leaves
    membership.leave(m)
    membership.join(m)
    assert 0 not in m.memberships.firm
    assert m.counters["joins"] > 0  # the others outside did join (everybody hears of the only cluster)
    m.now = 11
    membership.leave(m)
    membership.join(m)
    assert 0 in m.memberships.firm[m.memberships.cluster == row]  # a quarter later it may come back


# --------------------------------------------------------------------------------------------------------
# 8. joining
# --------------------------------------------------------------------------------------------------------

def test_expected_benefit_follows_the_documented_formula():
    """E = fit·((1−ε)·prospect + ε·reputation) − fee − contributions, ε = age / emergence_age capped at 1."""
    m = quiet_model(40, 4, {"clusters.emergence_age": 8})
    row = add_cluster(m, [0, 1, 2, 3])
    cand = np.arange(10, 30)
    C, p, o = m.clusters, m.p.clusters, m.p.orientations
    C.orient[row] = [1.0, 0.5, 0.25]
    fit = m.interest(cand, C.orient[[row]], C.domain[[row], 0], C.vision[[row]]).max(axis=1)
    contributions = 0.5 * o.products_markets.contribution + 0.25 * o.club.contribution
    cl = np.full(len(cand), row)
    np.testing.assert_allclose(m.expected_benefit(cand, cl, noise=False),
                               fit * p.prospect_value - p.membership_fee - contributions)
    C.reputation[row] = 20.0
    m.now = 2
    np.testing.assert_allclose(m.expected_benefit(cand, cl, noise=False),
                               fit * (0.75 * p.prospect_value + 0.25 * 20.0)
                               - p.membership_fee - contributions)
    m.now = 50
    np.testing.assert_allclose(m.expected_benefit(cand, cl, noise=False),
                               fit * 20.0 - p.membership_fee - contributions)
    assert m.firm(10).expected_benefit(row) == pytest.approx(fit[0] * 20.0 - p.membership_fee - contributions)


def _join_model(fee: float, seed: int = 6) -> tuple[ClusterModel, int]:
    m = quiet_model(40, seed, {"clusters.membership_fee": fee, "clusters.prospect_value": 50.0,
                               "clusters.attraction_threshold": 0.0, "clusters.awareness_probability": 1.0,
                               "learning.information_noise": 0.0, "clusters.join_threshold": 1.0})
    return m, add_cluster(m, [0, 1, 2, 3])


def test_join_refused_when_expected_benefit_is_negative():
    """With a huge fee every expected benefit is negative and nobody joins, though all hear of the cluster."""
    m, row = _join_model(fee=100_000.0)
    outsiders = np.setdiff1d(m.alive_rows, [0, 1, 2, 3])
    assert np.all(m.expected_benefit(outsiders, np.full(len(outsiders), row), noise=True) < 0)
    membership.join(m)
    assert m.counters["joins"] == 0
    assert m.clusters.size[row] == 4
    assert len(m.memberships) == 4


def test_join_happens_when_expected_benefit_clears_threshold():
    """With no fee, firms whose expected benefit clears join_threshold join; those below do not."""
    m, row = _join_model(fee=0.0)
    outsiders = np.setdiff1d(m.alive_rows, [0, 1, 2, 3])
    e = m.expected_benefit(outsiders, np.full(len(outsiders), row), noise=False)
    membership.join(m)
    joined = np.setdiff1d(m.memberships.firm, [0, 1, 2, 3])
    assert len(joined) > 0
    assert m.counters["joins"] == len(joined)
    np.testing.assert_array_equal(np.sort(joined), np.sort(outsiders[e > m.p.clusters.join_threshold]))
    assert m.clusters.size[row] == 4 + len(joined)
    assert np.all(m.firms.n_memberships[joined] == 1)


# --------------------------------------------------------------------------------------------------------
# 9. relations
# --------------------------------------------------------------------------------------------------------

def test_links_decay_without_use_and_are_pruned():
    """Each quarter intensities are multiplied by (1 − decay); those then below prune_below disappear."""
    m = quiet_model(40, 7, {"links.search_probability": 0.0, "links.decay": 0.2, "links.prune_below": 0.05})
    h = m.horizontal
    pos, created = h.slots(np.array([1, 2, 3, 4]), np.array([5, 6, 7, 8]), 0.3, m.now)
    assert created.all()
    h.value[pos] = [0.9, 0.5, 0.0626, 0.0624]
    v_before = dict(zip(m.vertical.key.tolist(), m.vertical.value.tolist(), strict=True))
    links.links(m)
    np.testing.assert_allclose([h.get(1, 5), h.get(2, 6), h.get(3, 7)], [0.72, 0.4, 0.0626 * 0.8])
    assert (4, 8) not in h
    assert len(h) == 3
    for k, v in zip(m.vertical.key.tolist(), m.vertical.value.tolist(), strict=True):
        assert v == pytest.approx(v_before[k] * 0.8)
    assert set(v_before) - set(m.vertical.key.tolist()) == {k for k, v in v_before.items() if v * 0.8 < 0.05}


@pytest.mark.parametrize("use_gain", [0.0, 0.15])
def test_vertical_link_carrying_purchases_grows_versus_decay_only(use_gain):
    """A link carrying a share u of its customer's local purchases ends at (v + g·u·(1−v))(1−d)."""
    m = quiet_model(50, 8, {"links.search_probability": 0.0, "links.use_gain": use_gain})
    d = m.p.links.decay
    V, F = m.vertical, m.firms
    customers = m.alive_rows[F.chain[m.alive_rows] > 0]
    links.supplier_search(m, customers)  # the model's own search once more: some customers get a second supplier
    V.value[:] = np.random.default_rng(0).uniform(0.1, 0.9, len(V))
    src, dst, v = V.src, V.dst, V.value.copy()
    attract = v * F.prod[src]  # purchases are split by intensity × supplier productivity
    u = attract / np.bincount(dst, weights=attract, minlength=F.n)[dst]
    n_sup = np.bincount(dst, minlength=F.n)
    assert (n_sup[dst] == 1).sum() >= 3
    assert (n_sup[dst] > 1).sum() >= 10
    np.testing.assert_allclose(u[n_sup[dst] == 1], 1.0)  # a sole supplier carries all local purchases
    expected = dict(zip(V.key.tolist(), ((v + use_gain * u * (1 - v)) * (1 - d)).tolist(), strict=True))
    decay_only = dict(zip(V.key.tolist(), (v * (1 - d)).tolist(), strict=True))
    m.step()
    checked = 0
    for k, val in zip(V.key.tolist(), V.value.tolist(), strict=True):
        assert val == pytest.approx(expected[k], rel=1e-12)
        if use_gain > 0:
            assert val > decay_only[k]
        else:
            assert val == pytest.approx(decay_only[k], rel=1e-12)
        checked += 1
    assert checked >= 10


def test_horizontal_links_grow_from_joint_work():
    """A peer link appears when two members both contribute and grows by use_gain·(1−v) each joint quarter."""
    m, members = _trust_model(1.0)
    lp = m.p.links
    d, ini, g = lp.decay, lp.initial_intensity, lp.use_gain
    m.step()
    assert len(m.horizontal) > 0
    assert set(m.horizontal.src.tolist()) | set(m.horizontal.dst.tolist()) <= set(members)
    np.testing.assert_allclose(m.horizontal.value, ini * (1 - d))  # created this quarter, then decayed once
    grown = 0
    for _ in range(6):  # a few quarters, so that some pair surely works together again
        v1 = dict(zip(m.horizontal.key.tolist(), m.horizontal.value.tolist(), strict=True))
        m.step()
        met_again = m.horizontal.last_used == m.now
        H = m.horizontal
        for k, used, v in zip(H.key.tolist(), met_again.tolist(), H.value.tolist(), strict=True):
            if k in v1 and used:  # worked together again: grows before decaying
                assert v == pytest.approx((v1[k] + g * (1 - v1[k])) * (1 - d))
                assert v > v1[k]
                grown += 1
            elif k in v1:  # not used: decays only
                assert v == pytest.approx(v1[k] * (1 - d))
            else:
                assert v == pytest.approx(ini * (1 - d))
    assert grown > 0


def test_horizontal_links_need_both_partners_to_contribute():
    """In a mixed cluster, peer links appear only between two contributors."""
    m = quiet_model(40, 5, {**TRUST_PARAMS, "firms.cooperativeness_mean": 1.0})
    members = list(range(0, 24, 3))
    m.firms.coop[members[::2]] = 0.0
    add_cluster(m, members)
    m.step()
    contributors = members[1::2]
    assert len(m.horizontal) > 0
    assert np.isin(m.horizontal.src, contributors).all()
    assert np.isin(m.horizontal.dst, contributors).all()
    met_free_rider = np.isin(m.trust.src, members[::2]) | np.isin(m.trust.dst, members[::2])
    assert met_free_rider.any()  # there were meetings with free-riders, and they built no link


# --------------------------------------------------------------------------------------------------------
# 10. demography
# --------------------------------------------------------------------------------------------------------

def test_firm_with_negative_capital_exits_after_exit_patience_quarters():
    """Capital < 0 for exit_patience quarters: the firm exits; agent, memberships and links are removed."""
    m = quiet_model(40, 9, {"firms.exit_patience": 3, "clusters.min_stay": 100})
    V = m.vertical
    r = int(V.dst[0])
    members = [r] + [x for x in range(6) if x != r][:4]
    add_cluster(m, members)
    m.horizontal.slots(np.array([r]), np.array([(r + 1) % 40]), 0.9, m.now)
    m.firms.capital[r] = -1e9
    agent = m.firm(r)
    for _ in range(2):
        m.step()
        assert m.firms.alive[r]
        assert agent in m.agents
    for store in (m.vertical, m.horizontal, m.trust):  # before its exit the firm still has every kind of pair
        assert ((store.src == r) | (store.dst == r)).any()
    assert m.firms.neg_streak[r] == 2
    exit_before = m.ledger["exit_capital"]
    m.step()
    assert not m.firms.alive[r]
    assert m.firms.died[r] == 3
    assert agent not in m.agents
    assert r not in m.firm_agents
    assert r not in m.memberships.firm
    assert m.firms.n_memberships[r] == 0
    for store in (m.vertical, m.horizontal, m.trust):
        assert not ((store.src == r) | (store.dst == r)).any()
    assert m.counters["exits"] == 1
    assert m.counters["leave_firm_exit"] == 1
    assert m.firms.capital[r] < 0
    assert m.ledger["exit_capital"] - exit_before == pytest.approx(m.firms.capital[r])  # only r exited


def test_startups_enter_at_startup_rate():
    """startup_rate = 1 adds about one start-up per firm: new live rows, registered agents, startup_size."""
    n = 50
    m = quiet_model(n, 10, {"demography.startup_rate": 1.0})
    m.step()
    k = int(m.counters["startups"])
    assert n - 5 * math.sqrt(n) < k < n + 5 * math.sqrt(n)
    new = np.flatnonzero(m.firms.born[: m.firms.n] == 1)
    assert len(new) == k
    assert len(m.alive_rows) == n + k - int(m.counters["exits"])
    d, fm = m.p.demography, m.p.firms
    np.testing.assert_array_equal(m.firms.size[new], d.startup_size)
    np.testing.assert_array_equal(m.firms.capital[new], d.startup_size * fm.initial_capital_per_employee)
    assert all(m.firm(r) in m.agents for r in new.tolist())
    assert len(m.agents) == len(m.alive_rows)
    none = quiet_model(n, 10)
    none.run(3)
    assert none.counters["startups"] == 0
    assert len(none.alive_rows) == n


def test_outside_investors_need_positive_cluster_synergies():
    """No clusters (or negative reputation) → no investor whatever the rate; positive synergy → investors."""
    m = quiet_model(40, 12, {"demography.investor_rate": 10.0})
    m.run(5)
    assert m.counters["investors"] == 0
    assert len(m.live_clusters) == 0
    row = add_cluster(m, [0, 1, 2, 3, 4])
    m.clusters.reputation[row] = -50.0
    demography.demography(m)
    assert m.counters["investors"] == 0
    m.clusters.reputation[row] = 10.0 * m.p.demography.investor_synergy_reference  # expected 100 investors
    m.labour_force = 1e9  # workers for all of them (7.22: investors hire from the unemployed)
    n0 = m.firms.n
    demography.demography(m)
    k = int(m.counters["investors"])
    assert k > 50
    new = np.arange(n0, m.firms.n)
    assert len(new) == k
    assert m.firms.outside[new].all()
    np.testing.assert_allclose(m.firms.prod[new], m.p.demography.investor_productivity * m.frontier)


# --------------------------------------------------------------------------------------------------------
# 11. PairStore and segment reductions
# --------------------------------------------------------------------------------------------------------

def test_pairstore_lookup_insert_and_symmetry():
    """Missing pairs give -1/default; slots inserts new pairs once; undirected (i,j) ≡ (j,i), directed not."""
    u = PairStore(directed=False)
    assert u.find(np.array([1]), np.array([2]))[0] == -1
    assert u.get(1, 2, default=-7.0) == -7.0
    pos, created = u.slots(np.array([5, 2, 9, 5]), np.array([2, 5, 1, 2]), 0.3, now=4)
    assert created.tolist() == [True, True, True, True]  # all missing before the call ...
    assert len(u) == 2  # ... but (5,2), (2,5) and (5,2) are one undirected pair
    assert pos[0] == pos[1] == pos[3]
    assert np.all(np.diff(u.key) > 0)
    assert u.get(2, 5) == u.get(5, 2) == 0.3
    assert (1, 9) in u
    assert (9, 1) in u
    assert (u.src <= u.dst).all()
    u.value[u.find(2, 5)] = 0.8
    pos2, created2 = u.slots(np.array([9, 3]), np.array([1, 4]), 0.1, now=6)
    assert created2.tolist() == [False, True]
    assert len(u) == 3
    assert u.get(2, 5) == 0.8
    assert u.get(1, 9) == 0.3
    assert u.get(4, 3) == 0.1
    assert u.last_used[u.find(1, 9)[0]] == 6
    assert u.last_used[u.find(2, 5)[0]] == 4
    d = PairStore(directed=True)
    d.slots(np.array([1]), np.array([2]), 0.5, now=0)
    assert (1, 2) in d
    assert (2, 1) not in d
    np.testing.assert_array_equal(d.find(np.array([1, 2, 1]), np.array([2, 1, 3])), [0, -1, -1])
    assert d.src.tolist() == [1]
    assert d.dst.tolist() == [2]


def test_pairstore_remove_firms_and_keep():
    """remove_firms drops every pair touching a dead firm; keep(mask) keeps exactly the masked pairs."""
    s = PairStore(directed=True)
    src, dst = np.array([0, 1, 2, 3, 4, 2]), np.array([1, 2, 3, 4, 0, 0])
    s.slots(src, dst, 0.5, now=0)
    dead = np.zeros(5, bool)
    dead[2] = True
    s.remove_firms(dead)
    assert sorted(zip(s.src.tolist(), s.dst.tolist(), strict=True)) == [(0, 1), (3, 4), (4, 0)]
    s.value[:] = [0.1, 0.2, 0.3]
    s.keep(s.value > 0.15)
    assert len(s) == 2
    assert (0, 1) not in s
    assert s.get(3, 4) == 0.2
    assert s.get(4, 0) == 0.3
    empty = PairStore(directed=False)
    empty.remove_firms(dead)
    assert len(empty) == 0


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.lists(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=12),
                               max_size=6))
def test_pairstore_matches_a_dict_model(directed, batches):
    """Any sequence of slots() calls leaves the store equal to a dict keyed by (ordered) pairs."""
    s = PairStore(directed=directed)
    ref: dict[tuple[int, int], float] = {}
    for b, batch in enumerate(batches):
        i = np.array([a for a, _ in batch], dtype=np.int64)
        j = np.array([c for _, c in batch], dtype=np.int64)
        keys = [(a, c) if directed else (min(a, c), max(a, c)) for a, c in batch]
        pos, created = s.slots(i, j, float(b), now=b)
        assert created.tolist() == [k not in ref for k in keys]
        for k in keys:
            ref.setdefault(k, float(b))
        assert [s.value[q] for q in pos.tolist()] == [ref[k] for k in keys]  # positions index the new arrays
        assert np.all(np.diff(s.key) > 0)
    assert len(s) == len(ref)
    for (a, c), v in ref.items():
        assert s.get(a, c) == v
        if not directed:
            assert s.get(c, a) == v


def test_segment_sum_and_max_match_a_naive_loop():
    """segment_sum/segment_max equal per-group loops, including empty groups (0) and a single element."""
    rng = np.random.default_rng(0)
    for m, n in ((0, 4), (1, 3), (50, 7), (200, 30)):
        idx = rng.integers(0, n, m)
        idx[idx == 2] = 0  # group 2 is always empty
        vals = rng.random((m, 5))
        naive_sum = np.zeros((n, 5))
        naive_max = np.zeros((n, 5))
        for g in range(n):
            sel = vals[idx == g]
            if len(sel):
                naive_sum[g] = sel.sum(axis=0)
                naive_max[g] = sel.max(axis=0)
        np.testing.assert_allclose(segment_sum(idx, vals, n), naive_sum, atol=1e-12)
        np.testing.assert_array_equal(segment_max(idx, vals, n), naive_max)


# --------------------------------------------------------------------------------------------------------
# 12. accounting
# --------------------------------------------------------------------------------------------------------

def _ledger_accounts(m: ClusterModel) -> tuple[float, float, float, float]:
    """(firms' stocks, firms' recorded flows, funds' stock, funds' recorded flows) from model.ledger."""
    L, F, C = m.ledger, m.firms, m.clusters
    firms_now = float(F.capital[: F.n][F.alive[: F.n]].sum()) + L["exit_capital"]
    funds_now = float(C.fund[: C.n][C.alive[: C.n]].sum())
    firm_flows = (L["initial_capital"] + L["entrant_capital"]
                  + L["revenue"] + L["moyens_saving"] + L["pm_revenue"] + L["public_cofunding"]
                  - L["inputs"] - L["wages"] - L["fixed_costs"] - L["need_costs"] - L["moyens_cost"]
                  - L["pm_cost"] - L["club_cost"] - L["fees"] - L["payout"])
    fund_flows = L["fees"] + L["public_funding"] - L["coordination_spending"] - L["fund_lost"]
    return firms_now, firm_flows, funds_now, fund_flows


def _busy_run(seed: int) -> ClusterModel:
    """80 firms, 40 quarters; coordination cheaper than the fee so that funds build up and some are lost."""
    m = ClusterModel(make_scenario(80, {"clusters.coordination_cost": 0.5}), rng=seed, collect=False)
    m.run(40)
    c = m.counters
    assert c["exits"] > 0
    assert c["startups"] > 0
    assert c["clusters_formed"] > 0
    assert c["clusters_dissolved"] > 0
    return m


@pytest.mark.parametrize("seed", [0, 2])
def test_money_ledger_balances_after_a_run(seed):
    """Firms' capital + exit capital + clusters' funds = initial + entrant capital + inflows − outflows."""
    m = _busy_run(seed)
    L = m.ledger
    for entry in ("pm_revenue", "moyens_saving", "club_cost", "fund_lost", "coordination_spending", "exit_capital"):
        assert L[entry] != 0.0, entry  # every kind of flow was exercised
    firms_now, firm_flows, funds_now, fund_flows = _ledger_accounts(m)
    assert firms_now == pytest.approx(firm_flows, rel=1e-9)  # firms' account
    assert funds_now == pytest.approx(fund_flows, rel=1e-9, abs=1e-6)  # clusters' funds
    assert firms_now + funds_now == pytest.approx(firm_flows + fund_flows, rel=1e-9)
    np.testing.assert_array_equal(m.clusters.fund[: m.clusters.n][~m.clusters.alive[: m.clusters.n]], 0.0)
