"""Public spending: the funders' budgets, the co-funding rules and the spending ledger.

Hypothesis draws random *valid* policies (funder budgets, some zero; carry-over flags; the co-funding rule; a
random subset of instruments with random parameters inside their schema bounds and random co-funding shares
among the funders that have a budget; a constitution mode with its own costs; support and evaluation rules),
builds each scenario through :func:`clustersim.scenario.io.scenario_from_dict` (so the validator runs) and
steps the model by hand. After every step :meth:`SpendingChecker.after_step` verifies:

1. never overspent: for every funder and budget year, the ledger's rows of that year sum to at most what
   opened that year -- the yearly budget plus, with ``carry_over``, what was left of the previous year's
   opening, computed here from the configuration and the ledger; ``Treasury.remaining`` is never negative,
   agrees with that computation, and nothing stays reserved at the end of a quarter;
2. traceable: every row names a funder, an item of :data:`SPENDING_ITEMS` that the scenario uses (an enabled
   instrument within its active window, or the constitution mode's own item) and its phase; its step is the
   quarter it was paid in; its amount is positive; its cluster is -1 for region-wide items, an existing,
   labelled cluster for per-cluster support; no row belongs to a funder whose share of that item is 0; the
   ledger is append-only and holds exactly the payments :meth:`Treasury.pay` reported;
3. totals: a quarter's rows sum to the ``public_spending`` indicator, all rows to
   ``public_spending_cumulative``; facilitation rows to ``model.ledger['public_funding']``, co-funding rows to
   ``model.ledger['public_cofunding']``; the firms' and funds' money accounts balance
   (:func:`test_invariants.assert_balanced`);
4. co-funding rules, for every payment request (spied on :meth:`Treasury.pay` and :meth:`Treasury.reserve`):
   nothing is paid beyond the request; a ``whole`` request is paid entirely or not at all, and only skipped
   when some co-funder could not pay its share; under ``matched`` the funders' parts are in proportion to
   their shares (also checked on the ledger for every (step, item, cluster)) and a request is cut only when
   a co-funder is exhausted; under ``independent`` no funder pays more than its share of the request and a
   funder pays less only once its budget is exhausted; under both rules a reservation is every co-funder's
   full share of the amount granted (so that its settlement is paid in full);
5. :func:`clustersim.experiment.runner.summarise_spending` (and a whole :func:`run_replication`) agree with the ledger.

Plain unit tests of :class:`Treasury` follow. Examples are derandomised (``test_invariants.PROFILE``).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from test_invariants import PROFILE, assert_balanced

from clustersim.experiment.runner import run_replication
from clustersim.experiment.summary import summarise_spending
from clustersim.model import ClusterModel, NoPolicy
from clustersim.model.policy.instruments import INSTRUMENTS, SPENDING_ITEMS
from clustersim.model.policy.public import PublicPolicy
from clustersim.model.policy.treasury import YEAR, Treasury
from clustersim.model.tables import spending_table
from clustersim.scenario.io import scenario_from_dict
from clustersim.scenario.schema import CONSTITUTION_MODES, FUNDER_NAMES, Scenario

NF = len(FUNDER_NAMES)
#: relative tolerance of every money comparison
RTOL = 1e-9
COLUMNS = ["step", "funder", "instrument", "phase", "cluster", "amount"]
#: items paid for the whole region (ledger cluster -1); every other item is paid per cluster
REGION_WIDE = {"awareness", "matchmaking", "legal_framework", "data_sharing", "identification", "calls", "directive"}
#: items paid only for labelled (supported) clusters
SUPPORT_ITEMS = {"facilitation", "training", "cofunding", "support_structures", "exchange"}
#: the constitution modes that use each constitution item
CONSTITUTION_ITEMS = {"identification": ("identification", "both"), "calls": ("calls", "both"),
                      "directive": ("directive_counterfactual",)}


# --------------------------------------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------------------------------------


def fl(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def cost(hi: float) -> st.SearchStrategy[float]:
    """A modest cost, up to ``hi`` k€ (now and then 0: free), so that budgets bind sometimes, not always.

    Costs below 1e-9 k€ are drawn as 0: see test_tiny_payments_do_not_overflow (a known bug)."""
    return fl(0.0, hi).map(lambda x: x if x >= 1e-9 else 0.0)


#: parameters of each instrument (besides enabled, window and funding), inside the schema's bounds
INSTRUMENT_PARAMS: dict[str, dict[str, st.SearchStrategy]] = {
    "awareness": {"period": st.integers(1, 6), "reach": fl(0.0, 1.0), "cost_per_firm": cost(3.0),
                  "boost": fl(0.0, 5.0), "duration": st.integers(1, 6)},
    "matchmaking": {"capacity": st.integers(0, 6), "cost_per_service": cost(8.0),
                    "extra_candidates": st.integers(0, 8), "noise_reduction": fl(0.0, 1.0)},
    "validation": {"capacity": st.integers(0, 5), "cost_per_project": cost(15.0), "clarity": fl(0.0, 1.0)},
    "legal_framework": {"cost_per_quarter": cost(30.0), "contribution_reduction": fl(0.0, 1.0),
                        "risk_reduction": fl(0.0, 1.0)},
    "facilitation": {"amount_per_cluster": cost(30.0), "max_coordination": fl(1.0, 3.0)},
    "training": {"period": st.integers(1, 8), "cost_per_cluster": cost(15.0), "quality_gain": fl(0.0, 1.0),
                 "max_quality": fl(1.0, 3.0)},
    "cofunding": {"rate": fl(0.0, 1.0), "cap_per_cluster": cost(30.0)},
    "data_sharing": {"cost_per_quarter": cost(20.0), "noise_reduction": fl(0.0, 1.0)},
    "support_structures": {"cost_per_cluster": cost(10.0), "pooled_cost_relief": fl(0.0, 1.0),
                           "learning_boost": fl(0.0, 2.0)},
    "exchange": {"period": st.integers(1, 6), "cost_per_cluster": cost(8.0), "meetings": st.integers(0, 4),
                 "quality_transfer": fl(0.0, 1.0)},
    "monitoring": {"cost_per_cluster": cost(5.0), "precision": fl(0.0, 1.0)},
}

IDENTIFICATION = {"period": st.integers(1, 8), "n_analyses": st.integers(0, 3), "n_targets": st.integers(1, 4),
                  "group_size": st.integers(2, 10), "cost_per_analysis": cost(40.0)}
CALLS = {"period": st.integers(1, 8), "n_calls": st.integers(0, 3), "application_probability": fl(0.0, 0.2),
         "existing_may_apply": fl(0.0, 1.0), "min_match": fl(0.0, 0.5), "min_sectors": st.integers(1, 2),
         "max_selected": st.integers(0, 5), "cost_per_application": cost(5.0)}
DIRECTIVE = {"period": st.integers(1, 8), "n_assignments": st.integers(0, 3), "n_clusters": st.integers(1, 4),
             "group_size": st.integers(2, 10), "lock_in": st.integers(0, 8), "cost_per_cluster": cost(30.0)}

#: a region where clusters form within a few quarters (so that per-cluster support has something to pay)
REGION = {
    "clusters": {"initiative_probability": fl(0.02, 0.1), "awareness_probability": fl(0.2, 1.0),
                 "min_founders": st.integers(2, 3), "join_threshold": fl(-5.0, 1.0),
                 "membership_fee": fl(0.0, 3.0), "coordination_cost": fl(0.0, 8.0)},
    "firms": {"max_memberships": st.integers(1, 3)},
}


@st.composite
def shares(draw, funded: list[int]) -> dict[str, float]:
    """Valid co-funding shares among the funders with a budget: integer weights normalised, the last share
    fixed so that they sum to 1 (non-dyadic shares such as 1/3 on purpose)."""
    who = draw(st.permutations(funded))[: draw(st.integers(1, len(funded)))]
    weights = [draw(st.integers(1, 6)) for _ in who]
    values = [w / sum(weights) for w in weights[:-1]]
    values.append(1.0 - math.fsum(values))
    out = dict.fromkeys(FUNDER_NAMES, 0.0)
    for f, v in zip(who, values, strict=True):
        out[FUNDER_NAMES[f]] = v
    assert all(v > 0 for v in values) and abs(sum(out.values()) - 1.0) <= 1e-12
    return out


def window(draw, steps: int, early: bool = False) -> dict[str, int]:
    """An instrument's active window (``early``: from one of the first quarters, never ending)."""
    if early:
        return {"start_step": draw(st.integers(1, 3)), "end_step": 0}
    start = draw(st.integers(1, max(1, steps // 2)))
    return {"start_step": start, "end_step": draw(st.one_of(st.just(0), st.integers(start, steps)))}


@st.composite
def policy_dicts(draw) -> dict:
    """A scenario dictionary with a random valid ``policy`` section (validated by scenario_from_dict)."""
    steps = draw(st.integers(8, 24))
    budgets = [draw(st.one_of(st.just(0.0), fl(1.0, 30.0), fl(30.0, 300.0))) for _ in FUNDER_NAMES]
    if not any(budgets):
        budgets[draw(st.integers(0, NF - 1))] = draw(fl(1.0, 300.0))
    funded = [f for f in range(NF) if budgets[f] > 0]
    rule = draw(st.sampled_from(["matched", "independent"]))
    mode = draw(st.sampled_from(CONSTITUTION_MODES))
    # in half of the examples, clusters are labelled early and per-cluster support is likely
    supporting = draw(st.booleans())
    enabled = {name for name in sorted(INSTRUMENTS)
               if draw(st.booleans()) or (supporting and name in SUPPORT_ITEMS and draw(st.booleans()))}
    if mode in ("identification", "both"):
        enabled.add("awareness")  # the identified firms are reached by a campaign (validator)
    instruments: dict[str, dict] = {}
    for name in sorted(enabled):
        instruments[name] = {"enabled": True, **window(draw, steps, supporting and name in SUPPORT_ITEMS),
                             **draw(st.fixed_dictionaries(INSTRUMENT_PARAMS[name])),
                             "funding": draw(shares(funded))}
    if "awareness" in enabled and mode in ("identification", "both"):
        instruments["awareness"]["target"] = draw(st.sampled_from(["all", "identified"]))
    constitution: dict[str, object] = {"mode": mode}
    if mode in ("identification", "both"):
        aw = instruments["awareness"]  # the first analysis falls within the campaigns' window (validator)
        constitution["identification"] = {"start_step": draw(st.integers(aw["start_step"], aw["end_step"] or steps)),
                                          **draw(st.fixed_dictionaries(IDENTIFICATION)),
                                          "funding": draw(shares(funded))}
    if mode in ("calls", "both"):
        lo = draw(st.integers(2, 6))
        constitution["calls"] = {"start_step": draw(st.integers(1, steps)), "min_members": lo,
                                 "max_members": lo + draw(st.integers(0, 25)),
                                 **draw(st.fixed_dictionaries(CALLS)), "funding": draw(shares(funded))}
    if mode == "directive_counterfactual":
        constitution["directive"] = {"start_step": draw(st.integers(1, steps)),
                                     **draw(st.fixed_dictionaries(DIRECTIVE)), "funding": draw(shares(funded))}
    if supporting:
        support = {"duration": draw(st.integers(0, 12)), "max_supported": draw(st.integers(2, 10)),
                   "open_labelling": True, "label_min_size": draw(st.integers(1, 3))}
    else:
        support = {"duration": draw(st.integers(0, 12)),
                   "end_step": draw(st.one_of(st.just(0), st.integers(1, steps))),
                   "max_supported": draw(st.integers(0, 10)), "open_labelling": draw(st.booleans()),
                   "label_min_size": draw(st.integers(1, 5))}
    evaluation = {"enabled": "monitoring" in enabled and draw(st.booleans())}
    if evaluation["enabled"]:
        evaluation.update({
            "period": draw(st.integers(1, 6)), "min_age": draw(st.integers(0, 4)),
            "criterion": draw(st.sampled_from(["member_benefit", "growth", "reputation", "cooperation"])),
            "noise": draw(fl(0.0, 1.0)), "delabel_below": draw(fl(-5.0, 5.0)),
            "label_above": draw(st.one_of(st.just(1e6), fl(-5.0, 5.0))), "reallocation": draw(fl(0.0, 1.0))})
    return {
        "name": "hypothesis-policy",
        "simulation": {"n_firms": draw(st.integers(30, 80)), "steps": steps},
        **{section: draw(st.fixed_dictionaries(values)) for section, values in REGION.items()},
        "policy": {
            "cofunding_rule": rule,
            "funders": {name: {"budget_per_year": budgets[f], "carry_over": draw(st.booleans())}
                        for f, name in enumerate(FUNDER_NAMES)},
            "constitution": constitution, "support": support, "evaluation": evaluation,
            "instruments": instruments,
        },
    }


@st.composite
def policy_scenarios(draw) -> Scenario:
    return scenario_from_dict(draw(policy_dicts()), source="<hypothesis>")


SEEDS = st.integers(0, 2**32)


# --------------------------------------------------------------------------------------------------------
# the spy: every pay/reserve call, with what the treasury had before and after it
# --------------------------------------------------------------------------------------------------------


@dataclass
class PayCall:
    now: int
    item: int
    shares: np.ndarray
    clusters: np.ndarray
    amounts: np.ndarray
    whole: bool
    paid: np.ndarray
    rows: list  # the ledger rows the call appended
    avail_after: np.ndarray


@dataclass
class ReserveCall:
    shares: np.ndarray
    amount: float
    avail_before: np.ndarray
    granted: float
    part: np.ndarray


class Spy:
    """Wraps one treasury's ``pay`` and ``reserve`` (instance attributes shadow the methods)."""

    def __init__(self, treasury: Treasury) -> None:
        self.t = treasury
        self.pays: list[PayCall] = []
        self.reserves: list[ReserveCall] = []
        self.rows: list[tuple] = []  # every row any pay call appended, in order
        self._pay, self._reserve = treasury.pay, treasury.reserve
        treasury.pay = self.pay
        treasury.reserve = self.reserve

    def pay(self, now, item, shares, clusters, amounts, whole=False, prorata=False):
        before = len(self.t._rows)
        clusters_in = np.array(clusters, dtype=np.int64, copy=True)
        amounts_in = np.array(amounts, dtype=np.float64, copy=True)
        paid = self._pay(now, item, shares, clusters, amounts, whole=whole, prorata=prorata)
        rows = list(self.t._rows[before:])
        self.rows.extend(rows)
        self.pays.append(PayCall(now, item, np.array(shares, dtype=np.float64), clusters_in, amounts_in, whole,
                                 np.array(paid, dtype=np.float64), rows, self.t.available.copy()))
        return paid

    def reserve(self, shares, amount):
        avail = self.t.available.copy()
        granted, part = self._reserve(shares, amount)
        self.reserves.append(ReserveCall(np.array(shares, dtype=np.float64), float(amount), avail, granted,
                                         np.array(part, dtype=np.float64)))
        return granted, part


# --------------------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------------------


def close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b), scale)


def item_shares(s: Scenario) -> dict[str, np.ndarray]:
    """Each spending item's co-funding shares, read from the scenario (not from the policy object)."""
    def vec(sh) -> np.ndarray:
        return np.array([getattr(sh, f) for f in FUNDER_NAMES])

    out = {name: vec(getattr(s.policy.instruments, name).funding) for name in INSTRUMENTS}
    for item in CONSTITUTION_ITEMS:
        out[item] = vec(getattr(s.policy.constitution, item).funding)
    return out


def item_active(s: Scenario, item: str, step: int) -> bool:
    """Whether the scenario may spend on ``item`` in quarter ``step``."""
    if item in CONSTITUTION_ITEMS:
        return s.policy.constitution.mode in CONSTITUTION_ITEMS[item]
    ins = getattr(s.policy.instruments, item)
    return ins.enabled and step >= ins.start_step and (ins.end_step == 0 or step <= ins.end_step)


def openings(s: Scenario, table: pd.DataFrame, now: int) -> tuple[np.ndarray, np.ndarray]:
    """(opening, spent), one row per budget year up to ``now``'s, one column per funder, computed from the
    configuration and the ledger: a year opens with the yearly budget plus, for a funder with carry-over,
    what it had left of the previous year's opening."""
    F = s.policy.funders
    budget = np.array([getattr(F, f).budget_per_year for f in FUNDER_NAMES])
    carry = np.array([getattr(F, f).carry_over for f in FUNDER_NAMES])
    n_years = (now - 1) // YEAR + 1
    spent = np.zeros((n_years, NF))
    if len(table):
        year = (table["step"].to_numpy() - 1) // YEAR
        funder = table["funder"].map(FUNDER_NAMES.index).to_numpy()
        np.add.at(spent, (year, funder), table["amount"].to_numpy())
    opening = np.zeros((n_years, NF))
    for y in range(n_years):
        opening[y] = budget + (np.where(carry, opening[y - 1] - spent[y - 1], 0.0) if y else 0.0)
    return opening, spent


class SpendingChecker:
    """After every step, checks the properties of the module docstring on one model."""

    def __init__(self, m: ClusterModel) -> None:
        self.m = m
        self.s = m.p
        self.shares = item_shares(self.s)
        self.rule = self.s.policy.cofunding_rule
        self.policy = m.policy if isinstance(m.policy, PublicPolicy) else None
        self.spy = Spy(self.policy.treasury) if self.policy is not None else None
        self.prev = spending_table(m)
        assert list(self.prev.columns) == COLUMNS
        assert len(self.prev) == 0, "spending before the first quarter"
        self.stats: dict[str, int] = defaultdict(int)

    # ---------------------------------------------------------------------------------------------
    def after_step(self) -> None:
        m = self.m
        table = spending_table(m)
        assert list(table.columns) == COLUMNS
        if self.policy is None:
            assert isinstance(m.policy, NoPolicy) and not self.s.policy.active
            assert len(table) == 0
            assert m.indicators["public_spending"] == m.indicators["public_spending_cumulative"] == 0.0
            assert m.ledger["public_funding"] == m.ledger["public_cofunding"] == 0.0
            assert_balanced(m)
            return
        n_prev = len(self.prev)
        # the ledger only grows, and holds exactly what the pay calls reported
        assert len(table) >= n_prev
        pd.testing.assert_frame_equal(table.iloc[:n_prev].reset_index(drop=True), self.prev, check_dtype=False)
        assert len(table) == len(self.spy.rows), "ledger rows that no pay call recorded (or lost rows)"
        raw = pd.DataFrame(self.spy.rows, columns=["step", "f", "i", "cluster", "amount"])
        if len(raw):
            assert table["funder"].tolist() == [FUNDER_NAMES[f] for f in raw["f"]]
            assert table["instrument"].tolist() == [SPENDING_ITEMS[i] for i in raw["i"]]
            np.testing.assert_array_equal(table["step"].to_numpy(), raw["step"].to_numpy())
            np.testing.assert_array_equal(table["cluster"].to_numpy(), raw["cluster"].to_numpy())
            np.testing.assert_array_equal(table["amount"].to_numpy(), raw["amount"].to_numpy())
        new = table.iloc[n_prev:]
        self._traceable(new)
        self._budgets(table)
        self._totals(table, new)
        self._matched_on_ledger(new)
        for call in self.spy.pays:
            self._pay_call(call)
        for call in self.spy.reserves:
            self._reserve_call(call)
        self.spy.pays.clear()
        self.spy.reserves.clear()
        assert_balanced(m)
        self.prev = table.reset_index(drop=True)

    # ---------------------------------------------------------------------------------------------
    def _traceable(self, new: pd.DataFrame) -> None:
        m, C = self.m, self.m.clusters
        where = f"step {m.now}"
        for row in new.itertuples(index=False):
            assert row.step == m.now, f"{where}: row paid now recorded at step {row.step}"
            assert row.funder in FUNDER_NAMES, f"{where}: unknown funder {row.funder!r}"
            assert row.instrument in SPENDING_ITEMS, f"{where}: unknown item {row.instrument!r}"
            expected_phase = INSTRUMENTS[row.instrument].phase if row.instrument in INSTRUMENTS else "constitution"
            assert row.phase == expected_phase, f"{where}: {row.instrument} recorded in phase {row.phase}"
            assert math.isfinite(row.amount) and row.amount > 0, f"{where}: amount {row.amount}"
            assert item_active(self.s, row.instrument, row.step), (
                f"{where}: spending on {row.instrument}, which the scenario does not use at this step")
            share = self.shares[row.instrument][FUNDER_NAMES.index(row.funder)]
            assert share > 0, f"{where}: {row.funder} paid {row.amount} for {row.instrument} with share 0"
            if row.instrument in REGION_WIDE:
                assert row.cluster == -1, f"{where}: region-wide {row.instrument} charged to cluster {row.cluster}"
            else:
                c = row.cluster
                assert 0 <= c < C.n, f"{where}: {row.instrument} paid for unknown cluster {c}"
                assert C.born[c] <= row.step, f"{where}: cluster {c} paid for before it was born"
                if row.instrument in SUPPORT_ITEMS:
                    assert 0 <= C.labelled_at[c] <= row.step, f"{where}: {row.instrument} for unlabelled {c}"

    def _budgets(self, table: pd.DataFrame) -> None:
        m, t = self.m, self.policy.treasury
        where = f"step {m.now}"
        opening, spent = openings(self.s, table, m.now)
        over = spent > opening * (1 + RTOL)
        assert not over.any(), (
            f"{where}: overspent (year, funder) {np.argwhere(over).tolist()}: spent {spent[over]} of {opening[over]}")
        assert np.all(t.remaining >= 0), f"{where}: negative remaining budget {t.remaining}"
        scale = max(1.0, float(opening[-1].max()))
        left = opening[-1] - spent[-1]
        assert np.all(np.abs(t.remaining - left) <= RTOL * scale), f"{where}: remaining {t.remaining} vs {left}"
        assert np.all(t.reserved <= RTOL * scale), f"{where}: money still reserved after the quarter {t.reserved}"
        budget = np.array([getattr(self.s.policy.funders, f).budget_per_year for f in FUNDER_NAMES])
        if (opening[-1] > budget * (1 + 1e-12)).any():
            self.stats["carry-over raised a budget"] += 1

    def _totals(self, table: pd.DataFrame, new: pd.DataFrame) -> None:
        m = self.m
        where = f"step {m.now}"
        assert close(math.fsum(new["amount"]), m.indicators["public_spending"]), (
            f"{where}: rows {math.fsum(new['amount'])} vs public_spending {m.indicators['public_spending']}")
        assert close(math.fsum(table["amount"]), m.indicators["public_spending_cumulative"]), (
            f"{where}: ledger {math.fsum(table['amount'])} vs cumulative {m.indicators['public_spending_cumulative']}")
        by_item = {i: math.fsum(table.loc[table["instrument"] == i, "amount"]) for i in ("facilitation", "cofunding")}
        assert close(by_item["facilitation"], m.ledger["public_funding"]), (
            f"{where}: facilitation rows {by_item['facilitation']} vs public_funding {m.ledger['public_funding']}")
        assert close(by_item["cofunding"], m.ledger["public_cofunding"]), (
            f"{where}: cofunding rows {by_item['cofunding']} vs public_cofunding {m.ledger['public_cofunding']}")

    def _matched_on_ledger(self, new: pd.DataFrame) -> None:
        """Under 'matched', every (step, item, cluster) payment is split in proportion to the shares."""
        if self.rule != "matched" or not len(new):
            return
        for (step, item, cluster), g in new.groupby(["step", "instrument", "cluster"]):
            sh = self.shares[item]
            part = np.zeros(NF)
            np.add.at(part, g["funder"].map(FUNDER_NAMES.index).to_numpy(), g["amount"].to_numpy())
            use = sh > 0
            ratio = part[use] / sh[use]
            assert np.all(np.abs(ratio - ratio.max()) <= RTOL * ratio.max()), (
                f"step {step}: {item} for cluster {cluster} split {part} against shares {sh} (matched)")

    def _pay_call(self, c: PayCall) -> None:
        item = SPENDING_ITEMS[c.item]
        where = f"step {c.now}: pay {item}"
        sh = c.shares
        # the policy normalises the shares to sum exactly to 1: equal to the scenario's up to rounding
        np.testing.assert_allclose(sh, self.shares[item], rtol=1e-12, atol=1e-15,
                                   err_msg=f"{where}: shares differ from the scenario's")
        use = sh > 0
        a, paid = c.amounts, c.paid
        assert c.now == self.m.now and len(paid) == len(a) == len(c.clusters)
        assert np.all(paid >= 0) and np.all(paid <= np.maximum(a, 0.0) * (1 + 1e-12)), f"{where}: {paid} of {a}"
        tol = RTOL * max(1.0, float(self.policy.treasury.opened.max()))
        exhausted = c.avail_after <= tol
        if c.whole:
            pos = a > 0
            full = np.abs(paid - a) <= RTOL * np.abs(a)
            assert np.all((paid[pos] == 0) | full[pos]), f"{where}: whole request paid in part: {paid} of {a}"
            for k in np.flatnonzero(pos & (paid == 0)):
                # skipped: some co-funder could not pay its share (it has even less now)
                assert np.any(c.avail_after[use] < sh[use] * a[k] * (1 + RTOL)), (
                    f"{where}: whole request {a[k]} skipped although {c.avail_after} could pay it")
                self.stats["whole request skipped"] += 1
        for r in c.rows:
            assert r[0] == c.now and r[2] == c.item and r[3] in c.clusters, f"{where}: row {r} not of this call"
        for cl in np.unique(c.clusters):
            mine = c.clusters == cl
            requested = float(a[mine & (a > 0)].sum())
            got = float(paid[mine].sum())
            part = np.zeros(NF)
            for r in c.rows:
                if r[3] == cl:
                    part[r[1]] += r[4]
            assert close(part.sum(), got, tol), f"{where}: rows {part} vs paid {got} for cluster {cl}"
            assert np.all(part[~use] == 0), f"{where}: a funder with share 0 paid {part}"
            if got < requested * (1 - RTOL):
                self.stats["request cut by a budget"] += 1
            if c.whole or self.rule == "matched":
                # paid parts are in proportion to the shares (a whole request is paid in full shares)
                expect = sh * got
                assert np.all(np.abs(part - expect) <= RTOL * max(got, tol)), (
                    f"{where}: parts {part} not in proportion to shares {sh} (paid {got})")
            if not c.whole and self.rule == "matched" and got < requested * (1 - RTOL):
                assert np.any(exhausted[use]), f"{where}: cut to {got} of {requested} but {c.avail_after} left"
            if self.rule == "independent":
                assert np.all(part <= sh * requested * (1 + RTOL) + tol * 1e-3), (
                    f"{where}: a funder paid more than its share of {requested}: {part}, shares {sh}")
                if not c.whole:
                    short = use & (part < sh * requested * (1 - RTOL))
                    if short.any() and (part[use & ~short] > 0).any():
                        self.stats["independent: one co-funder short, another paid"] += 1
                    assert np.all(exhausted[short]), (
                        f"{where}: funders {np.flatnonzero(short)} paid less than their share of {requested} "
                        f"({part}) with {c.avail_after} left")

    def _reserve_call(self, r: ReserveCall) -> None:
        where = f"step {self.m.now}: reserve"
        assert np.all(r.part >= 0) and np.all(r.part <= r.avail_before * (1 + 1e-12)), f"{where}: {r.part}"
        assert np.all(r.part[r.shares <= 0] == 0), f"{where}: share-0 funder reserved {r.part}"
        assert np.all(r.part <= r.shares * max(r.amount, 0.0) * (1 + 1e-12)), f"{where}: beyond shares {r.part}"
        assert close(float(r.part.sum()), r.granted), f"{where}: granted {r.granted} vs parts {r.part}"
        # whatever the rule, a grant is one every co-funder reserves its full share of (so that any settlement
        # up to it is paid in full)
        np.testing.assert_allclose(r.part, r.shares * r.granted, rtol=RTOL, atol=0, err_msg=where)

    # ---------------------------------------------------------------------------------------------
    def summary_agrees(self) -> None:
        table = spending_table(self.m)
        summary = summarise_spending(table)
        assert set(summary) == {"public_spending_total", *(f"spending_{i}" for i in SPENDING_ITEMS),
                                *(f"spending_by_{f}" for f in FUNDER_NAMES)}
        assert close(summary["public_spending_total"], math.fsum(table["amount"]))
        for i in SPENDING_ITEMS:
            assert close(summary[f"spending_{i}"], math.fsum(table.loc[table["instrument"] == i, "amount"])), i
        for f in FUNDER_NAMES:
            assert close(summary[f"spending_by_{f}"], math.fsum(table.loc[table["funder"] == f, "amount"])), f
        assert close(math.fsum(summary[f"spending_{i}"] for i in SPENDING_ITEMS), summary["public_spending_total"])
        assert close(math.fsum(summary[f"spending_by_{f}"] for f in FUNDER_NAMES), summary["public_spending_total"])


# --------------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------------


@settings(PROFILE, max_examples=40)
@given(scenario=policy_scenarios(), seed=SEEDS)
def test_spending_properties_hold_after_every_step(scenario: Scenario, seed: int):
    m = ClusterModel(scenario, rng=seed, collect=False)
    check = SpendingChecker(m)
    for _ in range(scenario.simulation.steps):
        m.step()
        check.after_step()
    check.summary_agrees()
    # coverage (pytest --hypothesis-show-statistics): budgets bind in some examples, not in all
    table = spending_table(m)
    event(f"rule {scenario.policy.cofunding_rule}")
    event("spending" if len(table) else "no spending")
    event("a request cut by a budget" if check.stats["request cut by a budget"] else "no request cut")
    event("a whole request skipped" if check.stats["whole request skipped"] else "no whole request skipped")
    event("carry-over raised a budget" if check.stats["carry-over raised a budget"] else "no carry-over effect")
    event("per-cluster spending" if len(table) and (table["cluster"] >= 0).any() else "no per-cluster spending")
    event("co-funding paid" if m.ledger["public_cofunding"] > 0 else "no co-funding paid")
    event("independent: one co-funder short while another paid"
          if check.stats["independent: one co-funder short, another paid"] else "no independent shortfall")


@settings(PROFILE, max_examples=8)
@given(scenario=policy_scenarios())
def test_replication_summary_and_timeseries_agree_with_the_ledger(scenario: Scenario):
    """A whole run through the runner: spending columns of the summary, the public_spending time series
    and its cumulative agree with the run's spending table."""
    r = run_replication(scenario, root_seed=7, index=0, catch=False)
    sp, ts = r.spending, r.timeseries
    assert list(sp.columns) == ["replication", *COLUMNS]
    assert (sp["replication"] == 0).all()
    per_step = sp.groupby("step")["amount"].sum().reindex(ts["step"], fill_value=0.0).to_numpy()
    np.testing.assert_allclose(ts["public_spending"].to_numpy(), per_step, rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(ts["public_spending_cumulative"].to_numpy(), np.cumsum(per_step), rtol=RTOL,
                               atol=1e-9)
    expected = summarise_spending(sp.drop(columns="replication"))
    for k, v in expected.items():
        assert close(r.summary[k], v), k
    assert close(r.summary["public_spending_total"], float(sp["amount"].sum()))


def test_policy_strategy_draws_the_validators_hard_cases():
    """The strategy is not vacuous: its dictionaries are valid, and the validator refuses what it avoids."""
    d = {"policy": {"funders": {"state": {"budget_per_year": 10.0}},
                    "instruments": {"facilitation": {"enabled": True, "funding": {"region": 0.5, "state": 0.5}}}}}
    with pytest.raises(ValueError, match="budget_per_year is 0"):
        scenario_from_dict(d)
    d["policy"]["instruments"]["facilitation"]["funding"] = {"region": 0.0, "state": 0.5}
    with pytest.raises(ValueError, match="sum to 1"):
        scenario_from_dict(d)
    d["policy"]["instruments"]["facilitation"]["funding"] = {"region": 0.0, "state": 1.0}
    assert scenario_from_dict(d).policy.active


# --------------------------------------------------------------------------------------------------------
# Treasury unit tests
# --------------------------------------------------------------------------------------------------------

HALF = np.array([0.5, 0.5, 0.0, 0.0])
ONE = np.array([1.0, 0.0, 0.0, 0.0])


def treasury(budgets, rule: str = "matched", carry=(False, False, False, False), now: int = 1) -> Treasury:
    t = Treasury(np.array(budgets, dtype=np.float64), np.array(carry), rule)
    t.open_year(now)
    return t


def rows(t: Treasury) -> list[tuple]:
    return [(s, f, SPENDING_ITEMS[i], c, pytest.approx(a)) for s, f, i, c, a in t._rows]


FAC = SPENDING_ITEMS.index("facilitation")


def test_year_opens_at_quarters_1_5_9_without_carry_over():
    t = treasury([10.0, 4.0, 0.0, 0.0])
    np.testing.assert_array_equal(t.remaining, [10.0, 4.0, 0.0, 0.0])
    t.pay(1, FAC, HALF, [-1], [6.0])
    for now in (2, 3, 4):
        t.open_year(now)  # same year: nothing reopens
        np.testing.assert_allclose(t.remaining, [7.0, 1.0, 0.0, 0.0])
    t.open_year(5)
    np.testing.assert_array_equal(t.remaining, [10.0, 4.0, 0.0, 0.0])  # leftovers lost
    np.testing.assert_array_equal(t.opened, t.remaining)
    t.open_year(9)
    assert t.year == 2


def test_year_opening_with_carry_over_adds_only_the_carrying_funders_leftover():
    t = treasury([10.0, 4.0, 0.0, 0.0], carry=(True, False, False, False))
    t.pay(1, FAC, HALF, [-1], [6.0])  # each pays 3
    t.open_year(5)
    np.testing.assert_allclose(t.remaining, [17.0, 4.0, 0.0, 0.0])
    np.testing.assert_allclose(t.opened, [17.0, 4.0, 0.0, 0.0])
    t.open_year(9)  # nothing spent in year 2: everything carries again
    np.testing.assert_allclose(t.remaining, [27.0, 4.0, 0.0, 0.0])


def test_year_opening_releases_reservations():
    t = treasury([10.0, 10.0, 0.0, 0.0])
    t.reserve(HALF, 8.0)
    t.open_year(5)
    np.testing.assert_array_equal(t.reserved, 0.0)
    np.testing.assert_array_equal(t.available, [10.0, 10.0, 0.0, 0.0])


@pytest.mark.parametrize("rule", ["matched", "independent"])
def test_pay_within_budget_is_split_by_shares(rule):
    t = treasury([10.0, 10.0, 0.0, 0.0], rule)
    paid = t.pay(1, FAC, np.array([0.25, 0.75, 0, 0]), [3, 4], [4.0, 8.0])
    np.testing.assert_allclose(paid, [4.0, 8.0])
    assert rows(t) == [(1, 0, "facilitation", 3, 1.0), (1, 1, "facilitation", 3, 3.0),
                       (1, 0, "facilitation", 4, 2.0), (1, 1, "facilitation", 4, 6.0)]
    np.testing.assert_allclose(t.remaining, [7.0, 1.0, 0.0, 0.0])
    assert t.step_total == pytest.approx(12.0) and t.total == pytest.approx(12.0)


def test_matched_payment_is_cut_to_what_the_poorest_cofunder_can_match():
    t = treasury([10.0, 4.0, 0.0, 0.0], "matched")
    paid = t.pay(1, FAC, HALF, [-1], [20.0])
    np.testing.assert_allclose(paid, [8.0])  # funder 1 can pay 4 = its half of 8
    assert rows(t) == [(1, 0, "facilitation", -1, 4.0), (1, 1, "facilitation", -1, 4.0)]
    # funder 1 is exhausted: nothing more is paid, although funder 0 has 6 left
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [2.0]), [0.0])
    assert len(t._rows) == 2
    np.testing.assert_allclose(t.remaining, [6.0, 0.0, 0.0, 0.0])
    assert t.capacity(HALF) == 0.0


