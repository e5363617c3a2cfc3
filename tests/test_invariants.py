"""Property-based invariants of :class:`clustersim.model.ClusterModel` over random valid scenarios.

Hypothesis draws a scenario and a seed; the model is stepped by hand and, after the initialisation and after
every step, :func:`check_invariants` verifies:

1. finiteness: no NaN/inf in the indicators nor in any live state (firms, clusters, memberships, pair stores);
2. shares: every indicator whose unit is "share" or "[0,1]" lies in [0, 1]; capabilities, cooperativeness, trust,
   link intensities, orientation intensities, alignment and vision lie in [0, 1];
3. membership bookkeeping: the firm table, the cluster table, the membership table and the Mesa agent views
   agree; no firm exceeds ``firms.max_memberships``; no cluster exceeds ``clusters.max_size``; no duplicate
   (firm, cluster) pair;
4. no membership of a dead firm or of a dissolved cluster; dissolved clusters are empty and fundless; Mesa's
   agent set holds exactly the live firms and the live clusters;
5. links and trust only between two distinct live firms, each pair stored once;
6. money accounting against ``model.ledger`` (:data:`ACCOUNTS`): the clusters' funds account here; the
   firms' account and the combined one in :func:`test_money_accounts_balance_after_every_step`;
7. population bookkeeping: ``n_firms``/``n_clusters``/cumulative indicators match the tables and counters;
   cumulative counters and ledger flows never decrease.

Scenarios come from two strategies: :func:`scenarios` redraws a random subset of ~45 influential parameters
within small ranges (and, in half the examples, a "busy" sub-range so that formation, dissolution, exits,
entry and investors happen within a few quarters); :func:`schema_scenarios` redraws up to 8 parameters
anywhere in the schema, within the bounds read from the pydantic fields. A further property checks that a
step is reproducible: two models with the same scenario and seed have identical indicators after every step.

Examples are derandomised (``derandomize=True``, no example database) so that CI sees the same examples
every time; the file runs in a few seconds.
"""

from __future__ import annotations

import math
import typing
from collections import Counter

import annotated_types as at
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from clustersim.model import ClusterModel
from clustersim.model.agents import Cluster, Firm
from clustersim.model.indicators import INDICATORS
from clustersim.scenario.schema import Scenario, iter_parameters

TOL = 1e-12

# --------------------------------------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------------------------------------


