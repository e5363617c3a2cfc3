"""More mechanisms of clustersim shown in isolation (complements tests/test_mechanisms.py).

Each test reproduces the effect a docstring of :mod:`clustersim.model` or section 7 of docs/ODD.md documents,
as an exact value from the documented equation or as a direction against a control: knowledge leakage (7.12),
spillovers along horizontal links (7.16), cooperativeness learning (7.15), bottom-up formation (7.20), the
life cycle (7.21), coordination effectiveness (7.5), market shares (7.2), employment (7.4) and supplier search
(7.23). The model's private mechanisms are called one at a time on small seeded models in which every process
that would add or remove firms, clusters or memberships is switched off (``QUIET``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import add_cluster, quiet_model

from clustersim.model import (
    STAGE_DECLINE,
    STAGE_DISSOLVED,
    STAGE_EMERGENCE,
    STAGE_GROWTH,
    STAGE_MATURITY,
    ClusterModel,
)
from clustersim.model.mechanisms import actions, formation, knowledge, lifecycle, links, market, membership

# --------------------------------------------------------------------------------------------------------
# helpers (the approach of tests/test_mechanisms.py)
# --------------------------------------------------------------------------------------------------------


#: every member always contributes: full cooperativeness, and neither trust nor alignment moves willingness
ALL_CONTRIBUTE = {"firms.cooperativeness_mean": 1.0, "firms.cooperativeness_sd": 0.0,
                  "trust.cooperation_weight": 0.0, "clusters.alignment_weight": 0.0}




def critical_mass_one(*orientations: str) -> dict:
    """Critical mass 1 in every domain of the given orientations (no action fails for lack of members)."""
    out = {}
    for o in orientations:
        base = f"orientations.{o}.critical_mass"
        out |= {f"{base}.median": 1.0, f"{base}.dispersion": 0.0, f"{base}.minimum": 1}
    return out


# --------------------------------------------------------------------------------------------------------
# 1. knowledge leakage (7.12)
# --------------------------------------------------------------------------------------------------------

def _leak_case(rate: float):
    """Two clusters in a 2-sector region, hand-made memberships, gains and capability values.

    Cluster 0: sector-0 participants a, b, c and non-participants d, e; sector-1 non-participants x, y.
    Cluster 1: sector-0 non-participant g (its sector's participants are all in cluster 0); sector-1
    participant p and non-participant q.
    """
    m = quiet_model(40, 1, {"region.n_sectors": 2, "competition.leakage_rate": rate})
    F = m.firms
    rows = m.alive_rows
    s0, s1 = rows[F.sector[rows] == 0], rows[F.sector[rows] == 1]
    a, b, c, d, e, g = (int(r) for r in s0[:6])
    x, y, p, q = (int(r) for r in s1[:4])
    f = np.array([a, b, c, d, e, x, y, g, p, q], dtype=np.int64)
    cl = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1], dtype=np.int64)
    part = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    gain = np.random.default_rng(3).uniform(0.0, 0.05, (len(f), m.K)) * part[:, None]
    cv = np.linspace(50.0, 150.0, F.n)
    return m, f, cl, part, gain, cv


def test_leakage_reaches_same_sector_non_participants_of_the_cluster_only():
    """leak = rate × mean gain of the cluster's same-sector participants; nobody else receives anything."""
    rate = 0.3
    m, f, cl, part, gain, cv = _leak_case(rate)
    leak_gain, _ = actions.leakage(m, f, cl, 2, gain, part, cv)
    expected = np.zeros_like(gain)
    expected[[3, 4]] = rate * gain[[0, 1, 2]].mean(axis=0)  # d, e: sector-0 non-participants of cluster 0
    expected[9] = rate * gain[8]  # q: learns from cluster 1's only sector-1 participant p
    np.testing.assert_allclose(leak_gain, expected, rtol=1e-12, atol=0)
    assert (leak_gain[[3, 4, 9]] > 0).any(axis=1).all()
    np.testing.assert_array_equal(leak_gain[[5, 6]], 0.0)  # other sector, no participant of theirs
    np.testing.assert_array_equal(leak_gain[7], 0.0)  # same sector, but the participants are in another cluster
    np.testing.assert_array_equal(leak_gain[part], 0.0)  # participants receive no leak
    assert m.step_stats["knowledge_leaked"] == pytest.approx(expected.mean(axis=1).sum())


def test_leakage_cost_is_rivals_money_value_shared_by_participants():
    """Each participant of a (cluster, sector) group bears Σ receivers' mean_k(leak)·cv / participants."""
    m, f, cl, part, gain, cv = _leak_case(0.3)
    leak_gain, leak_cost = actions.leakage(m, f, cl, 2, gain, part, cv)
    value = leak_gain.mean(axis=1) * cv[f]  # money value received by each membership
    expected = np.zeros(len(f))
    expected[[0, 1, 2]] = (value[3] + value[4]) / 3
    expected[8] = value[9]
    np.testing.assert_allclose(leak_cost, expected, rtol=1e-12)
    assert (leak_cost[part] > 0).all()
    np.testing.assert_array_equal(leak_cost[~part], 0.0)
    assert leak_cost.sum() == pytest.approx(value.sum())  # what the receivers get, the sources lose


def test_leakage_scales_with_rate_and_vanishes_at_zero():
    """leakage_rate 0 → no gain, no cost; doubling the rate doubles both."""
    out = {}
    for rate in (0.0, 0.2, 0.4):
        m, f, cl, part, gain, cv = _leak_case(rate)
        out[rate] = actions.leakage(m, f, cl, 2, gain, part, cv)
    np.testing.assert_array_equal(out[0.0][0], 0.0)
    np.testing.assert_array_equal(out[0.0][1], 0.0)
    assert out[0.2][0].sum() > 0
    np.testing.assert_allclose(out[0.4][0], 2 * out[0.2][0], rtol=1e-12)
    np.testing.assert_allclose(out[0.4][1], 2 * out[0.2][1], rtol=1e-12)


def test_leakage_feeds_capability_gains_and_net_benefits_in_the_model():
    """In a one-sector cluster, free-riders' club gain = rate × contributors' mean gain; contributors pay."""
    out = {}
    contributors, free_riders = [0, 3, 6, 9], [12, 15, 18, 21]
    for rate in (0.0, 0.5):
        m = quiet_model(40, 4, {**ALL_CONTRIBUTE, **critical_mass_one("club"), "region.n_sectors": 1,
                                "competition.leakage_rate": rate})
        m.firms.coop[free_riders] = 0.0  # willingness 0: never contribute, never take part in the club
        add_cluster(m, contributors + free_riders)
        actions.collective_actions(m)
        out[rate] = (m.club_gain.copy(), m.firms.cluster_net[: m.firms.n].copy())
    (g0, net0), (g1, net1) = out[0.0], out[0.5]
    assert g0[contributors].sum() > 0  # the club ran and its participants learned
    np.testing.assert_array_equal(g0[free_riders], 0.0)  # without leakage free-riders learn nothing
    np.testing.assert_allclose(g1[contributors], g0[contributors], rtol=1e-12)  # same draws, same learning
    np.testing.assert_allclose(g1[free_riders], np.tile(0.5 * g0[contributors].mean(axis=0), (4, 1)), rtol=1e-12)
    assert np.all(net1[contributors] < net0[contributors])  # the leak cost
    assert np.all(net1[free_riders] > net0[free_riders])  # the money value of the leaked knowledge


# --------------------------------------------------------------------------------------------------------
# 2. spillovers along horizontal links (7.16)
# --------------------------------------------------------------------------------------------------------

def _spill_model(contact: float):
    """Non-member a linked (v = 0.5) to member b, which leads everywhere but in domain 0; c has no link."""
    m = quiet_model(30, 2, {"links.contact_probability": contact, "links.spillover_rate": 0.05})
    a, b, c = 20, 21, 22
    add_cluster(m, [b, 0, 1, 2])
    F = m.firms
    F.cap[a] = 0.2
    F.cap[a, 0] = 0.9
    F.cap[b] = 0.6
    F.cap[c] = 0.2
    m.horizontal.slots(np.array([a]), np.array([b]), 0.5, m.now)
    assert len(m.horizontal) == 1
    m.club_gain = np.zeros((F.n, m.K))  # no club learning this quarter: spillovers only
    return m, a, b, c


def test_spillover_to_a_linked_non_member_follows_the_partners_lead():
    """cap_a ← cap_a(1−o) + r·v·max(0, cap_b − cap_a); the leader keeps its lead (only obsolescence)."""
    m, a, b, c = _spill_model(1.0)
    F = m.firms
    o, r, v = m.p.learning.capability_obsolescence, m.p.links.spillover_rate, 0.5
    ca, cb, cc = F.cap[a].copy(), F.cap[b].copy(), F.cap[c].copy()
    knowledge.knowledge_and_productivity(m)
    spill_a = r * v * np.maximum(0.0, cb - ca)
    spill_b = r * v * np.maximum(0.0, ca - cb)
    np.testing.assert_allclose(F.cap[a], ca * (1 - o) + spill_a, rtol=1e-12)
    np.testing.assert_allclose(F.cap[b], cb * (1 - o) + spill_b, rtol=1e-12)
    np.testing.assert_allclose(F.cap[c], cc * (1 - o), rtol=1e-12)  # same start as a, no link: no gain
    assert np.all(F.cap[a][1:] > ca[1:] * (1 - o))  # a gains where b leads ...
    assert F.cap[a][0] == pytest.approx(ca[0] * (1 - o))  # ... and loses nothing where it leads
    assert np.all(F.cap[b][1:] == pytest.approx(cb[1:] * (1 - o)))  # b loses nothing to a
    assert F.cap[b][0] > cb[0] * (1 - o)  # and gains in the one domain where a leads
    # the indicator counts non-members only: a, not the member b
    assert m.step_stats["spillover_nonmembers"] == pytest.approx(spill_a.mean())


def test_no_spillover_when_the_link_carries_no_exchange():
    """contact_probability 0: the link exists but carries nothing; only obsolescence acts."""
    m, a, b, _ = _spill_model(0.0)
    F = m.firms
    o = m.p.learning.capability_obsolescence
    ca, cb = F.cap[a].copy(), F.cap[b].copy()
    knowledge.knowledge_and_productivity(m)
    np.testing.assert_allclose(F.cap[a], ca * (1 - o), rtol=1e-12)
    np.testing.assert_allclose(F.cap[b], cb * (1 - o), rtol=1e-12)
    assert m.step_stats["spillover_nonmembers"] == 0.0


# --------------------------------------------------------------------------------------------------------
# 3. cooperativeness learning (7.15)
# --------------------------------------------------------------------------------------------------------

def _documented_delta(u_c: float, u_d: float, lr: float, scale: float) -> float:
    return lr * math.tanh((u_c - u_d) / (abs(u_c) + abs(u_d) + scale))


def test_cooperativeness_moves_towards_the_behaviour_that_paid_better():
    """δ_c = rate·tanh((u_C − u_D)/(|u_C| + |u_D| + scale)) for every member; 0 in one-behaviour clusters."""
    m = quiet_model(20, 3, {"learning.cooperativeness_learning_rate": 0.1, "learning.payoff_signal_scale": 2.0})
    F = m.firms
    F.coop[: F.n] = 0.5
    # cluster 0: contributors earn more; cluster 1: free-riders earn more; 2: all contribute; 3: all free-ride;
    # firm 12 is in clusters 0 (contributing) and 1 (free-riding)
    f = np.array([0, 1, 2, 3, 12, 4, 5, 6, 12, 7, 8, 9, 10], dtype=np.int64)
    c = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3], dtype=np.int64)
    coop = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0], dtype=bool)
    payoff = np.array([10.0, 6.0, 2.0, 0.0, 8.0, -3.0, 1.0, 2.0, 1.5, 50.0, -5.0, 7.0, -7.0])
    actions.learn_cooperativeness(m, f, c, 4, coop, payoff)
    d0 = _documented_delta(8.0, 1.0, 0.1, 2.0)  # u_C = (10+6+8)/3, u_D = (2+0)/2
    d1 = _documented_delta(-3.0, 1.5, 0.1, 2.0)  # u_C = -3, u_D = (1+2+1.5)/3
    assert d0 > 0 > d1
    np.testing.assert_allclose(F.coop[[0, 1, 2, 3]], 0.5 + d0, rtol=1e-12)  # free-riders of 0 rise too
    np.testing.assert_allclose(F.coop[[4, 5, 6]], 0.5 + d1, rtol=1e-12)  # the contributor of 1 falls too
    assert F.coop[12] == pytest.approx(0.5 + d0 + d1)  # summed over its memberships
    np.testing.assert_array_equal(F.coop[[7, 8, 9, 10]], 0.5)  # nobody to compare with: no change
    np.testing.assert_array_equal(F.coop[13:20], 0.5)  # non-members