def test_independent_payment_lets_each_cofunder_pay_while_its_budget_lasts():
    t = treasury([30.0, 4.0, 0.0, 0.0], "independent")
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [20.0]), [14.0])  # 10 + all of funder 1's 4
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [20.0]), [10.0])  # funder 1 exhausted: only its half
    assert rows(t) == [(1, 0, "facilitation", -1, 10.0), (1, 1, "facilitation", -1, 4.0),
                       (1, 0, "facilitation", -1, 10.0)]
    np.testing.assert_allclose(t.remaining, [10.0, 0.0, 0.0, 0.0])
    assert t.capacity(HALF) == 0.0  # capacity: with every co-funder paying its full share
    # never more than a funder's share, even when another funder could pay more
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [4.0]), [2.0])


@pytest.mark.parametrize("rule", ["matched", "independent"])
@pytest.mark.parametrize(("budget", "amount"), [(0.1, 11.0), (0.9, 7.0), (1.7, 13.0), (3.3, 49.0)])
def test_a_budget_is_spent_to_the_last_cent_and_never_beyond(rule, budget, amount):
    """(budget / amount) × amount rounds above the budget for these pairs: the matched scale must not let a
    funder pay more than it has, not even by one rounding error."""
    assert amount * (budget / amount) > budget  # the rounding this test is about
    t = treasury([budget, 0.0, 0.0, 0.0], rule)
    paid = t.pay(1, FAC, ONE, [-1], [amount])
    assert paid[0] == budget and t._rows[0][4] == budget
    assert t.remaining[0] == 0.0
    np.testing.assert_array_equal(t.pay(1, FAC, ONE, [-1], [amount]), [0.0])


