"""Design points of a sweep and the seeding rule of its runs (clustersim.experiment.designs)."""

from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pandas as pd
import pytest

from clustersim.experiment.designs import (
    POINT_ID,
    DesignError,
    Factor,
    explicit_points,
    full_factorial,
    latin_hypercube,
    point_scenarios,
    run_seed,
    run_table,
    validate_factors,
)
from clustersim.experiment.seeds import replication_seed
from clustersim.scenario.io import scenario_hash
from clustersim.scenario.schema import Scenario

# --------------------------------------------------------------------------------------------------------
# Full factorial
# --------------------------------------------------------------------------------------------------------


def test_full_factorial_size_order_and_uniqueness():
    levels = {"clusters.membership_fee": [0.0, 2.0, 4.0],
              "firms.max_memberships": [1, 2],
              "competition.market_coordination": [0.0, 0.5, 1.0, 0.3]}
    design = full_factorial(levels)
    assert list(design.columns) == [POINT_ID, *levels]
    assert len(design) == 3 * 2 * 4
    assert design[POINT_ID].tolist() == list(range(24))
    assert design[POINT_ID].dtype == np.int64
    rows = [tuple(r) for r in design[list(levels)].itertuples(index=False)]
    assert rows == list(itertools.product(*levels.values()))  # last factor fastest, first slowest
    assert len(set(rows)) == len(rows)
    assert design["competition.market_coordination"].iloc[:4].tolist() == [0.0, 0.5, 1.0, 0.3]
    assert design["clusters.membership_fee"].iloc[:8].tolist() == [0.0] * 8
    assert design["firms.max_memberships"].dtype == np.int64
    assert design["clusters.membership_fee"].dtype == np.float64


def test_full_factorial_accepts_arrays_and_single_levels():
    design = full_factorial({"a.b": np.array([1, 2, 3]), "c.d": (0.5,)})
    assert len(design) == 3
    assert design["a.b"].tolist() == [1, 2, 3] and design["c.d"].tolist() == [0.5] * 3


@pytest.mark.parametrize(("levels", "needle"), [
    ({}, "at least one factor"),
    ({"a.b": []}, "no levels"),
    ({"a.b": [1, 2, 1.0]}, "repeated"),
    ({"a.b": "abc"}, "list of values"),
    ({"a.b": [[1, 2]]}, "not valid"),
    ({POINT_ID: [1, 2]}, "reserved"),
])
def test_full_factorial_refuses_bad_levels(levels, needle):
    with pytest.raises(DesignError, match=needle):
        full_factorial(levels)


def test_full_factorial_bool_and_int_are_distinct_levels():
    assert len(full_factorial({"a.b": [True, 1]})) == 2


# --------------------------------------------------------------------------------------------------------
# Latin hypercube
# --------------------------------------------------------------------------------------------------------

FACTORS = {
    "clusters.membership_fee": Factor(0.0, 10.0),
    "clusters.max_size": Factor(10, 109, "int"),
    "learning.payoff_signal_scale": Factor(0.01, 100.0, "log"),
}


def _strata(values: np.ndarray, low: float, high: float, n: int) -> np.ndarray:
    return np.floor((values - low) / (high - low) * n).astype(int)


