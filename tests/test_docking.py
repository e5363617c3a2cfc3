"""The docking suite (ODD "Docking") and the mechanisms it needs, each shown in isolation: random groups of a
fixed size (7.26), explicit participation thresholds (7.19); the three cases against their analytic values at
small sizes (the full grid is benchmarks/bench_docking.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clustersim.app.cli import main
from clustersim.model.model import MODE_DRAWN, ClusterModel
from clustersim.scenario.schema import Scenario
from clustersim.studies.docking import analytic
from clustersim.studies.docking.cases import CASES, DockingError, case_scenario, run_case

#: the measurement at CI size: fewer firms and runs than the defaults, a stronger (still weak) selection
SMALL = {"firms": 6000, "starts": 19, "replicates": 6, "quarters": 20, "selection": 1.0, "workers": 2}


def _grouped(n_firms: int, size: int, orientation: str = "moyens", **firms) -> Scenario:
    return Scenario.model_validate({
        "simulation": {"n_firms": n_firms, "steps": 12, "warmup": 0},
        "firms": {"exit_patience": 400, **firms},
        "demography": {"startup_rate": 0.0, "investor_rate": 0.0},
        "clusters": {"grouping": {"kind": "random", "group_size": size, "orientation": orientation},
                     "initiative_probability": 0.0, "awareness_probability": 0.0, "review_probability": 0.0}})


# ---------------------------------------------------------------------------------------------- random groups


@pytest.mark.parametrize(("orientation", "column"), [("moyens", 0), ("club", 2)])
def test_random_groups_deal_every_firm_into_groups_of_the_size_each_quarter(orientation, column):
    m = ClusterModel(_grouped(100, 7, orientation), rng=3, agents=False)
    seen = []
    for _ in range(4):
        m.step()
        mem, C = m.memberships, m.clusters
        sizes = np.bincount(mem.cluster, minlength=C.n)[m.live_clusters]
        assert len(m.live_clusters) == 100 // 7 and (sizes == 7).all()  # 14 groups of 7; 2 firms left over
        assert len(np.unique(mem.firm)) == len(mem.firm) == 98  # nobody in two groups
        assert (C.founded_mode[m.live_clusters] == MODE_DRAWN).all()
        orient = C.orient[m.live_clusters]
        assert (orient[:, column] == 1).all() and (np.delete(orient, column, axis=1) == 0).all()
        seen.append(sorted(zip(mem.firm.tolist(), mem.cluster.tolist(), strict=True)))
    assert len({tuple(s) for s in seen}) == 4  # redrawn every quarter
    assert m.counters.leave_negative_benefit == m.counters.leave_dissolution == 0  # regrouping is not leaving
    assert m.indicators["clusters_formed_policy"] == 0  # drawn groups are not the policy's
    assert m.counters.clusters_formed == 100 // 7  # founded once, kept
    assert (m.clusters.joins[m.live_clusters] == 0).all()  # regrouped members are not joins


def test_drawn_groups_smaller_than_the_minimum_size_are_kept():
    s = _grouped(40, 2)
    assert s.clusters.min_size > 2
    m = ClusterModel(s, rng=4, agents=False)
    m.run(3 * s.clusters.dissolve_patience)
    assert m.counters.clusters_formed == 20 and m.counters.clusters_dissolved == 0
    assert m.counters.leave_dissolution == 0


def test_formed_grouping_draws_no_groups():
    m = ClusterModel(Scenario.model_validate({"simulation": {"n_firms": 60, "steps": 4}}), rng=1, agents=False)
    m.run()
    assert not (m.clusters.founded_mode[: m.clusters.n] == MODE_DRAWN).any()


def test_explicit_thresholds_go_to_firms_in_creation_order():
    s = Scenario.model_validate({"simulation": {"n_firms": 7, "steps": 4},
                                 "demography": {"startup_rate": 0.5},
                                 "clusters": {"participation": {"kind": "list", "values": [3, 1, 4]}}})
    m = ClusterModel(s, rng=2, agents=False)
    assert m.firms.participation[:7].tolist() == [3, 1, 4, 3, 1, 4, 3]
    m.run()
    n = m.firms.n
    assert n > 7  # entrants continue the cycle
    assert m.firms.participation[:n].tolist() == [[3, 1, 4][k % 3] for k in range(n)]


def test_an_empty_threshold_list_is_refused():
    with pytest.raises(ValueError, match="values"):
        Scenario.model_validate({"clusters": {"participation": {"kind": "list"}}})


# ---------------------------------------------------------------------------------------------- cascade


@pytest.mark.parametrize(("thresholds", "expected"), [
    (",".join(str(i) for i in range(100)), 100),  # Granovetter's riot: each recruits the next
    ("0,2," + ",".join(str(i) for i in range(2, 100)), 1),  # the 1 replaced by a 2: the instigator alone
    ("0,0,1,1,5,5,5", 4),
    ("3,3,3,6,6", 0),
])
def test_threshold_cascade_matches_the_fixed_point_of_a_list(thresholds, expected):
    r = run_case("threshold_cascade", {"thresholds": thresholds})
    assert r.analytic["final_adopters"] == expected  # the solver on the same list
    assert r.simulated["final_adopters"] == expected
    assert r.agrees["final_adopters"] is True


@pytest.mark.parametrize("thresholds", ["normal:25,10", "normal:25,15", "normal:40,30", "uniform:0,120"])
def test_threshold_cascade_with_drawn_thresholds(thresholds):
    r = run_case("threshold_cascade", {"thresholds": thresholds, "actors": 400})
    # the simulation reproduces the cascade of the thresholds it drew exactly, and their large-population
    # prediction within the stated tolerance
    assert r.simulated["final_adopters"] == r.details["fixed_point_of_drawn_thresholds"]
    assert r.agrees["final_adopters"] is True, r.to_dict()


# ---------------------------------------------------------------------------------------------- group games


@pytest.mark.parametrize("params", [{"group_size": 6, "threshold": 3, "enhancement": 5.0},
                                    {"group_size": 10, "threshold": 5, "enhancement": 8.0}])
def test_stag_hunt_agrees_with_pacheco_et_al(params):
    r = run_case("stag_hunt", {**params, **SMALL})
    assert r.simulated["interior_roots"] is not None, r.reasons
    assert r.agrees == {"interior_roots": True, "critical": True}, r.to_dict()
    # the analytic side is the model's exact mapping: at its critical value (× the coordination effectiveness e,
    # on the pot) the closed-form gradient's maximum is zero
    n, m = params["group_size"], params["threshold"]
    e = 1 / (1 + n / 100_000)
    xs = np.linspace(0, 1, 20001)
    top = analytic.stag_hunt_gradient_closed(xs, n, m, e * r.analytic["critical"]).max()
    assert abs(top) < 1e-6


@pytest.mark.parametrize("params", [{"group_size": 6, "threshold": 3, "risk": 0.6},
                                    {"group_size": 8, "threshold": 4, "risk": 0.6, "cost": 0.1}])
def test_collective_risk_agrees_with_santos_and_pacheco(params):
    r = run_case("collective_risk", {**params, **SMALL, "firms": 4000, "starts": 15})
    assert r.simulated["interior_roots"] is not None, r.reasons
    assert r.agrees == {"interior_roots": True, "critical": True}, r.to_dict()


def test_below_the_critical_value_no_roots_are_found():
    r = run_case("collective_risk", {"group_size": 6, "threshold": 3, "risk": 0.15, **SMALL, "firms": 4000,
                                     "starts": 15})
    assert r.analytic["interior_roots"] == []
    assert r.simulated["interior_roots"] == []


def test_an_unresolvable_measurement_is_null_with_a_reason():
    # a selection this weak drowns the gradient in the imitation's noise: nothing can be resolved
    r = run_case("stag_hunt", {"firms": 200, "starts": 5, "replicates": 2, "quarters": 2, "selection": 1e-4,
                               "max_evaluations": 3})
    assert r.simulated["interior_roots"] is None and "not distinguishable" in r.reasons["interior_roots"]
    assert r.agrees["interior_roots"] is None
    assert r.analytic["interior_roots"]  # the analytic roots exist: they are not what the simulation reports


def test_the_measurement_is_the_same_on_one_or_two_processes():
    tiny = {"firms": 300, "starts": 5, "replicates": 2, "quarters": 3, "max_evaluations": 3}
    one = run_case("collective_risk", {**tiny, "workers": 1}).to_dict()
    two = run_case("collective_risk", {**tiny, "workers": 2}).to_dict()
    for d in (one, two):
        d.pop("seconds")
        d["settings"].pop("workers")
    assert json.dumps(one, default=str) == json.dumps(two, default=str)


def test_critical_values_are_judged_only_where_they_can_be_measured():
    from clustersim.studies.docking.cases import _critical_agreement

    inside = (0.055, 0.945)
    assert _critical_agreement(5.5, 5.0, False, 0.5, inside)[:2] == (pytest.approx(0.1), True)
    assert _critical_agreement(6.0, 5.0, False, 0.5, inside)[1] is False
    ok, why = _critical_agreement(6.0, 5.0, False, 1.0, inside)[1:]  # the gradient peaks at x = 1: not measured
    assert ok is None and "outside the measured range" in why
    assert _critical_agreement(None, None, True, None, inside)[1] is True  # shown negative at the range's top
    assert _critical_agreement(None, None, False, None, inside)[1] is None  # nothing shown: not an agreement
    assert _critical_agreement(0.4, None, False, None, inside)[1] is False


def test_thresholds_from_python_and_integers_typed_as_numbers():
    r = run_case("threshold_cascade", {"thresholds": [0, 1, 1, 3, 9], "seed": "1e3"})
    assert r.simulated["final_adopters"] == 4 and r.settings["seed"] == 1000


def test_case_parameters_are_checked():
    with pytest.raises(DockingError, match="endowment_at_risk: 0 is not valid"):
        run_case("collective_risk", {"orientations.moyens.endowment_at_risk": 0})
    with pytest.raises(DockingError, match="threshold: 7 is out of range"):
        run_case("stag_hunt", {"group_size": 6, "threshold": 7})
    with pytest.raises(DockingError, match="did you mean 'risk'"):
        run_case("collective_risk", {"risc": 0.5})
    with pytest.raises(DockingError, match="selection_intensity"):  # a derived value out of the schema's range
        run_case("collective_risk", {"orientations.moyens.endowment_at_risk": 0.0001})
    with pytest.raises(DockingError, match="not a docking case"):
        run_case("prisoners_dilemma")


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_is_an_ordinary_scenario_file(name):
    s = case_scenario(CASES[name])
    assert s.clusters.grouping.kind == "random"
    assert s.learning.exploration == 0.0 or name == "threshold_cascade"


# ---------------------------------------------------------------------------------------------- command line


def test_docking_command_json_and_folder(tmp_path, capsys):
    out = tmp_path / "cascade"
    code = main(["docking", "threshold_cascade", "--set", "thresholds=0,1,1,3,9", "--json", "--out", str(out)])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["case"] == "threshold_cascade" and set(d["analytic"]) == set(d["simulated"]) == {"final_adopters"}
    assert d["analytic"]["final_adopters"] == d["simulated"]["final_adopters"] == 4
    assert {p.name for p in out.iterdir()} == {"result.json", "cascade.csv", "docking.png", "provenance.json"}


def test_docking_command_refuses_bad_input(capsys):
    assert main(["docking", "stag_hunt", "--set", "enhancement=-1"]) == 2
    assert "enhancement: '-1' is out of range" in capsys.readouterr().err
    assert main(["docking", "threshold_cascade", "--set", "thresholds=0,1"]) == 2
    assert "a list of 5 to 10000 integers" in capsys.readouterr().err
    assert main(["docking", "nope"]) == 2
    assert "not a docking case" in capsys.readouterr().err