@pytest.mark.parametrize("rule", ["matched", "independent"])
def test_whole_requests_are_paid_entirely_or_not_at_all_in_order(rule):
    t = treasury([8.0, 0.0, 0.0, 0.0], rule)
    paid = t.pay(1, FAC, ONE, [0, 1, 2], [6.0, 6.0, 1.0], whole=True)
    np.testing.assert_allclose(paid, [6.0, 0.0, 1.0])  # the second does not fit, the third still does
    assert rows(t) == [(1, 0, "facilitation", 0, 6.0), (1, 0, "facilitation", 2, 1.0)]
    paid = treasury([8.0, 0.0, 0.0, 0.0], rule).pay(1, FAC, ONE, [0, 1, 2], [6.0, 6.0, 1.0], whole=False)
    np.testing.assert_allclose(paid, [6.0, 2.0, 0.0])  # the budget runs out on the second


@pytest.mark.parametrize("rule", ["matched", "independent"])
def test_whole_request_with_one_cofunder_short_is_skipped(rule):
    t = treasury([10.0, 4.0, 0.0, 0.0], rule)
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [10.0], whole=True), [0.0])
    assert t._rows == [] and t.total == 0.0
    np.testing.assert_array_equal(t.remaining, [10.0, 4.0, 0.0, 0.0])
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [8.0], whole=True), [8.0])