@pytest.mark.parametrize("n", [1, 7, 20, 100])
def test_lhs_stratification_bounds_and_kinds(n):
    design = latin_hypercube(FACTORS, n, seed=42)
    assert list(design.columns) == [POINT_ID, *FACTORS]
    assert design[POINT_ID].tolist() == list(range(n))
    fee = design["clusters.membership_fee"].to_numpy()
    assert design["clusters.membership_fee"].dtype == np.float64
    assert ((fee >= 0.0) & (fee <= 10.0)).all()
    assert sorted(_strata(fee, 0.0, 10.0, n)) == list(range(n))
    log = design["learning.payoff_signal_scale"].to_numpy()
    assert ((log >= 0.01) & (log <= 100.0)).all()
    # stratified on the log scale, not the linear one
    assert sorted(_strata(np.log(log), math.log(0.01), math.log(100.0), n)) == list(range(n))
    size = design["clusters.max_size"]
    assert size.dtype == np.int64
    assert ((size >= 10) & (size <= 109)).all()
    if 100 % n == 0:  # 100 integers, strata of 100/n integers each
        assert sorted(((size - 10) // (100 // n)).tolist()) == list(range(n))


def test_lhs_log_is_geometric():
    values = latin_hypercube({"x.y": Factor(1.0, 10_000.0, "log")}, 400, seed=1)["x.y"].to_numpy()
    # log-uniform: half the points below the geometric mean (100), about a quarter below 10
    assert (values < 100.0).sum() == 200
    assert (values < 10.0).sum() == 100


def test_lhs_int_covers_every_integer_once_when_n_equals_range():
    values = latin_hypercube({"x.y": Factor(-3, 6, "int")}, 10, seed=5)["x.y"].tolist()
    assert sorted(values) == list(range(-3, 7))
    assert all(type(v) is int for v in values)


def test_lhs_is_deterministic_per_seed_and_differs_across_seeds():
    a = latin_hypercube(FACTORS, 16, seed=2026)
    b = latin_hypercube(FACTORS, 16, seed=2026)
    c = latin_hypercube(FACTORS, 16, seed=2027)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["clusters.membership_fee"], c["clusters.membership_fee"])


def test_lhs_follows_scipy_with_a_seed_sequence():
    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence(9))
    u = qmc.LatinHypercube(2, rng=rng).random(5)
    design = latin_hypercube({"a.b": Factor(0.0, 1.0), "c.d": Factor(2.0, 4.0)}, 5, seed=9)
    np.testing.assert_array_equal(design["a.b"].to_numpy(), u[:, 0])
    np.testing.assert_allclose(design["c.d"].to_numpy(), 2.0 + 2.0 * u[:, 1])


@pytest.mark.parametrize(("args", "needle"), [
    ((1.0, 1.0), "low < high"),
    ((2.0, 1.0), "low < high"),
    ((0.0, 1.0, "log"), "low > 0"),
    ((0.5, 3, "int"), "integer bounds"),
    ((0.0, 1.0, "exp"), "kind"),
    ((0.0, math.inf), "finite"),
    ((False, 1.0), "finite number"),
])
def test_factor_refuses_bad_bounds(args, needle):
    with pytest.raises(DesignError, match=needle):
        Factor(*args)


def test_factor_is_frozen():
    f = Factor(0.0, 1.0)
    with pytest.raises(AttributeError):
        f.low = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"factors": {}, "n": 5, "seed": 1}, "at least one factor"),
    ({"factors": {"a.b": Factor(0.0, 1.0)}, "n": 0, "seed": 1}, "n = 0"),
    ({"factors": {"a.b": Factor(0.0, 1.0)}, "n": 5, "seed": -1}, "seed"),
    ({"factors": {"a.b": (0.0, 1.0)}, "n": 5, "seed": 1}, "expected a Factor"),
])
def test_lhs_refuses_bad_arguments(kwargs, needle):
    with pytest.raises(DesignError, match=needle):
        latin_hypercube(**kwargs)


# --------------------------------------------------------------------------------------------------------
# Explicit points
# --------------------------------------------------------------------------------------------------------


def test_explicit_points_in_order():
    design = explicit_points([
        {"clusters.membership_fee": 1.5, "firms.max_memberships": 1},
        {"firms.max_memberships": 3, "clusters.membership_fee": 0.0},
    ])
    assert list(design.columns) == [POINT_ID, "clusters.membership_fee", "firms.max_memberships"]
    assert design[POINT_ID].tolist() == [0, 1]
    assert design["clusters.membership_fee"].tolist() == [1.5, 0.0]
    assert design["firms.max_memberships"].tolist() == [1, 3]


def test_explicit_points_missing_key_is_an_error_naming_point_and_key():
    with pytest.raises(DesignError, match=r"point 1: missing firms\.max_memberships"):
        explicit_points([{"clusters.membership_fee": 1.0, "firms.max_memberships": 2},
                         {"clusters.membership_fee": 2.0}])
    # a key only a later point sets is missing from the earlier ones
    with pytest.raises(DesignError, match=r"point 0: missing firms\.max_memberships"):
        explicit_points([{"clusters.membership_fee": 1.0},
                         {"clusters.membership_fee": 2.0, "firms.max_memberships": 2}])


