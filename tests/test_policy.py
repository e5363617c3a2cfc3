"""Public policies (clustersim/model/policy/): each instrument, support rule and constitution mode in isolation.

Every instrument is shown acting through the mechanism its registry entry (``instruments.INSTRUMENTS``) documents
-- a probability, a cost, a noise, a capability -- by comparing a seeded model that has it with an identical
one that does not (or with the instrument's effect set to zero), or by setting the state up directly and
calling the phase that acts. Scenarios are built with :func:`clustersim.scenario.io.scenario_from_dict`, so
that the ``Policy`` validator runs on each of them. Models are small (40-80 firms, at most 30 quarters).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from unittest import mock

import numpy as np
import pytest
from helpers import QUIET, add_cluster, put_path

from clustersim.model import MODE_BOTTOM_UP, MODE_CALL, MODE_DIRECTIVE, MODE_IDENTIFICATION, ClusterModel, NoPolicy
from clustersim.model.mechanisms import actions, membership
from clustersim.model.orientations import cognitive_learning_factor
from clustersim.model.policy.instruments import INSTRUMENTS, SPENDING_ITEMS
from clustersim.model.policy.public import PublicPolicy, build_policy
from clustersim.model.state import NEVER
from clustersim.scenario.io import ScenarioError, scenario_from_dict

# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------

#: every member always contributes: full cooperativeness, and neither trust nor alignment moves willingness
ALL_CONTRIBUTE = {"firms.cooperativeness_mean": 1.0, "firms.cooperativeness_sd": 0.0,
                  "trust.cooperation_weight": 0.0, "clusters.alignment_weight": 0.0}
#: collective actions reach critical mass with two contributors
LOW_CRITICAL_MASS = {f"orientations.{o}.critical_mass.{k}": v for o in ("moyens", "products_markets", "club")
                     for k, v in (("median", 2.0), ("dispersion", 0.0), ("minimum", 2))}


def on(**fields) -> dict:
    """An enabled instrument with these fields."""
    return {"enabled": True, **fields}


def policy_scenario(n_firms: int = 60, policy: dict | None = None, params: dict | None = None, *,
                    quiet: bool = False, budget: float = 100_000.0, steps: int = 30, warmup: int = 0):
    """A scenario validated by scenario_from_dict (the Policy validator runs), without warm-up unless asked (the
    instruments are tested on the drawn region, where each test knows what is there).

    ``policy``: dotted paths under ``policy`` (values may be mappings); ``params``: dotted paths of the rest.
    The region funds everything (the default shares) with ``budget`` k€ a year. ``quiet`` switches off every
    process that adds or removes firms, clusters or memberships (tests/helpers.py QUIET).
    """
    data: dict = {"simulation": {"n_firms": n_firms, "steps": steps, "warmup": warmup}}
    for path, value in {**(QUIET if quiet else {}), **(params or {})}.items():
        put_path(data, path, value)
    put_path(data, "policy.funders.region.budget_per_year", budget)
    for path, value in (policy or {}).items():
        put_path(data, f"policy.{path}", value)
    return scenario_from_dict(data)


def policy_model(n_firms: int = 60, policy: dict | None = None, params: dict | None = None, *, seed: int = 1,
                 quiet: bool = False, budget: float = 100_000.0, steps: int = 30, warmup: int = 0,
                 always_policy: bool = False) -> ClusterModel:
    """A seeded model of :func:`policy_scenario`; ``always_policy`` uses a PublicPolicy even when the
    scenario has no public action (a control that can still label clusters)."""
    s = policy_scenario(n_firms, policy, params, quiet=quiet, budget=budget, steps=steps, warmup=warmup)
    return ClusterModel(s, rng=seed, collect=False, policy=PublicPolicy(s) if always_policy else None)


def supported_cluster(m: ClusterModel, members) -> int:
    """A cluster of these firms (add_cluster) labelled by the model's policy."""
    row = add_cluster(m, members)
    assert m.policy.label(m, np.array([row])).tolist() == [row]
    return row


def spent(m: ClusterModel, item: str, step: int | None = None, cluster: int | None = None) -> float:
    t = m.policy.spending()
    sel = t["instrument"] == item
    if step is not None:
        sel &= t["step"] == step
    if cluster is not None:
        sel &= t["cluster"] == cluster
    return float(t.loc[sel, "amount"].sum())


def rows_of(m: ClusterModel, item: str):
    t = m.policy.spending()
    return t[t["instrument"] == item]


def firm_account(m: ClusterModel) -> tuple[float, float]:
    """(firms' capital + exit capital, what model.ledger's flows imply it should be) -- tests/test_mechanisms.py."""
    L, F = m.ledger, m.firms
    stock = float(F.capital[m.alive_rows].sum()) + L["exit_capital"]
    flows = (L["initial_capital"] + L["entrant_capital"] + L["revenue"] + L["moyens_saving"] + L["pm_revenue"]
             + L["public_cofunding"] - L["inputs"] - L["wages"] - L["fixed_costs"] - L["need_costs"]
             - L["moyens_cost"] - L["pm_cost"] - L["club_cost"] - L["fees"] - L["payout"])
    return stock, flows


def fund_account(m: ClusterModel) -> tuple[float, float]:
    L, C = m.ledger, m.clusters
    return (float(C.fund[m.live_clusters].sum()),
            L["fees"] + L["public_funding"] - L["coordination_spending"] - L["fund_lost"])


