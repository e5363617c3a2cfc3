"""Figures for exploring the model in notebooks: coopetition, critical mass, trust, orientations, life spans,
paired scenario runs and public spending.

Every function takes public tables — a model's :meth:`~clustersim.model.ClusterModel.timeseries`, the tables
of :func:`~clustersim.experiment.runner.run_replication` and
:class:`~clustersim.experiment.runner.ScenarioResults` (``timeseries()``,
``summary()``, ``clusters()``, ``spending_by_instrument()``), or a per-quarter record of the live clusters
that a notebook builds by stepping a model — and returns a :class:`matplotlib.figure.Figure` built with the
object API (no pyplot state, safe under any backend). Nothing here runs the model. A table that lacks a
needed column, or holds nothing to plot, raises a :class:`ValueError` that says what is missing.

:func:`show` displays any figure (these, or those of :mod:`clustersim.plots`, :mod:`clustersim.studies.compare` and
:mod:`clustersim.plots.sensitivity`) in a notebook as a PNG and frees it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats as _stats

from clustersim.model.indicators import INDICATORS, SURVIVAL_WINDOW

__all__ = [
    "ORIENTATIONS",
    "ORIENTATION_LABELS",
    "ORIENTATION_COLORS",
    "founding_purpose",
    "survival_table",
    "plot_cooperation",
    "plot_cluster_trust",
    "plot_orientation_mix",
    "plot_lifelines",
    "plot_survival",
    "plot_paired_runs",
    "plot_spending",
    "show",
]

#: the three orientations, as the cluster table names their intensities
ORIENTATIONS = ("moyens", "products_markets", "club")
#: their names in the source document
ORIENTATION_LABELS = {"moyens": "Moyens", "products_markets": "Produits/Marchés", "club": "Club de travail"}
ORIENTATION_COLORS = {"moyens": "tab:blue", "products_markets": "tab:orange", "club": "tab:green"}
_FUNDER_COLORS = {"local": "tab:purple", "region": "tab:blue", "state": "tab:red", "europe": "tab:olive"}


# ------------------------------------------------------------------------------------------------ helpers
def _require(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """A clear ValueError when ``table`` is not a non-empty data frame with ``columns``."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{what}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")
    if not len(table):
        raise ValueError(f"{what}: the table is empty, nothing to plot")


def _one_replication(table: pd.DataFrame, replication: int | None, what: str) -> pd.DataFrame:
    """The rows of one replication: ``replication`` if given, else the table's only one."""
    if "replication" not in table.columns:
        if replication is not None:
            raise ValueError(f"{what}: replication={replication} given but the table has no 'replication' column")
        return table
    reps = sorted(pd.unique(table["replication"]).tolist())
    if replication is None:
        if len(reps) > 1:
            raise ValueError(f"{what}: the table holds replications {reps}; pass replication= to choose one")
        return table
    if replication not in reps:
        raise ValueError(f"{what}: replication {replication} is not in the table (it holds {reps})")
    return table[table["replication"] == replication]


def founding_purpose(clusters: pd.DataFrame) -> pd.Series:
    """Each cluster's founding purpose, from its orientation mix (cluster table columns ``moyens``,
    ``products_markets``, ``club``): the orientation pursued at full intensity.

    A cluster is founded for one purpose, pursued at intensity 1, and pursues the other two at its founders'
    mean interest in them (docs/ODD.md, 7.20); when that interest is also 1 the first of Moyens,
    Produits/Marchés, Club de travail is returned. Values are the labels of :data:`ORIENTATION_LABELS`.
    """
    _require(clusters, ORIENTATIONS, "founding_purpose")
    w = clusters[list(ORIENTATIONS)].to_numpy(dtype=np.float64)
    labels = np.array([ORIENTATION_LABELS[o] for o in ORIENTATIONS], dtype=object)
    return pd.Series(labels[np.argmax(w, axis=1)], index=clusters.index, name="purpose")


def _unit_label(column: str) -> str:
    """'member share (share, mean over the last 20 % of the run)' for 'member_share_late'."""
    for suffix, what in (("_late", "mean over the last 20 % of the run"), ("_final", "value at the last quarter")):
        if column.endswith(suffix) and column[: -len(suffix)] in INDICATORS:
            name = column[: -len(suffix)]
            return f"{name.replace('_', ' ')} ({INDICATORS[name].unit}; {what})"
    return column.replace("_", " ")


