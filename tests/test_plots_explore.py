"""The notebooks' figures (clustersim.plots.explore) on real small runs: each returns a Figure whose plotted data
are the input table's, built without pyplot state, and bad input raises a ValueError that says what is wrong."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from helpers import ROOT  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import clustersim as cs  # noqa: E402
from clustersim.plots import explore as pe  # noqa: E402
from clustersim.studies.compare import compare_scenarios  # noqa: E402

SEED = 2026
PNG = b"\x89PNG\r\n\x1a\n"


def render(fig: Figure) -> bytes:
    """Draw the figure to PNG (layout warnings would be errors here) and return the bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


def labelled(ax, prefix: str) -> list:
    return [line for line in ax.get_lines() if str(line.get_label()).startswith(prefix)]


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def region():
    """One small baseline region stepped by hand, with a record of its live clusters, and the same run's
    tables from run_replication (the notebook 01 set-up, smaller)."""
    scenario = cs.load_scenario(ROOT / "configs" / "baseline.yaml", ["simulation.n_firms=100", "simulation.warmup=0"])
    model = cs.ClusterModel(scenario, rng=cs.replication_seed(SEED, 0))
    rows = []
    for _ in range(36):
        model.step()
        rows += [{"step": model.now, "cluster": c.row, "size": c.size, "trust": c.trust}
                 for c in model.cluster_agents.values()]
    run = cs.run_replication(scenario, SEED, 0, steps=36)
    return {"scenario": scenario, "ts": model.timeseries(), "track": pd.DataFrame(rows), "run": run}


@pytest.fixture(scope="module")
def replications():
    scenario = cs.load_scenario(ROOT / "configs" / "baseline.yaml", ["simulation.n_firms=80"])
    return cs.run_scenario(scenario, replications=3, seed=SEED, steps=30, workers=1)


@pytest.fixture(scope="module")
def paired():
    base = cs.load_scenario(ROOT / "configs" / "no_policy.yaml", ["simulation.n_firms=150"])
    cfp = cs.load_scenario(ROOT / "configs" / "call_for_projects.yaml", ["simulation.n_firms=150"])
    return compare_scenarios([cfp], base, replications=3, seed=SEED, steps=24, workers=1)


def test_the_fixture_runs_have_something_to_show(region, replications):
    ts, run = region["ts"], region["run"]
    assert run.timeseries.drop(columns="replication").equals(ts)  # the hand-stepped model is replication 0
    assert (ts["member_share"] == 0).any() and (ts["member_share"] > 0).any()
    assert (ts["critical_mass_rate"] > 0).any()
    assert len(run.clusters) >= 4 and run.clusters["alive"].any() and (~run.clusters["alive"]).any()
    assert replications.timeseries()["replication"].nunique() == 3


def test_no_function_leaves_a_pyplot_figure_behind(region, paired):
    before = set(plt.get_fignums())
    figs = [pe.plot_cooperation(region["ts"]), pe.plot_cluster_trust(region["track"]),
            pe.plot_orientation_mix(region["run"].clusters), pe.plot_lifelines(region["run"].clusters),
            pe.plot_survival(region["run"].clusters),
            pe.plot_paired_runs(paired.baseline.summary(), {"cfp": paired.scenarios[0].summary()}, "n_clusters_late"),
            pe.plot_spending(paired.scenarios[0].spending_by_instrument())]
    assert set(plt.get_fignums()) == before
    for fig in figs:
        assert isinstance(fig, Figure)
        assert render(fig)[:8] == PNG


