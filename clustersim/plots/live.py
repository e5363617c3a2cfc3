"""Figures of one running model, redrawn after every step by the browser page (:mod:`clustersim.app.viz`).

Each function reads the model's public tables (:func:`clustersim.experiment.runner.network_snapshot`,
``model.timeseries()``, the cluster table) and returns a :class:`matplotlib.figure.Figure` built without
pyplot, so that nothing accumulates in a global figure manager while a page steps for hours.

:class:`NetworkLayout` keeps firms where they were drawn the step before: each step starts the spring
layout from the previous positions and runs a few iterations, so the picture moves smoothly and a step
stays cheap (a full layout of a few hundred firms takes about a second; a warm start, a few
hundredths).
"""

from __future__ import annotations

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from clustersim.model.indicators import INDICATORS

__all__ = ["LIVE_FAMILIES", "ORIENTATION_COLORS", "LiveClusters", "LiveIndicators", "LiveNetwork", "NetworkLayout",
           "cluster_color", "live_network_figure", "live_clusters_figure", "live_indicators_figure"]

#: what the live charts show of each family the mission names: indicators drawn as lines on one shared,
#: dimensionless axis (shares, indices, ratios), and count or money indicators whose latest value is quoted
#: beside the panel (one axis per family keeps a step's redraw cheap)
LIVE_FAMILIES: dict[str, tuple[list[str], list[str]]] = {
    "competitiveness": (["relative_productivity", "capability_index", "export_share", "new_activity_share"],
                        ["n_firms"]),
    "durability": (["member_share", "mean_trust", "mean_alignment", "cluster_survival"],
                   ["n_clusters", "mean_cluster_size"]),
    "leverage": (["value_added_growth"], ["employment", "local_purchases", "investors_attracted",
                                          "public_spending_cumulative"]),
}

#: colours of the three orientations (Moyens, Produits/Marchés, Club de travail)
ORIENTATION_COLORS = ("#4C72B0", "#DD8452", "#55A868")
_ORIENTATION_LABELS = ("Moyens", "Produits/Marchés", "Club de travail")
_NO_CLUSTER = (0.78, 0.78, 0.78, 1.0)
_PALETTE = matplotlib.colormaps["tab20"]


def cluster_color(cluster: int) -> tuple[float, float, float, float]:
    """The colour of a cluster row (the same in every figure; grey for −1, no cluster)."""
    return _NO_CLUSTER if cluster < 0 else _PALETTE(int(cluster) % 20)


class NetworkLayout:
    """Positions of firms across steps (spring layout warm-started from the previous step's positions).

    Args:
        seed: seed of the layout's own generator (the layout never draws from the model's generators).
        iterations: spring-layout iterations per update after the first (which runs 50).
    """

    def __init__(self, seed: int = 0, iterations: int = 8) -> None:
        self.seed = seed
        self.iterations = iterations
        self.pos: dict[int, np.ndarray] = {}
        self._rng = np.random.default_rng(seed)

    def update(self, nodes: pd.DataFrame, edges: pd.DataFrame) -> dict[int, np.ndarray]:
        """Positions for the firms of ``nodes`` (columns firm, cluster), linked by ``edges`` (src, dst,
        intensity); members of a cluster are pulled together by an invisible hub."""
        firms = nodes["firm"].to_numpy()
        g = nx.Graph()
        g.add_nodes_from(firms.tolist())
        keep = np.isin(edges["src"].to_numpy(), firms) & np.isin(edges["dst"].to_numpy(), firms)
        e = edges[keep]
        g.add_weighted_edges_from(zip(e["src"].tolist(), e["dst"].tolist(), e["intensity"].tolist(),
                                      strict=True))
        for firm, c in zip(firms.tolist(), nodes["cluster"].tolist(), strict=True):
            if c >= 0:
                g.add_edge(firm, ("hub", c), weight=3.0)
        first = not self.pos
        start = {}
        for n in g.nodes:
            if n in self.pos:
                start[n] = self.pos[n]
            else:  # a newcomer starts next to a neighbour already placed, else anywhere
                placed = [self.pos[m] for m in g.neighbors(n) if m in self.pos]
                base = np.mean(placed, axis=0) if placed else self._rng.uniform(-1, 1, 2)
                start[n] = base + self._rng.normal(0, 0.05, 2)
        k = 2.0 / np.sqrt(max(len(g), 1))
        pos = nx.spring_layout(g, pos=None if first else start, k=k, seed=self.seed,
                               iterations=50 if first else self.iterations)
        self.pos = {n: np.asarray(p) for n, p in pos.items()}
        return {int(f): self.pos[f] for f in firms.tolist()}