def test_non_positive_amounts_are_not_paid():
    t = treasury([10.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(t.pay(1, FAC, ONE, [-1, -1], [0.0, -3.0]), [0.0, 0.0])
    assert t._rows == []
    assert t.reserve(ONE, 0.0)[0] == 0.0


@pytest.mark.parametrize("rule", ["matched", "independent"])
def test_reserved_money_cannot_be_paid_until_released(rule):
    t = treasury([10.0, 10.0, 0.0, 0.0], rule)
    granted, part = t.reserve(HALF, 16.0)
    assert granted == pytest.approx(16.0)
    np.testing.assert_allclose(part, [8.0, 8.0, 0.0, 0.0])
    np.testing.assert_allclose(t.remaining, [10.0, 10.0, 0.0, 0.0])  # reserving spends nothing
    np.testing.assert_allclose(t.available, [2.0, 2.0, 0.0, 0.0])
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [10.0]), [4.0])
    t.release(part)
    np.testing.assert_allclose(t.available, [8.0, 8.0, 0.0, 0.0])
    np.testing.assert_allclose(t.pay(1, FAC, HALF, [-1], [16.0]), [16.0])
    np.testing.assert_allclose(t.remaining, 0.0, atol=1e-12)
    t.release(part)  # releasing twice never makes reserved negative
    np.testing.assert_array_equal(t.reserved, 0.0)