# ---------------------------------------------------------------------------------------------- cooperation
def test_plot_cooperation_draws_the_run_with_quarters_without_members_blank(region):
    ts = region["ts"]
    fig = pe.plot_cooperation(ts)
    ax1, ax2 = fig.axes
    empty = ts["member_share"].to_numpy() <= 0
    coop = np.where(empty, np.nan, ts["cooperation_rate"].to_numpy())
    cm = np.where(empty, np.nan, ts["critical_mass_rate"].to_numpy())
    lines1, lines2 = ax1.get_lines(), ax2.get_lines()
    assert len(lines1) == 2 and len(lines2) == 2
    for line in (*lines1, *lines2):
        np.testing.assert_array_equal(line.get_xdata(), ts["step"].to_numpy())
    np.testing.assert_array_equal(lines1[0].get_ydata(), coop)
    np.testing.assert_allclose(lines1[1].get_ydata(), 1.0 - coop)
    np.testing.assert_array_equal(lines2[0].get_ydata(), cm)
    np.testing.assert_array_equal(lines2[1].get_ydata(), ts["member_share"].to_numpy())
    assert "free-ride" in lines1[1].get_label() and "critical mass" in lines2[0].get_label()
    assert "one run" in fig._suptitle.get_text()
    render(fig)


def test_plot_cooperation_averages_replications_over_those_with_members(replications):
    ts = replications.timeseries()
    fig = pe.plot_cooperation(ts)
    steps = np.sort(ts["step"].unique())
    expected = []
    for s in steps:
        rows = ts[(ts["step"] == s) & (ts["member_share"] > 0)]
        expected.append(rows["cooperation_rate"].mean() if len(rows) else np.nan)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert np.isfinite(expected).sum() > len(steps) / 2
    assert "mean over 3 replications" in fig._suptitle.get_text()


def test_plot_cooperation_refuses_bad_tables(region):
    ts = region["ts"]
    with pytest.raises(ValueError, match="missing column.*critical_mass_rate"):
        pe.plot_cooperation(ts.drop(columns="critical_mass_rate"))
    with pytest.raises(ValueError, match="empty"):
        pe.plot_cooperation(ts.iloc[:0])
    with pytest.raises(ValueError, match="expected a pandas DataFrame"):
        pe.plot_cooperation(ts.to_dict())


# ---------------------------------------------------------------------------------------------- trust
def test_plot_cluster_trust_draws_each_cluster_and_marks_dissolutions(region):
    track, ts, run = region["track"], region["ts"], region["run"]
    fig = pe.plot_cluster_trust(track, ts=ts, initial=region["scenario"].trust.initial)
    (ax,) = fig.axes
    lines = labelled(ax, "cluster ")
    assert len(lines) == track["cluster"].nunique() >= 4
    last = track["step"].max()
    ended = []
    for line in lines:
        c = int(line.get_label().split()[1])
        sub = track[track["cluster"] == c].sort_values("step")
        np.testing.assert_array_equal(line.get_xdata(), sub["step"].to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), sub["trust"].to_numpy())
        gone = sub["step"].max() < last
        assert mcolors.to_hex(line.get_color()) == mcolors.to_hex("tab:red" if gone else "tab:green")
        if gone:
            ended.append(c)
    assert ended  # the run has dissolved clusters, each a dissolved row of the run's cluster table
    assert set(ended) <= set(run.clusters.loc[~run.clusters["alive"], "cluster"])
    (marks,) = ax.collections
    assert len(marks.get_offsets()) == len(ended)
    (region_line,) = labelled(ax, "region")
    np.testing.assert_array_equal(region_line.get_ydata(), ts["mean_trust"].to_numpy())
    (initial,) = labelled(ax, "initial trust")
    assert list(initial.get_ydata()) == [0.3, 0.3]
    render(fig)


def test_plot_cluster_trust_refuses_bad_tables(region):
    track = region["track"]
    with pytest.raises(ValueError, match="missing column.*trust"):
        pe.plot_cluster_trust(track.drop(columns="trust"))
    two = pd.concat([track.assign(replication=0), track.assign(replication=1)])
    with pytest.raises(ValueError, match="several replications"):
        pe.plot_cluster_trust(two)
    with pytest.raises(ValueError, match="ts: missing column.*mean_trust"):
        pe.plot_cluster_trust(track, ts=region["ts"].drop(columns="mean_trust"))


