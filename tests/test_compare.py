"""Paired scenario comparison: common random numbers, paired differences, leverage, atomic output."""

from __future__ import annotations

import copy
import json
import warnings

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from helpers import small_scenario
from matplotlib.figure import Figure
from scipy import stats

import clustersim.reports.compare as compare_report
import clustersim.studies.compare as compare
from clustersim.model.indicators import INDICATORS
from clustersim.plots.compare import plot_bands, plot_differences
from clustersim.reports.compare import write_comparison
from clustersim.scenario.io import scenario_hash
from clustersim.studies.compare import Comparison, compare_scenarios
from clustersim.util.atomic import OutputExistsError

R = 4
SEED = 7


def scen(name: str, **market) -> object:
    s = small_scenario(n_firms=40, steps=10, replications=R, market=market)
    s.name = name
    return s


@pytest.fixture(scope="module")
def comp() -> Comparison:
    calls = []
    c = compare_scenarios(
        [scen("same"), scen("fast_frontier", frontier_growth=0.05), scen("nudge", frontier_growth=0.007)],
        scen("base"), replications=R, seed=SEED, workers=1, progress=lambda name, r: calls.append((name, r)))
    c.progress_calls = calls  # for the progress test
    return c


def diff_row(c: Comparison, scenario: str, indicator: str, statistic: str = "late") -> pd.Series:
    d = c.differences()
    row = d[(d["scenario"] == scenario) & (d["indicator"] == indicator) & (d["statistic"] == statistic)]
    assert len(row) == 1
    return row.iloc[0]


# ------------------------------------------------------------------------------------------ running, seeds
def test_progress_reports_every_replication_of_every_scenario(comp):
    names = [n for n, _ in comp.progress_calls]
    assert sorted(names) == sorted(["base", "same", "fast_frontier", "nudge"] * R)
    assert comp.names == ["base", "same", "fast_frontier", "nudge"]
    assert comp.failures().empty


def test_replication_i_of_every_scenario_uses_the_same_seed(comp):
    ts = comp.timeseries()
    base = ts[ts["scenario"] == "base"].drop(columns="scenario").reset_index(drop=True)
    same = ts[ts["scenario"] == "same"].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(base, same)  # identical parameters, different names: identical runs
    # ... and it is the pairing that matches, not a constant model: replications differ from each other
    r0 = base[base["replication"] == 0]["value_added"].to_numpy()
    r1 = base[base["replication"] == 1]["value_added"].to_numpy()
    assert not np.array_equal(r0, r1)
    for res in comp.results.values():
        assert res.root_seed == SEED and [r.replication for r in res.runs] == list(range(R))
    # the first states of replication i are the same in all scenarios (common draws of the initial region)
    first = ts[ts["step"] == 0].pivot_table(index="replication", columns="scenario", values="n_firms")
    assert (first.nunique(axis=1) == 1).all()


def test_duplicate_names_are_refused_before_anything_runs(monkeypatch):
    monkeypatch.setattr(compare, "run_scenarios", lambda *a, **k: pytest.fail("ran despite bad names"))
    with pytest.raises(ValueError, match=r"repeated: 'a'"):
        compare_scenarios([scen("a"), scen("a", frontier_growth=0.01)], scen("base"), replications=2, seed=1)
    with pytest.raises(ValueError, match=r"'base'"):
        compare_scenarios([scen("base", frontier_growth=0.01)], scen("base"), replications=2, seed=1)
    with pytest.raises(ValueError, match="no scenario"):
        compare_scenarios([], scen("base"), replications=2, seed=1)


def test_different_horizons_are_refused_unless_steps_is_given(monkeypatch):
    monkeypatch.setattr(compare, "run_scenarios", lambda *a, **k: pytest.fail("ran despite different horizons"))
    long = scen("long")
    long.simulation.steps = 20
    with pytest.raises(ValueError, match="long: 20"):
        compare_scenarios([long], scen("base"), replications=2, seed=1)


# ------------------------------------------------------------------------------------------ tables
def test_a_scenario_compared_with_itself_differs_by_exactly_zero(comp):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = comp.differences()
    d = d[d["scenario"] == "same"]
    assert len(d) == len(INDICATORS) * 2
    assert (d["difference"] == 0.0).all() and (d["low"] == 0.0).all() and (d["high"] == 0.0).all()
    assert (d["var_paired"] == 0.0).all() and not d["significant"].any() and (d["n"] == R).all()
    vr = d["variance_reduction"]
    varies = d["var_unpaired"] > 0
    assert (vr[varies] == 1.0).all()  # pairing removed all the variance
    assert vr[~varies].isna().all()  # nothing to remove: undefined, not 0/0
    assert varies.any() and (~varies).any()  # both cases were exercised (e.g. public_spending is constant 0)
    assert not np.isinf(d.select_dtypes("number").to_numpy()).any()