#: dotted path -> (low, high) of the values drawn; ints draw integers, floats draw floats. Every range lies
#: inside the schema's bounds (checked by test_parameter_ranges_stay_inside_schema_bounds).
RANGES: dict[str, tuple[int, int] | tuple[float, float]] = {
    # size and structure
    "simulation.n_firms": (5, 80),
    "simulation.steps": (1, 25),
    "simulation.warmup": (0, 8),
    "region.n_sectors": (1, 8),
    "region.n_chain_positions": (1, 4),
    "region.n_capabilities": (2, 10),
    "firms.max_memberships": (1, 3),
    "clusters.min_founders": (2, 5),
    "clusters.max_size": (2, 30),
    "clusters.min_size": (1, 6),
    "clusters.dissolve_patience": (1, 6),
    "clusters.min_stay": (0, 6),
    "clusters.emergence_age": (0, 10),
    # critical masses
    "orientations.moyens.critical_mass.median": (1.0, 10.0),
    "orientations.moyens.critical_mass.dispersion": (0.0, 2.0),
    "orientations.products_markets.critical_mass.median": (1.0, 10.0),
    "orientations.products_markets.critical_mass.dispersion": (0.0, 2.0),
    "orientations.club.critical_mass.median": (1.0, 10.0),
    "orientations.club.critical_mass.dispersion": (0.0, 2.0),
    "orientations.moyens.free_rider_access": (0.0, 1.0),
    # trust and cooperation
    "trust.initial": (0.0, 1.0),
    "trust.gain_rate": (0.0, 1.0),
    "trust.loss_rate": (0.0, 1.0),
    "trust.forget_after": (1, 30),
    "trust.partners_observed": (1, 5),
    "firms.cooperativeness_mean": (0.0, 1.0),
    "learning.cooperativeness_learning_rate": (0.0, 1.0),
    # competition
    "competition.market_coordination": (0.0, 1.0),
    "competition.leakage_rate": (0.0, 1.0),
    # demography
    "demography.startup_rate": (0.0, 0.05),
    "demography.investor_rate": (0.0, 2.0),
    "firms.exit_patience": (1, 8),
    "firms.employment_adjustment": (0.0, 5.0),
    # clusters
    "clusters.initiative_probability": (0.0, 0.1),
    "clusters.membership_fee": (0.0, 10.0),
    "clusters.coordination_cost": (0.0, 10.0),
    "clusters.join_threshold": (-5.0, 10.0),
    "clusters.leave_threshold": (-10.0, 5.0),
    "clusters.awareness_probability": (0.0, 1.0),
    "clusters.review_probability": (0.0, 1.0),
    "clusters.attraction_threshold": (0.0, 1.0),
    # market
    "market.demand_volatility": (0.0, 0.3),
    "market.frontier_growth": (-0.01, 0.03),
    "market.payout_share": (0.0, 1.0),
    # links
    "links.max_suppliers": (0, 5),
    "links.search_probability": (0.0, 1.0),
    "links.decay": (0.0, 1.0),
    "links.contact_probability": (0.0, 1.0),
}


def _set(scenario: Scenario, path: str, value) -> None:
    *sections, leaf = path.split(".")
    obj = scenario
    for name in sections:
        obj = getattr(obj, name)
    setattr(obj, leaf, value)  # validate_assignment: an out-of-range value would raise here


def _get_field(path: str):
    *sections, leaf = path.split(".")
    cls = Scenario
    for name in sections:
        cls = cls.model_fields[name].annotation
    return cls.model_fields[leaf]


def _strategy(lo, hi) -> st.SearchStrategy:
    if isinstance(lo, int) and isinstance(hi, int):
        return st.integers(lo, hi)
    return st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)


#: sub-ranges drawn in half of the examples so that most mechanisms (formation, dissolution, exits, entry,
#: investors) are exercised within a few quarters
BUSY: dict[str, tuple[int, int] | tuple[float, float]] = {
    "simulation.n_firms": (30, 80),
    "simulation.steps": (10, 25),
    "clusters.initiative_probability": (0.05, 0.1),
    "clusters.min_founders": (2, 3),
    "clusters.min_stay": (0, 2),
    "clusters.min_size": (3, 6),
    "clusters.dissolve_patience": (1, 3),
    "clusters.awareness_probability": (0.1, 1.0),
    "clusters.leave_threshold": (-2.0, 5.0),
    "clusters.join_threshold": (-5.0, 1.0),
    "clusters.membership_fee": (0.5, 3.0),
    "clusters.coordination_cost": (0.0, 1.0),  # below the fee: funds build up (and are lost on dissolution)
    "clusters.attraction_threshold": (0.0, 0.4),
    "firms.max_memberships": (2, 3),
    "firms.exit_patience": (1, 3),
    "demography.startup_rate": (0.01, 0.05),
    "demography.investor_rate": (0.5, 2.0),
}

PARAMETERS: dict[str, st.SearchStrategy] = {path: _strategy(*r) for path, r in RANGES.items()}
ALWAYS_DRAWN = ("simulation.n_firms", "simulation.steps", "simulation.warmup")