# ---------------------------------------------------------------------------------------------- orientations
def test_founding_purpose_is_the_orientation_at_full_intensity(region):
    clusters = region["run"].clusters
    purpose = pe.founding_purpose(clusters)
    column = {label: o for o, label in pe.ORIENTATION_LABELS.items()}
    for i, p in purpose.items():
        assert clusters.loc[i, column[p]] == 1.0
    tie = pd.DataFrame({"moyens": [1.0, 0.2], "products_markets": [1.0, 0.3], "club": [0.5, 1.0]})
    assert pe.founding_purpose(tie).tolist() == ["Moyens", "Club de travail"]
    with pytest.raises(ValueError, match="missing column.*club"):
        pe.founding_purpose(tie.drop(columns="club"))


def test_plot_orientation_mix_bars_are_the_clusters_intensities(region):
    clusters = region["run"].clusters
    fig = pe.plot_orientation_mix(clusters)
    ax1, ax2 = fig.axes
    ordered = clusters.sort_values(["born", "cluster"], kind="stable")
    n = len(ordered)
    bars = ax1.patches
    assert len(bars) == 3 * n
    left = np.zeros(n)
    for k, o in enumerate(pe.ORIENTATIONS):
        part = bars[k * n:(k + 1) * n]
        np.testing.assert_allclose([b.get_width() for b in part], ordered[o].to_numpy())
        np.testing.assert_allclose([b.get_x() for b in part], left)
        left += ordered[o].to_numpy()
    purpose = pe.founding_purpose(clusters)
    alive = clusters["alive"].to_numpy()
    labels = [pe.ORIENTATION_LABELS[o] for o in pe.ORIENTATIONS]
    heights = [b.get_height() for b in ax2.patches]
    assert heights[:3] == [((purpose == p).to_numpy() & alive).sum() for p in labels]
    assert heights[3:] == [((purpose == p).to_numpy() & ~alive).sum() for p in labels]
    assert sum(heights) == n
    render(fig)
    short = pe.plot_orientation_mix(clusters, max_clusters=3)
    assert len(short.axes[0].patches) == 9 and f"first 3 of {n}" in short.axes[0].get_title()


def test_plot_orientation_mix_chooses_a_replication(replications):
    clusters = replications.clusters()
    with pytest.raises(ValueError, match=r"holds replications \[0, 1, 2\]; pass replication="):
        pe.plot_orientation_mix(clusters)
    with pytest.raises(ValueError, match="replication 7 is not in the table"):
        pe.plot_orientation_mix(clusters, replication=7)
    with pytest.raises(ValueError, match="max_clusters must be >= 1"):
        pe.plot_orientation_mix(clusters, replication=0, max_clusters=0)
    fig = pe.plot_orientation_mix(clusters, replication=1)
    one = clusters[clusters["replication"] == 1]
    assert sum(b.get_height() for b in fig.axes[1].patches) == len(one)


def test_plot_lifelines_spans_birth_to_dissolution_or_the_end(region):
    clusters = region["run"].clusters
    fig = pe.plot_lifelines(clusters, steps=36)
    (ax,) = fig.axes
    ordered = clusters.sort_values(["born", "cluster"], kind="stable")
    lines = labelled(ax, "cluster ")
    assert [line.get_label() for line in lines] == [f"cluster {c}" for c in ordered["cluster"]]
    for line, row in zip(lines, ordered.itertuples(), strict=True):
        end = row.died if not row.alive else 36
        assert list(line.get_xdata()) == [row.born, end]
    (marks,) = ax.collections
    assert len(marks.get_offsets()) == int((~ordered["alive"]).sum())
    assert ax.get_xlim() == (0.0, 36.0)
    render(fig)
    with pytest.raises(ValueError, match="missing column.*lifetime"):
        pe.plot_lifelines(clusters.drop(columns="lifetime"))