# ------------------------------------------------------------------------------------- cooperation, trust
def plot_cooperation(ts: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Cooperate or free-ride, and critical mass, over time.

    Left: among cluster memberships, the share that contributed to their cluster's collective actions this
    quarter (``cooperation_rate``) and the share that did not (1 − ``cooperation_rate``: free-riding, or
    simply holding back). Right: the share of attempted collective actions that reached critical mass
    (``critical_mass_rate``) and the share of firms in clusters (``member_share``).

    ``ts``: a model's ``timeseries()`` (one run) or ``ScenarioResults.timeseries()`` (several replications:
    the mean over replications is drawn). Quarters without any cluster member are left blank in the
    cooperation and critical-mass lines (those rates are undefined there, the model records 0).
    """
    cols = ["step", "cooperation_rate", "critical_mass_rate", "member_share"]
    _require(ts, cols, "plot_cooperation")
    d = ts[cols].astype({c: np.float64 for c in cols[1:]})
    empty = d["member_share"] <= 0
    d.loc[empty, ["cooperation_rate", "critical_mass_rate"]] = np.nan
    g = d.groupby("step", sort=True).mean()  # one run: the values themselves; several: mean over runs with members
    steps = g.index.to_numpy()
    n_rep = int(ts["replication"].nunique()) if "replication" in ts.columns else 1
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    coop = g["cooperation_rate"].to_numpy()
    ax1.plot(steps, coop, color="tab:green", lw=1.6, label="contribute (cooperate)")
    ax1.plot(steps, 1.0 - coop, color="tab:red", lw=1.6, label="do not contribute (free-ride)")
    ax1.set_title("Cooperate or free-ride (share of memberships)", fontsize=10)
    ax2.plot(steps, g["critical_mass_rate"].to_numpy(), color="tab:purple", lw=1.6,
             label="collective actions at critical mass")
    ax2.plot(steps, g["member_share"].to_numpy(), color="0.4", lw=1.2, ls="--", label="firms in clusters")
    ax2.set_title("Critical mass reached (share of attempted actions)", fontsize=10)
    for ax in (ax1, ax2):
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("quarter", fontsize=8)
        ax.set_ylabel("share", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    what = "one run" if n_rep == 1 else f"mean over {n_rep} replications"
    fig.suptitle(title or f"Coopetition in clusters ({what}; blank: no cluster member yet)", fontsize=10)
    return fig


def plot_cluster_trust(track: pd.DataFrame, *, ts: pd.DataFrame | None = None,
                       initial: float | None = None) -> Figure:
    """Trust building and breaking: each cluster's trust (the mean trust of its members in their co-members)
    over its life, green while it is still active at the end, red with a × where it dissolved.

    ``track``: one row per live cluster and quarter with columns ``step``, ``cluster``, ``trust`` (a
    notebook builds it by stepping a model and reading ``model.cluster_agents``); one run only.
    ``ts`` (optional): the same run's ``timeseries()``; its ``mean_trust`` (over all memberships) is drawn in
    black. ``initial`` (optional): the trust a new member starts with (``trust.initial``), a dashed line.
    """
    _require(track, ["step", "cluster", "trust"], "plot_cluster_trust")
    if "replication" in track.columns and track["replication"].nunique() > 1:
        raise ValueError("plot_cluster_trust: the table holds several replications; pass one run's rows")
    if ts is not None:
        _require(ts, ["step", "mean_trust"], "plot_cluster_trust: ts")
    last = int(track["step"].max())
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    order = track.groupby("cluster")["step"].min().sort_values(kind="stable").index
    ended_x, ended_y = [], []
    for c in order:
        sub = track[track["cluster"] == c].sort_values("step")
        x, y = sub["step"].to_numpy(), sub["trust"].to_numpy(dtype=np.float64)
        ended = int(x[-1]) < last
        ax.plot(x, y, color="tab:red" if ended else "tab:green", lw=1.0, alpha=0.8, label=f"cluster {c}")
        if ended:
            ended_x.append(x[-1])
            ended_y.append(y[-1])
    if ended_x:
        ax.scatter(ended_x, ended_y, marker="x", color="tab:red", s=30, zorder=3)
    handles = [Line2D([], [], color="tab:green", label="cluster still active at the end"),
               Line2D([], [], color="tab:red", marker="x", label="cluster dissolved (×)")]
    if ts is not None:
        ax.plot(ts["step"].to_numpy(), ts["mean_trust"].to_numpy(dtype=np.float64), color="black", lw=2.0,
                label="region: mean trust")
        handles.append(Line2D([], [], color="black", lw=2.0, label="region: mean trust of all members"))
    if initial is not None:
        ax.axhline(float(initial), color="0.4", ls="--", lw=1.0, label="initial trust")
        handles.append(Line2D([], [], color="0.4", ls="--", label=f"a new member's trust ({initial:g})"))
    ax.set_xlabel("quarter", fontsize=8)
    ax.set_ylabel("trust [0,1]", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    n = len(order)
    ax.set_title(f"Trust in {n} clusters: it grows when partners contribute and falls when they do not "
                 f"({len(ended_x)} dissolved)", fontsize=10)
    return fig


# -------------------------------------------------------------------------------- orientations, life span
def plot_orientation_mix(clusters: pd.DataFrame, *, replication: int | None = None, max_clusters: int = 30) -> Figure:
    """The three orientations of each cluster, and clusters by founding purpose.

    Left: one bar per cluster (the first ``max_clusters`` formed), split into its Moyens, Produits/Marchés
    and Club de travail intensities (each in [0, 1]; the founding purpose's is 1). Right: the number of
    clusters founded for each purpose (:func:`founding_purpose`), split into those still active at the end
    and those dissolved.

    ``clusters``: a cluster table (``RunResult.clusters`` or ``ScenarioResults.clusters()``); with several
    replications, ``replication`` chooses one.
    """
    _require(clusters, ["cluster", "born", "alive", *ORIENTATIONS], "plot_orientation_mix")
    if max_clusters < 1:
        raise ValueError(f"plot_orientation_mix: max_clusters must be >= 1 (got {max_clusters})")
    cl = _one_replication(clusters, replication, "plot_orientation_mix")
    cl = cl.sort_values(["born", "cluster"], kind="stable")
    shown = cl.head(max_clusters)
    n = len(shown)
    fig = Figure(figsize=(9, min(6.0, max(3.5, 0.22 * n + 1.6))), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    y = np.arange(n)
    left = np.zeros(n)
    for o in ORIENTATIONS:
        w = shown[o].to_numpy(dtype=np.float64)
        ax1.barh(y, w, left=left, color=ORIENTATION_COLORS[o], label=ORIENTATION_LABELS[o], height=0.75)
        left = left + w
    ax1.set_yticks(y, [f"{c} (q{b})" for c, b in zip(shown["cluster"], shown["born"], strict=True)], fontsize=7)
    ax1.invert_yaxis()
    ax1.set_xlabel("orientation intensities (stacked; each in [0, 1])", fontsize=8)
    ax1.tick_params(axis="x", labelsize=8)
    ax1.legend(fontsize=7, loc="lower right")
    more = f", first {n} of {len(cl)}" if len(cl) > n else ""
    ax1.set_title(f"Orientation mix of each cluster (cluster id, quarter formed{more})", fontsize=9)
    purpose = founding_purpose(cl)
    labels = [ORIENTATION_LABELS[o] for o in ORIENTATIONS]
    alive = cl["alive"].to_numpy(dtype=bool)
    n_alive = np.array([int(((purpose == p).to_numpy() & alive).sum()) for p in labels])
    n_dead = np.array([int(((purpose == p).to_numpy() & ~alive).sum()) for p in labels])
    x = np.arange(len(labels))
    ax2.bar(x, n_alive, color=[ORIENTATION_COLORS[o] for o in ORIENTATIONS], label="still active")
    ax2.bar(x, n_dead, bottom=n_alive, color="white", edgecolor=[ORIENTATION_COLORS[o] for o in ORIENTATIONS],
            hatch="//", label="dissolved")
    ax2.set_xticks(x, labels, fontsize=8, rotation=15)
    ax2.set_ylabel("clusters", fontsize=8)
    ax2.tick_params(axis="y", labelsize=8)
    ax2.legend(fontsize=7)
    ax2.grid(axis="y", alpha=0.3)
    ax2.set_title("Clusters by founding purpose", fontsize=9)
    return fig


def plot_lifelines(clusters: pd.DataFrame, *, replication: int | None = None, steps: int | None = None) -> Figure:
    """Each cluster's life as a horizontal line from the quarter it formed to the quarter it dissolved (×)
    or to the end of the run, coloured by founding purpose (:func:`founding_purpose`), earliest at the top.

    ``clusters``: a cluster table (``born``, ``lifetime``, ``alive`` and the orientation columns); with several
    replications, ``replication`` chooses one. ``steps``: the run's length (the x axis ends there).
    """
    _require(clusters, ["cluster", "born", "lifetime", "alive", *ORIENTATIONS], "plot_lifelines")
    cl = _one_replication(clusters, replication, "plot_lifelines").sort_values(["born", "cluster"], kind="stable")
    born = cl["born"].to_numpy(dtype=np.float64)
    end = born + cl["lifetime"].to_numpy(dtype=np.float64)
    alive = cl["alive"].to_numpy(dtype=bool)
    purpose = founding_purpose(cl).to_numpy()
    color_of = {ORIENTATION_LABELS[o]: ORIENTATION_COLORS[o] for o in ORIENTATIONS}
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (b, e, p, c) in enumerate(zip(born, end, purpose, cl["cluster"], strict=True)):
        ax.plot([b, e], [i, i], color=color_of[p], lw=2.2, solid_capstyle="butt", label=f"cluster {c}")
    if (~alive).any():
        ax.scatter(end[~alive], np.flatnonzero(~alive), marker="x", color="black", s=22, zorder=3)
    ax.invert_yaxis()
    ax.set_xlim(0, steps if steps is not None else max(float(end.max()), 1.0))
    ax.set_xlabel("quarter", fontsize=8)
    ax.set_ylabel("clusters, in order of formation", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], color=ORIENTATION_COLORS[o], lw=2.2, label=f"founded for {ORIENTATION_LABELS[o]}")
               for o in ORIENTATIONS]
    handles.append(Line2D([], [], color="black", marker="x", ls="none", label="dissolved"))
    ax.legend(handles=handles, fontsize=8, loc="lower left")
    ax.set_title(f"Life of each cluster: {len(cl)} formed, {int((~alive).sum())} dissolved, "
                 f"{int(alive.sum())} still active", fontsize=10)
    return fig


def survival_table(clusters: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Kaplan–Meier survival of clusters: the share of clusters still active ``time`` quarters after they
    formed, counting clusters still active at the end of the run as censored at their age (they might have
    dissolved later; leaving them out, or counting them as dissolved, would bias the curve).

    ``by``: a column of ``clusters`` (e.g. ``"scenario"``, ``"founded_by"``) or ``"purpose"``
    (:func:`founding_purpose`) to get one curve per group; None: one curve, group ``"all"``.
    Returns columns group, time, at_risk, events, censored, survival (a first row at time 0, survival 1).
    """
    _require(clusters, ["lifetime", "alive"], "survival_table")
    if by is None:
        groups = pd.Series("all", index=clusters.index)
    elif by == "purpose" and "purpose" not in clusters.columns:
        groups = founding_purpose(clusters)
    elif by in clusters.columns:
        groups = clusters[by]
    else:
        raise ValueError(f"survival_table: by={by!r} is not a column of the table (nor 'purpose')")
    rows = []
    for g in pd.unique(groups):
        part = clusters[(groups == g).to_numpy()]
        life = part["lifetime"].to_numpy(dtype=np.float64)
        event = ~part["alive"].to_numpy(dtype=bool)
        s = 1.0
        rows.append({"group": g, "time": 0.0, "at_risk": len(life), "events": 0, "censored": 0, "survival": 1.0})
        for t in np.unique(life):
            at_risk = int((life >= t).sum())
            d = int(((life == t) & event).sum())
            cens = int(((life == t) & ~event).sum())
            s *= 1.0 - d / at_risk
            rows.append({"group": g, "time": float(t), "at_risk": at_risk, "events": d, "censored": cens,
                         "survival": s})
    return pd.DataFrame(rows, columns=["group", "time", "at_risk", "events", "censored", "survival"])


def plot_survival(clusters: pd.DataFrame, *, by: str | None = None, window: int = SURVIVAL_WINDOW,
                  title: str | None = None) -> Figure:
    """What makes a cluster last: Kaplan–Meier survival curves of cluster lifetimes (see
    :func:`survival_table`), one per group of ``by``, with the 12-quarter mark at which the programmes'
    evaluations (and the ``cluster_survival`` indicator) measure survival.

    ``clusters``: a cluster table, possibly of several replications and scenarios (concatenate
    ``ScenarioResults.clusters()`` tables with a ``scenario`` column to compare scenarios).
    """
    table = survival_table(clusters, by)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    purpose_color = {ORIENTATION_LABELS[o]: ORIENTATION_COLORS[o] for o in ORIENTATIONS}
    groups = list(pd.unique(table["group"]))
    if set(groups) <= set(purpose_color):
        groups = [g for g in purpose_color if g in groups]
    for k, g in enumerate(groups):
        part = table[table["group"] == g]
        n = int(part["at_risk"].iloc[0])
        color = purpose_color.get(g, f"C{k}")
        t, s = part["time"].to_numpy(), part["survival"].to_numpy()
        ax.step(t, s, where="post", lw=1.8, color=color, label=f"{g} (n = {n})")
        cens = part["censored"].to_numpy() > 0
        if cens.any():  # '+': clusters still active at that age when the run ended
            ax.scatter(t[cens], s[cens], marker="+", s=40, color=color, zorder=3)
    ax.axvline(window, color="0.5", ls=":", lw=1.0, label=f"{window} quarters")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("quarters since the cluster formed", fontsize=8)
    ax.set_ylabel("share of clusters still active", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Cluster survival (Kaplan–Meier; +: still active at that age when the run ended)",
                 fontsize=10)
    return fig


# ------------------------------------------------------------------------------------- scenarios, money
def _ok(summary: pd.DataFrame, column: str, what: str) -> pd.Series:
    _require(summary, ["replication", column], what)
    s = summary[summary["status"] == "ok"] if "status" in summary.columns else summary
    return s.set_index("replication")[column].astype(np.float64)


def plot_paired_runs(baseline: pd.DataFrame, scenarios: Mapping[str, pd.DataFrame], column: str, *,
                     baseline_name: str = "baseline", level: float = 0.95) -> Figure:
    """Paired runs of scenarios against a baseline, for one summary column (e.g. ``member_share_late``).

    Left: each replication's value under the baseline and under each scenario, joined by a line: replication
    i of every scenario uses the same random stream (common random numbers), so the lines show how much of
    the spread the scenarios share. Right: the paired differences scenario − baseline, one dot per
    replication, with their mean and its Student-t confidence interval (``level``), and a zero line — the
    same numbers as ``Comparison.differences()``.

    ``baseline``, ``scenarios``: ``ScenarioResults.summary()`` tables (failed replications are left out;
    a pair needs both runs).
    """
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise ValueError("plot_paired_runs: scenarios must be a non-empty mapping of name -> summary table")
    if not 0 < level < 1:
        raise ValueError(f"plot_paired_runs: level must be in (0, 1) (got {level})")
    base = _ok(baseline, column, f"plot_paired_runs: baseline '{baseline_name}'")
    values = {name: _ok(s, column, f"plot_paired_runs: scenario '{name}'") for name, s in scenarios.items()}
    names = [baseline_name, *values]
    reps = sorted(set(base.index).union(*(set(v.index) for v in values.values())))
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(names))
    for r in reps:
        y = [base.get(r, np.nan), *(v.get(r, np.nan) for v in values.values())]
        ax1.plot(x, y, color="0.55", lw=0.9, marker="o", markersize=4, label=f"replication {r}")
    ax1.set_xticks(x, [f"{n}\n(baseline)" if i == 0 else n for i, n in enumerate(names)], fontsize=8)
    ax1.set_xlim(-0.4, len(names) - 0.6)
    ax1.set_ylabel(_unit_label(column), fontsize=8)
    ax1.tick_params(axis="y", labelsize=8)
    ax1.grid(axis="y", alpha=0.3)
    ax1.set_title(f"Each replication under each scenario ({len(reps)} replications)", fontsize=9)
    for j, (name, v) in enumerate(values.items()):
        common = base.index.intersection(v.index)
        d = (v.loc[common] - base.loc[common]).to_numpy()
        d = d[np.isfinite(d)]
        if len(d) == 0:
            raise ValueError(f"plot_paired_runs: no replication of '{name}' pairs with the baseline on {column}")
        rng_x = j + np.linspace(-0.12, 0.12, len(d)) if len(d) > 1 else np.array([float(j)])
        ax2.scatter(rng_x, d, color="0.55", s=14, zorder=2)
        mean = float(d.mean())
        half = (float(_stats.t.ppf(0.5 + level / 2, len(d) - 1)) * float(d.std(ddof=1)) / np.sqrt(len(d))
                if len(d) > 1 else 0.0)
        ax2.errorbar([j], [mean], yerr=[[half], [half]], fmt="D", color=f"C{j}", markersize=7, capsize=6, lw=2,
                     zorder=3, label=f"{name}: {mean:.3g} [{mean - half:.3g}, {mean + half:.3g}]")
    ax2.axhline(0.0, color="black", lw=0.9)
    ax2.set_xticks(np.arange(len(values)), list(values), fontsize=8)
    ax2.set_xlim(-0.5, len(values) - 0.5)
    ax2.set_ylabel(f"difference from {baseline_name}", fontsize=8)
    ax2.tick_params(axis="y", labelsize=8)
    ax2.grid(axis="y", alpha=0.3)
    ax2.legend(fontsize=7, loc="best", title=f"mean [{level:.0%} CI]", title_fontsize=7)
    ax2.set_title("Paired differences (dots: replications)", fontsize=9)
    fig.suptitle(f"{column}: scenarios against {baseline_name}, paired replication by replication", fontsize=10)
    return fig