def test_cooperativeness_learning_is_clipped_to_unit_interval():
    """A large signal pushes cooperativeness to 1 or 0 at most."""
    m = quiet_model(20, 3, {"learning.cooperativeness_learning_rate": 1.0})
    F = m.firms
    F.coop[[0, 1, 2, 3]] = [0.95, 0.9, 0.05, 0.1]
    f = np.array([0, 1, 2, 3], dtype=np.int64)
    c = np.array([0, 0, 1, 1], dtype=np.int64)
    coop = np.array([1, 0, 1, 0], dtype=bool)
    actions.learn_cooperativeness(m, f, c, 2, coop, np.array([100.0, 0.0, -100.0, 0.0]))
    assert _documented_delta(100.0, 0.0, 1.0, 1.0) > 0.1  # unclipped both would leave [0, 1]
    np.testing.assert_array_equal(F.coop[[0, 1]], 1.0)
    np.testing.assert_array_equal(F.coop[[2, 3]], 0.0)


# --------------------------------------------------------------------------------------------------------
# 4. bottom-up formation (7.20)
# --------------------------------------------------------------------------------------------------------

#: every firm proposes; candidates are judged on interest alone (no noise, no fee, any prospect clears)
FORMING = {**ALL_CONTRIBUTE, "clusters.initiative_probability": 1.0, "clusters.join_threshold": -1000.0,
           "clusters.membership_fee": 0.0, "learning.information_noise": 0.0, "links.max_suppliers": 0}