@st.composite
def scenarios(draw) -> Scenario:
    """A valid scenario: the defaults, with a random subset of :data:`RANGES` redrawn.

    The number of firms and of steps are always drawn (small), so that every example is cheap.
    """
    values = draw(st.fixed_dictionaries(
        {k: PARAMETERS[k] for k in ALWAYS_DRAWN},
        optional={k: v for k, v in PARAMETERS.items() if k not in ALWAYS_DRAWN}))
    if draw(st.booleans()):  # a busy region: clusters form, members come and go, firms exit and enter
        values.update(draw(st.fixed_dictionaries({k: _strategy(*r) for k, r in BUSY.items()})))
    s = Scenario(name="hypothesis")
    for path, value in values.items():
        _set(s, path, value)
    return s


SEEDS = st.integers(0, 2**32)

PROFILE = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


#: parameters the schema-wide strategy leaves alone (identity, replication control, drawn separately)
SCHEMA_SKIP = {"name", "description", "simulation.replications", "simulation.seed", "simulation.n_firms",
               "simulation.steps"}
#: upper caps on the schema-wide strategy that keep an example cheap (the schema allows far larger values)
SCHEMA_CAPS = {
    "region.n_sectors": 20, "region.n_capabilities": 20, "orientations.moyens.n_domains": 10,
    "orientations.products_markets.n_domains": 10, "clusters.partner_search_sample": 200,
    "links.search_sample": 100, "clusters.max_size": 100, "clusters.min_founders": 20,
    "clusters.min_size": 20,
    "firms.size_median": 1000.0, "demography.startup_size": 100.0, "demography.investor_size": 1000.0,
    "firms.initial_capital_per_employee": 1000.0, "simulation.warmup": 8,
}


def schema_bounds(info) -> tuple[float, float, bool, bool]:
    """(low, high, low is open, high is open) declared by a pydantic field's Ge/Gt/Le/Lt metadata."""
    lo = hi = None
    open_lo = open_hi = False
    if info.annotation is bool:
        return 0, 1, False, False
    for b in info.metadata:
        if isinstance(b, at.Ge):
            lo = b.ge
        elif isinstance(b, at.Gt):
            lo, open_lo = b.gt, True
        elif isinstance(b, at.Le):
            hi = b.le
        elif isinstance(b, at.Lt):
            hi, open_hi = b.lt, True
    assert lo is not None, f"parameter without a lower bound: {info}"
    assert hi is not None, f"parameter without an upper bound: {info}"
    return lo, hi, open_lo, open_hi


def schema_strategy(info, cap: float | None = None) -> st.SearchStrategy:
    """Values of one leaf parameter within the bounds its field declares (and at most ``cap``).

    Floats exclude subnormals; every divisor parameter has a closed, meaningful lower bound in the schema.
    """
    if typing.get_origin(info.annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(info.annotation))
    if typing.get_origin(info.annotation) is list:  # a list of integers: short lists within the items' bounds
        item = typing.get_args(info.annotation)[0]
        lo, hi, _, _ = schema_bounds(FieldInfo.from_annotation(item))
        return st.lists(st.integers(int(lo), int(min(hi, cap if cap is not None else 50))), min_size=1, max_size=8)
    lo, hi, open_lo, open_hi = schema_bounds(info)
    if cap is not None and cap < hi:
        hi, open_hi = cap, False
    if info.annotation is int:
        return st.integers(int(lo) + open_lo, int(hi) - open_hi)
    if info.annotation is bool:
        return st.booleans()
    return st.floats(lo, hi, exclude_min=open_lo, exclude_max=open_hi, allow_nan=False, allow_subnormal=False)


SCHEMA_PARAMETERS = {path: info for path, info in iter_parameters() if path not in SCHEMA_SKIP}


