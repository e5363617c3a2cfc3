"""The browser page's model, controls and live figures, without a browser (see test_viz_browser.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba

from clustersim.experiment.runner import run_replication
from clustersim.model.tables import cluster_table, network_snapshot
from clustersim.plots.live import (
    LIVE_FAMILIES,
    NetworkLayout,
    cluster_color,
    live_clusters_figure,
    live_indicators_figure,
    live_network_figure,
)
from clustersim.scenario.io import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "configs" / "baseline.yaml"
SMALL = {"simulation.n_firms": 60}


@pytest.fixture(scope="module")
def model():
    from clustersim.app.viz import ExploreModel

    m = ExploreModel(str(BASELINE), **{"simulation.n_firms": 100})
    m.run(10)
    assert len(m.live_clusters) >= 2  # figures of clusters need some
    return m


# ------------------------------------------------------------------------------------------ the model
def test_explore_model_runs_the_same_quarters_as_the_replication_of_clustersim_run():
    from clustersim.app.viz import ExploreModel

    m = ExploreModel(str(BASELINE), replication=3, **SMALL)
    m.run(6)
    scenario = load_scenario(BASELINE, ["simulation.n_firms=60"])
    ref = run_replication(scenario, scenario.simulation.seed, 3, steps=6, catch=False).timeseries
    ts = m.timeseries()
    pd.testing.assert_frame_equal(ts, ref.drop(columns="replication"), check_exact=True)


def test_explore_model_applies_controls_and_ignores_mesas_scenario_keyword():
    from mesa.experimental.scenarios import Scenario as MesaScenario

    from clustersim.app.viz import ExploreModel

    m = ExploreModel(str(BASELINE), scenario=MesaScenario(), **{**SMALL, "trust.gain_rate": 0.17,
                                                                  "firms.cooperativeness_mean": np.float64(0.9)})
    assert m.p.trust.gain_rate == 0.17 and m.p.firms.cooperativeness_mean == 0.9
    F = m.firms  # the 60 firms drawn at the start of the warm-up
    assert m.p.simulation.n_firms == 60 and (F.born[: F.n] == -m.p.simulation.warmup).sum() == 60


def test_budget_scale_multiplies_every_funders_budget():
    from clustersim.app.viz import ExploreModel
    from clustersim.scenario.schema import FUNDER_NAMES

    path = ROOT / "configs" / "call_for_projects.yaml"
    base = load_scenario(path)
    m = ExploreModel(str(path), budget_scale=2.5, **SMALL)
    for f in FUNDER_NAMES:
        assert getattr(m.p.policy.funders, f).budget_per_year == pytest.approx(
            2.5 * getattr(base.policy.funders, f).budget_per_year)


def test_a_bad_control_value_is_refused_with_the_parameter_named():
    from clustersim.app.viz import ExploreModel
    from clustersim.scenario.io import ScenarioError

    with pytest.raises(ScenarioError, match="trust.gain_rate"):
        ExploreModel(str(BASELINE), **{"trust.gain_rate": 7.0})


def test_model_params_start_at_the_files_values_within_the_slider_ranges():
    from clustersim.app.viz import CONTROLS, model_params

    params = model_params(BASELINE)
    scenario = load_scenario(BASELINE)
    choice = params["scenario_file"]
    assert choice["type"] == "Select" and choice["value"] == "baseline.yaml"
    assert {"baseline.yaml", "call_for_projects.yaml", "full_support.yaml"} <= set(choice["values"])
    assert params["budget_scale"]["value"] == 1.0
    for path, (label, kind, lo, hi, _step) in CONTROLS.items():
        section, name = path.split(".")
        p = params[path]
        assert p["type"] == kind and p["label"] == label and lo <= p["value"] <= hi
        assert p["value"] == pytest.approx(getattr(getattr(scenario, section), name))


def test_a_scenario_outside_configs_is_offered_by_path_and_shipped_ones_by_name(tmp_path):
    from clustersim.app.viz import ExploreModel, model_params, resolve_choice

    own = tmp_path / "mine.yaml"
    own.write_text(BASELINE.read_text())
    choice = model_params(own)["scenario_file"]
    assert choice["value"] == str(own) and choice["values"][0] == str(own)
    assert resolve_choice("full_support.yaml") == ROOT / "configs" / "full_support.yaml"
    m = ExploreModel("full_support.yaml", **SMALL)  # what the page passes after choosing it
    assert m.p.policy.active and m.scenario_file.endswith("configs/full_support.yaml")


def test_mesas_reset_rebuilds_the_model_with_the_new_slider_value():
    """What Mesa's Reset button does: rebuild ``type(model)(**kwargs)`` from the page's parameters."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    from clustersim.app.viz import ExploreModel, model_params

    params = model_params(BASELINE)
    m = ExploreModel(str(BASELINE), **SMALL)
    _check_model_params(m, params)
    values = {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}
    values["simulation.n_firms"] = 40
    values["scenario_file"] = "call_for_projects.yaml"
    kwargs = _build_model_init_kwargs(m, values, add_scenario_when_empty=True, require_model_accepts_scenario=True)
    rebuilt = type(m)(**kwargs)
    assert rebuilt.p.simulation.n_firms == 40 and rebuilt.now == 0 and rebuilt is not m
    assert rebuilt.p.policy.active and rebuilt.p.name == load_scenario(ROOT / "configs" / "call_for_projects.yaml").name


