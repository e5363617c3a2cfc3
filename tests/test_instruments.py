"""The contract every registered policy instrument keeps (clustersim/model/policy/instruments.py).

Each test is parametrised over the whole registry (``INSTRUMENTS``), so that a new instrument is checked as
soon as it is registered. On a small policy scenario (60 firms, 12 quarters; open labelling and calls for
projects, so that clusters are supported and the constitution mode spends and draws too), each instrument

(a) disabled, spends nothing and changes nothing: no ledger row for its item, and the run is the same, quarter
    by quarter and in every state variable, as that of the scenario without it;
(b) enabled with a budget too small for it, never lets a funder spend more than its available budget of the
    year (the ledger against the budgets, carry-over included);
(c) is reproducible: two runs with the same seed give the same spending ledger and indicators;
(d) writes only what it declares (``writes``): every variable of the model is compared before and after each of
    its calls (``reset`` and ``act``), in every quarter of a run, and only declared ones may differ;

and acts only between its start and end steps. The registry itself is checked against the scenario schema
and docs/ODD.md 7.25.2.
"""

from __future__ import annotations

import copy
import random
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import put_path

from clustersim.model import POLICY_PHASES, ClusterModel
from clustersim.model.policy.instruments import INSTRUMENTS, SCHEDULE
from clustersim.model.policy.public import PublicPolicy
from clustersim.model.policy.treasury import YEAR
from clustersim.scenario.io import scenario_from_dict
from clustersim.scenario.schema import FUNDER_NAMES, Instruments

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"
NAMES = list(INSTRUMENTS)
STEPS = 12
SEED = 3
#: each instrument's window: it may act in quarters START..END only
START, END = 2, 10

#: the instruments' parameters (besides enabled, the window and funding) under which they act often in a short
#: run; one not listed runs with its defaults
ENABLED = {
    "awareness": {"period": 2, "reach": 0.5, "cost_per_firm": 0.5, "boost": 2.0, "duration": 2},
    "matchmaking": {"capacity": 4, "cost_per_service": 3.0, "extra_candidates": 4},
    "validation": {"capacity": 3, "cost_per_project": 5.0, "clarity": 0.5},
    "legal_framework": {"cost_per_quarter": 10.0},
    "facilitation": {"amount_per_cluster": 20.0},
    "training": {"period": 2, "cost_per_cluster": 5.0},
    "cofunding": {"rate": 0.5, "cap_per_cluster": 10.0},
    "data_sharing": {"cost_per_quarter": 8.0},
    "support_structures": {"cost_per_cluster": 4.0},
    "exchange": {"period": 2, "cost_per_cluster": 2.0, "meetings": 3},
    "monitoring": {"cost_per_cluster": 1.0},
}
#: what an enabled instrument needs besides itself (evaluation needs the monitoring tool, and vice versa)
COMPANIONS = {"monitoring": {"evaluation": {"enabled": True, "period": 2, "min_age": 1, "reallocation": 0.5}}}
#: the instruments' funders (matched co-funding): region, and Europe, which carries unspent money over;
#: the calls for projects are paid by the state alone
SHARES = {"region": 0.5, "europe": 0.5}
GENEROUS = 100_000.0


def scenario(name: str | None = None, enabled: bool = True, budget: float = GENEROUS):
    """The contract scenario, with instrument ``name`` (if any) enabled or not, its funders given ``budget``
    k€ a year each; validated by scenario_from_dict."""
    data: dict = {}
    for path, value in {
        "simulation.n_firms": 60, "simulation.steps": STEPS, "simulation.warmup": 0,
        "clusters.initiative_probability": 0.03,
        "policy.funders": {"region": {"budget_per_year": budget}, "europe": {"budget_per_year": budget,
                                                                              "carry_over": True},
                           "state": {"budget_per_year": GENEROUS}},
        "policy.support": {"open_labelling": True, "label_min_size": 3},
        "policy.constitution": {"mode": "calls", "calls": {"start_step": 2, "period": 3, "n_calls": 0,
                                                           "application_probability": 0.05,
                                                           "cost_per_application": 1.0,
                                                           "funding": {"region": 0.0, "state": 1.0}}},
    }.items():
        put_path(data, path, value)
    if name is not None:
        put_path(data, f"policy.instruments.{name}", {**ENABLED.get(name, {}), "enabled": enabled, "start_step": START,
                                                      "end_step": END, "funding": SHARES})
        if enabled:
            for path, value in COMPANIONS.get(name, {}).items():
                put_path(data, f"policy.{path}", value)
    return scenario_from_dict(data)


# --------------------------------------------------------------------------------------------------------
# the model's variables, and which of them changed
# --------------------------------------------------------------------------------------------------------

#: model attributes that are not the model's state (configuration, the policy itself, Mesa's bookkeeping)
NOT_STATE = {"p", "scenario_config", "policy", "datacollector", "firm_agents", "cluster_agents", "subscribers",
             "data_registry", "step", "indicators"}