@st.composite
def schema_scenarios(draw) -> Scenario:
    """A valid scenario with up to 8 parameters anywhere in the schema drawn within their declared bounds."""
    s = Scenario(name="hypothesis-schema")
    s.simulation.n_firms = draw(st.integers(5, 60))
    s.simulation.steps = draw(st.integers(1, 20))
    for path in draw(st.lists(st.sampled_from(sorted(SCHEMA_PARAMETERS)), max_size=8, unique=True)):
        value = draw(schema_strategy(SCHEMA_PARAMETERS[path], SCHEMA_CAPS.get(path)))
        try:
            _set(s, path, value)
        except ValidationError as exc:  # a value in range that a rule between its section's fields refuses
            refused = exc  # (e.g. low above high): not set
        else:
            continue
        assert all(e["type"] == "value_error" for e in refused.errors()), refused
        event(f"refused by its section's rule: {path}")
    return s


def test_parameter_ranges_stay_inside_schema_bounds():
    """Every drawn range lies inside the bounds the schema declares, so every drawn scenario is valid."""
    for path, (lo, hi) in [*RANGES.items(), *BUSY.items()]:
        info = _get_field(path)
        assert type(lo) is info.annotation, path
        assert type(hi) is info.annotation, path
        slo, shi, open_lo, open_hi = schema_bounds(info)
        assert (lo > slo) if open_lo else (lo >= slo), path
        assert (hi < shi) if open_hi else (hi <= shi), path
        for value in (lo, hi):
            _set(Scenario(), path, value)  # validates
    for path, cap in SCHEMA_CAPS.items():
        lo, hi, _, _ = schema_bounds(SCHEMA_PARAMETERS[path])
        assert lo < cap <= hi, path


# --------------------------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------------------------

#: indicators whose unit says they are a share / lie in [0, 1]
SHARE_INDICATORS = [k for k, v in INDICATORS.items() if v.unit in ("share", "[0,1]")]
#: (value_added_growth is a relative change, not a share: its unit says so, so it is not listed above)

CUMULATIVE_INDICATORS = ("clusters_formed", "clusters_dissolved", "investors_attracted")
#: ledger entries that only ever accumulate non-negative amounts (exit_capital does not: exiting firms
#: usually leave with negative capital)
MONOTONE_LEDGER = ("initial_capital", "initial_funds", "entrant_capital", "revenue", "inputs", "wages", "fixed_costs",
                   "need_costs", "moyens_saving", "moyens_cost", "pm_revenue", "pm_cost", "club_cost", "fees",
                   "coordination_spending", "payout", "public_funding", "fund_lost", "public_cofunding")


def _assert_finite(name: str, a) -> None:
    a = np.asarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    assert not bad.any(), f"{name}: {int(bad.sum())} non-finite value(s), e.g. {a[bad][:5]}"


def _assert_unit(name: str, a) -> None:
    a = np.asarray(a, dtype=np.float64)
    if a.size:
        assert a.min() >= -TOL, f"{name} below 0: min {a.min()}"
        assert a.max() <= 1 + TOL, f"{name} above 1: max {a.max()}"


#: money accounts, derived from the code: firms' capital moves only by ``profit - payout`` in
#: ``_collective_actions`` (profit = revenue − inputs − wages − fixed cost − need cost + Moyens savings +
#: joint-product revenue − Moyens/joint-product/club costs − fees), starts at ``initial_capital``
#: (``_init_firms``) and ``entrant_capital`` (``_demography``) and leaves the region as ``exit_capital``;
#: public co-funding of collaborative projects (``_cofunding``) pays part of members' costs;
#: clusters' funds receive the fees (and public funding) and pay ``coordination_spending``
#: (``_collective_actions``); a dissolved cluster's fund leaves as ``fund_lost`` (``_dissolve``). After a warm-up
#: the ledger opens with the stocks of quarter 0: ``initial_capital`` (active firms) and ``initial_funds``.
#: account -> (stock, inflows, outflows)
ACCOUNTS = {
    "firms": (("initial_capital", "entrant_capital", "revenue", "moyens_saving", "pm_revenue", "public_cofunding"),
              ("inputs", "wages", "fixed_costs", "need_costs", "moyens_cost", "pm_cost", "club_cost", "fees",
               "payout")),
    "funds": (("initial_funds", "fees", "public_funding"), ("coordination_spending", "fund_lost")),
}