# ---------------------------------------------------------------------------------------------- survival
def test_survival_table_is_kaplan_meier():
    # lifetimes 2, 3 (censored), 3, 5, 8 (censored): S(2) = 4/5, S(3) = 4/5 · 3/4, S(5) = 0.6 · 1/2, S(8) = 0.3
    t = pd.DataFrame({"lifetime": [2, 3, 3, 5, 8], "alive": [False, True, False, False, True]})
    km = pe.survival_table(t)
    assert km["time"].tolist() == [0, 2, 3, 5, 8]
    assert km["at_risk"].tolist() == [5, 5, 4, 2, 1]
    assert km["events"].tolist() == [0, 1, 1, 1, 0] and km["censored"].tolist() == [0, 0, 1, 0, 1]
    np.testing.assert_allclose(km["survival"], [1.0, 0.8, 0.6, 0.3, 0.3])
    # without censoring it is the plain share of clusters that lived longer than t
    life = np.array([1, 4, 4, 6, 9, 9, 12])
    km = pe.survival_table(pd.DataFrame({"lifetime": life, "alive": False}))
    for row in km.itertuples():
        assert row.survival == pytest.approx((life > row.time).mean())


def test_survival_table_groups_and_refuses_unknown_groups(replications):
    clusters = replications.clusters()
    km = pe.survival_table(clusters, by="replication")
    assert sorted(km["group"].unique()) == [0, 1, 2]
    for g, part in km.groupby("group"):
        assert part["at_risk"].iloc[0] == (clusters["replication"] == g).sum()
        assert np.all(np.diff(part["survival"]) <= 0) and part["survival"].between(0, 1).all()
    by_purpose = pe.survival_table(clusters, by="purpose")
    assert set(by_purpose["group"]) <= set(pe.ORIENTATION_LABELS.values())
    with pytest.raises(ValueError, match="by='nope' is not a column"):
        pe.survival_table(clusters, by="nope")
    with pytest.raises(ValueError, match="missing column.*alive"):
        pe.survival_table(clusters.drop(columns="alive"))


def test_plot_survival_draws_the_table(replications):
    clusters = replications.clusters().assign(scenario=lambda d: np.where(d["replication"] == 0, "a", "b"))
    fig = pe.plot_survival(clusters, by="scenario", window=12)
    (ax,) = fig.axes
    km = pe.survival_table(clusters, by="scenario")
    for g in ("a", "b"):
        (line,) = labelled(ax, f"{g} (n = ")
        part = km[km["group"] == g]
        assert line.get_label() == f"{g} (n = {(clusters['scenario'] == g).sum()})"
        assert line.get_drawstyle() == "steps-post"
        np.testing.assert_array_equal(line.get_xdata(), part["time"].to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), part["survival"].to_numpy())
    (mark,) = labelled(ax, "12 quarters")
    assert list(mark.get_xdata()) == [12, 12]
    render(fig)
    purpose = pe.plot_survival(clusters, by="purpose")
    order = [str(line.get_label()).split(" (n")[0] for line in purpose.axes[0].get_lines()[:-1]]
    assert order == [label for label in pe.ORIENTATION_LABELS.values() if label in order]