def noisy_and_clean(m: ClusterModel, rows: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected benefits with and without noise, the generator's state restored afterwards (so that two
    calls see the same normal draws)."""
    state = copy.deepcopy(m.rng.bit_generator.state)
    noisy = m.expected_benefit(rows, clusters, noise=True)
    m.rng.bit_generator.state = state
    return noisy, m.expected_benefit(rows, clusters, noise=False)


def spy_consider(m: ClusterModel) -> list:
    """Record (initiator, candidates, noise, accepted founders) of every proposal judged by m.consider."""
    calls = []
    original = m.consider

    def consider(i, purpose, cand, noise, min_size, max_size):
        found = original(i, purpose, cand, noise, min_size, max_size)
        calls.append((i, cand.copy(), noise, None if found is None else found[0].copy()))
        return found

    m.consider = consider
    return calls


def spy_create(m: ClusterModel) -> list:
    """Record (quarter, row, mode, initiator, founders, scores, purpose, locked_until) of every new cluster."""
    made = []
    original = m.create_cluster

    def create(initiator, founders, scores, purpose, mode=MODE_BOTTOM_UP, locked_until=NEVER):
        row = original(initiator, founders, scores, purpose, mode=mode, locked_until=locked_until)
        made.append((m.now, row, mode, int(initiator), np.asarray(founders).copy(), np.asarray(scores).copy(),
                     purpose, locked_until))
        return row

    m.create_cluster = create
    return made


# --------------------------------------------------------------------------------------------------------
# 1. registry and baseline
# --------------------------------------------------------------------------------------------------------

def test_registry_lists_every_instrument_of_the_schema_with_phase_cost_and_mechanism():
    """INSTRUMENTS has one entry per schema instrument, in a documented phase; spending items add the modes."""
    schema = list(type(policy_scenario().policy.instruments).model_fields)
    assert list(INSTRUMENTS) == schema
    assert {i.phase for i in INSTRUMENTS.values()} == {"constitution", "stabilisation", "accompaniment"}
    assert all(i.cost and i.mechanism for i in INSTRUMENTS.values())
    assert SPENDING_ITEMS == (*schema, "identification", "calls", "directive")


def test_baseline_without_policy_uses_nopolicy_and_spends_nothing():
    """No instrument, mode 'none': NoPolicy, no public money, empty spending ledger, policy counters at 0."""
    from clustersim.model.tables import spending_table

    s = policy_scenario(60, budget=1000.0, steps=20)  # a budget alone is no public action
    assert not s.policy.active
    assert isinstance(build_policy(s), NoPolicy)
    m = ClusterModel(s, rng=3, collect=True)
    assert isinstance(m.policy, NoPolicy)
    m.run(20)
    assert m.counters["clusters_formed"] > 0  # bottom-up dynamics went on
    ts = m.timeseries()
    assert (ts["public_spending"] == 0).all() and (ts["public_spending_cumulative"] == 0).all()
    assert (ts["supported_clusters"] == 0).all() and (ts["clusters_formed_policy"] == 0).all()
    assert m.ledger["public_funding"] == 0.0 and m.ledger["public_cofunding"] == 0.0
    assert len(spending_table(m)) == 0
    assert set(spending_table(m).columns) >= {"step", "funder", "instrument", "cluster", "amount"}
    assert all(v == 0 for v in m.policy_counters.values())
    C = m.clusters
    assert not C.supported[: C.n].any() and (C.founded_mode[: C.n] == MODE_BOTTOM_UP).all()
    assert (m.memberships.locked_until == NEVER).all()
    assert (m.noise_factor, m.contribution_factor, m.trust_loss_factor) == (1.0, 1.0, 1.0)


def test_any_instrument_makes_the_policy_active():
    for name in INSTRUMENTS:
        s = policy_scenario(40, {f"instruments.{name}": on()})
        assert s.policy.active, name
        assert isinstance(build_policy(s), PublicPolicy)
    assert policy_scenario(40, {"support.open_labelling": True}).policy.active


# --------------------------------------------------------------------------------------------------------
# 2. constitution instruments: awareness, matchmaking, validation
# --------------------------------------------------------------------------------------------------------

def test_awareness_campaign_multiplies_reached_firms_chances_by_one_plus_boost():
    """A campaign reaches firms outside clusters; their _awareness factor is 1 + boost for `duration`
    quarters, then 1; members are not targeted; each firm reached costs cost_per_firm."""
    m = policy_model(40, {"instruments.awareness": on(reach=1.0, boost=2.0, duration=3, period=4,
                                                      cost_per_firm=0.5)}, quiet=True)
    members = [0, 1, 2, 3]
    add_cluster(m, members)
    m.step()  # quarter 1: start_step, a campaign
    F = m.firms
    outside = np.setdiff1d(m.alive_rows, members)
    np.testing.assert_array_equal(F.aware_boost[outside], 2.0)
    np.testing.assert_array_equal(F.aware_until[outside], 1 + 3 - 1)
    np.testing.assert_array_equal(F.aware_boost[members], 0.0)
    assert spent(m, "awareness", step=1) == pytest.approx(0.5 * len(outside))
    for now, factor in ((1, 3.0), (3, 3.0), (4, 1.0)):
        m.now = now
        np.testing.assert_array_equal(m.awareness(outside), factor)
        np.testing.assert_array_equal(m.awareness(np.array(members)), 1.0)
    m.now = 1
    m.run(4)  # quarters 2-5: the next campaign is at quarter 5 (period 4)
    assert (rows_of(m, "awareness")["step"].unique() == [1, 5]).all()
    assert (F.aware_until[outside] == 5 + 3 - 1).all()


def test_awareness_campaign_reach_is_the_share_of_targets_reached():
    m = policy_model(80, {"instruments.awareness": on(reach=0.3, boost=1.0, cost_per_firm=0.0)}, quiet=True)
    m.step()
    share = float((m.firms.aware_boost[m.alive_rows] > 0).mean())
    assert 0.15 < share < 0.45


def _awareness_run(boost: float, seed: int) -> tuple[int, int]:
    """Proposals (calls of assemble) and joins over 6 quarters with campaigns of this boost."""
    m = policy_model(60, {"instruments.awareness": on(reach=1.0, boost=boost, duration=4, period=4,
                                                      cost_per_firm=0.0)},
                     {"clusters.initiative_probability": 0.02, "clusters.awareness_probability": 0.04,
                      "clusters.review_probability": 0.0, "clusters.join_threshold": -5.0}, seed=seed)
    proposals = [0]
    original = m.assemble

    def assemble(*args, **kwargs):
        proposals[0] += 1
        return original(*args, **kwargs)

    m.assemble = assemble
    m.run(6)
    return proposals[0], int(m.counters["joins"])


def test_awareness_boost_raises_proposals_and_joins():
    """Same campaigns (same draws), boost 9 vs 0: more firms propose clusters and more hear of one and join."""
    with_boost = np.array([_awareness_run(9.0, seed) for seed in (1, 2)]).sum(axis=0)
    without = np.array([_awareness_run(0.0, seed) for seed in (1, 2)]).sum(axis=0)
    assert with_boost[0] > 2 * without[0]
    assert with_boost[1] > 2 * without[1]


@pytest.mark.parametrize(("budget", "reached"), [(12.0, 4), (10.0, 3)])
def test_awareness_campaign_under_a_tight_budget_pays_only_for_firms_reached(budget, reached):
    """A campaign the budget cannot fully pay reaches floor(budget / cost_per_firm) firms and pays for those."""
    m = policy_model(40, {"instruments.awareness": on(reach=1.0, cost_per_firm=3.0)}, quiet=True, budget=budget)
    m.step()
    assert int((m.firms.aware_boost > 0).sum()) == reached
    assert spent(m, "awareness") == pytest.approx(3.0 * reached)


MATCHMAKING = {"instruments.matchmaking": on(capacity=3, extra_candidates=5, noise_reduction=0.5,
                                             cost_per_service=2.0)}


def test_matchmaking_adds_the_best_matching_firms_and_removes_noise():
    """A helped proposer's candidates are the unhelped ones plus the extra_candidates best-matching free
    firms of the region, judging with (1 − noise_reduction) of the information noise; one service is used."""
    helped = policy_model(60, MATCHMAKING, quiet=True, seed=4)
    alone = policy_model(60, quiet=True, seed=4)  # identical region, no intermediary
    assert isinstance(alone.policy, NoPolicy)
    helped.now = alone.now = 1
    helped.policy.act(helped, "start")
    helped.policy.act(helped, "after_actions")
    assert (helped.matchmaking_left, helped.matchmaking_extra, helped.matchmaking_noise) == (3, 5, 0.5)
    i, purpose = 7, 1
    F = helped.firms
    free = helped.alive_rows[helped.alive_rows != i]
    fit = helped.interest(free, np.ones(3), np.full(len(free), F.need[i]), F.cap[i])[:, purpose]
    best = free[np.argsort(-fit, kind="stable")[:5]]
    seen_h, seen_a = spy_consider(helped), spy_consider(alone)
    helped.assemble(i, purpose, set(), 2, 150)
    alone.assemble(i, purpose, set(), 2, 150)
    (_, cand_h, noise_h, _), (_, cand_a, noise_a, _) = seen_h[0], seen_a[0]
    assert set(cand_h.tolist()) == set(cand_a.tolist()) | set(best.tolist())
    assert not set(best.tolist()) <= set(cand_a.tolist())  # the intermediary did introduce someone new
    info = helped.p.learning.information_noise
    assert noise_a == pytest.approx(info)
    assert noise_h == pytest.approx(info * 0.5)
    assert helped.matchmaking_left == 2
    assert helped.policy_counters["matchmaking_services"] == 1
    assert alone.policy_counters["matchmaking_services"] == 0


def test_matchmaking_without_extra_candidates_still_clarifies_goals():
    """extra_candidates 0: the intermediary introduces nobody, but its help still removes noise_reduction of
    the candidates' noise, and the service is counted."""
    helped = policy_model(60, {"instruments.matchmaking": on(capacity=3, extra_candidates=0, noise_reduction=0.5)},
                          quiet=True, seed=4)
    alone = policy_model(60, quiet=True, seed=4)
    helped.now = alone.now = 1
    helped.policy.act(helped, "start")
    helped.policy.act(helped, "after_actions")
    seen_h, seen_a = spy_consider(helped), spy_consider(alone)
    helped.assemble(7, 1, set(), 2, 150)
    alone.assemble(7, 1, set(), 2, 150)
    np.testing.assert_array_equal(seen_h[0][1], seen_a[0][1])
    assert seen_h[0][2] == pytest.approx(0.5 * seen_a[0][2])
    assert helped.policy_counters["matchmaking_services"] == 1


def test_matchmaking_services_never_exceed_capacity_and_are_paid_per_use():
    """Many proposers, capacity 2: at most 2 services a quarter, each paid cost_per_service, in that quarter."""
    m = policy_model(60, {"instruments.matchmaking": on(capacity=2, cost_per_service=3.0)},
                     {"clusters.initiative_probability": 0.2}, seed=2)
    per_step = []
    for _ in range(8):
        m.step()
        used = m.step_stats.get("matchmaking_services", 0.0)
        per_step.append(used)
        assert used <= 2
        assert spent(m, "matchmaking", step=m.now) == pytest.approx(3.0 * used)
    assert sum(per_step) == m.policy_counters["matchmaking_services"]
    assert max(per_step) == 2  # capacity bound
    assert spent(m, "matchmaking") == pytest.approx(3.0 * sum(per_step))
    assert (rows_of(m, "matchmaking")["cluster"] == -1).all()


def test_matchmaking_services_are_limited_by_the_budget():
    """A yearly budget of 13 k€ at 3 k€ a service buys 4 services in the year, whatever the capacity."""
    m = policy_model(60, {"instruments.matchmaking": on(capacity=10, cost_per_service=3.0)},
                     {"clusters.initiative_probability": 0.2}, seed=2, budget=13.0)
    m.run(4)
    assert m.policy_counters["matchmaking_services"] == 4
    assert spent(m, "matchmaking") == pytest.approx(12.0)
    m.run(1)  # a new budget year
    assert m.policy_counters["matchmaking_services"] > 4


VALIDATION = {"instruments.validation": on(capacity=1, cost_per_project=4.0, clarity=0.6)}


def test_validation_sets_clarity_on_new_clusters_within_capacity_and_is_paid_per_project():
    m = policy_model(60, VALIDATION, {"clusters.initiative_probability": 0.2}, seed=5)
    C = m.clusters
    crowded = 0
    for _ in range(8):
        m.step()
        new = np.flatnonzero(C.born[: C.n] == m.now)
        done = new[C.validated[new]]
        crowded += len(new) > 1
        assert len(done) == min(1, len(new))  # capacity 1, budget ample
        np.testing.assert_array_equal(C.clarity[done], 0.6)
        np.testing.assert_array_equal(C.clarity[np.setdiff1d(new, done)], 0.0)
        paid = rows_of(m, "validation")
        paid = paid[paid["step"] == m.now]
        assert sorted(paid["cluster"].tolist()) == sorted(done.tolist())
        np.testing.assert_allclose(paid["amount"], 4.0)
    assert crowded > 0  # the capacity did bind
    assert m.policy_counters["validated"] == int(C.validated[: C.n].sum()) > 0
    assert (C.clarity[: C.n][~C.validated[: C.n]] == 0).all()