def _scores(m: ClusterModel, initiator: int, cand: np.ndarray) -> np.ndarray:
    """Candidates' interest in a proposal of ``initiator`` (all orientations at 1, its need, its profile)."""
    F = m.firms
    return m.interest(cand, np.ones(3), np.full(len(cand), F.need[initiator]), F.cap[initiator])


def test_formation_founders_are_the_candidates_at_or_above_attraction_threshold():
    """All firms are candidates: the founders are exactly those whose interest in the purpose clears the
    threshold; the purpose has intensity 1, the others the founders' mean interest."""
    m = quiet_model(30, 3, {**FORMING, "clusters.partner_search_sample": 500, "clusters.attraction_threshold": 0.5,
                            "clusters.purpose_weight_moyens": 0.0, "clusters.purpose_weight_club": 0.0})
    assert len(m.vertical) == len(m.horizontal) == 0  # no link partners: candidates are the random sample
    formation.form_clusters(m)
    C, mem = m.clusters, m.memberships
    assert C.n >= 1
    assert m.counters["clusters_formed"] == C.n
    first = mem.firm[mem.cluster == 0]  # the first proposal of the quarter had every firm as candidate
    initiator, founders = int(first[0]), np.sort(first[1:])
    others = np.setdiff1d(m.alive_rows, [initiator])
    sc = _scores(m, initiator, others)
    accepted = others[sc[:, 1] >= 0.5]
    refused = others[sc[:, 1] < 0.5]
    assert len(refused) > 0
    np.testing.assert_array_equal(founders, accepted)
    assert C.size[0] == len(founders) + 1 >= m.p.clusters.min_founders
    fsc = _scores(m, initiator, founders)
    np.testing.assert_allclose(C.orient[0], [fsc[:, 0].mean(), 1.0, fsc[:, 2].mean()], rtol=1e-12)
    assert C.stage[0] == STAGE_EMERGENCE
    for row in range(C.n):  # every cluster formed has its founding purpose at 1 and enough founders
        assert C.orient[row, 1] == 1.0
        assert C.size[row] >= m.p.clusters.min_founders
        assert np.all(_scores(m, int(mem.firm[mem.cluster == row][0]), mem.firm[mem.cluster == row][1:])[:, 1]
                      >= 0.5)


