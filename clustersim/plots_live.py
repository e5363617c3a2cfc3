"""Figures of one running model, redrawn after every step by the browser page (:mod:`clustersim.viz`).

Each function reads the model's public tables (:func:`clustersim.runner.network_snapshot`,
``model.timeseries()``, the cluster table) and returns a :class:`matplotlib.figure.Figure` built without
pyplot, so that nothing accumulates in a global figure manager while a page steps for hours.

:class:`NetworkLayout` keeps firms where they were drawn the step before: each step starts the spring
layout from the previous positions and runs a few iterations, so the picture moves smoothly and a step
stays cheap (a full layout of a few hundred firms takes about a second; a warm start, a few
hundredths).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from clustersim.indicators import INDICATORS  # noqa: E402

__all__ = ["LIVE_FAMILIES", "ORIENTATION_COLORS", "NetworkLayout", "cluster_color", "live_network_figure",
           "live_clusters_figure", "live_indicators_figure"]

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


def live_network_figure(nodes: pd.DataFrame, edges: pd.DataFrame, pos: dict[int, np.ndarray],
                        title: str = "") -> Figure:
    """The firm network now: nodes coloured by (first) cluster, grey outside clusters, area by employment;
    supplier–customer links solid grey, peer links dashed purple.

    Args:
        nodes: firm, cluster, size (as :func:`clustersim.runner.network_snapshot` gives).
        edges: src, dst, type ("vertical" or "horizontal"), intensity.
        pos: a position for every firm of ``nodes`` (:meth:`NetworkLayout.update`).
    """
    missing = set(nodes["firm"].tolist()) - set(pos)
    if missing:
        raise ValueError(f"live_network_figure: no position for {len(missing)} firms (e.g. {min(missing)})")
    fig = Figure(figsize=(6.4, 5.6), constrained_layout=True)
    ax = _ax(fig)
    for kind, style, color, alpha in (("horizontal", "dashed", "tab:purple", 0.25),
                                      ("vertical", "solid", "0.35", 0.55)):
        e = edges[(edges["type"] == kind) & edges["src"].isin(pos) & edges["dst"].isin(pos)]
        segs = [(pos[a], pos[b]) for a, b in zip(e["src"].tolist(), e["dst"].tolist(), strict=True)]
        ax.add_collection(LineCollection(segs, colors=color, linestyles=style, linewidths=0.6, alpha=alpha,
                                         label=f"{kind} links ({len(segs)})", gid=f"{kind}-links"))
    xy = np.array([pos[f] for f in nodes["firm"].tolist()]).reshape(-1, 2)
    colors = [cluster_color(c) for c in nodes["cluster"].tolist()]
    size = nodes["size"].to_numpy(dtype=float)
    area = 8 + 60 * np.sqrt(size / max(size.max(), 1.0)) if len(size) else size
    ax.scatter(xy[:, 0], xy[:, 1], s=area, c=colors, linewidths=0.3, edgecolors="0.2", zorder=3, gid="firms")
    n_clusters = len({c for c in nodes["cluster"].tolist() if c >= 0})
    ax.set_title(f"{title}{len(nodes)} firms, {n_clusters} clusters (colours; grey = none)\n"
                 "solid = supplier–customer, dashed = peer links", fontsize=9)
    ax.autoscale()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    return fig


def live_clusters_figure(clusters: pd.DataFrame) -> Figure:
    """Each active cluster's members, split by its orientation mix (Moyens, Produits/Marchés, Club de
    travail intensities, normalised to the bar's length); the label carries the cluster's colour and stage.

    Args:
        clusters: the cluster table (:func:`clustersim.runner._cluster_table` columns cluster, alive, size,
            moyens, products_markets, club).
    """
    need = {"cluster", "alive", "size", "moyens", "products_markets", "club"}
    if not need <= set(clusters.columns):
        raise ValueError(f"live_clusters_figure: the cluster table lacks {sorted(need - set(clusters.columns))}")
    live = clusters[clusters["alive"].astype(bool)].sort_values("size", ascending=True)
    height = max(2.6, 0.28 * len(live) + 1.2)
    fig = Figure(figsize=(6.4, height))  # a fixed layout: constrained layout would double the time
    fig.subplots_adjust(left=0.16, right=0.97, top=1 - 0.4 / height, bottom=0.55 / height)
    ax = _ax(fig)
    if len(live):
        mix = live[["moyens", "products_markets", "club"]].to_numpy(dtype=float)
        mix = mix / np.maximum(mix.sum(axis=1, keepdims=True), 1e-12)
        size = live["size"].to_numpy(dtype=float)
        y = np.arange(len(live))
        left = np.zeros(len(live))
        for k in range(3):
            ax.barh(y, size * mix[:, k], left=left, color=ORIENTATION_COLORS[k], label=_ORIENTATION_LABELS[k],
                    height=0.7)
            left += size * mix[:, k]
        ax.set_yticks(y, [f"cluster {c}" for c in live["cluster"].tolist()], fontsize=7)
        for tick, c in zip(ax.get_yticklabels(), live["cluster"].tolist(), strict=True):
            tick.set_color(cluster_color(c))
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no active cluster", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("member firms (bar split by orientation mix)", fontsize=8)
    ax.set_title(f"{len(live)} active clusters: size and orientation mix", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _quote(name: str, value: float) -> str:
    unit = INDICATORS[name].unit
    return f"{name.replace('_', ' ')} {value:,.0f}" + ("" if unit in ("firms", "clusters") else f" {unit}")


def live_indicators_figure(ts: pd.DataFrame, families: dict[str, tuple[list[str], list[str]]] | None = None
                           ) -> Figure:
    """The indicator families over the quarters run so far: one panel per family, its dimensionless
    indicators as lines (legend with units), its count and money indicators' latest values beside it.

    Args:
        ts: ``model.timeseries()`` (a step column and one column per indicator).
        families: family -> (indicators drawn, indicators quoted); default :data:`LIVE_FAMILIES`.
    """
    families = families if families is not None else LIVE_FAMILIES
    names = [n for lines, quoted in families.values() for n in (*lines, *quoted)]
    unknown = [n for n in names if n not in INDICATORS or n not in ts.columns]
    if unknown:
        raise ValueError(f"live_indicators_figure: unknown indicator(s) {unknown}")
    if not len(ts):
        raise ValueError("live_indicators_figure: the time series is empty")
    k = len(families)
    fig = Figure(figsize=(6.4, 2.0 * k + 0.2))  # a fixed layout: constrained layout would double the time
    axes = fig.subplots(k, 1, squeeze=False, sharex=True,
                        gridspec_kw={"hspace": 0.55, "left": 0.09, "right": 0.66, "top": 0.93, "bottom": 0.07})
    step = ts["step"].to_numpy()
    last = ts.iloc[-1]
    for ax, (family, (lines, quoted)) in zip(axes[:, 0], families.items(), strict=True):
        for name in lines:
            ax.plot(step, ts[name].to_numpy(dtype=float), linewidth=1.5, gid=name,
                    label=f"{name.replace('_', ' ')} ({INDICATORS[name].unit})")
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.set_title(family.capitalize() if family != "leverage" else "Regional leverage", fontsize=8, loc="left")
        if quoted:  # latest values, under the legend
            ax.text(1.03, 0.0, "\n".join(_quote(n, float(last[n])) for n in quoted), transform=ax.transAxes,
                    fontsize=6.5, va="bottom", ha="left", color="0.25", gid=f"{family}-latest")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("quarter", fontsize=7)
    return fig