def _ax(fig: Figure):
    return fig.add_subplot(1, 1, 1)


class LiveNetwork:
    """The firm network figure, built once and updated in place at every step (a page redraws it after each
    step: moving the artists costs a small fraction of building a new figure).

    :meth:`update` draws nodes coloured by (first) cluster, grey outside clusters, area by employment;
    supplier–customer links solid grey, peer links dashed purple.
    """

    def __init__(self) -> None:
        self.fig = Figure(figsize=(6.4, 5.6))  # a fixed layout: constrained layout would double the time
        self.fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.91)
        self.ax = ax = _ax(self.fig)
        self.links = {}
        for kind, style, color, alpha in (("horizontal", "dashed", "tab:purple", 0.25),
                                          ("vertical", "solid", "0.35", 0.55)):
            self.links[kind] = LineCollection([], colors=color, linestyles=style, linewidths=0.6, alpha=alpha,
                                              gid=f"{kind}-links")
            ax.add_collection(self.links[kind])
        self.dots = ax.scatter(np.empty(0), np.empty(0), s=np.empty(0), linewidths=0.3, edgecolors="0.2",
                               zorder=3, gid="firms")
        self.title = ax.set_title("", fontsize=9)
        ax.set_axis_off()

    def update(self, nodes: pd.DataFrame, edges: pd.DataFrame, pos: dict[int, np.ndarray], title: str = ""
               ) -> Figure:
        """The figure for this step.

        Args:
            nodes: firm, cluster, size (as :func:`clustersim.experiment.runner.network_snapshot` gives).
            edges: src, dst, type ("vertical" or "horizontal"), intensity.
            pos: a position for every firm of ``nodes`` (:meth:`NetworkLayout.update`).
            title: put before the title's counts (the page gives the quarter).
        """
        missing = set(nodes["firm"].tolist()) - set(pos)
        if missing:
            raise ValueError(f"live_network_figure: no position for {len(missing)} firms (e.g. {min(missing)})")
        for kind, layer in self.links.items():
            e = edges[(edges["type"] == kind) & edges["src"].isin(pos) & edges["dst"].isin(pos)]
            segs = [(pos[a], pos[b]) for a, b in zip(e["src"].tolist(), e["dst"].tolist(), strict=True)]
            layer.set_segments(segs)
            layer.set_label(f"{kind} links ({len(segs)})")
        xy = np.array([pos[f] for f in nodes["firm"].tolist()], dtype=float).reshape(-1, 2)
        size = nodes["size"].to_numpy(dtype=float)
        self.dots.set_offsets(xy)
        self.dots.set_sizes(8 + 60 * np.sqrt(size / max(size.max(), 1.0)) if len(size) else size)
        self.dots.set_facecolor([cluster_color(c) for c in nodes["cluster"].tolist()])
        n_clusters = len({c for c in nodes["cluster"].tolist() if c >= 0})
        self.title.set_text(f"{title}{len(nodes)} firms, {n_clusters} clusters (colours; grey = none)\n"
                            "solid = supplier–customer, dashed = peer links")
        if len(xy):  # equal scales on both axes: the limits take the axes' shape (cheaper than set_aspect)
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            mid, half = (lo + hi) / 2, np.maximum((hi - lo) / 2 * 1.04, 1e-9)
            box = self.ax.get_position()
            shape = (box.width * self.fig.get_figwidth()) / (box.height * self.fig.get_figheight())
            half = np.maximum(half, (half[1] * shape, half[0] / shape))
            self.ax.set_xlim(mid[0] - half[0], mid[0] + half[0])
            self.ax.set_ylim(mid[1] - half[1], mid[1] + half[1])
        return self.fig


