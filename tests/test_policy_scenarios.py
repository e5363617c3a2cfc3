"""Every shipped scenario (configs/*.yaml) does, in a run, what its header says of public policy.

Each file is loaded with :func:`clustersim.scenario.io.load_scenario` and run once (300 firms, 40 quarters,
one seed; cached for the module). Generic checks (parametrised over every file, so files added later are
covered): money only goes to configured items, from funders with a budget and a share, never beyond a
funder's yearly budget; matched co-funding splits every payment by its shares; the constitution modes
create only their own kind of cluster; scenarios without policy spend nothing. Then each policy scenario is
checked for what it claims (awareness only, top-down identification, all three phases, withdrawal, evaluation,
the directive counterfactual, several funders).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

from clustersim.model import MODE_BOTTOM_UP, MODE_CALL, MODE_DIRECTIVE, MODE_IDENTIFICATION, ClusterModel
from clustersim.model.policy.instruments import INSTRUMENTS
from clustersim.model.policy.treasury import YEAR
from clustersim.model.tables import spending_table
from clustersim.scenario.io import load_scenario
from clustersim.scenario.schema import FUNDER_NAMES, Policy, Scenario

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
#: files with a policy section: they must stay comparable with the baseline (same region, same firms, ...)
POLICY_CONFIGS = [p for p in CONFIGS if any(line.startswith("policy:") for line in p.read_text().splitlines())]
STEPS = 40  # ten years: every scenario's policy has acted, support_withdrawal's programme (24 quarters) is over
SEED = 7
#: sections a policy scenario may change besides name, description and policy (run length, replications)
FREE_SECTIONS = {"name", "description", "simulation", "policy"}


@dataclass
class Run:
    scenario: Scenario
    model: ClusterModel
    spending: pd.DataFrame
    locked_steps: int  # (membership, quarter) pairs during which a membership could not be left
    locked_broken: int  # of those, memberships that disappeared though firm and cluster were still alive


@cache
def run(stem: str) -> Run:
    s = load_scenario(ROOT / "configs" / f"{stem}.yaml")
    m = ClusterModel(s, rng=SEED, collect=False)
    locked_steps = locked_broken = 0
    for _ in range(STEPS):
        mem = m.memberships
        locked = mem.locked_until >= m.now + 1  # members who may not leave in the coming quarter
        firms, clusters = mem.firm[locked].copy(), mem.cluster[locked].copy()
        m.step()
        if len(firms):
            alive = m.firms.alive[firms] & m.clusters.alive[clusters]
            locked_steps += int(alive.sum())
            locked_broken += int((alive & ~m.memberships.contains(firms, clusters)).sum())
    return Run(s, m, spending_table(m), locked_steps, locked_broken)


def _ids(p: Path) -> str:
    return p.stem


def _shares(s: Scenario, item: str) -> dict[str, float]:
    """The co-funding shares of a spending item (an instrument or a constitution mode's own costs)."""
    pol = s.policy
    shares = getattr(pol.instruments, item).funding if item in INSTRUMENTS else \
        getattr(pol.constitution, item).funding
    return {f: getattr(shares, f) for f in FUNDER_NAMES}


def _configured_items(s: Scenario) -> set[str]:
    pol = s.policy
    items = {name for name in INSTRUMENTS if getattr(pol.instruments, name).enabled}
    mode = pol.constitution.mode
    if mode in ("identification", "both"):
        items.add("identification")
    if mode in ("calls", "both"):
        items.add("calls")
    if mode == "directive_counterfactual":
        items.add("directive")
    return items


def _founded(r: Run) -> np.ndarray:
    C = r.model.clusters
    return C.founded_mode[: C.n]


def _spent_by(sp: pd.DataFrame, key: str) -> dict[str, float]:
    return sp.groupby(key)["amount"].sum().to_dict() if len(sp) else {}


# ------------------------------------------------------------------------------------------------ generic
@pytest.mark.parametrize("path", POLICY_CONFIGS, ids=_ids)
def test_policy_scenario_compares_with_the_baseline(path: Path):
    """Only name, description, run length and policy differ from the baseline (`clustersim compare ...
    --baseline configs/baseline.yaml` then measures the policy alone)."""
    s = load_scenario(path)
    assert s.name == path.stem
    base = Scenario().model_dump()
    differ = {k for k, v in s.model_dump().items() if v != base[k]}
    assert differ <= FREE_SECTIONS, f"{path.name} also changes {sorted(differ - FREE_SECTIONS)}"


@pytest.mark.parametrize("path", CONFIGS, ids=_ids)
def test_money_goes_only_to_configured_items_from_funders_with_a_share(path: Path):
    r = run(path.stem)
    sp, s = r.spending, r.scenario
    if not len(sp):
        return
    assert (sp["amount"] > 0).all()
    items = set(sp["instrument"])
    assert items <= _configured_items(s), f"spending on items not configured: {items - _configured_items(s)}"
    for (item, funder), _ in sp.groupby(["instrument", "funder"]):
        assert _shares(s, item)[funder] > 0, f"{funder} paid for {item} without a share of it"
        assert getattr(s.policy.funders, funder).budget_per_year > 0
    # the run's cumulative public spending indicator is the ledger's total
    assert r.model.indicators["public_spending_cumulative"] == pytest.approx(sp["amount"].sum(), rel=1e-9)


@pytest.mark.parametrize("path", CONFIGS, ids=_ids)
def test_no_funder_spends_beyond_its_yearly_budget(path: Path):
    r = run(path.stem)
    sp = r.spending
    if not len(sp):
        return
    year = (sp["step"] - 1) // YEAR
    by_year = sp.assign(year=year).groupby(["funder", "year"])["amount"].sum()
    for funder in set(sp["funder"]):
        f = getattr(r.scenario.policy.funders, funder)
        spent = by_year.loc[funder]
        if f.carry_over:  # what is not spent is carried over: the cumulative spending is bounded
            assert (spent.cumsum() <= f.budget_per_year * (spent.index.to_numpy() + 1) + 1e-6).all()
        else:
            assert spent.max() <= f.budget_per_year + 1e-6, f"{funder} spent {spent.max():.1f} in a year"


@pytest.mark.parametrize("path", CONFIGS, ids=_ids)
def test_matched_cofunding_splits_every_payment_by_its_shares(path: Path):
    r = run(path.stem)
    sp, s = r.spending, r.scenario
    if not len(sp) or s.policy.cofunding_rule != "matched":
        return
    for item, rows in sp.groupby("instrument"):
        shares = {f: v for f, v in _shares(s, item).items() if v > 0}
        if len(shares) < 2:
            continue
        paid = rows.pivot_table(index=["step", "cluster"], columns="funder", values="amount", aggfunc="sum",
                                fill_value=0.0)
        assert set(paid.columns) == set(shares), f"{item}: paid by {sorted(paid.columns)}, shares {shares}"
        total = paid.sum(axis=1).to_numpy()
        for funder, share in shares.items():
            np.testing.assert_allclose(paid[funder].to_numpy(), share * total, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("path", CONFIGS, ids=_ids)
def test_constitution_modes_create_only_their_own_clusters(path: Path):
    """Identification, calls and the directive counterfactual create clusters only in their own mode; only
    the directive counterfactual locks members in."""
    r = run(path.stem)
    mode = r.scenario.policy.constitution.mode
    founded = set(np.unique(_founded(r)).tolist())
    allowed = {MODE_BOTTOM_UP}
    if mode in ("identification", "both"):
        allowed.add(MODE_IDENTIFICATION)
    if mode in ("calls", "both"):
        allowed.add(MODE_CALL)
    if mode == "directive_counterfactual":
        allowed.add(MODE_DIRECTIVE)
    assert founded <= allowed, f"mode {mode!r} created clusters of founding modes {sorted(founded - allowed)}"
    assert r.locked_broken == 0
    if mode != "directive_counterfactual":
        assert r.locked_steps == 0 and r.model.policy_counters["assigned_memberships"] == 0


@pytest.mark.parametrize("path", CONFIGS, ids=_ids)
def test_a_scenario_without_policy_spends_nothing_and_supports_no_cluster(path: Path):
    r = run(path.stem)
    if r.scenario.policy.active:
        assert len(r.spending), f"{path.name} configures a policy that never spent anything in {STEPS} quarters"
        return
    C = r.model.clusters
    assert not len(r.spending)
    assert not C.supported[: C.n].any() and (C.labelled_at[: C.n] < 0).all()
    assert (_founded(r) == MODE_BOTTOM_UP).all()
    assert r.model.indicators["public_spending_cumulative"] == 0.0


# ------------------------------------------------------------------------------------------------ scenarios
def test_no_policy_is_the_baseline_with_no_public_action():
    s = load_scenario(ROOT / "configs" / "no_policy.yaml")
    assert not s.policy.active
    assert s.policy == Policy()
    base = load_scenario(ROOT / "configs" / "baseline.yaml")
    assert s.model_dump(exclude={"name", "description"}) == base.model_dump(exclude={"name", "description"})
    assert not len(run("no_policy").spending) and not len(run("baseline").spending)


def test_awareness_only_spends_only_on_awareness_campaigns_paid_by_the_region():
    r = run("awareness_only")
    s, sp = r.scenario, r.spending
    assert _configured_items(s) == {"awareness"} and not s.policy.support.open_labelling
    assert set(sp["instrument"]) == {"awareness"} and set(sp["funder"]) == {"region"}
    assert (sp["cluster"] == -1).all()
    # the first year's campaigns (almost every firm is outside a cluster) cost more than the budget
    first_year = sp.loc[sp["step"] <= YEAR, "amount"].sum()
    assert first_year == pytest.approx(s.policy.funders.region.budget_per_year)
    C = r.model.clusters
    assert not C.supported[: C.n].any()


def test_top_down_identification_forms_labelled_and_supported_clusters_funded_mainly_by_the_state():
    r = run("top_down_identification")
    s, sp, C = r.scenario, r.spending, r.model.clusters
    assert s.policy.constitution.mode == "identification"
    assert s.policy.instruments.awareness.target == "identified"
    ident = np.flatnonzero(_founded(r) == MODE_IDENTIFICATION)
    assert len(ident) >= 1
    assert r.model.policy_counters["identified_groups"] >= len(ident)
    # every identified cluster is labelled when it is founded, and receives facilitation
    assert (C.labelled_at[ident] == C.born[ident]).all()
    funded = set(sp.loc[sp["instrument"] == "facilitation", "cluster"])
    assert set(ident.tolist()) <= funded
    still = ident[C.alive[ident] & (C.support_ended[ident] < 0)]
    assert C.supported[still].all()
    # campaigns aimed at the identified firms, the analysis and the evaluation are paid; the state pays most
    items = _spent_by(sp, "instrument")
    for item in ("identification", "awareness", "facilitation", "cofunding", "monitoring"):
        assert items.get(item, 0) > 0, item
    by_funder = _spent_by(sp, "funder")
    assert by_funder["state"] > by_funder.get("region", 0) > 0
    assert s.policy.evaluation.enabled and r.model.policy_counters["evaluations"] > 0


def test_full_support_spends_on_every_instrument_of_the_three_phases():
    r = run("full_support")
    s, sp, C = r.scenario, r.spending, r.model.clusters
    enabled = {name for name in INSTRUMENTS if getattr(s.policy.instruments, name).enabled}
    assert enabled == set(INSTRUMENTS)
    items = _spent_by(sp, "instrument")
    assert all(items.get(name, 0) > 0 for name in enabled), sorted(enabled - set(items))
    assert set(sp["phase"]) == {"constitution", "stabilisation", "accompaniment"}
    # calls for projects plus open labelling: call-born and bottom-up clusters are both labelled
    assert items.get("calls", 0) > 0 and r.model.policy_counters["applications"] > 0
    labelled = C.labelled_at[: C.n] >= 0
    assert (labelled & (_founded(r) == MODE_CALL)).any()
    assert (labelled & (_founded(r) == MODE_BOTTOM_UP)).any()
    assert r.model.policy_counters["validated"] > 0 and r.model.policy_counters["matchmaking_services"] > 0


def test_support_withdrawal_ends_support_and_spends_nothing_afterwards():
    r = run("support_withdrawal")
    s, sp, C, m = r.scenario, r.spending, r.model.clusters, r.model
    sup = s.policy.support
    assert 0 < sup.duration and 0 < sup.end_step < STEPS
    n = C.n
    ended = C.support_ended[:n] >= 0
    assert ended.sum() >= 1
    # no cluster is paid for before its labelling, for longer than the planned duration, nor after the
    # programme's end
    paid = sp[sp["cluster"] >= 0]
    since = paid["step"].to_numpy() - C.labelled_at[paid["cluster"].to_numpy()]
    assert (since >= 1).all() and (since <= sup.duration).all()
    assert (C.support_ended[:n][ended] <= sup.end_step + 1).all()
    assert not C.supported[:n].any()
    assert sp["step"].max() <= sup.end_step
    assert len(sp) and set(sp["instrument"]) <= {"facilitation", "training", "cofunding"}
    # durability after withdrawal is measured
    surv = m.indicators["survival_after_support"]
    assert 0.0 <= surv <= 1.0
    assert surv == pytest.approx(C.alive[:n][ended].mean())


def test_adaptive_policy_evaluates_labels_and_reallocates():
    r = run("adaptive")
    s, sp, C, pc = r.scenario, r.spending, r.model.clusters, r.model.policy_counters
    ev = s.policy.evaluation
    assert ev.enabled and ev.reallocation > 0 and ev.label_above < 1e6
    # no other route to a label: every label comes from an evaluation
    assert s.policy.constitution.mode == "none" and not s.policy.support.open_labelling
    assert pc["evaluations"] > 0 and pc["labelled"] > 0
    sup = np.flatnonzero(C.supported[: C.n] & C.alive[: C.n])
    assert len(np.unique(np.round(C.funding_weight[sup], 9))) > 1, "facilitation money does not follow scores"
    items = _spent_by(sp, "instrument")
    assert items.get("monitoring", 0) > 0 and items.get("facilitation", 0) > 0


def test_directive_counterfactual_assigns_and_locks_firms_and_says_so():
    path = ROOT / "configs" / "directive.yaml"
    header = path.read_text().split("\nname:")[0]
    assert "COUNTERFACTUAL" in header and "not a policy option" in header.replace("\n# ", " ").lower()
    r = run("directive")
    s, m = r.scenario, r.model
    d = s.policy.constitution.directive
    assert s.policy.constitution.mode == "directive_counterfactual"
    assert "COUNTERFACTUAL" in s.description
    assigned = np.flatnonzero(_founded(r) == MODE_DIRECTIVE)
    assert len(assigned) == d.n_clusters * d.n_assignments
    assert m.policy_counters["assigned_memberships"] == d.n_clusters * d.group_size
    # the assigned firms could not leave during the lock-in, and none of those memberships was broken
    assert r.locked_steps >= d.n_clusters * (d.group_size - 1) * (d.lock_in - 1)
    assert r.locked_broken == 0
    assert set(r.spending["instrument"]) == {"directive", "facilitation"}


def test_multi_level_is_cofunded_by_several_levels_in_the_intended_ratio():
    r = run("multi_level")
    s, sp = r.scenario, r.spending
    assert s.policy.cofunding_rule == "matched"
    by_funder = _spent_by(sp, "funder")
    assert {f for f, v in by_funder.items() if v > 0} == {"region", "state", "europe"}
    for item, pair in (("facilitation", ("region", "state")), ("cofunding", ("region", "europe"))):
        shares = _shares(s, item)
        rows = sp[sp["instrument"] == item]
        totals = rows.groupby("funder")["amount"].sum()
        assert set(totals.index) == set(pair)
        a, b = pair
        assert totals[a] / totals[b] == pytest.approx(shares[a] / shares[b], rel=1e-6)