@pytest.mark.parametrize(("min_founders", "unwilling", "formed"), [(30, 0, 1), (31, 0, 0), (29, 1, 1), (30, 1, 0)])
def test_formation_needs_min_founders(min_founders, unwilling, formed):
    """30 firms all candidates of the first proposal: with everybody willing min_founders 30 forms one cluster
    of all and 31 nothing; with one unwilling firm (cooperativeness 0) 29 forms, 30 does not (too few accept)."""
    m = quiet_model(30, 5, {**FORMING, "clusters.partner_search_sample": 500, "clusters.attraction_threshold": 0.0,
                            "clusters.min_founders": min_founders})
    m.firms.coop[11] = 1.0 - unwilling
    formation.form_clusters(m)
    assert m.clusters.n == formed
    assert m.counters["clusters_formed"] == formed
    assert len(m.memberships) == (30 - unwilling) * formed
    if formed:
        assert m.clusters.size[0] == 30 - unwilling
        assert 11 not in m.memberships.firm if unwilling else 11 in m.memberships.firm


def test_formation_needs_willing_candidates():
    """Candidates accept only with probability = their cooperativeness: none willing, no cluster."""
    n_formed = {}
    for willing in (0.0, 1.0):
        m = quiet_model(30, 5, {**FORMING, "clusters.partner_search_sample": 500,
                                "clusters.attraction_threshold": 0.0})
        m.firms.coop[: m.firms.n] = willing
        m.firms.coop[7] = 1.0  # the only initiator when nobody else is willing
        formation.form_clusters(m)
        n_formed[willing] = m.clusters.n
    assert n_formed[0.0] == 0
    assert n_formed[1.0] >= 1