def test_reserve_is_clamped_to_what_every_cofunder_can_match():
    granted, part = treasury([10.0, 4.0, 0.0, 0.0], "matched").reserve(HALF, 20.0)
    assert granted == pytest.approx(8.0)
    np.testing.assert_allclose(part, [4.0, 4.0, 0.0, 0.0])
    # whatever the rule, a grant is one every co-funder can pay its full share of (settled in full later)
    granted, part = treasury([10.0, 4.0, 0.0, 0.0], "independent").reserve(HALF, 20.0)
    assert granted == pytest.approx(8.0)
    np.testing.assert_allclose(part, [4.0, 4.0, 0.0, 0.0])


def test_ledger_table_names_funders_items_and_phases():
    t = treasury([10.0, 10.0, 10.0, 10.0])
    assert list(t.table().columns) == COLUMNS and len(t.table()) == 0
    assert t.table()["amount"].dtype == np.float64 and t.table()["step"].dtype == np.int64
    t.pay(1, SPENDING_ITEMS.index("calls"), np.array([0, 0, 0, 1.0]), [-1], [2.0])
    t.pay(2, SPENDING_ITEMS.index("monitoring"), np.array([0, 0, 1.0, 0]), [5], [1.0])
    t.pay(3, SPENDING_ITEMS.index("training"), np.array([0, 1.0, 0, 0]), [6], [3.0])
    table = t.table()
    assert table.to_dict("list") == {
        "step": [1, 2, 3], "funder": ["europe", "state", "region"], "instrument": ["calls", "monitoring", "training"],
        "phase": ["constitution", "accompaniment", "stabilisation"], "cluster": [-1, 5, 6], "amount": [2.0, 1.0, 3.0]}
    np.testing.assert_allclose(t.spent_by_funder(), [0.0, 3.0, 1.0, 2.0])
    assert summarise_spending(table)["spending_by_europe"] == 2.0