def test_a_parameter_that_matters_gives_a_significant_difference_in_the_right_direction(comp):
    row = diff_row(comp, "fast_frontier", "relative_productivity")
    assert row["significant"] and row["high"] < 0  # a faster frontier leaves the region relatively behind
    assert row["mean_scenario"] < row["mean_baseline"]
    assert row["low"] < row["difference"] < row["high"]
    final = diff_row(comp, "fast_frontier", "relative_productivity", "final")
    assert final["significant"] and final["difference"] < row["difference"]  # the gap keeps widening


def test_pairing_reduces_the_variance_of_a_correlated_indicator(comp):
    for ind in ("value_added", "employment", "n_firms"):
        row = diff_row(comp, "nudge", ind)
        assert row["var_paired"] < row["var_unpaired"], ind
        assert row["variance_reduction"] > 0.5, ind
        assert row["variance_reduction"] == pytest.approx(1 - row["var_paired"] / row["var_unpaired"])


def test_differences_are_the_paired_differences_of_the_replications(comp):
    s = comp.results["nudge"].summary().set_index("replication")["value_added_late"]
    b = comp.results["base"].summary().set_index("replication")["value_added_late"]
    d = (s - b).to_numpy()
    row = diff_row(comp, "nudge", "value_added")
    half = stats.t.ppf(0.975, R - 1) * d.std(ddof=1) / np.sqrt(R)
    assert row["difference"] == pytest.approx(d.mean())
    assert row["low"] == pytest.approx(d.mean() - half) and row["high"] == pytest.approx(d.mean() + half)
    assert row["var_paired"] == pytest.approx(d.var(ddof=1) / R)
    assert row["var_unpaired"] == pytest.approx((s.var(ddof=1) + b.var(ddof=1)) / R)


def test_means_per_scenario_indicator_and_statistic(comp):
    m = comp.means()
    assert set(m["statistic"]) == {"late", "final"}
    assert set(m["scenario"]) == {"base", "same", "fast_frontier", "nudge"}
    assert len(m) == 4 * len(INDICATORS) * 2 and (m["n"] == R).all()
    row = m[(m["scenario"] == "base") & (m["indicator"] == "relative_productivity") & (m["statistic"] == "late")]
    values = comp.baseline.summary()["relative_productivity_late"]
    assert row["mean"].item() == pytest.approx(values.mean())
    assert row["low"].item() < row["mean"].item() < row["high"].item()
    assert row["is_baseline"].item() and not m[m["scenario"] != "base"]["is_baseline"].any()


def test_timeseries_has_every_run_with_its_scenario(comp):
    ts = comp.timeseries()
    assert list(ts.columns[:3]) == ["scenario", "replication", "step"]
    assert ts.groupby("scenario").size().to_dict() == {n: R * 11 for n in comp.names}


# ------------------------------------------------------------------------------------------ leverage
def test_leverage_is_undefined_without_public_spending(comp):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lev = comp.leverage()
        by_rep = comp.leverage_by_replication()
    assert list(lev["scenario"]) == ["same", "fast_frontier", "nudge"]
    assert not lev["defined"].any() and lev["leverage"].isna().all() and lev["pooled_leverage"].isna().all()
    assert lev["note"].str.startswith("undefined").all()
    assert (lev["n"] == R).all() and (lev["n_defined"] == 0).all()
    assert not by_rep["defined"].any() and by_rep["leverage"].isna().all() and len(by_rep) == 3 * R
    assert not np.isinf(lev.select_dtypes("number").to_numpy()).any()
    # the extra value added is still reported (a faster frontier costs the region value added)
    assert lev.set_index("scenario").loc["fast_frontier", "extra_value_added_high"] < 0


def with_spending(c: Comparison, scenario: str, per_quarter: dict[int, float]) -> Comparison:
    """A copy of ``c`` where ``scenario`` spends ``per_quarter[replication]`` k€ each quarter (step ≥ 1)."""
    c2 = copy.deepcopy(c)
    res = c2.results[scenario]
    for run in res.runs:
        ts = run.timeseries
        ts.loc[ts["step"] >= 1, "public_spending"] = per_quarter[run.replication]
    return c2