# --------------------------------------------------------------------------------------------------------
# 5. life cycle (7.21)
# --------------------------------------------------------------------------------------------------------

def test_small_cluster_dissolves_after_dissolve_patience_quarters_not_before():
    """Below min_size for dissolve_patience consecutive quarters: dissolved, members out, fund lost."""
    m = quiet_model(30, 6, {"clusters.min_size": 4, "clusters.dissolve_patience": 3})
    C = m.clusters
    small = add_cluster(m, [0, 1, 2])
    ok = add_cluster(m, [3, 4, 5, 6])  # at min_size: never counts down
    C.fund[small] = 7.5
    agent = m.cluster(small)
    lost0 = m.ledger["fund_lost"]
    for q in (1, 2):
        m.now += 1
        lifecycle.life_cycle(m)
        assert C.alive[small]
        assert C.low_streak[small] == q
        assert agent in m.agents
    m.now += 1
    lifecycle.life_cycle(m)
    assert not C.alive[small]
    assert C.died[small] == m.now
    assert C.stage[small] == STAGE_DISSOLVED
    assert C.size[small] == 0
    assert small not in m.memberships.cluster
    np.testing.assert_array_equal(m.firms.n_memberships[[0, 1, 2]], 0)
    assert m.counters["leave_dissolution"] == 3
    assert m.counters["clusters_dissolved"] == 1
    assert agent not in m.agents
    assert small not in m.cluster_agents
    assert C.fund[small] == 0.0
    assert m.ledger["fund_lost"] - lost0 == pytest.approx(7.5)
    assert C.alive[ok]
    assert C.low_streak[ok] == 0
    assert m.cluster(ok).members == [3, 4, 5, 6]


def test_dissolution_countdown_restarts_when_the_cluster_recovers():
    """The quarters below min_size must be consecutive: one quarter at min_size resets the count."""
    m = quiet_model(30, 6, {"clusters.min_size": 4, "clusters.dissolve_patience": 3})
    row = add_cluster(m, [0, 1, 2])
    for _ in range(2):
        m.now += 1
        lifecycle.life_cycle(m)
    membership.add_memberships(m, np.array([9]), np.array([row]), np.zeros(1))  # back at min_size for one quarter
    m.now += 1
    lifecycle.life_cycle(m)
    assert m.clusters.low_streak[row] == 0
    membership.remove_memberships(m, m.memberships.firm == 9, "negative_benefit")
    for q in (1, 2):
        m.now += 1
        lifecycle.life_cycle(m)
        assert m.clusters.alive[row]
        assert m.clusters.low_streak[row] == q
    m.now += 1
    lifecycle.life_cycle(m)
    assert not m.clusters.alive[row]