def test_validated_cluster_is_judged_with_clarity_less_information_noise():
    """E − E_noiseless is (1 − clarity) × what it is for an unvalidated cluster, for the same normal draws."""
    m = policy_model(40, {"instruments.validation": on(clarity=0.75, cost_per_project=0.0)}, quiet=True)
    m.now = 1
    row = add_cluster(m, [0, 1, 2, 3])
    m.policy.act(m, "end")
    assert m.clusters.validated[row]
    assert m.clusters.clarity[row] == 0.75
    cand = np.arange(10, 40)
    cl = np.full(len(cand), row)
    noisy, clean = noisy_and_clean(m, cand, cl)
    m.clusters.clarity[row] = 0.0  # the same cluster, unvalidated
    noisy0, clean0 = noisy_and_clean(m, cand, cl)
    np.testing.assert_allclose(clean, clean0)
    assert np.abs(noisy0 - clean0).max() > 0
    np.testing.assert_allclose(noisy - clean, 0.25 * (noisy0 - clean0), atol=1e-12)


def test_validation_without_budget_validates_nothing():
    m = policy_model(60, VALIDATION, {"clusters.initiative_probability": 0.2}, seed=5, budget=3.0)
    m.run(6)
    assert m.counters["clusters_formed"] > 0
    assert not m.clusters.validated[: m.clusters.n].any()
    assert len(rows_of(m, "validation")) == 0


# --------------------------------------------------------------------------------------------------------
# 3. stabilisation instruments: legal framework, facilitation, training, co-funding
# --------------------------------------------------------------------------------------------------------

LEGAL = on(cost_per_quarter=10.0, contribution_reduction=0.2, risk_reduction=0.3)
#: trust moves only with the partner's behaviour (tests/test_mechanisms.py TRUST_PARAMS)
TRUST_PARAMS = {"firms.cooperativeness_sd": 0.0, "trust.cooperation_weight": 0.0, "clusters.alignment_weight": 0.0,
                "trust.partners_observed": 1, "clusters.min_stay": 100}


def test_legal_framework_sets_region_wide_factors_in_proportion_to_the_cost_paid():
    """contribution_factor = 1 − contribution_reduction × paid share, trust_loss_factor = 1 − risk_reduction ×
    paid share; 25 k€ a year pays quarters 1-2 fully, half of quarter 3, nothing in quarter 4."""
    m = policy_model(40, {"instruments.legal_framework": LEGAL}, quiet=True, budget=25.0)
    for quarter, paid_share in enumerate((1.0, 1.0, 0.5, 0.0, 1.0), start=1):
        m.step()
        assert m.contribution_factor == pytest.approx(1 - 0.2 * paid_share), quarter
        assert m.trust_loss_factor == pytest.approx(1 - 0.3 * paid_share), quarter
    assert spent(m, "legal_framework") == pytest.approx(25.0 + 10.0)
    assert (rows_of(m, "legal_framework")["cluster"] == -1).all()


def test_instrument_acts_only_between_its_start_and_end_step():
    """A planned phase-out: legal framework from quarter 3 to quarter 4 only (factors neutral otherwise)."""
    m = policy_model(40, {"instruments.legal_framework": {**LEGAL, "start_step": 3, "end_step": 4}}, quiet=True)
    factors = []
    for _ in range(6):
        m.step()
        factors.append(m.contribution_factor)
    assert factors == pytest.approx([1.0, 1.0, 0.8, 0.8, 1.0, 1.0])
    assert sorted(rows_of(m, "legal_framework")["step"].tolist()) == [3, 4]


def _one_quarter(policy: dict, params: dict | None = None, seed: int = 3, n_clusters: int = 2):
    """Quiet model, everyone contributes, low critical mass, one common need; cluster 0 (firms 0-9) supported,
    cluster 1 (firms 10-19) not; the instruments in ``policy``; one quarter run. Returns (model, rows)."""
    m = policy_model(40, policy, {**ALL_CONTRIBUTE, **LOW_CRITICAL_MASS, "orientations.moyens.n_domains": 1,
                                  "clusters.min_stay": 100, **(params or {})}, quiet=True, seed=seed,
                     always_policy=True)
    rows = [supported_cluster(m, range(10))] + [add_cluster(m, range(10 * k, 10 * k + 10))
                                                for k in range(1, n_clusters)]
    m.step()
    return m, rows


def test_legal_framework_lowers_joint_product_and_club_contributions():
    """Same quarter with and without the framework: pm and club costs × (1 − contribution_reduction), Moyens
    costs unchanged; the contributions firms expect when judging a cluster fall by the same share."""
    with_lf, (a, _) = _one_quarter({"instruments.legal_framework": LEGAL})
    without, _ = _one_quarter({"instruments.legal_framework": {"enabled": False}})
    assert without.ledger["pm_cost"] > 0 and without.ledger["club_cost"] > 0 and without.ledger["moyens_cost"] > 0
    assert with_lf.ledger["pm_cost"] == pytest.approx(0.8 * without.ledger["pm_cost"])
    assert with_lf.ledger["club_cost"] == pytest.approx(0.8 * without.ledger["club_cost"])
    assert with_lf.ledger["moyens_cost"] == pytest.approx(without.ledger["moyens_cost"])
    o = with_lf.p.orientations
    outsiders = np.arange(20, 40)
    cl = np.full(len(outsiders), a)
    e_with = with_lf.expected_benefit(outsiders, cl, noise=False)
    e_without = without.expected_benefit(outsiders, cl, noise=False)
    contributions = o.products_markets.contribution + o.club.contribution  # both intensities 1 (add_cluster)
    np.testing.assert_allclose(e_with - e_without, 0.2 * contributions)


@pytest.mark.parametrize("cooperativeness", [0.0, 1.0])
def test_legal_framework_slows_trust_loss_after_a_defection_only(cooperativeness):
    """After a free-ride trust falls by loss_rate × (1 − risk_reduction) × t; after a cooperation it rises as
    without the framework."""
    values = {}
    for legal in (False, True):
        m = policy_model(40, {"instruments.legal_framework": LEGAL if legal else {"enabled": False}},
                         {**TRUST_PARAMS, "firms.cooperativeness_mean": cooperativeness}, quiet=True, seed=5,
                         always_policy=True)
        add_cluster(m, range(0, 24, 3))
        m.step()
        assert len(m.trust) > 0
        values[legal] = m.trust.value.copy()
    tp = m.p.trust
    t0 = tp.initial
    if cooperativeness == 0.0:
        np.testing.assert_allclose(values[False], t0 - tp.loss_rate * t0)
        np.testing.assert_allclose(values[True], t0 - tp.loss_rate * (1 - 0.3) * t0)
        assert (values[True] > values[False]).all()
    else:
        np.testing.assert_allclose(values[True], t0 + tp.gain_rate * (1 - t0))
        np.testing.assert_allclose(values[True], values[False])


FACILITATION_CEILING = "max_coordination" in type(policy_scenario().policy.instruments.facilitation).model_fields


@pytest.mark.parametrize("ceiling", [1.0, 2.0] if FACILITATION_CEILING else [1.0])
@pytest.mark.parametrize(("amount", "weight"), [(100.0, 1.0), (1.0, 1.0), (1.0, 0.5)])
def test_facilitation_pays_the_coordination_gap_into_supported_funds_only(ceiling, amount, weight):
    """A supported cluster's fund receives min(amount_per_cluster × funding_weight, gap), the gap being the
    coordination spending allowed (ceiling × need) that fees do not cover; its coordination rises to
    (fees + payment) / need (the ceiling when the gap is paid); an unsupported cluster gets nothing."""
    fields = {"amount_per_cluster": amount, **({"max_coordination": ceiling} if FACILITATION_CEILING else {})}
    m = policy_model(40, {"instruments.facilitation": on(**fields)}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(8))
    b = add_cluster(m, range(8, 16))
    C, pc = m.clusters, m.p.clusters
    C.funding_weight[a] = weight
    m.step()
    need, fees = pc.coordination_cost * 8, pc.membership_fee * 8
    assert fees < need  # fees alone do not pay for coordination
    paid = min(amount * weight, ceiling * need - fees)
    assert spent(m, "facilitation", cluster=a) == pytest.approx(paid)
    assert spent(m, "facilitation") == pytest.approx(paid)  # nothing for cluster b
    assert C.coordination[a] == pytest.approx(min(ceiling, (fees + paid) / need))
    assert C.coordination[b] == pytest.approx(fees / need)
    if amount == 100.0:
        assert C.coordination[a] == pytest.approx(ceiling)
    assert m.ledger["public_funding"] == pytest.approx(spent(m, "facilitation"))
    assert fund_account(m)[0] == pytest.approx(fund_account(m)[1], abs=1e-9)
    assert m.indicators["public_spending"] == pytest.approx(paid)