def money_balances(m: ClusterModel) -> dict[str, tuple[float, float, float]]:
    """Per account (firms, funds, both): (stocks now, stocks implied by the recorded flows, gross flows).

    The fees are a transfer from firms to funds: they cancel in the combined account, so each account is
    also checked on its own (a fee recorded twice, or not at all, unbalances both).
    """
    L, F, C = m.ledger, m.firms, m.clusters
    stocks = {"firms": float(F.capital[m.alive_rows].sum()) + L["exit_capital"],
              "funds": float(C.fund[m.live_clusters].sum())}
    out = {}
    for name, (inflows, outflows) in ACCOUNTS.items():
        flows = sum(L[k] for k in inflows) - sum(L[k] for k in outflows)
        scale = sum(abs(L[k]) for k in (*inflows, *outflows))
        if name == "firms":
            scale += abs(L["exit_capital"])
        out[name] = (stocks[name], flows, scale)
    out["both"] = tuple(out["firms"][i] + out["funds"][i] for i in range(3))
    return out


def assert_balanced(m: ClusterModel, accounts: tuple[str, ...] = ("firms", "funds", "both")) -> None:
    balances = money_balances(m)
    for account in accounts:
        stocks, flows, scale = balances[account]
        assert abs(stocks - flows) <= 1e-9 * max(scale, 1.0), (
            f"step {m.now}: money of {account} does not balance: stocks {stocks!r} vs flows {flows!r} "
            f"(diff {stocks - flows!r}, ledger {m.ledger})")