# ------------------------------------------------------------------------------------------ the figures
def test_network_layout_places_every_firm_and_moves_little_between_steps(model):
    snap = network_snapshot(model)
    layout = NetworkLayout(seed=1)
    pos = layout.update(snap["nodes"], snap["edges"])
    assert set(pos) == set(snap["nodes"]["firm"].tolist())
    again = NetworkLayout(seed=1).update(snap["nodes"], snap["edges"])
    assert all(np.array_equal(pos[f], again[f]) for f in pos)  # deterministic
    spread = np.ptp(np.array(list(pos.values())), axis=0).max()
    moved = layout.update(snap["nodes"], snap["edges"])  # warm start, same graph
    shift = max(np.linalg.norm(moved[f] - pos[f]) for f in pos)
    assert shift < 0.5 * spread


def test_network_figure_draws_every_firm_in_its_clusters_colour_and_both_link_layers(model):
    snap = network_snapshot(model)
    nodes, edges = snap["nodes"], snap["edges"]
    pos = NetworkLayout().update(nodes, edges)
    fig = live_network_figure(nodes, edges, pos)
    ax = fig.axes[0]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)][0]
    np.testing.assert_allclose(dots.get_offsets(), np.array([pos[f] for f in nodes["firm"]]))
    np.testing.assert_allclose(dots.get_facecolors(), [to_rgba(cluster_color(c)) for c in nodes["cluster"]])
    assert (nodes["cluster"] >= 0).any() and (nodes["cluster"] < 0).any()
    layers = {c.get_gid(): c for c in ax.collections if isinstance(c, LineCollection)}
    for kind in ("vertical", "horizontal"):
        assert len(layers[f"{kind}-links"].get_segments()) == int((edges["type"] == kind).sum())
    assert layers["vertical-links"].get_linestyle() != layers["horizontal-links"].get_linestyle()
    with pytest.raises(ValueError, match="no position"):
        live_network_figure(nodes, edges, {})


def test_clusters_figure_bars_add_up_to_each_clusters_size_split_by_orientation(model):
    table = cluster_table(model)
    live = table[table["alive"]]
    assert len(live) >= 1
    fig = live_clusters_figure(table)
    bars = fig.axes[0].patches
    assert len(bars) == 3 * len(live)
    width = {}
    for bar in bars:
        width[round(bar.get_y() + bar.get_height() / 2)] = width.get(round(bar.get_y() + bar.get_height() / 2),
                                                                     0.0) + bar.get_width()
    assert sorted(width.values()) == pytest.approx(sorted(live["size"].astype(float)))
    with pytest.raises(ValueError, match="lacks"):
        live_clusters_figure(table.drop(columns="club"))