def test_facilitation_over_a_run_matches_the_spending_ledger_and_keeps_funds_balanced():
    m = policy_model(80, {"support.open_labelling": True, "support.label_min_size": 3,
                          "instruments.facilitation": on(amount_per_cluster=5.0)}, seed=2, warmup=20)
    for _ in range(15):
        m.step()
        assert m.ledger["public_funding"] == pytest.approx(spent(m, "facilitation"))
        stock, flows = fund_account(m)
        assert stock == pytest.approx(flows, abs=1e-6)
        paid = rows_of(m, "facilitation")
        paid = paid.loc[paid["step"] == m.now, "cluster"].to_numpy()
        C = m.clusters
        assert (C.supported[paid] | (C.died[paid] == m.now)).all()  # supported (unless dissolved since)
    t = rows_of(m, "facilitation")
    assert len(t) > 0 and (t["amount"] <= 5.0 + 1e-12).all()
    assert m.indicators["public_spending_cumulative"] == pytest.approx(m.policy.treasury.total)


def test_training_closes_quality_gain_of_the_gap_every_period_quarters():
    """facilitator_quality ← q + quality_gain × (max_quality − q) at the first support quarter, then every
    `period` quarters, for supported clusters only; each training costs cost_per_cluster."""
    m = policy_model(40, {"instruments.training": on(period=3, quality_gain=0.25, max_quality=2.0,
                                                     cost_per_cluster=5.0)}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(8))
    b = add_cluster(m, range(8, 16))
    C = m.clusters
    q = 1.0
    for quarter in range(1, 9):
        m.step()
        if quarter in (1, 4, 7):
            q += 0.25 * (2.0 - q)
        assert C.facilitator_quality[a] == pytest.approx(q), quarter
        assert C.facilitator_quality[b] == 1.0
    assert q == pytest.approx(1 + (1 - 0.75**3))
    t = rows_of(m, "training")
    assert t["step"].tolist() == [1, 4, 7] and (t["cluster"] == a).all()
    np.testing.assert_allclose(t["amount"], 5.0)


COFUND = on(rate=0.4, cap_per_cluster=1000.0)


@contextlib.contextmanager
def _spy_cofunding() -> Iterator[list]:
    """Record the arguments and result of every call of the co-funding mechanism (actions.cofunding)."""
    seen: list = []
    original = actions.cofunding

    def cofunding(m, c, nc, eligible):
        public = original(m, c, nc, eligible)
        seen.append((c.copy(), eligible.copy(), public.copy()))
        return public

    with mock.patch.object(actions, "cofunding", cofunding):
        yield seen


def _cofunded_quarter(cofunding: dict, seed: int = 3):
    m = policy_model(40, {"instruments.cofunding": cofunding}, {**ALL_CONTRIBUTE, **LOW_CRITICAL_MASS,
                                                                 "orientations.moyens.n_domains": 1,
                                                                 "clusters.min_stay": 100},
                     quiet=True, seed=seed, always_policy=True)
    a = supported_cluster(m, range(10))
    b = add_cluster(m, range(10, 20))
    with _spy_cofunding() as seen:
        m.step()
    c, eligible, public = seen[0]
    return m, a, b, c, eligible, public