def test_a_model_without_policy_has_an_empty_ledger():
    m = ClusterModel(scenario_from_dict({"simulation": {"n_firms": 30, "steps": 3}}), rng=0, collect=False)
    assert isinstance(m.policy, NoPolicy)
    check = SpendingChecker(m)
    for _ in range(3):
        m.step()
        check.after_step()
    assert set(summarise_spending(spending_table(m)).values()) == {0.0}


# --------------------------------------------------------------------------------------------------------
# regressions and known bugs
# --------------------------------------------------------------------------------------------------------


def _independent_cofunding_scenario() -> Scenario:
    return scenario_from_dict({
        "simulation": {"n_firms": 60, "steps": 12, "warmup": 0},
        "clusters": {"initiative_probability": 0.1, "awareness_probability": 1.0, "min_founders": 2},
        "policy": {"cofunding_rule": "independent",
                   "funders": {"local": {"budget_per_year": 1.0}, "region": {"budget_per_year": 1000.0}},
                   "support": {"open_labelling": True, "label_min_size": 2},
                   "instruments": {"cofunding": {"enabled": True, "rate": 1.0, "cap_per_cluster": 20.0,
                                                 "funding": {"local": 0.5, "region": 0.5}}}},
    })


def test_independent_cofunding_with_an_exhausted_cofunder_is_settled():
    """Regression (commit f3a42bd): under 'independent', Treasury.reserve granted what each co-funder could pay
    (an exhausted funder's part 0, the others' in full) and the clusters spent all of it, but the settlement
    split each cluster's amount by the shares, so the exhausted funder's part went unpaid: 'co-funding beyond
    its reserve' AssertionError in the co-funding settlement (and, with python -O, public_cofunding paid to
    firms that no funder paid). A grant is now one every co-funder can pay its full share of."""
    m = ClusterModel(_independent_cofunding_scenario(), rng=1, collect=False)
    check = SpendingChecker(m)
    exhausted = False
    for _ in range(12):
        m.step()
        check.after_step()
        exhausted |= bool(m.policy.treasury.available[0] <= 1e-9)
    assert exhausted, "the local funder's budget should run out"
    assert m.ledger["public_cofunding"] > 0