def check_invariants(m: ClusterModel, prev: dict | None, unbounded: frozenset[str] = frozenset(),
                     accounts: tuple[str, ...] = ("funds",)) -> dict:
    """Assert every invariant on the model's current state; return what the next call compares against.

    ``unbounded``: share indicators not to hold to [0, 1].
    ``accounts``: money accounts checked (see :func:`money_balances`).
    """
    F, C, mem = m.firms, m.clusters, m.memberships
    alive = m.alive_rows
    live = m.live_clusters
    dead_f = np.flatnonzero(~F.alive[: F.n])
    dead_c = np.flatnonzero(~C.alive[: C.n])
    where = f"step {m.now}"

    # 1. finiteness
    for k, v in m.indicators.items():
        assert math.isfinite(v), f"{where}: indicator {k} = {v}"
    for col in ("prod", "size", "capital", "cap", "coop", "capidx", "revenue", "profit"):
        _assert_finite(f"{where}: firms.{col}", getattr(F, col)[alive])
    for col in ("orient", "vision", "fund", "trust", "alignment", "reputation", "coordination", "trend"):
        _assert_finite(f"{where}: clusters.{col}", getattr(C, col)[live])
    _assert_finite(f"{where}: memberships.memory", mem.memory)
    _assert_finite(f"{where}: memberships.trust", mem.trust)
    for name in ("vertical", "horizontal", "trust"):
        _assert_finite(f"{where}: {name}.value", getattr(m, name).value)
    assert np.all(F.prod[alive] > 0), f"{where}: non-positive productivity"
    assert np.all(F.size[alive] >= 1.0), f"{where}: firm smaller than one employee"

    # 2. shares
    assert set(INDICATORS) == set(m.indicators), "indicator table and computed indicators differ"
    for k in SHARE_INDICATORS:
        v = m.indicators[k]
        if k in unbounded:
            continue
        assert -TOL <= v <= 1 + TOL, f"{where}: indicator {k} = {v} outside [0, 1]"
    _assert_unit(f"{where}: firm capabilities", F.cap[alive])
    _assert_unit(f"{where}: firm capability index", F.capidx[alive])
    _assert_unit(f"{where}: firm cooperativeness", F.coop[alive])
    _assert_unit(f"{where}: pairwise trust", m.trust.value)
    _assert_unit(f"{where}: membership trust", mem.trust)
    _assert_unit(f"{where}: vertical link intensity", m.vertical.value)
    _assert_unit(f"{where}: horizontal link intensity", m.horizontal.value)
    _assert_unit(f"{where}: cluster orientation", C.orient[live])
    _assert_unit(f"{where}: cluster alignment", C.alignment[live])
    _assert_unit(f"{where}: cluster trust", C.trust[live])
    _assert_unit(f"{where}: cluster vision", C.vision[live])

    # 3. membership bookkeeping
    pairs = list(zip(mem.firm.tolist(), mem.cluster.tolist(), strict=True))
    dup = [p for p, n in Counter(pairs).items() if n > 1]
    assert not dup, f"{where}: duplicate memberships {dup[:5]}"
    per_firm = np.bincount(mem.firm, minlength=F.n)
    per_cluster = np.bincount(mem.cluster, minlength=C.n)
    np.testing.assert_array_equal(F.n_memberships[alive], per_firm[alive],
                                  err_msg=f"{where}: firms.n_memberships vs membership rows")
    np.testing.assert_array_equal(C.size[live], per_cluster[live],
                                  err_msg=f"{where}: clusters.size vs membership rows")
    maxm = m.p.firms.max_memberships
    assert per_firm.max(initial=0) <= maxm, f"{where}: a firm has {per_firm.max()} > {maxm} memberships"
    assert per_cluster.max(initial=0) <= m.p.clusters.max_size, f"{where}: cluster above max_size"
    assert np.all(C.peak_size[: C.n] >= C.size[: C.n]), f"{where}: size above peak_size"
    for r in alive.tolist():
        ids = m.firm(r).cluster_ids
        assert len(ids) == F.n_memberships[r], f"{where}: firm {r} agent view vs n_memberships"
        for c in ids:
            assert c in m.cluster_agents, f"{where}: firm {r} lists cluster {c} which has no Mesa agent"
            assert r in m.cluster(c).members, f"{where}: firm {r} lists cluster {c} which does not list it"
    for c in live.tolist():
        members = m.cluster(c).members
        assert len(members) == C.size[c] == m.cluster(c).size, f"{where}: cluster {c} agent view vs size"
        for r in members:
            assert r in m.firm_agents, f"{where}: cluster {c} lists firm {r} which has no Mesa agent"
            assert c in m.firm(r).cluster_ids, f"{where}: cluster {c} lists firm {r} which does not list it"

    # 4. no dead firm / dissolved cluster in a membership; Mesa agents == live rows
    if len(mem):
        assert F.alive[mem.firm].all(), (
            f"{where}: memberships of dead firms {set(mem.firm[~F.alive[mem.firm]].tolist())}")
        assert C.alive[mem.cluster].all(), (
            f"{where}: memberships of dissolved clusters {set(mem.cluster[~C.alive[mem.cluster]].tolist())}")
    np.testing.assert_array_equal(C.size[dead_c], 0, err_msg=f"{where}: dissolved clusters not empty")
    np.testing.assert_array_equal(C.fund[dead_c], 0.0, err_msg=f"{where}: dissolved clusters keep a fund")
    assert np.all(C.fund[live] >= 0), f"{where}: negative coordination fund (spending is capped by the fund)"
    np.testing.assert_array_equal(F.n_memberships[dead_f], 0, err_msg=f"{where}: dead firms keep memberships")
    firm_agents = [a for a in m.agents if isinstance(a, Firm)]
    cluster_agents = [a for a in m.agents if isinstance(a, Cluster)]
    assert len(firm_agents) + len(cluster_agents) == len(m.agents), f"{where}: unexpected agent types"
    assert sorted(a.row for a in firm_agents) == alive.tolist(), f"{where}: Mesa firm agents vs live firms"
    assert sorted(a.row for a in cluster_agents) == live.tolist(), f"{where}: Mesa cluster agents vs live"
    assert sorted(m.firm_agents) == alive.tolist(), f"{where}: firm_agents keys vs live firms"
    assert sorted(m.cluster_agents) == live.tolist(), f"{where}: cluster_agents keys vs live clusters"
    assert all(m.firm_agents[r].row == r for r in m.firm_agents)
    assert all(m.cluster_agents[c].row == c for c in m.cluster_agents)
    by_type = m.agents_by_type
    assert len(by_type.get(Firm, ())) == len(alive), f"{where}: agents_by_type[Firm]"
    assert len(by_type.get(Cluster, ())) == len(live), f"{where}: agents_by_type[Cluster]"

    # 5. links and trust only between two distinct live firms
    for name in ("vertical", "horizontal", "trust"):
        store = getattr(m, name)
        src, dst = store.src, store.dst
        assert np.all(src != dst), f"{where}: self-pair in {name}"
        assert np.all(np.maximum(src, dst) < F.n), f"{where}: {name} refers to unknown firm rows"
        assert np.all(F.alive[src] & F.alive[dst]), f"{where}: {name} pair with a dead firm"
        assert np.all(np.diff(store.key) > 0), f"{where}: {name} keys not strictly sorted (duplicate pair)"
        if not store.directed:
            assert np.all(src < dst), f"{where}: undirected {name} pair stored as (i > j)"

    # 6. money
    # (the firms' account and the combined one: test_money_accounts_balance_after_every_step)
    assert_balanced(m, accounts)

    # 7. population bookkeeping and cumulative counters
    assert m.indicators["n_firms"] == len(alive)
    assert m.indicators["n_clusters"] == len(live)
    # the counters count from quarter 0 (after the warm-up, whose firms and clusters have dates <= 0)
    assert m.indicators["clusters_formed"] == m.counters["clusters_formed"] == np.count_nonzero(C.born[: C.n] > 0)
    assert m.indicators["clusters_dissolved"] == m.counters["clusters_dissolved"] == np.count_nonzero(
        C.died[dead_c] > 0)
    assert m.counters["exits"] == np.count_nonzero(F.died[dead_f] > 0)
    assert F.n == np.count_nonzero(F.born[: F.n] <= 0) + m.counters["startups"] + m.counters["investors"]
    assert np.count_nonzero(F.born[: F.n] == -m.p.simulation.warmup) == m.p.simulation.n_firms
    assert m.indicators["investors_attracted"] == m.counters["investors"]
    snapshot = {
        "counters": dict(m.counters),
        "ledger": {k: m.ledger[k] for k in MONOTONE_LEDGER},
        "indicators": {k: m.indicators[k] for k in CUMULATIVE_INDICATORS},
        "joins": C.joins[: C.n].copy(),
        "leaves": C.leaves[: C.n].copy(),
        "peak": C.peak_size[: C.n].copy(),
    }
    if prev is not None:
        for group in ("counters", "ledger", "indicators"):
            for k, v in snapshot[group].items():
                assert v >= prev[group][k], f"{where}: cumulative {group}[{k}] fell from {prev[group][k]}"
        for col in ("joins", "leaves", "peak"):
            old = prev[col]
            assert np.all(snapshot[col][: len(old)] >= old), f"{where}: cluster {col} decreased"
    return snapshot