def test_life_cycle_stages_follow_age_and_membership_trend():
    """emergence before emergence_age; then growth / decline / maturity by the EWMA trend vs ±growth_threshold;
    decline whatever the trend when members remember a net loss."""
    m = quiet_model(40, 7, {"clusters.emergence_age": 8, "clusters.trend_weight": 0.2,
                            "clusters.growth_threshold": 0.02})
    C, mem = m.clusters, m.memberships
    rows = [add_cluster(m, range(4 * k, 4 * k + 4)) for k in range(6)]
    m.now = 20
    #            young   growth  decline  mature  loss    joined
    born = [13, 12, 0, 5, 0, 0]
    trend = [0.5, 0.1, -0.1, 0.01, 0.1, 0.0]
    C.born[rows] = born
    C.trend[rows] = trend
    m.prev_sizes = C.size[: C.n].astype(np.float64)  # no membership change ...
    m.prev_sizes[rows[5]] = 2.0  # ... except the last cluster, which grew from 2 to 4 members
    mem.memory[mem.cluster == rows[4]] = -0.5  # members of cluster 4 remember a net loss
    lifecycle.life_cycle(m)
    change = np.array([0, 0, 0, 0, 0, (4 - 2) / 4])
    np.testing.assert_allclose(C.trend[rows], 0.8 * np.array(trend) + 0.2 * change, rtol=1e-12)
    assert C.stage[rows].tolist() == [STAGE_EMERGENCE, STAGE_GROWTH, STAGE_DECLINE, STAGE_MATURITY,
                                      STAGE_DECLINE, STAGE_GROWTH]
    assert [m.cluster(r).stage for r in rows] == ["emergence", "growth", "decline", "maturity", "decline",
                                                  "growth"]


# --------------------------------------------------------------------------------------------------------
# 6. coordination effectiveness (7.5)
# --------------------------------------------------------------------------------------------------------

MEMBERS6 = [0, 5, 10, 15, 20, 25]


def _coordinated(facilitator_quality: float = 1.0, fund: float = 0.0, params: dict | None = None):
    """A 6-member cluster sharing one need, every member contributing, critical mass 1 everywhere;
    one collective-action phase."""
    m = quiet_model(40, 4, {**ALL_CONTRIBUTE, **critical_mass_one("moyens", "products_markets", "club"),
                            **(params or {})})
    m.firms.need[MEMBERS6] = 0
    row = add_cluster(m, MEMBERS6)
    m.clusters.facilitator_quality[row] = facilitator_quality
    m.clusters.fund[row] = fund
    sizes = m.firms.size[MEMBERS6].copy()
    actions.collective_actions(m)
    return m, row, sizes


def _documented_eff(coordination: float, size: int, half: float, quality: float) -> float:
    return coordination / (1 + size / (half * quality))


@pytest.mark.parametrize(("fee", "cost", "fund", "coordination"),
                         [(2.0, 2.5, 0.0, 0.8), (1.0, 4.0, 0.0, 0.25), (0.0, 2.5, 100.0, 1.0), (2.0, 0.0, 0.0, 1.0)])
def test_coordination_is_funded_share_of_its_cost(fee, cost, fund, coordination):
    """coordination = min(fund + fee·size, cost·size)/(cost·size) (1 if nothing to pay); Moyens savings
    scale with eff = coordination/(1 + size/half_size)."""
    m, row, sizes = _coordinated(fund=fund, params={"clusters.membership_fee": fee,
                                                    "clusters.coordination_cost": cost})
    C, p = m.clusters, m.p
    assert C.coordination[row] == pytest.approx(coordination)
    assert C.fund[row] == pytest.approx(max(0.0, fund + 6 * fee - 6 * cost))
    eff = _documented_eff(coordination, 6, p.clusters.coordination_half_size, 1.0)
    saving = eff * p.orientations.moyens.need_cost_per_employee * sizes.sum()  # w = 1, every member contributes
    assert m.ledger["moyens_saving"] == pytest.approx(saving, rel=1e-12)


def test_better_facilitator_raises_collective_benefits_for_the_same_members():
    """Same members, same draws: Moyens savings ∝ 1/(1 + size/(half_size·quality)); joint products too."""
    out = {}
    for q in (0.1, 1.0, 5.0):
        m, _, sizes = _coordinated(facilitator_quality=q)
        out[q] = (m.ledger["moyens_saving"], m.ledger["pm_revenue"])
        half = m.p.clusters.coordination_half_size
        expected = _documented_eff(0.8, 6, half, q) * m.p.orientations.moyens.need_cost_per_employee * sizes.sum()
        assert out[q][0] == pytest.approx(expected, rel=1e-12)
    assert out[0.1][0] < out[1.0][0] < out[5.0][0]
    assert 0 < out[0.1][1] < out[1.0][1] < out[5.0][1]