@pytest.mark.parametrize(("points", "needle"), [
    ([], "no points"),
    ({"a.b": 1}, "list of points"),
    ([{"a.b": 1}, 3], "point 1: expected a mapping"),
    ([{"a.b": [1, 2]}], "not valid"),
    ([{"a.b": 1}, {"a.b": 2}, {"a.b": 1.0}], "point 2 repeats point 0"),
    ([{}], "at least one factor"),
])
def test_explicit_points_refuses_bad_points(points, needle):
    with pytest.raises(DesignError, match=needle):
        explicit_points(points)


# --------------------------------------------------------------------------------------------------------
# Against the schema
# --------------------------------------------------------------------------------------------------------


def test_validate_factors_accepts_leaf_parameters():
    validate_factors(["clusters.membership_fee", "orientations.moyens.critical_mass.median",
                      "simulation.n_firms"])


def test_validate_factors_unknown_path_with_suggestion():
    with pytest.raises(DesignError) as info:
        validate_factors(["clusters.membership_fe", "clusters.membership_fee", "firms.size_medain"])
    assert info.value.errors == [
        "clusters.membership_fe: not a scenario parameter (did you mean 'clusters.membership_fee'?)",
        "firms.size_medain: not a scenario parameter (did you mean 'firms.size_median'?)",
    ]
    assert isinstance(info.value, ValueError)


def test_validate_factors_section_duplicate_and_hopeless_paths():
    with pytest.raises(DesignError) as info:
        validate_factors(["clusters", "trust.initial", "trust.initial", "zzz.qqq"])
    lines = info.value.errors
    assert lines[0].startswith("clusters: is a section, not a parameter (its parameters: "
                               "clusters.initiative_probability")
    assert lines[1] == "trust.initial: given more than once"
    assert lines[2].startswith("zzz.qqq: not a scenario parameter (") and "did you mean" not in lines[2]


def test_validate_factors_suggests_a_parameter_under_the_wrong_section():
    with pytest.raises(DesignError, match=r"did you mean 'clusters\.membership_fee'"):
        validate_factors(["membership_fee"])


def test_point_scenarios_apply_values_exactly_and_leave_base_alone():
    base = Scenario()
    before = scenario_hash(base)
    fee = 0.1 + 0.2  # not a short decimal: must survive exactly
    design = explicit_points([
        {"clusters.membership_fee": fee, "clusters.max_size": 40, "orientations.club.critical_mass.minimum": 3},
        {"clusters.membership_fee": 0.0, "clusters.max_size": 150, "orientations.club.critical_mass.minimum": 2},
    ])
    out = list(point_scenarios(base, design))
    assert [pid for pid, _ in out] == [0, 1]
    s0 = out[0][1]
    assert s0.clusters.membership_fee == fee and type(s0.clusters.membership_fee) is float
    assert s0.clusters.max_size == 40 and type(s0.clusters.max_size) is int
    assert s0.orientations.club.critical_mass.minimum == 3
    assert s0.orientations.moyens.critical_mass.minimum == base.orientations.moyens.critical_mass.minimum
    assert s0.simulation == base.simulation
    assert out[1][1].clusters.membership_fee == 0.0
    assert scenario_hash(base) == before
    assert s0 is not base and s0.clusters is not base.clusters


def test_point_scenarios_from_factorial_and_lhs_tables():
    base = Scenario()
    fact = full_factorial({"clusters.membership_fee": [0, 2.5], "firms.max_memberships": [1, 3]})
    # the fee column mixes ints and floats: a float column; max_memberships stays int
    got = [(s.clusters.membership_fee, s.firms.max_memberships) for _, s in point_scenarios(base, fact)]
    assert got == [(0.0, 1), (0.0, 3), (2.5, 1), (2.5, 3)]
    lhs = latin_hypercube({"clusters.max_size": Factor(10, 200, "int"),
                           "trust.initial": Factor(0.0, 1.0)}, 8, seed=3)
    for pid, s in point_scenarios(base, lhs):
        assert s.clusters.max_size == lhs.loc[pid, "clusters.max_size"]
        assert s.trust.initial == lhs.loc[pid, "trust.initial"]


def test_point_scenarios_integral_float_for_int_parameter():
    design = pd.DataFrame({POINT_ID: [0, 1], "clusters.max_size": [40.0, 60.5]})
    with pytest.raises(DesignError) as info:
        list(point_scenarios(Scenario(), design))
    assert info.value.errors == ["design point 1: clusters.max_size: 60.5 is not valid: expected an integer "
                                 "(allowed: >= 2 and <= 100000)"]