def test_indicators_figure_plots_each_familys_series_and_quotes_the_latest_values(model):
    ts = model.timeseries()
    fig = live_indicators_figure(ts)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == len(LIVE_FAMILIES) == 3
    for ax, (_family, (lines, quoted)) in zip(axes, LIVE_FAMILIES.items(), strict=True):
        drawn = {ln.get_gid(): ln for ln in ax.get_lines()}
        assert set(drawn) == set(lines)
        for name in lines:
            np.testing.assert_array_equal(drawn[name].get_ydata(), ts[name].to_numpy(dtype=float))
            np.testing.assert_array_equal(drawn[name].get_xdata(), ts["step"].to_numpy())
        text = " ".join(t.get_text() for t in ax.texts)
        for name in quoted:
            assert f"{float(ts[name].iloc[-1]):,.0f}" in text
    with pytest.raises(ValueError, match="unknown indicator"):
        live_indicators_figure(ts, {"competitiveness": (["no_such_indicator"], [])})


def test_the_pages_figures_are_updated_in_place_and_show_only_the_latest_step():
    """The page keeps one figure per panel and moves its artists at every step: after several steps each
    figure is the same object, holds exactly the artists of the latest data and nothing left over."""
    from clustersim.app.viz import ExploreModel

    m = ExploreModel(str(BASELINE), **{"simulation.n_firms": 100})
    net, clusters, indicators = m.figures
    figs = set()
    for _ in range(12):
        m.step()
        snap = network_snapshot(m)
        pos = m.layout.update(snap["nodes"], snap["edges"])
        figs |= {id(net.update(snap["nodes"], snap["edges"], pos)), id(clusters.update(cluster_table(m))),
                 id(indicators.update(m.timeseries()))}
        for ax in indicators.axes:  # as a redraw does: limits are settled at every step
            ax.get_xlim(), ax.get_ylim()
    assert len(figs) == 3 and m.figures == (net, clusters, indicators)
    dots = [c for c in net.ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 1 and len(net.ax.collections) == 3
    np.testing.assert_allclose(dots[0].get_offsets(), np.array([pos[f] for f in snap["nodes"]["firm"]]))
    xlim, ylim = net.ax.get_xlim(), net.ax.get_ylim()
    xy = dots[0].get_offsets()
    assert xlim[0] <= xy[:, 0].min() and xy[:, 0].max() <= xlim[1]
    assert ylim[0] <= xy[:, 1].min() and xy[:, 1].max() <= ylim[1]
    box = net.ax.get_position()  # equal scales: data units per inch the same on both axes
    per_inch = [(xlim[1] - xlim[0]) / (box.width * net.fig.get_figwidth()),
                (ylim[1] - ylim[0]) / (box.height * net.fig.get_figheight())]
    assert per_inch[0] == pytest.approx(per_inch[1])
    table = cluster_table(m)
    live = table[table["alive"]]
    assert len(clusters.ax.patches) == 3 * len(live) and len(clusters.ax.containers) == 3
    assert [t.get_text() for t in clusters.ax.get_yticklabels()] == [
        f"cluster {c}" for c in live.sort_values("size")["cluster"]]
    ts = m.timeseries()
    assert len(ts) == 13 and sum(len(ax.get_lines()) for ax in indicators.axes) == sum(
        len(lines) for lines, _quoted in LIVE_FAMILIES.values())
    for ax in indicators.axes:
        for line in ax.get_lines():
            np.testing.assert_array_equal(line.get_ydata(), ts[line.get_gid()].to_numpy(dtype=float))
            lo, hi = ax.get_ylim()
            assert lo <= np.nanmin(line.get_ydata()) and np.nanmax(line.get_ydata()) <= hi
            assert ax.get_xlim()[0] <= 0 and ax.get_xlim()[1] >= 12
    empty = clusters.update(table.assign(alive=False))  # the clusters die out: the bars go, a note says so
    assert not empty.axes[0].patches and clusters.empty.get_visible()


# ------------------------------------------------------------------------------------------ the command
def test_viz_command_refuses_a_bad_scenario_and_a_bad_port(tmp_path, capsys):
    from clustersim.app.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("trust:\n  gain_rate: 9\n")
    assert main(["viz", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "gain_rate" in err
    assert main(["viz", str(BASELINE), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_viz_command_names_the_extra_when_solara_is_missing(monkeypatch, capsys):
    import importlib.util

    from clustersim.app.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "solara" else real(name, *a))
    assert main(["viz"]) == 2
    assert "clustersim[viz]" in capsys.readouterr().err