def snapshot(m: ClusterModel) -> dict[str, object]:
    """Every variable of the model's state, by the names instruments declare: ``firms.<column>``,
    ``clusters.<column>``, ``memberships.<column>``, ``trust.<array>`` (and the link stores), ``ledger.<key>``,
    ``policy_counters.<key>``, ``step_stats.<key>``, ``counters.<key>``, ``model.<attribute>`` (``model.rng``:
    the generator's state)."""
    out: dict[str, object] = {}
    for attr, value in vars(m).items():
        if attr.startswith("_") or attr in NOT_STATE or callable(value):
            continue
        if isinstance(value, np.random.Generator):
            out[f"model.{attr}"] = copy.deepcopy(value.bit_generator.state)
        elif isinstance(value, random.Random):
            out[f"model.{attr}"] = value.getstate()
        elif isinstance(value, dict):
            out.update({f"{attr}.{k}": copy.deepcopy(v) for k, v in value.items()})
        elif type(value).__module__.startswith("clustersim.model."):  # tables and pair stores
            out.update({f"{attr}.{k}": copy.deepcopy(v) for k, v in vars(value).items() if not k.startswith("_")})
        else:
            out[f"model.{attr}"] = copy.deepcopy(value)
    return out


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


_MISSING = object()


def changed(before: dict[str, object], after: dict[str, object]) -> set[str]:
    """The variables that differ (or appeared, or disappeared) between two snapshots."""
    return {k for k in before.keys() | after.keys()
            if not _same(before.get(k, _MISSING), after.get(k, _MISSING))}


# --------------------------------------------------------------------------------------------------------
# runs (cached: each is used by several tests)
# --------------------------------------------------------------------------------------------------------

class Run:
    """A finished run: its spending ledger, its indicators in every quarter and its final state."""

    def __init__(self, m: ClusterModel, indicators: list[dict[str, float]]) -> None:
        self.m = m
        self.spending = m.policy.spending()
        self.indicators = indicators
        self.state = snapshot(m)


def run(s, watch: str | None = None, log: list | None = None) -> Run:
    """Run scenario ``s``; with ``watch``, every call of that instrument's ``reset`` and ``act`` appends
    (quarter, method, phase, variables changed) to ``log``."""
    m = ClusterModel(s, rng=SEED, collect=False)
    assert isinstance(m.policy, PublicPolicy)
    if watch is not None:
        _watch(m.policy.instruments[watch], log if log is not None else [])
    indicators = []
    for _ in range(STEPS):
        m.step()
        indicators.append(dict(m.indicators))
    return Run(m, indicators)


def _watch(instrument, log: list) -> None:
    def watched(method, original):
        def call(m, *args):
            before = snapshot(m)
            original(m, *args)
            log.append((m.now, method, args[0] if args else instrument.acts[0], changed(before, snapshot(m))))
        return call

    instrument.reset = watched("reset", instrument.reset)
    instrument.act = watched("act", instrument.act)


@cache
def without_instruments() -> Run:
    return run(scenario())


@cache
def enabled(name: str) -> tuple[Run, list]:
    """The instrument enabled with a generous budget, every call of it watched."""
    log: list = []
    return run(scenario(name), watch=name, log=log), log


def rows_of(r: Run, name: str) -> pd.DataFrame:
    return r.spending[r.spending["instrument"] == name]


def assert_same_run(a: Run, b: Run) -> None:
    pd.testing.assert_frame_equal(a.spending, b.spending)
    for q, (x, y) in enumerate(zip(a.indicators, b.indicators, strict=True), start=1):
        assert x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x), f"indicators differ in quarter {q}"
    assert not changed(a.state, b.state), f"final states differ in {sorted(changed(a.state, b.state))}"


# --------------------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------------------

def _odd_instruments() -> dict[str, tuple[str, str]]:
    """docs/ODD.md 7.25.2: each instrument's name -> (its phase heading, its paragraph)."""
    text = ODD.read_text(encoding="utf-8")
    section = text[text.index("#### 7.25.2"): text.index("#### 7.25.3")]
    out = {}
    for heading, body in re.findall(r"\*\*(\w+) phase\.\*\*\n(.*?)(?=\*\*\w+ phase\.\*\*|\Z)", section, re.S):
        for name, paragraph in re.findall(r"^\*[^*\n]+\* \(`(\w+)`[;)](.*?)(?=^\*[^*\n]+\* \(`|\Z)", body,
                                          re.S | re.M):
            out[name] = (heading.lower(), paragraph)
    return out


def test_the_registry_is_the_schemas_instruments_and_odd_7_25_2s():
    assert list(INSTRUMENTS) == list(Instruments.model_fields)
    assert list(_odd_instruments()) == list(INSTRUMENTS)