def test_point_scenarios_out_of_range_names_point_and_field_before_anything_runs():
    design = explicit_points([
        {"clusters.membership_fee": 1.0, "trust.initial": 0.5},
        {"clusters.membership_fee": -1.0, "trust.initial": 0.5},
        {"clusters.membership_fee": 1.0, "trust.initial": 1.5},
    ])
    with pytest.raises(DesignError) as info:
        point_scenarios(Scenario(), design)  # raises at the call, not at the first bad point
    assert info.value.errors == [
        "design point 1: clusters.membership_fee: -1.0 is out of range (allowed: >= 0 and <= 100000)",
        "design point 2: trust.initial: 1.5 is out of range (allowed: >= 0 and <= 1)",
    ]


def test_point_scenarios_checks_paths_and_table():
    with pytest.raises(DesignError, match="did you mean 'clusters.membership_fee'"):
        point_scenarios(Scenario(), explicit_points([{"clusters.membership_fe": 1.0}]))
    with pytest.raises(DesignError, match="no 'point_id' column"):
        point_scenarios(Scenario(), pd.DataFrame({"trust.initial": [0.5]}))
    with pytest.raises(DesignError, match="repeats a point id"):
        point_scenarios(Scenario(), pd.DataFrame({POINT_ID: [0, 0], "trust.initial": [0.5, 0.6]}))


def test_design_error_pickles():
    err = DesignError(["a: b", "c: d"])
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, DesignError) and back.errors == err.errors and str(back) == "a: b\nc: d"


# --------------------------------------------------------------------------------------------------------
# Runs and seeds
# --------------------------------------------------------------------------------------------------------


def test_run_table():
    runs = run_table(4, 3)
    assert list(runs.columns) == ["run_id", "point_id", "replication"]
    assert len(runs) == 12
    assert runs["run_id"].tolist() == list(range(12))
    assert (runs["run_id"] == runs["point_id"] * 3 + runs["replication"]).all()
    assert sorted(zip(runs["point_id"], runs["replication"], strict=True)) == \
        list(itertools.product(range(4), range(3)))
    assert all(runs[c].dtype == np.int64 for c in runs.columns)
    assert run_table(1, 1).to_dict("list") == {"run_id": [0], "point_id": [0], "replication": [0]}


@pytest.mark.parametrize(("args", "needle"), [((0, 3), "n_points"), ((2, 0), "replications"),
                                              ((True, 2), "n_points"), ((2, 1.5), "replications")])
def test_run_table_refuses_bad_sizes(args, needle):
    with pytest.raises(DesignError, match=needle):
        run_table(*args)


@pytest.mark.parametrize("root", [0, 1, 20261126, 2**63 - 1])
def test_run_seed_is_the_spawned_child(root):
    replications = 6
    children = np.random.SeedSequence(root).spawn(replications)
    for r, child in enumerate(children):
        seed = run_seed(root, r)
        assert seed.entropy == child.entropy
        assert seed.spawn_key == child.spawn_key == (r,)
        np.testing.assert_array_equal(seed.generate_state(8), child.generate_state(8))
        np.testing.assert_array_equal(np.random.default_rng(seed).random(4), np.random.default_rng(child).random(4))
        # the same seed as `clustersim run` gives replication r
        np.testing.assert_array_equal(seed.generate_state(8), replication_seed(root, r).generate_state(8))


def test_run_seed_common_random_numbers_and_independence():
    runs = run_table(5, 3)
    states = {run.run_id: tuple(run_seed(7, run.replication).generate_state(4))
              for run in runs.itertuples(index=False)}
    # replication r of every point shares a stream; different replications do not
    for r in range(3):
        assert len({states[i] for i in runs.loc[runs["replication"] == r, "run_id"]}) == 1
    assert len(set(states.values())) == 3
    # rebuilt from (root seed, replication) alone: the number of replications does not matter
    assert tuple(run_seed(7, 2).generate_state(4)) == tuple(np.random.SeedSequence(7).spawn(50)[2].generate_state(4))
    assert tuple(run_seed(8, 2).generate_state(4)) != tuple(run_seed(7, 2).generate_state(4))


@pytest.mark.parametrize(("args", "needle"), [((-1, 0), "root seed"), ((1, -2), "replication"),
                                              ((1.5, 0), "root seed")])
def test_run_seed_refuses_bad_arguments(args, needle):
    with pytest.raises(DesignError, match=needle):
        run_seed(*args)