def test_leverage_is_extra_value_added_per_extra_public_money(comp):
    c2 = with_spending(comp, "nudge", {0: 10.0, 1: 20.0, 2: 5.0, 3: 40.0})
    by_rep = c2.leverage_by_replication().query("scenario == 'nudge'").set_index("replication")
    ts = c2.timeseries()
    steps = int(ts["step"].max())
    for i, spend in {0: 10.0, 1: 20.0, 2: 5.0, 3: 40.0}.items():
        def va(name, i=i):
            return ts[(ts["scenario"] == name) & (ts["replication"] == i) & (ts["step"] >= 1)]["value_added"].sum()

        extra = va("nudge") - va("base")
        assert by_rep.loc[i, "extra_public_spending"] == pytest.approx(spend * steps)
        assert by_rep.loc[i, "leverage"] == pytest.approx(extra / (spend * steps))
    row = c2.leverage().set_index("scenario").loc["nudge"]
    assert row["defined"] and row["note"] == "" and row["n_defined"] == R
    assert row["leverage"] == pytest.approx(by_rep["leverage"].mean())
    assert row["leverage_low"] < row["leverage"] < row["leverage_high"]
    assert row["pooled_leverage"] == pytest.approx(by_rep["extra_value_added"].sum() / (75.0 * steps))


def test_leverage_undefined_in_one_replication_is_not_averaged_away(comp):
    c2 = with_spending(comp, "nudge", {0: 10.0, 1: 10.0, 2: 0.0, 3: 10.0})
    by_rep = c2.leverage_by_replication().query("scenario == 'nudge'").set_index("replication")
    assert list(by_rep["defined"]) == [True, True, False, True]
    assert np.isnan(by_rep.loc[2, "leverage"]) and np.isfinite(by_rep["leverage"].drop(2)).all()
    row = c2.leverage().set_index("scenario").loc["nudge"]
    assert not row["defined"] and np.isnan(row["leverage"]) and "1 of 4" in row["note"]
    assert np.isfinite(row["pooled_leverage"])


# ------------------------------------------------------------------------------------------ figures, output
def test_figures(comp):
    fig = plot_bands(comp, ["relative_productivity", "value_added"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    colors = {line.get_label(): mcolors.to_hex(line.get_color()) for line in ax.get_lines()}
    assert colors["base"] == "#000000" and len(set(colors.values())) == 4
    fig2 = plot_differences(comp, "final")
    assert [a.get_title() for a in fig2.axes] == ["Competitiveness", "Durability", "Regional leverage"]
    with pytest.raises(ValueError, match="statistic must be one of late, final"):
        plot_differences(comp, "median")
    with pytest.raises(ValueError, match="nope"):
        plot_bands(comp, ["nope"])
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)


def test_write_comparison_writes_everything(tmp_path, comp):
    out = write_comparison(comp, tmp_path / "cmp")
    for f in ("means.csv", "means.parquet", "differences.csv", "differences.parquet", "leverage.csv",
              "timeseries.parquet", "metadata.json", "figures/differences.png", "figures/bands_competitiveness.png",
              "figures/bands_durability.png", "figures/bands_leverage.png"):
        assert (out / f).is_file(), f
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]  # no temporary folder left
    pd.testing.assert_frame_equal(pd.read_parquet(out / "differences.parquet"), comp.differences())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "means.parquet"), comp.means())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), comp.timeseries())
    assert len(pd.read_csv(out / "leverage.csv")) == 3
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["root_seed"] == SEED and meta["replications"] == R and meta["baseline"] == "base"
    assert "SeedSequence(root_seed" in meta["seeding"]
    assert [s["name"] for s in meta["scenarios"]] == comp.names
    for s in meta["scenarios"]:
        assert s["scenario_hash"] == scenario_hash(comp.results[s["name"]].scenario)
        assert s["scenario"]["name"] == s["name"] and len(s["replications"]) == R
    assert meta["versions"]["pandas"] and "commit" in meta["git"] and meta["wall_seconds"] >= 0


def test_write_comparison_refuses_an_existing_folder(tmp_path, comp):
    target = tmp_path / "cmp"
    target.mkdir()
    with pytest.raises(OutputExistsError):
        write_comparison(comp, target, figures=False)
    assert list(target.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["cmp"]


def test_a_crash_while_writing_leaves_nothing_behind(tmp_path, comp, monkeypatch):
    real = compare_report._write_all

    def crash(c, d, **kw):
        real(c, d, **kw)  # everything written, then the process "dies" before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_report, "_write_all", crash)
    with pytest.raises(KeyboardInterrupt):
        write_comparison(comp, tmp_path / "cmp", figures=False)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_appearing_while_writing_is_not_replaced(tmp_path, comp, monkeypatch):
    real = compare_report._write_all
    target = tmp_path / "cmp"

    def race(c, d, **kw):
        real(c, d, **kw)
        target.mkdir()  # another process takes the name (an empty folder) before the rename

    monkeypatch.setattr(compare_report, "_write_all", race)
    with pytest.raises(OutputExistsError):
        write_comparison(comp, target, figures=False)
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"] and list(target.iterdir()) == []