# --------------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------------


@PROFILE
@given(scenario=scenarios(), seed=SEEDS)
def test_invariants_hold_after_every_step(scenario: Scenario, seed: int):
    m = ClusterModel(scenario, rng=seed)
    prev = check_invariants(m, None)
    for _ in range(scenario.simulation.steps):
        m.step()
        prev = check_invariants(m, prev)
    assert m.running is False  # the run stops at the scenario's length
    for k in ("clusters_formed", "clusters_dissolved", "exits", "startups", "investors", "joins",
              "leave_negative_benefit", "leave_firm_exit"):
        # coverage of the mechanisms: pytest --hypothesis-show-statistics
        event(f"{k} > 0" if m.counters[k] > 0 else f"no {k}")
    event("fund_lost > 0" if m.ledger["fund_lost"] > 0 else "no fund_lost")
    event("pm_revenue > 0" if m.ledger["pm_revenue"] > 0 else "no pm_revenue")
    assert len(m.timeseries()) == scenario.simulation.steps + 1


#: (export_share counts market exports only, so every share indicator is bounded over the whole schema)


@PROFILE
@given(scenario=schema_scenarios(), seed=SEEDS)
def test_invariants_hold_over_the_whole_schema(scenario: Scenario, seed: int):
    """Same invariants, with up to 8 parameters drawn anywhere within the schema's declared bounds."""
    m = ClusterModel(scenario, rng=seed, collect=False)
    prev = check_invariants(m, None)
    for _ in range(scenario.simulation.steps):
        m.step()
        prev = check_invariants(m, prev)