def test_unfunded_cluster_yields_nothing():
    """fee 0 and an empty fund while coordination costs: coordination 0, so no saving, revenue or learning."""
    funded, _, _ = _coordinated()
    assert funded.ledger["moyens_saving"] > 0
    assert funded.ledger["pm_revenue"] > 0
    assert funded.club_gain.sum() > 0
    m, row, _ = _coordinated(params={"clusters.membership_fee": 0.0, "clusters.coordination_cost": 2.5})
    assert m.clusters.coordination[row] == 0.0
    assert m.ledger["coordination_spending"] == 0.0
    assert m.ledger["moyens_saving"] == 0.0
    assert m.ledger["pm_revenue"] == 0.0
    np.testing.assert_array_equal(m.club_gain, 0.0)


# --------------------------------------------------------------------------------------------------------
# 7. market shares (7.2)
# --------------------------------------------------------------------------------------------------------

def _market_model():
    m = quiet_model(30, 5, {"region.n_sectors": 2})
    F = m.firms
    F.prod[: F.n] = np.random.default_rng(1).uniform(0.6, 1.4, F.n)
    m.frontier = 1.2
    m.demand = np.array([4000.0, 2500.0])
    m.competitors = np.array([300.0, 150.0])
    return m


def test_export_revenue_is_demand_times_weight_share():
    """export_i = demand_s · w_i / (Σ_s w + competitors_s), w = s_ref · (size / s_ref)^α · (prod/frontier)^elasticity;
    the market's price (revenue per unit of weight) is demand_s / (Σ_s w + competitors_s)."""
    m = _market_model()
    F = m.firms
    rows = m.alive_rows
    e, a, ref = m.p.market.market_share_elasticity, m.p.market.returns_to_scale, m.p.firms.size_median
    assert a < 1
    market.market(m)
    w = ref * (F.size[rows] / ref) ** a * (F.prod[rows] / 1.2) ** e
    s = F.sector[rows]
    total = np.array([w[s == 0].sum(), w[s == 1].sum()]) + m.competitors
    np.testing.assert_allclose(F.export_revenue[rows], m.demand[s] * w / total[s], rtol=1e-12)
    np.testing.assert_allclose(m.price, m.demand / total, rtol=1e-12)
    for k in (0, 1):  # the region and the outside competitors share the whole demand
        assert F.export_revenue[rows][s == k].sum() + m.demand[k] * m.competitors[k] / total[k] == pytest.approx(
            m.demand[k])


def test_higher_productivity_wins_a_larger_share():
    """Two same-sector firms of equal size: export ratio = (prod ratio)^elasticity; raising one's
    productivity raises its export and lowers its rival's."""
    m = _market_model()
    F = m.firms
    rows = m.alive_rows
    i, j = (int(r) for r in rows[F.sector[rows] == 0][:2])
    F.size[[i, j]] = 10.0
    F.prod[[i, j]] = [1.1, 0.9]
    e = m.p.market.market_share_elasticity
    market.market(m)
    xi, xj = F.export_revenue[i], F.export_revenue[j]
    assert xi / xj == pytest.approx((1.1 / 0.9) ** e, rel=1e-12)
    F.prod[i] = 1.3
    market.market(m)
    assert F.export_revenue[i] > xi
    assert F.export_revenue[j] < xj


def test_without_elasticity_shares_follow_size_only():
    """elasticity 0 and constant returns: export per employee is demand_s/(Σ_s size + competitors_s), whatever
    the productivity."""
    m = _market_model()
    m.p.market.market_share_elasticity = 0.0
    m.p.market.returns_to_scale = 1.0
    F = m.firms
    rows = m.alive_rows
    market.market(m)
    s = F.sector[rows]
    per_employee = F.export_revenue[rows] / F.size[rows]
    for k in (0, 1):
        expected = m.demand[k] / (F.size[rows][s == k].sum() + m.competitors[k])
        np.testing.assert_allclose(per_employee[s == k], expected, rtol=1e-12)
    assert np.ptp(F.prod[rows]) > 0.5  # very different productivities, same export per employee


# --------------------------------------------------------------------------------------------------------
# 8. employment (7.4)
# --------------------------------------------------------------------------------------------------------