#: the smallest normal float (k€)
TINY = 2.2250738585072014e-308


def _tiny_cost_model() -> ClusterModel:
    """Found by hypothesis (shrunk): a valid scenario whose data-sharing service costs the smallest normal
    float, 2.2250738585072014e-308 k€, under the 'matched' rule."""
    return ClusterModel(scenario_from_dict({
        "simulation": {"n_firms": 30, "steps": 2},
        "policy": {"funders": {"europe": {"budget_per_year": 4.0}},
                   "instruments": {"data_sharing": {"enabled": True, "cost_per_quarter": TINY, "noise_reduction": 0.4,
                                                    "funding": {"region": 0.0, "europe": 1.0}}}},
    }), rng=0, collect=False)



# regression: a tiny payment or share once overflowed in Treasury._split / capacity (now under np.errstate)
@pytest.mark.parametrize("case", ["pay, matched, tiny amount", "capacity, tiny share", "model step, tiny cost"])
def test_tiny_payments_do_not_overflow(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if case.startswith("pay"):
            paid = treasury([4.0, 0.0, 0.0, 0.0], "matched").pay(1, FAC, ONE, [-1], [TINY])
            assert paid[0] == TINY
        elif case.startswith("capacity"):
            # shares (1, 1e-308) sum to 1 in floating point: valid when both funders have a budget
            assert treasury([4.0, 4.0, 0.0, 0.0], "independent").capacity(np.array([1.0, 1e-308, 0, 0])) == 4.0
        else:
            m = _tiny_cost_model()
            m.step()
            assert m.noise_factor == pytest.approx(0.6)  # the service was paid in full


#: thirds written with ten digits: they sum to 0.9999999999, which the validator accepts (within 1e-9 of 1)
THIRDS = {"local": 0.3333333333, "region": 0.3333333333, "state": 0.3333333333}


# regression: shares summing to 1 − 1e-10 once stopped every whole payment (PublicPolicy now normalises them)
def test_shares_the_validator_accepts_pay_whole_requests():
    s = scenario_from_dict({
        "simulation": {"n_firms": 60, "steps": 12},
        "clusters": {"initiative_probability": 0.1, "awareness_probability": 1.0, "min_founders": 2},
        "policy": {"funders": {n: {"budget_per_year": 1000.0} for n in THIRDS},
                   "support": {"open_labelling": True, "label_min_size": 2},
                   "instruments": {"training": {"enabled": True, "cost_per_cluster": 3.0, "funding": THIRDS}}},
    })
    m = ClusterModel(s, rng=1, collect=False)
    m.run(12)
    assert m.policy_counters["labelled"] > 0  # there were supported clusters to train
    assert (m.clusters.last_training[: m.clusters.n] >= 0).any(), "no cluster was ever trained"
    assert spending_table(m)["amount"].sum() > 0


def test_prorata_batch_gives_every_request_the_same_fraction_when_the_budget_binds():
    t = treasury([30.0, 0.0, 0.0, 0.0])
    paid = t.pay(1, FAC, ONE, [0, 1, 2], [10.0, 20.0, 30.0], prorata=True)
    np.testing.assert_allclose(paid, [5.0, 10.0, 15.0])  # 30 of 60 asked: half each, not first come first served
    np.testing.assert_allclose(t.remaining, [0.0, 0.0, 0.0, 0.0], atol=1e-12)
    assert [r[3] for r in t._rows] == [0, 1, 2]
    # in order (the default), the first requests would have been paid in full
    t2 = treasury([30.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(t2.pay(1, FAC, ONE, [0, 1, 2], [10.0, 20.0, 30.0]), [10.0, 20.0, 0.0])


@pytest.mark.parametrize("rule", ["matched", "independent"])
def test_prorata_batch_with_one_cofunder_short(rule):
    t = treasury([100.0, 10.0, 0.0, 0.0], rule)
    paid = t.pay(1, FAC, HALF, [0, 1], [20.0, 20.0], prorata=True)  # funder 1 owes 20, has 10
    if rule == "matched":
        np.testing.assert_allclose(paid, [10.0, 10.0])  # everyone cut to what funder 1 can match
        np.testing.assert_allclose(t.remaining, [90.0, 0.0, 0.0, 0.0], atol=1e-12)
    else:
        np.testing.assert_allclose(paid, [15.0, 15.0])  # funder 0 pays its full half, funder 1 half of its half
        np.testing.assert_allclose(t.remaining, [80.0, 0.0, 0.0, 0.0], atol=1e-12)
    # a batch that fits is paid in full
    t3 = treasury([100.0, 100.0, 0.0, 0.0], rule)
    np.testing.assert_allclose(t3.pay(1, FAC, HALF, [0, 1], [20.0, 20.0], prorata=True), [20.0, 20.0])