@pytest.mark.parametrize("cap", [1000.0, 3.0])
def test_cofunding_pays_rate_of_supported_members_eligible_costs_up_to_the_cap(cap):
    """cofund_paid = min(rate × members' Moyens and pm costs, cap_per_cluster) for the supported cluster, 0 for
    the other; each member's cost falls by its share (in proportion to its own eligible cost)."""
    m, a, b, c, eligible, public = _cofunded_quarter(on(rate=0.4, cap_per_cluster=cap))
    ctrl, *_, c0, eligible0, public0 = _cofunded_quarter({"enabled": False})
    np.testing.assert_array_equal(eligible, eligible0)  # the same quarter, the same costs
    np.testing.assert_array_equal(public0, 0.0)
    C = m.clusters
    total_a = eligible[c == a].sum()
    assert total_a > 0 and eligible[c == b].sum() > 0
    assert total_a * 0.4 > 3.0  # the small cap binds
    paid = min(0.4 * total_a, cap)
    assert C.cofund_paid[a] == pytest.approx(paid)
    assert C.cofund_paid[b] == 0.0
    np.testing.assert_allclose(public[c == a], paid * eligible[c == a] / total_a)
    np.testing.assert_array_equal(public[c == b], 0.0)
    # members' profits: higher by exactly their share; the unsupported cluster's members unchanged
    F, F0 = m.firms, ctrl.firms
    members_a = np.arange(10)
    np.testing.assert_allclose(F.profit[members_a] - F0.profit[members_a], public[c == a], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(F.profit[10:40], F0.profit[10:40])
    # the ledgers agree, and money still balances
    assert m.ledger["public_cofunding"] == pytest.approx(paid)
    assert spent(m, "cofunding") == pytest.approx(paid)
    assert rows_of(m, "cofunding")["cluster"].tolist() == [a]
    stock, flows = firm_account(m)
    assert stock == pytest.approx(flows, rel=1e-12)
    assert ctrl.ledger["public_cofunding"] == 0.0 and len(rows_of(ctrl, "cofunding")) == 0


def test_cofunding_lowers_the_contributions_firms_expect_when_judging_a_supported_cluster():
    m, a, b, *_ = _cofunded_quarter(COFUND)
    ctrl, *_ = _cofunded_quarter({"enabled": False})
    outsiders = np.arange(20, 40)
    pm = m.p.orientations.products_markets.contribution
    for row, gain in ((a, 0.4 * pm), (b, 0.0)):
        cl = np.full(len(outsiders), row)
        np.testing.assert_allclose(m.expected_benefit(outsiders, cl, noise=False)
                                   - ctrl.expected_benefit(outsiders, cl, noise=False), gain)


def test_cofunding_over_a_run_matches_the_spending_ledger_and_money_balances():
    m = policy_model(80, {"support.open_labelling": True, "support.label_min_size": 3,
                          "instruments.cofunding": on(rate=0.5, cap_per_cluster=4.0)}, seed=2, budget=200.0,
                     warmup=20)
    for _ in range(16):
        m.step()
        assert m.ledger["public_cofunding"] == pytest.approx(spent(m, "cofunding"), abs=1e-9)
        stock, flows = firm_account(m)
        assert stock == pytest.approx(flows, rel=1e-9)
        C = m.clusters
        assert (C.cofund_paid[: C.n] <= 4.0 + 1e-9).all()
        assert (C.cofund_paid[: C.n][~C.supported[: C.n]] == 0).all()
    t = rows_of(m, "cofunding")
    assert len(t) > 0
    by_year = t.groupby((t["step"] - 1) // 4)["amount"].sum()
    assert (by_year <= 200.0 + 1e-9).all()  # never beyond the yearly budget
    assert spent(m, "cofunding") == pytest.approx(m.ledger["public_cofunding"])


# --------------------------------------------------------------------------------------------------------
# 4. accompaniment instruments: data sharing, support structures, exchange, monitoring and evaluation
# --------------------------------------------------------------------------------------------------------

def test_data_sharing_removes_noise_reduction_of_firms_information_noise():
    """noise_factor = 1 − noise_reduction × paid share; join judgements and founding proposals use it."""
    m = policy_model(40, {"instruments.data_sharing": on(noise_reduction=0.4, cost_per_quarter=8.0)}, quiet=True,
                     budget=20.0)
    row = add_cluster(m, [0, 1, 2, 3])
    m.step()
    assert m.noise_factor == pytest.approx(0.6)
    cand = np.arange(10, 40)
    cl = np.full(len(cand), row)
    noisy, clean = noisy_and_clean(m, cand, cl)
    m.noise_factor = 1.0  # the same judgement without the data service
    noisy1, clean1 = noisy_and_clean(m, cand, cl)
    m.noise_factor = 0.6
    np.testing.assert_allclose(clean, clean1)
    np.testing.assert_allclose(noisy - clean, 0.6 * (noisy1 - clean1), atol=1e-12)
    seen = spy_consider(m)
    m.assemble(20, 0, set(), 2, 150)
    assert seen[0][2] == pytest.approx(m.p.learning.information_noise * 0.6)
    factors = []
    for _ in range(3):  # 20 k€ a year at 8 k€ a quarter: quarter 2 paid, quarter 3 half, quarter 4 nothing
        m.step()
        factors.append(m.noise_factor)
    assert factors == pytest.approx([0.6, 0.8, 1.0])


STRUCTURES = on(cost_per_cluster=4.0, pooled_cost_relief=0.5, learning_boost=0.5)


def test_support_structures_relieve_pooled_fixed_cost_and_boost_club_learning_of_supported_clusters_only():
    """Same quarter with and without: the supported cluster's Moyens pooled cost falls by pooled_cost_relief ×
    fixed cost, its members' club learning is × (1 + learning_boost); the unsupported cluster is unaffected."""
    m, (a, b) = _one_quarter({"instruments.support_structures": STRUCTURES})
    ctrl, _ = _one_quarter({"instruments.support_structures": {"enabled": False}})
    C = m.clusters
    assert (C.pooled_relief[a], C.learning_boost[a]) == (0.5, 0.5)
    assert (C.pooled_relief[b], C.learning_boost[b]) == (0.0, 0.0)
    fixed = m.p.orientations.moyens.pooled_fixed_cost
    assert m.clusters.orient[a, 0] == 1.0
    assert ctrl.ledger["moyens_cost"] - m.ledger["moyens_cost"] == pytest.approx(0.5 * fixed)
    gain, gain0 = m.club_gain, ctrl.club_gain
    members_a, members_b = np.arange(10), np.arange(10, 20)
    assert gain0[members_a].sum() > 0 and gain0[members_b].sum() > 0
    np.testing.assert_allclose(gain[members_a], 1.5 * gain0[members_a], rtol=1e-12)
    np.testing.assert_allclose(gain[members_b], gain0[members_b], rtol=1e-12)
    assert spent(m, "support_structures") == pytest.approx(4.0)
    assert rows_of(m, "support_structures")["cluster"].tolist() == [a]


def test_support_structures_act_in_proportion_to_the_cost_paid():
    """With 6 k€ a year at 4 k€ per cluster-quarter, the second quarter is paid half: half the relief."""
    m = policy_model(40, {"instruments.support_structures": STRUCTURES}, {"clusters.min_stay": 100}, quiet=True,
                     budget=6.0)
    a = supported_cluster(m, range(10))
    C = m.clusters
    expected = (0.5, 0.25, 0.0)
    for share in expected:
        m.step()
        assert C.pooled_relief[a] == pytest.approx(share)
        assert C.learning_boost[a] == pytest.approx(share)


EXCHANGE = on(period=2, cost_per_cluster=2.0, meetings=3, quality_transfer=0.3)


def test_exchange_pairs_supported_clusters_whose_facilitator_qualities_converge():
    """Paired teams each close quality_transfer of the gap to the partner's quality (the better one keeps its
    own); members of each learn from members of the other; unsupported clusters take no part."""
    m = policy_model(40, {"instruments.exchange": EXCHANGE}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(0, 8))
    b = supported_cluster(m, range(8, 16))
    c = add_cluster(m, range(16, 24))
    C, F = m.clusters, m.firms
    C.facilitator_quality[[a, b, c]] = [1.0, 2.0, 1.5]
    m.now = 1
    m.policy.act(m, "start")  # the budget year opens
    m.club_gain = np.zeros((F.n, m.K))
    m.policy.instruments["exchange"].exchange(m)
    assert C.facilitator_quality[a] == pytest.approx(1.0 + 0.3 * (2.0 - 1.0))
    assert C.facilitator_quality[b] == 2.0
    assert C.facilitator_quality[c] == 1.5
    assert C.facilitator_quality[b] - C.facilitator_quality[a] == pytest.approx(0.7 * 1.0)
    gain = m.club_gain
    assert (gain >= 0).all()
    assert gain[:8].sum() > 0 and gain[8:16].sum() > 0  # both sides learned from the other
    assert gain[16:].sum() == 0.0
    # a learner never gains more than `meetings` meetings with the most favourable partner allow
    club = m.p.orientations.club
    cap = F.cap[: F.n]
    bound = np.zeros(F.n)
    for learners, sources in ((range(0, 8), range(8, 16)), (range(8, 16), range(0, 8))):
        for i in learners:
            d = np.abs(cap[list(sources)] - cap[i]).mean(axis=1)
            f = club.learning_rate * m.p.trust.initial * cognitive_learning_factor(d, club.optimal_distance)
            bound[i] = 3 * (f[:, None] * np.maximum(0.0, cap[list(sources)] - cap[i])).max()
    assert (gain[:16].max(axis=1) <= bound[:16] + 1e-12).all()
    t = rows_of(m, "exchange")
    assert sorted(t["cluster"].tolist()) == [a, b]
    np.testing.assert_allclose(t["amount"], 2.0)


def test_exchange_runs_every_period_quarters_and_raises_members_capabilities():
    """In a run, events happen at start_step + k·period; quality gaps shrink by (1 − quality_transfer) each."""
    m = policy_model(40, {"instruments.exchange": EXCHANGE}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(0, 8))
    b = supported_cluster(m, range(8, 16))
    m.clusters.facilitator_quality[[a, b]] = [2.0, 1.0]
    for _ in range(6):
        m.step()
    assert sorted(set(rows_of(m, "exchange")["step"])) == [1, 3, 5]
    assert m.clusters.facilitator_quality[a] == 2.0
    assert m.clusters.facilitator_quality[b] == pytest.approx(2.0 - 0.7**3)
    # the quarter's club gains (collective actions, then the event): with meetings, members gain more than
    # without, and the members' capabilities grow more
    gains = {}
    for meetings in (0, 3):
        q = policy_model(40, {"instruments.exchange": {**EXCHANGE, "meetings": meetings}},
                         {"clusters.min_stay": 100}, quiet=True)
        for members in (range(0, 8), range(8, 16)):
            supported_cluster(q, members)
        cap0 = q.firms.capidx[:16].copy()
        q.step()
        gains[meetings] = (q.club_gain[:16].copy(), q.firms.capidx[:16] - cap0)
    assert (gains[3][0] >= gains[0][0]).all() and gains[3][0].sum() > gains[0][0].sum()
    assert gains[3][1].sum() > gains[0][1].sum()


#: the monitoring tool starts at quarter 4, the first evaluation (every `period` quarters from then)
EVALUATION = {"instruments.monitoring": on(cost_per_cluster=1.0, precision=0.8, start_step=4),
              "evaluation": {"enabled": True, "period": 4, "min_age": 2, "noise": 0.0, "delabel_below": 0.0}}


def _evaluated(reallocation: float = 1.0, extra: dict | None = None, seed: int = 1):
    """Four supported clusters (memory means −2, 1, 3, 5), one labelled too recently, one unsupported (4);
    evaluated at quarter 4."""
    m = policy_model(60, {**EVALUATION, "evaluation.reallocation": reallocation, **(extra or {})},
                     {"clusters.min_stay": 100}, quiet=True, seed=seed)
    rows = [supported_cluster(m, range(5 * k, 5 * k + 5)) for k in range(4)]
    m.now = 3
    young = supported_cluster(m, range(20, 25))
    other = add_cluster(m, range(25, 30))
    m.clusters.born[other] = 0
    mem = m.memberships
    for row, value in zip([*rows, young, other], (-2.0, 1.0, 3.0, 5.0, 7.0, 4.0), strict=True):
        mem.memory[mem.cluster == row] = value + np.linspace(-0.5, 0.5, 5)
    m.now = 4
    m.policy.act(m, "start")
    m.policy.act(m, "end")
    return m, rows, young, other


@pytest.mark.parametrize("reallocation", [0.0, 0.5, 1.0])
def test_evaluation_scores_delabels_below_threshold_and_reallocates_with_mean_one(reallocation):
    m, rows, young, other = _evaluated(reallocation)
    C = m.clusters
    np.testing.assert_allclose(C.score[rows], [-2.0, 1.0, 3.0, 5.0])  # members' mean benefit, no noise
    assert np.isnan(C.score[young]) and np.isnan(C.score[other])  # too young; unsupported (label_above 1e6)
    # de-labelling: support ends now for the cluster below delabel_below (0)
    assert not C.supported[rows[0]] and C.support_ended[rows[0]] == 4
    assert C.supported[rows[1:]].all() and (C.support_ended[rows[1:]] == -1).all()
    assert m.policy_counters["delabelled"] == 1
    m.refresh_indicators()
    assert m.indicators["delabelled"] == 1.0
    assert m.indicators["survival_after_support"] == 1.0
    # reallocation: weight (1 − r) + r·2·rank, rank = (position + 0.5) / n among the evaluated supported
    w = C.funding_weight[rows[1:]]
    np.testing.assert_allclose(w, (1 - reallocation) + reallocation * 2 * (np.arange(3) + 0.5) / 3)
    assert w.mean() == pytest.approx(1.0)
    assert np.all(np.diff(w) > 0) if reallocation else np.all(w == 1.0)
    assert C.funding_weight[young] == 1.0
    # monitoring: one measurement paid per cluster evaluated
    t = rows_of(m, "monitoring")
    assert sorted(t["cluster"].tolist()) == sorted(rows)
    np.testing.assert_allclose(t["amount"], 1.0)


@pytest.mark.parametrize(("criterion", "column"), [("growth", "trend"), ("reputation", "reputation"),
                                                  ("cooperation", "trust")])
def test_evaluation_criteria_measure_the_documented_cluster_variable(criterion, column):
    m, rows, *_ = _evaluated(0.0, {"evaluation.criterion": criterion, "evaluation.delabel_below": -1e6})
    values = np.array([0.3, -0.1, 0.7, 0.2])
    getattr(m.clusters, column)[rows] = values
    m.now = 8
    m.policy.act(m, "end")
    np.testing.assert_allclose(m.clusters.score[rows], values)


def test_evaluation_runs_only_every_period_quarters():
    m, rows, *_ = _evaluated()
    before = m.policy_counters["evaluations"]
    assert before == 4
    for now in (5, 6, 7):
        m.now = now
        m.policy.act(m, "end")
    assert m.policy_counters["evaluations"] == before
    m.now = 8
    m.policy.act(m, "end")
    assert m.policy_counters["evaluations"] > before


def test_evaluation_labels_strong_unsupported_clusters_above_label_above():
    m, rows, young, other = _evaluated(extra={"evaluation.label_above": 3.5})
    C = m.clusters
    assert C.score[other] == pytest.approx(4.0)
    assert C.supported[other] and C.labelled_at[other] == 4


def test_evaluations_in_a_run_fall_every_period_quarters_from_the_monitoring_start():
    policy = {"instruments.monitoring": on(cost_per_cluster=1.0, start_step=3),
              "evaluation": {"enabled": True, "period": 4, "min_age": 0, "delabel_below": -1e6}}
    m = policy_model(40, policy, {"clusters.min_stay": 100}, quiet=True)
    rows = [supported_cluster(m, range(5 * k, 5 * k + 5)) for k in range(2)]
    m.run(12)
    t = rows_of(m, "monitoring")
    assert sorted(set(t["step"])) == [3, 7, 11]
    for step in (3, 7, 11):
        assert sorted(t.loc[t["step"] == step, "cluster"]) == sorted(rows)
    assert m.policy_counters["evaluations"] == 6


def test_evaluation_does_not_relabel_a_cluster_whose_support_ended():
    """label_above labels strong clusters never labelled; a cluster whose planned support ended stays unlabelled."""
    policy = {"instruments.monitoring": on(cost_per_cluster=0.0, start_step=4),
              "evaluation": {"enabled": True, "period": 4, "min_age": 0, "noise": 0.0, "label_above": -1e6},
              "support.duration": 2}
    m = policy_model(40, policy, {"clusters.min_stay": 100}, quiet=True)
    ended = supported_cluster(m, range(8))
    fresh = add_cluster(m, range(10, 18))
    m.run(4)
    C = m.clusters
    assert C.supported[fresh] and C.labelled_at[fresh] == 4  # labelled by the evaluation
    assert not C.supported[ended] and C.support_ended[ended] == 3  # phased out, not relabelled
    assert C.labelled_at[ended] == 0


@pytest.mark.parametrize("precision", [0.0, 0.5, 1.0])
def test_monitoring_removes_precision_of_the_evaluation_noise(precision):
    """measured − true = noise × (1 − precision) × spread × z: same draws, the error scales by 1 − precision."""
    noisy = {"evaluation.noise": 1.0}
    m, rows, *_ = _evaluated(0.0, {**noisy, "instruments.monitoring.precision": precision}, seed=9)
    ref, *_ = _evaluated(0.0, {**noisy, "instruments.monitoring.precision": 0.0}, seed=9)
    true = np.array([-2.0, 1.0, 3.0, 5.0])
    err, err0 = m.clusters.score[rows] - true, ref.clusters.score[rows] - true
    assert np.abs(err0).max() > 0.1
    np.testing.assert_allclose(err, (1 - precision) * err0, atol=1e-12)


def test_evaluation_without_the_monitoring_instrument_is_refused():
    with pytest.raises(ScenarioError) as err:
        policy_scenario(40, {"evaluation.enabled": True})
    assert "policy.evaluation.enabled" in str(err.value)
    assert "policy.instruments.monitoring.enabled" in str(err.value)


# --------------------------------------------------------------------------------------------------------
# 5. support rules: planned phase-out, end of support, max_supported, open labelling
# --------------------------------------------------------------------------------------------------------

FACILITATED = {"instruments.facilitation": on(amount_per_cluster=2.0)}


@pytest.mark.parametrize("duration", [1, 3])
def test_support_duration_is_the_number_of_quarters_support_is_paid(duration):
    """A cluster labelled at (the end of) quarter 0 with support.duration d is supported in quarters 1 .. d:
    it is paid d times, then its support ends at the start of quarter d + 1 (support_ended recorded, counted
    by the survival-after-support indicator)."""
    m = policy_model(40, {**FACILITATED, "support.duration": duration}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(8))
    C = m.clusters
    m.run(duration)
    assert C.supported[a]
    m.run(2)
    assert not C.supported[a]
    assert C.support_ended[a] == C.labelled_at[a] + duration + 1
    assert rows_of(m, "facilitation")["step"].tolist() == list(range(1, duration + 1))
    assert m.policy_counters["support_ended"] == 1
    assert m.indicators["supported_clusters"] == 0.0
    assert m.indicators["survival_after_support"] == 1.0


def test_support_end_step_ends_all_support_and_allows_no_new_label():
    m = policy_model(40, {**FACILITATED, "support.end_step": 3, "support.open_labelling": True,
                          "support.label_min_size": 3}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(8))
    C = m.clusters
    m.run(3)
    assert C.supported[a]  # supported through quarter end_step
    m.step()
    assert not C.supported[a] and C.support_ended[a] == 4
    b = add_cluster(m, range(10, 18))
    m.step()  # open labelling would label b, but support has ended for good
    assert not C.supported[b] and C.labelled_at[b] == -1
    assert m.policy.label(m, np.array([a, b])).tolist() == []
    assert sorted(rows_of(m, "facilitation")["step"].tolist()) == [1, 2, 3]


def test_max_supported_caps_the_number_of_supported_clusters():
    m = policy_model(40, {**FACILITATED, "support.max_supported": 2}, quiet=True)
    rows = [add_cluster(m, range(5 * k, 5 * k + 5)) for k in range(4)]
    assert m.policy.label(m, np.array(rows)).tolist() == rows[:2]
    assert m.policy.label(m, np.array(rows[2:])).tolist() == []
    m.step()
    assert m.indicators["supported_clusters"] == 2.0
    assert sorted(set(rows_of(m, "facilitation")["cluster"])) == rows[:2]


def test_max_supported_holds_over_a_run_with_open_labelling():
    m = policy_model(80, {"support.open_labelling": True, "support.label_min_size": 3, "support.max_supported": 2,
                          **FACILITATED}, {"clusters.initiative_probability": 0.05}, seed=3)
    C = m.clusters
    crowded = False
    for _ in range(12):
        m.step()
        live = m.live_clusters
        assert C.supported[live].sum() <= 2
        crowded |= bool(((C.size[live] >= 3) & ~C.supported[live]).any())
    assert crowded  # more clusters qualified than could be labelled
    assert m.policy_counters["labelled"] >= 2


def test_open_labelling_labels_clusters_that_reach_label_min_size_whatever_their_origin():
    m = policy_model(40, {"support.open_labelling": True, "support.label_min_size": 5}, quiet=True)
    small, big = add_cluster(m, range(4)), add_cluster(m, range(10, 16))
    C = m.clusters
    m.step()
    assert C.supported[big] and C.labelled_at[big] == 1 and C.founded_mode[big] == MODE_BOTTOM_UP
    assert not C.supported[small]
    membership.add_memberships(m, np.array([30]), np.array([small]), np.zeros(1))
    m.step()
    assert C.supported[small] and C.labelled_at[small] == 2
    assert m.policy_counters["labelled"] == 2
    closed = policy_model(40, FACILITATED, quiet=True)  # a policy without open labelling labels nobody
    row = add_cluster(closed, range(10, 16))
    closed.step()
    assert not closed.clusters.supported[row]


# --------------------------------------------------------------------------------------------------------
# 6. calls for projects
# --------------------------------------------------------------------------------------------------------

CALLS = {"constitution.mode": "calls",
         "constitution.calls": {"start_step": 2, "period": 2, "n_calls": 3, "application_probability": 0.6,
                                "existing_may_apply": 0.0, "min_members": 4, "max_members": 8, "min_match": 0.3,
                                "min_sectors": 2, "max_selected": 3, "cost_per_application": 1.0}}


def _call_run(policy: dict, params: dict | None = None, steps: int = 7, seed: int = 2, n_firms: int = 80,
              budget: float = 100_000.0):
    """A run recording each call's proposals (initiator, founders, scores, purpose) and new clusters."""
    m = policy_model(n_firms, policy, params, seed=seed, budget=budget)
    calls: dict[int, list] = {}
    in_call = [False]
    assemble, call = m.assemble, m.policy.call

    def spy_assemble(i, purpose, used, min_size, max_size):
        found = assemble(i, purpose, used, min_size, max_size)
        if in_call[0] and found is not None:
            calls[m.now].append((i, found[0].copy(), found[1].copy(), purpose))
        return found

    def spy_call(model):
        calls[model.now] = []
        in_call[0] = True
        try:
            call(model)
        finally:
            in_call[0] = False

    m.assemble, m.policy.call = spy_assemble, spy_call
    made = spy_create(m)
    m.run(steps)
    return m, calls, made


def test_calls_select_only_eligible_projects_best_match_first_up_to_max_selected():
    """Every selected project meets min/max_members, min_match and min_sectors (each rule alone refuses some
    proposals here); the selected are the best-matching eligible ones, at most max_selected per call."""
    policy = {**CALLS, "constitution.calls.min_members": 3, "constitution.calls.min_match": 0.5}
    m, calls, made = _call_run(policy, {"clusters.initiative_probability": 0.0, "region.n_sectors": 2}, seed=2)
    F, cc = m.firms, m.p.policy.constitution.calls
    assert sorted(calls) == [2, 4, 6]
    total_apps = total_selected = 0
    refused_by_only = {"size": 0, "match": 0, "sectors": 0}
    for quarter, proposals in calls.items():
        created = [x for x in made if x[0] == quarter and x[2] == MODE_CALL]
        keyed = {}
        for i, founders, scores, purpose in proposals:
            members = np.concatenate([[i], founders])
            size, match = len(members), float(scores[:, purpose].mean())
            rules = {"size": cc.min_members <= size <= cc.max_members, "match": match >= cc.min_match,
                     "sectors": len(np.unique(F.sector[members])) >= cc.min_sectors}
            eligible = all(rules.values())
            for rule, ok in rules.items():
                refused_by_only[rule] += (not ok) and all(v for r, v in rules.items() if r != rule)
            keyed[i] = (eligible, match, size)
        n_eligible = sum(e for e, _, _ in keyed.values())
        assert len(proposals) > n_eligible > 0  # some proposals are refused
        # every selected project met every eligibility rule, exactly as proposed
        for _, _, _, initiator, founders, scores, purpose, locked in created:
            prop = next(p for p in proposals if p[0] == initiator)
            np.testing.assert_array_equal(founders, prop[1])
            members = np.concatenate([[initiator], founders])
            assert cc.min_members <= len(members) <= cc.max_members
            assert scores[:, purpose].mean() >= cc.min_match
            assert len(np.unique(F.sector[members])) >= cc.min_sectors
            assert keyed[initiator][0] and locked == NEVER
        # as many as max_selected allows, the best-matching ones (then the largest; ties drawn at random)
        assert len(created) == min(cc.max_selected, n_eligible)
        ranked = sorted((k for k, v in keyed.items() if v[0]), key=lambda k: (-keyed[k][1], -keyed[k][2]))
        assert (sorted(keyed[x[3]][1:] for x in created)
                == sorted(keyed[k][1:] for k in ranked[: len(created)]))
        total_apps += len(proposals)
        total_selected += len(created)
    assert min(refused_by_only.values()) > 0, refused_by_only
    assert m.policy_counters["applications"] == total_apps
    assert m.policy_counters["selected"] == total_selected
    assert m.indicators["applications"] == total_apps
    assert m.indicators["selection_rate"] == pytest.approx(total_selected / total_apps)
    assert spent(m, "calls") == pytest.approx(1.0 * total_apps)  # each application reviewed
    # rejected consortia did not become clusters: the only clusters formed are the selected ones
    C = m.clusters
    assert int((C.founded_mode[: C.n] == MODE_CALL).sum()) == total_selected == m.counters["clusters_formed"]
    call_rows = np.flatnonzero(C.founded_mode[: C.n] == MODE_CALL)
    assert (C.labelled_at[call_rows] == C.born[call_rows]).all()  # labelled when selected
    assert {x[0] for x in made if x[2] == MODE_CALL} <= set(calls)  # clusters come from calls only in calls


def test_calls_selection_is_limited_by_the_budget_for_per_cluster_support():
    """Facilitation at 25 k€ a cluster-quarter and 100 k€ a year: one project fits a quarter's budget at the
    first call, none at the next (the first is still supported), whatever max_selected."""
    policy = {**CALLS, "constitution.calls.max_selected": 5, "constitution.calls.cost_per_application": 0.0,
              "instruments.facilitation": on(amount_per_cluster=25.0)}
    m, calls, made = _call_run(policy, {"clusters.initiative_probability": 0.0}, steps=4, seed=2, budget=100.0)
    by_call = [sum(1 for x in made if x[0] == q and x[2] == MODE_CALL) for q in (2, 4)]
    assert by_call == [1, 0]
    assert m.policy_counters["eligible"] > 2
    richer, _, made2 = _call_run(policy, {"clusters.initiative_probability": 0.0}, steps=4, seed=2, budget=300.0)
    assert sum(1 for x in made2 if x[0] == 2 and x[2] == MODE_CALL) == 3  # 75 k€ a quarter: three projects


def test_calls_selection_respects_max_supported():
    """At most max_supported clusters are supported at once: with members staying (no dissolution frees a
    place), the first call fills the two places and later calls select nobody."""
    policy = {**CALLS, "constitution.calls.max_selected": 5, "support.max_supported": 2}
    m, calls, made = _call_run(policy, {"clusters.initiative_probability": 0.0, "clusters.min_stay": 100})
    assert not m.counters["clusters_dissolved"]
    assert sum(1 for x in made if x[2] == MODE_CALL) == 2
    assert m.policy_counters["eligible"] > 2


def test_no_call_after_support_has_ended_for_good():
    policy = {**CALLS, "support.end_step": 3}
    m, calls, made = _call_run(policy, {"clusters.initiative_probability": 0.0})
    assert sorted(calls) == [2]
    assert {x[0] for x in made if x[2] == MODE_CALL} == {2}


def test_call_proposals_come_from_firms_with_a_free_slot_members_included():
    """As documented (calls.application_probability): any firm with a free membership slot may initiate."""
    policy = {**CALLS, "constitution.calls": {"start_step": 1, "n_calls": 1, "application_probability": 1.0}}
    m = policy_model(40, policy, {**ALL_CONTRIBUTE, "clusters.min_stay": 100}, quiet=True)
    for k in range(5):
        add_cluster(m, range(4 * k, 4 * k + 4))  # firms 0-19 belong to a cluster, with a free slot
    initiators = []
    assemble = m.assemble

    def spy(i, *args):
        initiators.append(int(m.firms.n_memberships[i]))  # the initiator's memberships when it proposes
        return assemble(i, *args)

    m.assemble = spy
    m.step()
    assert len(initiators) > 5
    assert set(initiators) == {0, 1}  # firms outside clusters and members with a free slot both propose
    assert max(initiators) < m.p.firms.max_memberships


def test_existing_unsupported_clusters_may_apply_and_are_labelled_without_a_new_cluster():
    policy = {**CALLS, "constitution.calls": {"start_step": 1, "n_calls": 1, "application_probability": 0.0,
                                              "existing_may_apply": 1.0, "min_members": 2, "min_sectors": 1,
                                              "min_match": 0.0}}
    m = policy_model(40, policy, {"clusters.min_stay": 100}, quiet=True)
    rows = [add_cluster(m, range(5 * k, 5 * k + 5)) for k in range(2)]
    m.step()
    assert m.policy_counters["applications"] == 2
    assert m.clusters.n == 2  # no new cluster
    assert m.clusters.supported[rows].all() and (m.clusters.founded_mode[rows] == MODE_BOTTOM_UP).all()


# --------------------------------------------------------------------------------------------------------
# 7. the directive counterfactual, and the voluntary rules everywhere else
# --------------------------------------------------------------------------------------------------------

DIRECTIVE = {"constitution.mode": "directive_counterfactual",
             "constitution.directive": {"start_step": 2, "period": 4, "n_assignments": 2, "n_clusters": 3,
                                        "group_size": 6, "lock_in": 5, "cost_per_cluster": 10.0}}


def test_directive_counterfactual_assigns_firms_to_locked_labelled_unvalidated_clusters():
    m = policy_model(60, {**DIRECTIVE, "instruments.validation": on(cost_per_project=0.0)}, seed=1)
    made = spy_create(m)
    m.run(7)
    directive = [x for x in made if x[2] == MODE_DIRECTIVE]
    assert [x[0] for x in directive] == [2, 2, 2, 6, 6, 6]
    for quarter, row, _, _, founders, _, _, locked in directive:
        assert locked == quarter + 5
        assert len(founders) + 1 == 6
        assert m.clusters.born[row] == quarter
    C, mem = m.clusters, m.memberships
    rows = np.array([x[1] for x in directive])
    assert (C.founded_mode[rows] == MODE_DIRECTIVE).all()
    assert C.supported[rows[C.alive[rows]]].all() and (C.labelled_at[rows] >= 2).all()
    assert not C.validated[rows].any() and (C.clarity[rows] == 0).all()  # assigned, not validated
    locked = mem.locked_until > NEVER
    assert locked.any()
    assert (C.founded_mode[mem.cluster[locked]] == MODE_DIRECTIVE).all()
    # unlocked memberships of a directive cluster are firms that joined it later, by the voluntary rule
    joined_later = ~locked & (C.founded_mode[mem.cluster] == MODE_DIRECTIVE)
    assert (mem.joined[joined_later] > C.born[mem.cluster[joined_later]]).all()
    assert m.policy_counters["assigned_memberships"] == 36
    assigned = (C.founded_mode[mem.cluster] == MODE_DIRECTIVE).mean()
    assert m.indicators["assigned_share"] == pytest.approx(assigned) and assigned > 0
    assert spent(m, "directive") == pytest.approx(10.0 * 6)
    assert C.validated[: C.n][C.founded_mode[: C.n] == MODE_BOTTOM_UP].any()  # validation did act


def test_directive_clusters_respect_the_clusters_max_size():
    policy = {"constitution.mode": "directive_counterfactual",
              "constitution.directive": {"start_step": 1, "n_assignments": 1, "n_clusters": 2, "group_size": 12,
                                         "cost_per_cluster": 0.0}}
    m = policy_model(60, policy, {"clusters.max_size": 7}, quiet=True)
    m.step()
    live = m.live_clusters
    assert len(live) == 2 and (m.clusters.founded_mode[live] == MODE_DIRECTIVE).all()
    assert (m.clusters.size[live] == 7).all()


@pytest.mark.parametrize("lock_in", [0, 4])
def test_locked_members_do_not_leave_before_lock_in_ends(lock_in):
    policy = {"constitution.mode": "directive_counterfactual",
              "constitution.directive": {"start_step": 1, "n_assignments": 1, "n_clusters": 1, "group_size": 6,
                                         "lock_in": lock_in, "cost_per_cluster": 0.0}}
    m = policy_model(40, policy, {"clusters.min_stay": 0}, quiet=True)
    m.step()  # assignment at the end of quarter 1
    mem = m.memberships
    assert len(mem) == 6 and (mem.locked_until == 1 + lock_in).all()
    mem.memory[:] = -1e9  # every assigned member wants to leave
    stayed = 0
    while len(m.memberships) == 6 and m.now < 10:
        m.step()
        stayed += len(m.memberships) == 6
    assert stayed == lock_in  # quarters 2 .. 1 + lock_in
    assert m.counters["leave_negative_benefit"] == 6 and m.now == 2 + lock_in


ALL_INSTRUMENTS = {f"instruments.{name}": on() for name in INSTRUMENTS}
CONSTITUTION = {"constitution.identification": {"start_step": 2, "period": 5, "n_analyses": 0},
                "constitution.calls": {"start_step": 3, "period": 4, "n_calls": 0, "application_probability": 0.2,
                                       "min_members": 3}}


@pytest.mark.parametrize("mode", ["none", "identification", "calls", "both"])
def test_no_mode_but_the_directive_counterfactual_puts_a_firm_into_a_cluster(mode):
    """All instruments on, open labelling, evaluation: every new cluster's founders are exactly the firms that
    accepted a proposal (consider), no membership is ever locked, no cluster is ever directive."""
    policy = {**ALL_INSTRUMENTS, **CONSTITUTION, "constitution.mode": mode, "support.open_labelling": True,
              "evaluation": {"enabled": True, "period": 4, "min_age": 2}}
    m = policy_model(60, policy, {"clusters.initiative_probability": 0.02}, seed=4)

    def forbidden(model):
        raise AssertionError("assign() called outside the directive counterfactual")

    m.policy.assign = forbidden
    accepted = spy_consider(m)
    made = spy_create(m)
    for _ in range(14):
        m.step()
        assert (m.memberships.locked_until == NEVER).all()
        assert not (m.clusters.founded_mode[: m.clusters.n] == MODE_DIRECTIVE).any()
        assert m.indicators["assigned_share"] == 0.0
    assert made
    for _, _, mode_made, initiator, founders, _, _, locked in made:
        assert locked == NEVER and mode_made != MODE_DIRECTIVE
        assert any(i == initiator and acc is not None and np.array_equal(acc, founders)
                   for i, _, _, acc in accepted)
    modes = {x[2] for x in made}
    assert (MODE_IDENTIFICATION in modes) == (mode in ("identification", "both"))
    assert (MODE_CALL in modes) == (mode in ("calls", "both"))
    assert m.policy_counters["assigned_memberships"] == 0


# --------------------------------------------------------------------------------------------------------
# 8. top-down identification
# --------------------------------------------------------------------------------------------------------

IDENTIFICATION = {"constitution.mode": "identification",
                  "constitution.identification": {"start_step": 2, "n_analyses": 1, "n_targets": 3, "group_size": 8,
                                                  "cost_per_analysis": 5.0},
                  "instruments.awareness": on(target="identified", reach=1.0, boost=2.0, cost_per_firm=0.1)}


def _identified(reach: float = 1.0, seed: int = 3):
    m = policy_model(80, {**IDENTIFICATION, "instruments.awareness.reach": reach},
                     {"clusters.initiative_probability": 0.0}, seed=seed)
    groups = []
    identify = m.policy.identify_groups

    def spy(model, n_groups, group_size):
        found = identify(model, n_groups, group_size)
        groups.extend(found)
        return found

    m.policy.identify_groups = spy
    made = spy_create(m)
    m.run(3)
    return m, groups, made


def test_identification_campaigns_at_identified_groups_whose_seeds_found_labelled_clusters():
    m, groups, made = _identified()
    F, C = m.firms, m.clusters
    assert len(groups) == 3 == m.policy_counters["identified_groups"]
    identified = set(m.policy.identified.tolist())
    assert identified == {int(f) for seed, _, group in groups for f in (seed, *group.tolist())}
    assert all(len(group) == 8 - 1 for _, _, group in groups)
    # the campaign is aimed at the identified firms only
    reached = set(np.flatnonzero(F.aware_boost[: F.n] > 0).tolist())
    assert reached and reached <= identified
    aw = m.p.policy.instruments.awareness
    assert (F.aware_until[list(reached)] == 2 + aw.duration).all()  # the boost counts from quarter 3
    assert spent(m, "awareness") == pytest.approx(0.1 * len(reached))
    assert spent(m, "identification") == pytest.approx(5.0)
    # clusters formed by identified seeds with (voluntary) founders from their group, labelled at once
    ident = [x for x in made if x[2] == MODE_IDENTIFICATION]
    assert ident and all(x[0] == 2 for x in ident)
    for _, row, _, seed, founders, _, _, locked in ident:
        group = next(g for s, _, g in groups if s == seed)
        assert set(founders.tolist()) <= set(group.tolist()) & reached
        assert C.supported[row] and C.labelled_at[row] == 2 and locked == NEVER
    assert m.indicators["clusters_formed_policy"] == len(ident)


def test_identification_forms_nothing_when_the_campaign_reaches_nobody():
    m, groups, made = _identified(reach=0.0)
    assert len(groups) == 3
    assert not any(x[2] == MODE_IDENTIFICATION for x in made)


def test_identification_needs_awareness_and_target_identified_needs_identification():
    with pytest.raises(ScenarioError) as err:
        policy_scenario(40, {"constitution.mode": "identification"})
    assert "policy.constitution.mode 'identification'" in str(err.value)
    assert "policy.instruments.awareness.enabled" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        policy_scenario(40, {"constitution.mode": "calls", "instruments.awareness": on(target="identified")})
    assert "policy.instruments.awareness.target 'identified'" in str(err.value)
    policy_scenario(40, {"constitution.mode": "both", "instruments.awareness": on(target="identified")})  # valid


# --------------------------------------------------------------------------------------------------------
# 9. the validator and the treasury
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "field", "words"), [
    ({"instruments.facilitation": on(funding={"region": 0.5, "state": 0.3}), "funders.state.budget_per_year": 10.0},
     "policy.instruments.facilitation.funding", "must sum to 1"),
    ({"instruments.training": on(funding={"region": 0.5, "local": 0.5})},
     "policy.instruments.training.funding.local", "budget_per_year is 0"),
    ({"constitution.mode": "calls", "constitution.calls.funding": {"region": 0.0, "europe": 1.0}},
     "policy.constitution.calls.funding.europe", "budget_per_year is 0"),
    ({"instruments.exchange": on(start_step=5, end_step=3)}, "policy.instruments.exchange.end_step",
     "before its start_step"),
    ({"constitution.calls": {"min_members": 9, "max_members": 8}}, "policy.constitution.calls.min_members",
     "exceeds max_members"),
    ({"constitution.mode": "identification", "constitution.identification.start_step": 2,
      "instruments.awareness": on(target="identified", start_step=5)},
     "policy.constitution.identification.start_step", "awareness campaigns' window"),
])
def test_policy_validator_refuses_inconsistent_policies_naming_the_field(policy, field, words):
    with pytest.raises(ScenarioError) as err:
        policy_scenario(40, policy)
    text = str(err.value)
    assert field in text and words in text
    assert text.startswith("<dict>: policy: ")