def plot_spending(spending: pd.DataFrame, *, value: str = "total_per_replication", title: str | None = None) -> Figure:
    """Public spending by instrument, split by funder (stacked bars), from
    ``ScenarioResults.spending_by_instrument()``: ``value`` is ``total_per_replication`` (k€ over the run, the
    default), ``per_year_per_replication`` or ``per_active_year``. Instruments are grouped by phase
    (constitution, stabilisation, accompaniment).

    Raises ValueError when the table is empty (a scenario without public spending) or lacks a column.
    """
    allowed = ("total_per_replication", "per_year_per_replication", "per_active_year")
    if value not in allowed:
        raise ValueError(f"plot_spending: value must be one of {', '.join(allowed)} (got {value!r})")
    if isinstance(spending, pd.DataFrame) and not len(spending) and set(allowed) <= set(spending.columns):
        raise ValueError("plot_spending: the table is empty: this scenario spends no public money")
    _require(spending, ["funder", "instrument", "phase", value], "plot_spending")
    phase_order = {"constitution": 0, "stabilisation": 1, "accompaniment": 2}
    wide = spending.pivot_table(index=["phase", "instrument"], columns="funder", values=value, aggfunc="sum",
                                fill_value=0.0)
    keys = sorted(wide.index, key=lambda k: (phase_order.get(k[0], 3), k[0], k[1]))
    wide = wide.loc[keys]
    funders = [f for f in _FUNDER_COLORS if f in wide.columns] + [f for f in wide.columns if f not in _FUNDER_COLORS]
    n = len(wide)
    fig = Figure(figsize=(8, min(6.0, max(3.0, 0.38 * n + 1.6))), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)
    left = np.zeros(n)
    for k, f in enumerate(funders):
        w = wide[f].to_numpy(dtype=np.float64)
        ax.barh(y, w, left=left, color=_FUNDER_COLORS.get(f, f"C{k}"), label=f, height=0.7)
        left = left + w
    ax.set_yticks(y, [f"{inst} ({phase})" for phase, inst in wide.index], fontsize=8)
    ax.invert_yaxis()
    unit = {"total_per_replication": "k€ over the run, mean per replication",
            "per_year_per_replication": "k€ per year, mean per replication",
            "per_active_year": "k€ per budget year with spending"}[value]
    ax.set_xlabel(unit, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(title="funder", fontsize=8, title_fontsize=8, loc="best")
    ax.set_title(title or f"Public spending by instrument and funder: {left.sum():,.0f} k€ in all", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------------ display
def show(fig: Figure, path: str | Path | None = None, *, dpi: int = 100) -> None:
    """Display ``fig`` in a notebook as a PNG image (one ``display_data`` output) and free it.

    Works whatever matplotlib's backend (clustersim selects Agg, which shows nothing by itself), and closes
    figures made with pyplot (as those of :mod:`clustersim.plots` are), so that none is shown twice or kept
    in memory. ``path``: also save the figure there (PNG at ``dpi``), e.g. under ``results/``.
    """
    if not isinstance(fig, Figure):
        raise ValueError(f"show: expected a matplotlib Figure, got {type(fig).__name__}")
    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if path is not None:
        Path(path).write_bytes(buf.getvalue())
    if getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure: release it from pyplot's registry
        import matplotlib.pyplot as plt

        plt.close(fig)
    display(Image(data=buf.getvalue(), format="png"))