def live_network_figure(nodes: pd.DataFrame, edges: pd.DataFrame, pos: dict[int, np.ndarray],
                        title: str = "") -> Figure:
    """The firm network now, as a new figure (see :class:`LiveNetwork`, which the page updates in place)."""
    return LiveNetwork().update(nodes, edges, pos, title)


class LiveClusters:
    """Each active cluster's members, split by its orientation mix (Moyens, Produits/Marchés, Club de travail
    intensities, normalised to the bar's length); the label carries the cluster's colour. Built once; each
    :meth:`update` replaces the bars and resizes the figure to the number of clusters."""

    def __init__(self) -> None:
        self.fig = Figure(figsize=(6.4, 2.6))  # a fixed layout: constrained layout would double the time
        self.ax = ax = _ax(self.fig)
        ax.legend(handles=[Patch(color=c, label=lab) for c, lab in zip(ORIENTATION_COLORS, _ORIENTATION_LABELS,
                                                                          strict=True)],
                  fontsize=7, loc="lower right")
        self.empty = ax.text(0.5, 0.5, "no active cluster", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("member firms (bar split by orientation mix)", fontsize=8)
        self.title = ax.set_title("", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="x", alpha=0.3)

    def update(self, clusters: pd.DataFrame) -> Figure:
        """The figure for this cluster table (:func:`clustersim.model.tables.cluster_table` columns cluster, alive,
        size, moyens, products_markets, club)."""
        need = {"cluster", "alive", "size", "moyens", "products_markets", "club"}
        if not need <= set(clusters.columns):
            raise ValueError(f"live_clusters_figure: the cluster table lacks {sorted(need - set(clusters.columns))}")
        live = clusters[clusters["alive"].astype(bool)].sort_values("size", ascending=True)
        height = max(2.6, 0.28 * len(live) + 1.2)
        self.fig.set_size_inches(6.4, height)
        self.fig.subplots_adjust(left=0.16, right=0.97, top=1 - 0.4 / height, bottom=0.55 / height)
        ax = self.ax
        for bars in list(ax.containers):
            bars.remove()
        self.empty.set_visible(not len(live))
        self.ax.get_legend().set_visible(bool(len(live)))
        if len(live):
            mix = live[["moyens", "products_markets", "club"]].to_numpy(dtype=float)
            mix = mix / np.maximum(mix.sum(axis=1, keepdims=True), 1e-12)
            size = live["size"].to_numpy(dtype=float)
            y = np.arange(len(live))
            left = np.zeros(len(live))
            for k in range(3):
                ax.barh(y, size * mix[:, k], left=left, color=ORIENTATION_COLORS[k], height=0.7)
                left += size * mix[:, k]
            ax.set_yticks(y, [f"cluster {c}" for c in live["cluster"].tolist()])
            for tick, c in zip(ax.get_yticklabels(), live["cluster"].tolist(), strict=True):
                tick.set_color(cluster_color(c))
            ax.set_ylim(-0.6, len(live) - 0.4)
            ax.set_xlim(0, float(size.max()) * 1.05)
        else:
            ax.set_yticks([])
        self.title.set_text(f"{len(live)} active clusters: size and orientation mix")
        return self.fig


def live_clusters_figure(clusters: pd.DataFrame) -> Figure:
    """Each active cluster's size and orientation mix, as a new figure (see :class:`LiveClusters`)."""
    return LiveClusters().update(clusters)


def _quote(name: str, value: float) -> str:
    unit = INDICATORS[name].unit
    return f"{name.replace('_', ' ')} {value:,.0f}" + ("" if unit in ("firms", "clusters") else f" {unit}")


class LiveIndicators:
    """The indicator families over the quarters run so far: one panel per family, its dimensionless
    indicators as lines (legend with units), its count and money indicators' latest values beside it.
    Built once; :meth:`update` gives the lines their new data.

    Args:
        families: family -> (indicators drawn, indicators quoted); default :data:`LIVE_FAMILIES`.
    """

    def __init__(self, families: dict[str, tuple[list[str], list[str]]] | None = None) -> None:
        self.families = families = families if families is not None else LIVE_FAMILIES
        unknown = [n for lines, quoted in families.values() for n in (*lines, *quoted) if n not in INDICATORS]
        if unknown:
            raise ValueError(f"live_indicators_figure: unknown indicator(s) {unknown}")
        k = len(families)
        self.fig = Figure(figsize=(6.4, 2.0 * k + 0.2))  # a fixed layout: constrained layout would double the time
        axes = self.fig.subplots(k, 1, squeeze=False, sharex=True,
                                 gridspec_kw={"hspace": 0.55, "left": 0.09, "right": 0.66, "top": 0.93,
                                              "bottom": 0.07})
        self.axes = list(axes[:, 0])
        self.lines: dict[str, Line2D] = {}
        self.quotes: dict[str, Text] = {}
        for ax, (family, (lines, quoted)) in zip(self.axes, families.items(), strict=True):
            for name in lines:
                (self.lines[name],) = ax.plot([], [], linewidth=1.5, gid=name,
                                              label=f"{name.replace('_', ' ')} ({INDICATORS[name].unit})")
            ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
            ax.set_title(family.capitalize() if family != "leverage" else "Regional leverage", fontsize=8,
                         loc="left")
            if quoted:  # latest values, under the legend
                self.quotes[family] = ax.text(1.03, 0.0, "", transform=ax.transAxes, fontsize=6.5, va="bottom",
                                              ha="left", color="0.25", gid=f"{family}-latest")
            ax.tick_params(labelsize=7)
            ax.yaxis.set_major_locator(MaxNLocator(4))  # few ticks: they are most of a redraw's cost
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
            ax.grid(alpha=0.3)
        self.axes[-1].set_xlabel("quarter", fontsize=7)

    def update(self, ts: pd.DataFrame) -> Figure:
        """The figure for ``ts`` (``model.timeseries()``: a step column and one column per indicator)."""
        names = [n for lines, quoted in self.families.values() for n in (*lines, *quoted)]
        unknown = [n for n in names if n not in ts.columns]
        if unknown:
            raise ValueError(f"live_indicators_figure: unknown indicator(s) {unknown}")
        if not len(ts):
            raise ValueError("live_indicators_figure: the time series is empty")
        step = ts["step"].to_numpy()
        last = ts.iloc[-1]
        for ax, (family, (lines, quoted)) in zip(self.axes, self.families.items(), strict=True):
            for name in lines:
                self.lines[name].set_data(step, ts[name].to_numpy(dtype=float))
            if quoted:
                self.quotes[family].set_text("\n".join(_quote(n, float(last[n])) for n in quoted))
            ax.relim()
            ax.autoscale_view()
        return self.fig


def live_indicators_figure(ts: pd.DataFrame, families: dict[str, tuple[list[str], list[str]]] | None = None
                           ) -> Figure:
    """The indicator families over the quarters run so far, as a new figure (see :class:`LiveIndicators`).

    Args:
        ts: ``model.timeseries()`` (a step column and one column per indicator).
        families: family -> (indicators drawn, indicators quoted); default :data:`LIVE_FAMILIES`.
    """
    return LiveIndicators(families).update(ts)