def test_employment_follows_profitability_within_max_growth_and_floor():
    """size ← max(1, size·(1 + clip(adj · profit/(wage·size + fixed), ±max_growth)))."""
    adj, mg = 0.5, 0.05
    m = quiet_model(30, 6, {"firms.employment_adjustment": adj, "firms.max_growth": mg})
    F, mk = m.firms, m.p.market
    need = m.p.orientations.moyens.need_cost_per_employee
    rows = m.alive_rows
    F.size[[0, 1, 2, 3]] = [30.0, 30.0, 1.0, 12.0]
    F.revenue[[0, 1, 2]] = [1e6, 0.0, 0.0]  # huge profit, loss, loss of a one-employee firm
    F.inputs[[0, 1, 2, 3]] = 0.0
    base3 = mk.wage * 12.0 + mk.fixed_cost
    F.revenue[3] = base3 + need * 12.0 + 0.04 * base3  # profit = 4 % of wages and overhead
    size0 = F.size[rows].copy()
    profit = F.revenue[rows] - F.inputs[rows] - mk.wage * size0 - mk.fixed_cost - need * size0
    actions.collective_actions(m)
    np.testing.assert_allclose(F.profit[rows], profit, rtol=1e-12)
    expected = np.maximum(1.0, size0 * (1 + np.clip(adj * profit / (mk.wage * size0 + mk.fixed_cost), -mg, mg)))
    np.testing.assert_allclose(F.size[rows], expected, rtol=1e-12)
    assert F.size[0] == pytest.approx(30.0 * (1 + mg))  # capped growth
    assert F.size[1] == pytest.approx(30.0 * (1 - mg))  # capped shrinkage
    assert F.size[2] == 1.0  # never below one employee
    assert F.size[3] == pytest.approx(12.0 * (1 + adj * 0.04))  # unclipped: adj · relative profit
    assert (F.size[rows] > size0).any() and (F.size[rows] < size0).any()


# --------------------------------------------------------------------------------------------------------
# 9. supplier search (7.23)
# --------------------------------------------------------------------------------------------------------

def _search_model():
    """No links at initialisation (max_suppliers 0), then up to 2 suppliers; a search sees the whole stage."""
    m = quiet_model(40, 7, {"links.max_suppliers": 0, "links.search_sample": 1000})
    assert len(m.vertical) == 0
    m.p.links.max_suppliers = 2
    return m


def test_supplier_search_links_to_the_most_productive_firm_one_stage_up():
    m = _search_model()
    F = m.firms
    rows = m.alive_rows
    stage1 = rows[F.chain[rows] == 1]
    customer = int(rows[F.chain[rows] == 2][0])
    best = int(stage1[np.argmax(F.prod[stage1])])
    links.supplier_search(m, np.array([customer]))
    assert m.vertical.src.tolist() == [best]
    assert m.vertical.dst.tolist() == [customer]
    assert m.vertical.value.tolist() == [m.p.links.initial_intensity]
    # every searching firm links one stage up, to that stage's most productive firm
    searching = rows[F.chain[rows] > 0]
    links.supplier_search(m, searching)
    V = m.vertical
    assert set(V.dst.tolist()) == set(searching.tolist())
    np.testing.assert_array_equal(F.chain[V.src], F.chain[V.dst] - 1)
    for k in (0, 1):
        stage = rows[F.chain[rows] == k]
        assert set(V.src[F.chain[V.src] == k].tolist()) == {int(stage[np.argmax(F.prod[stage])])}


def test_supplier_search_neither_duplicates_a_link_nor_exceeds_max_suppliers():
    m = _search_model()
    F, V = m.firms, m.vertical
    rows = m.alive_rows
    stage1 = rows[F.chain[rows] == 1]
    customer = int(rows[F.chain[rows] == 2][0])
    first = int(stage1[np.argmax(F.prod[stage1])])
    links.supplier_search(m, np.array([customer]))
    links.supplier_search(m, np.array([customer]))  # finds the same supplier again: no second link
    assert len(m.vertical) == 1
    second = int(stage1[stage1 != first][0])
    F.prod[second] = 10 * F.prod[stage1].max()  # a new most productive supplier
    links.supplier_search(m, np.array([customer]))
    V = m.vertical
    assert sorted(zip(V.src.tolist(), V.dst.tolist(), strict=True)) == sorted([(first, customer), (second, customer)])
    third = int(stage1[(stage1 != first) & (stage1 != second)][0])
    F.prod[third] = 10 * F.prod[second]
    links.supplier_search(m, np.array([customer]))  # already max_suppliers = 2 suppliers
    V = m.vertical
    assert len(V) == 2
    assert third not in V.src