def test_treasury_splits_payments_by_shares_and_never_exceeds_a_budget():
    """Matched: paid as far as every co-funder can pay its share; independent: each pays while it can."""
    from clustersim.model.policy.treasury import Treasury

    shares = np.array([0.5, 0.5, 0.0, 0.0])
    for rule, expected in (("matched", 20.0), ("independent", 10.0 + 40.0)):
        t = Treasury(np.array([10.0, 100.0, 0.0, 0.0]), np.zeros(4, bool), rule)
        t.open_year(1)
        paid = t.pay(1, 0, shares, np.array([-1]), np.array([80.0]))
        assert paid[0] == pytest.approx(expected)
        assert (t.remaining >= -1e-12).all()
        assert t.spent_by_funder()[0] == pytest.approx(10.0)
        assert t.pay(1, 0, shares, np.array([-1]), np.array([5.0]), whole=True)[0] == 0.0  # not whole: nothing
        table = t.table()
        assert set(table["funder"]) == {"local", "region"} and table["amount"].sum() == pytest.approx(expected)
    carry = Treasury(np.array([10.0, 0.0, 0.0, 0.0]), np.array([True, False, False, False]), "matched")
    carry.open_year(1)
    carry.pay(2, 0, np.array([1.0, 0, 0, 0]), np.array([-1]), np.array([4.0]))
    carry.open_year(4)  # same year: nothing new
    assert carry.remaining[0] == pytest.approx(6.0)
    carry.open_year(5)
    assert carry.remaining[0] == pytest.approx(16.0)


def test_a_co_funded_instrument_is_paid_by_its_funders_in_proportion_to_its_shares():
    m = policy_model(40, {"instruments.facilitation": on(amount_per_cluster=100.0,
                                                         funding={"region": 0.25, "state": 0.75}),
                          "funders.state.budget_per_year": 1000.0}, {"clusters.min_stay": 100}, quiet=True)
    a = supported_cluster(m, range(8))
    m.step()
    t = rows_of(m, "facilitation")
    by_funder = t.groupby("funder")["amount"].sum()
    total = spent(m, "facilitation", cluster=a)
    assert total > 0
    assert by_funder.to_dict() == pytest.approx({"region": 0.25 * total, "state": 0.75 * total})
    np.testing.assert_allclose(m.policy.treasury.spent_by_funder(), [0.0, 0.25 * total, 0.75 * total, 0.0])