# ---------------------------------------------------------------------------------------------- scenarios
def test_plot_paired_runs_shows_replications_and_the_comparisons_intervals(paired):
    base, cfp = paired.baseline.summary(), paired.scenarios[0].summary()
    name = paired.scenarios[0].scenario.name
    fig = pe.plot_paired_runs(base, {name: cfp}, "member_share_late", baseline_name="no_policy")
    ax1, ax2 = fig.axes
    lines = labelled(ax1, "replication ")
    assert len(lines) == 3
    for r, line in enumerate(lines):
        assert line.get_label() == f"replication {r}"
        np.testing.assert_array_equal(line.get_ydata(), [base.loc[r, "member_share_late"],
                                                         cfp.loc[r, "member_share_late"]])
    d = cfp["member_share_late"].to_numpy() - base["member_share_late"].to_numpy()
    (dots,) = ax2.collections[:1]
    np.testing.assert_allclose(dots.get_offsets()[:, 1], d)
    row = paired.differences().query("indicator == 'member_share' and statistic == 'late'").iloc[0]
    (bar,) = ax2.containers
    mean_line, _, (segments,) = bar.lines
    assert mean_line.get_ydata()[0] == pytest.approx(row["difference"])
    (lo, hi), = [(seg[0][1], seg[1][1]) for seg in segments.get_segments()]
    assert (lo, hi) == (pytest.approx(row["low"]), pytest.approx(row["high"]))
    assert row["n"] == 3 and lo < hi
    render(fig)


def test_plot_paired_runs_refuses_bad_input(paired):
    base, cfp = paired.baseline.summary(), paired.scenarios[0].summary()
    with pytest.raises(ValueError, match="non-empty mapping"):
        pe.plot_paired_runs(base, {}, "member_share_late")
    with pytest.raises(ValueError, match="scenario 'cfp': missing column.*nope_late"):
        pe.plot_paired_runs(base.assign(nope_late=1.0), {"cfp": cfp}, "nope_late")
    with pytest.raises(ValueError, match="level must be in"):
        pe.plot_paired_runs(base, {"cfp": cfp}, "member_share_late", level=1.5)
    shifted = cfp.assign(replication=cfp["replication"] + 10)
    with pytest.raises(ValueError, match="no replication of 'cfp' pairs with the baseline"):
        pe.plot_paired_runs(base, {"cfp": shifted}, "member_share_late")


def test_plot_spending_bars_are_the_ledger_by_instrument_and_funder(paired):
    table = paired.scenarios[0].spending_by_instrument()
    assert len(table) >= 2 and table["funder"].nunique() >= 2
    fig = pe.plot_spending(table)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(f"{i} ({p})" for i, p in zip(table["instrument"], table["phase"], strict=True))
    funders = [f for f in ("local", "region", "state", "europe") if f in set(table["funder"])]
    n = len(labels)
    for k, f in enumerate(funders):
        for label, bar in zip(labels, ax.patches[k * n:(k + 1) * n], strict=True):
            inst = label.split(" (")[0]
            want = table.loc[(table["funder"] == f) & (table["instrument"] == inst), "total_per_replication"].sum()
            assert bar.get_width() == pytest.approx(want)
    assert f"{table['total_per_replication'].sum():,.0f} k€" in ax.get_title()
    render(fig)


def test_plot_spending_refuses_a_scenario_without_spending_and_bad_values(paired):
    with pytest.raises(ValueError, match="spends no public money"):
        pe.plot_spending(paired.baseline.spending_by_instrument())
    table = paired.scenarios[0].spending_by_instrument()
    with pytest.raises(ValueError, match="value must be one of"):
        pe.plot_spending(table, value="amount")
    with pytest.raises(ValueError, match="missing column.*funder"):
        pe.plot_spending(table.drop(columns="funder"))


# ---------------------------------------------------------------------------------------------- show
def test_show_displays_one_png_saves_it_and_frees_pyplot_figures(tmp_path, monkeypatch):
    display_mod = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(display_mod, "display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    num = fig.number
    pe.show(fig, tmp_path / "f.png")
    assert not plt.fignum_exists(num)
    (img,) = shown
    assert isinstance(img, display_mod.Image) and img.data[:8] == PNG
    assert (tmp_path / "f.png").read_bytes() == img.data
    pe.show(Figure())  # a figure without pyplot
    assert len(shown) == 2
    with pytest.raises(ValueError, match="expected a matplotlib Figure"):
        pe.show("figure.png")