@pytest.mark.parametrize("name", NAMES)
def test_each_instrument_describes_itself_and_is_scheduled_where_it_acts(name):
    cls = INSTRUMENTS[name]
    odd_phase, paragraph = _odd_instruments()[name]
    assert cls.name == name and cls.cost and cls.mechanism
    assert cls.phase == odd_phase, f"ODD 7.25.2 lists {name} under the {odd_phase} phase"
    assert cls.acts and list(cls.acts) == [p for p in POLICY_PHASES if p in cls.acts], "acts: in quarter order"
    for phase in POLICY_PHASES:
        assert (name in SCHEDULE[phase]) == (phase in cls.acts), f"SCHEDULE[{phase!r}] and {name}.acts disagree"
        assert (phase in cls.acts) == (f"`{phase}` phase" in paragraph), f"ODD 7.25.2: {name} in the {phase} phase?"
    state = snapshot(without_instruments().m)
    for var in cls.writes:  # (this quarter's diagnostics, step_stats, come and go)
        assert var in state or var.startswith("step_stats."), f"{name} declares {var!r}, not a model variable"


# --------------------------------------------------------------------------------------------------------
# the contract
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_disabled_it_spends_nothing_and_changes_nothing(name):
    """Its parameters set but ``enabled`` false: no spending on it, none of its calls (its reset, every
    quarter) changes a variable, and the run is that of the scenario without it."""
    log: list = []
    off = run(scenario(name, enabled=False), watch=name, log=log)
    assert rows_of(off, name).empty, f"disabled, {name} spent"
    assert len(off.spending), "the calls for projects spend in both runs"
    assert log, f"{name} was never called"
    acted = [(now, method, phase, sorted(wrote)) for now, method, phase, wrote in log if method != "reset" or wrote]
    assert not acted, f"disabled, {name} (quarter, method, phase, variables): {acted[:4]}"
    assert_same_run(off, without_instruments())


@pytest.mark.parametrize("name", NAMES)
def test_enabled_it_spends_only_between_its_start_and_end_steps(name):
    r, _ = enabled(name)
    steps = rows_of(r, name)["step"]
    assert len(steps), f"{name} never spent: the contract scenario does not exercise it"
    assert steps.between(START, END).all()


@pytest.mark.parametrize("name", NAMES)
def test_enabled_with_too_small_a_budget_no_funder_ever_overspends(name):
    """The budget is 40 % of what the instrument spent in its most costly year with ample money (a fifth from
    each of its two funders): it binds. Every funder's spending in a year stays within its budget, plus, for
    Europe, what it carried over."""
    generous = rows_of(enabled(name)[0], name)
    by_year = generous.groupby((generous["step"] - 1) // YEAR)["amount"].sum()
    budget = 0.2 * float(by_year.max())
    tight = run(scenario(name, budget=budget))
    spent = rows_of(tight, name)
    assert len(spent), f"{name} could not pay for anything with {budget:.3g} k€ a year from each funder"
    assert spent["amount"].sum() < generous["amount"].sum(), "the budget does not bind"
    table = tight.spending
    budgets = {f: getattr(tight.m.p.policy.funders, f).budget_per_year for f in FUNDER_NAMES}
    carry = {f: getattr(tight.m.p.policy.funders, f).carry_over for f in FUNDER_NAMES}
    for funder in FUNDER_NAMES:
        left = 0.0
        for year in range((STEPS - 1) // YEAR + 1):
            opening = budgets[funder] + (left if carry[funder] else 0.0)
            rows = table[(table["funder"] == funder) & ((table["step"] - 1) // YEAR == year)]
            paid = float(rows["amount"].sum())
            assert paid <= opening * (1 + 1e-9) + 1e-9, f"{funder} spent {paid} of {opening} in year {year + 1}"
            left = opening - paid


@pytest.mark.parametrize("name", NAMES)
def test_enabled_it_is_reproducible(name):
    again = run(scenario(name))
    assert_same_run(again, enabled(name)[0])


@pytest.mark.parametrize("name", NAMES)
def test_it_writes_only_what_it_declares(name):
    """Every call of the instrument's reset and act in a run, in and out of its window: the variables that
    changed are among those it declares, and it did change some; it acted only in its window."""
    _, log = enabled(name)
    declared = set(INSTRUMENTS[name].writes)
    assert {phase for _, method, phase, _ in log if method == "act"} == set(INSTRUMENTS[name].acts)
    written: set[str] = set()
    for now, method, phase, vars_changed in log:
        undeclared = vars_changed - declared
        assert not undeclared, f"{name}.{method} at quarter {now} ({phase}) wrote {sorted(undeclared)}"
        assert method == "reset" or START <= now <= END, f"{name} acted at quarter {now}, outside its window"
        written |= vars_changed
    assert written, f"{name} changed nothing in the contract scenario: it is not exercised"