def test_export_share_stays_a_share_with_huge_joint_products():
    """export_share counts market exports only, so even huge joint-product revenue keeps it within [0, 1];
    value_added_growth is a relative change (negative when the region shrinks), labelled as such."""
    assert INDICATORS["value_added_growth"].unit == "relative change"
    s = Scenario()
    s.simulation.n_firms = 30
    s.market.demand_growth = -0.05
    m = ClusterModel(s, rng=0, collect=False)
    m.run(20)
    assert m.indicators["value_added_growth"] < 0

    s = Scenario()
    s.simulation.n_firms = 30
    s.orientations.products_markets.project_revenue = 1652.0
    s.clusters.awareness_probability = 1.0
    s.clusters.initiative_probability = 0.1
    s.firms.cooperativeness_mean = 1.0
    m = ClusterModel(s, rng=0, collect=False)
    top = 0.0
    for _ in range(20):
        m.step()
        top = max(top, m.indicators["export_share"])
    assert m.ledger["pm_revenue"] > 0  # joint products did earn
    assert 0.0 <= top <= 1.0


@PROFILE
@given(scenario=scenarios(), seed=SEEDS)
def test_money_accounts_balance_after_every_step(scenario: Scenario, seed: int):
    """Firms' account, funds' account and both together balance against model.ledger after every step."""
    m = ClusterModel(scenario, rng=seed, collect=False)
    assert_balanced(m)
    for _ in range(scenario.simulation.steps):
        m.step()
        assert_balanced(m)


def test_value_added_has_one_definition_from_step_zero():
    """At step 0 (no memberships yet) value added = revenue − inputs − need costs, as in later quarters."""
    s = Scenario()
    s.simulation.n_firms = 40
    s.simulation.warmup = 0  # the drawn state, before any cluster
    m = ClusterModel(s, rng=0, collect=False)
    F, rows = m.firms, m.alive_rows
    need = s.orientations.moyens.need_cost_per_employee * F.size[rows]
    np.testing.assert_allclose(F.value_added[rows], F.revenue[rows] - F.inputs[rows] - need, rtol=1e-12)


@settings(PROFILE, max_examples=25)
@given(scenario=scenarios(), seed=SEEDS, k=st.integers(1, 12))
def test_step_is_reproducible_for_a_given_scenario_and_seed(scenario: Scenario, seed: int, k: int):
    a = ClusterModel(scenario, rng=seed, collect=False)
    b = ClusterModel(scenario.model_copy(deep=True), rng=seed, collect=False)
    assert a.indicators == b.indicators
    for _ in range(k):
        a.step()
        b.step()
        assert a.indicators == b.indicators, f"step {a.now}: indicators differ"
    assert a.ledger == b.ledger
    assert a.counters == b.counters
    np.testing.assert_array_equal(a.firms.capital[: a.firms.n], b.firms.capital[: b.firms.n])
