"""Figures of a scenario run: indicator families over time, cluster membership, the firm network.

Every function takes tidy tables (as written by :mod:`clustersim.reports.run`) and returns a matplotlib Figure;
nothing here runs the model or chooses a backend (the command line renders with Agg; a notebook uses its own).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats as _stats

from clustersim.model.indicators import INDICATORS, by_family

__all__ = ["FAMILY_TITLES", "indicator_grid", "mean_and_ci", "plot_family", "plot_membership", "plot_network",
           "style_indicator_axis"]

FAMILY_TITLES = {
    "competitiveness": "Competitiveness",
    "durability": "Durability",
    "leverage": "Regional leverage",
    "mechanisms": "Mechanisms",
}


def mean_and_ci(ts: pd.DataFrame, column: str, level: float = 0.95) -> pd.DataFrame:
    """Mean of ``column`` over replications at each step, with a Student-t confidence interval of the mean.

    Returns columns step, mean, low, high, n. With one replication the interval is the mean itself.
    """
    g = ts.groupby("step")[column]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()
    n = out["n"].to_numpy()
    t = np.where(n > 1, _stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), 0.0)
    half = t * np.nan_to_num(out["sd"].to_numpy()) / np.sqrt(np.maximum(n, 1))
    out["low"] = out["mean"] - half
    out["high"] = out["mean"] + half
    return out[["step", "mean", "low", "high", "n"]]


def indicator_grid(names: list[str], extra_height: float = 0.0) -> tuple[Figure, np.ndarray]:
    """A grid of up to three columns, one panel per indicator; unused panels hidden."""
    cols = min(3, max(len(names), 1))
    rows = int(np.ceil(len(names) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows + extra_height), squeeze=False,
                             constrained_layout=True)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    return fig, axes


def style_indicator_axis(ax, name: str) -> None:
    """Title, unit and quarter axis of one indicator's panel."""
    ax.set_title(name.replace("_", " "), fontsize=10)
    ax.set_ylabel(INDICATORS[name].unit, fontsize=8)
    ax.set_xlabel("quarter", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def plot_family(ts: pd.DataFrame, family: str, title: str | None = None) -> Figure:
    """Each indicator of a family over time: mean across replications and its 95 % confidence band."""
    names = [n for n in by_family(family) if n in ts.columns]
    fig, axes = indicator_grid(names)
    n_rep = ts["replication"].nunique() if "replication" in ts.columns else 1
    for ax, name in zip(axes.flat, names, strict=False):
        band = mean_and_ci(ts, name)
        ax.fill_between(band["step"], band["low"], band["high"], alpha=0.25, color="tab:blue", linewidth=0)
        ax.plot(band["step"], band["mean"], color="tab:blue", linewidth=1.6)
        style_indicator_axis(ax, name)
    fig.suptitle(f"{title or FAMILY_TITLES.get(family, family)} — mean and 95 % CI over {n_rep} replications")
    return fig


def plot_membership(ts: pd.DataFrame, cluster_sizes: pd.DataFrame, replication: int = 0) -> Figure:
    """Cluster membership over time: each cluster's members in one replication (stacked), and the share of
    firms in clusters and number of clusters across replications."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), constrained_layout=True)
    cs = cluster_sizes[cluster_sizes["replication"] == replication]
    if len(cs):
        wide = cs.pivot_table(index="step", columns="cluster", values="size", fill_value=0).sort_index()
        steps = np.arange(0, int(ts["step"].max()) + 1)
        wide = wide.reindex(steps, fill_value=0)
        colors = plt.get_cmap("tab20")(np.arange(wide.shape[1]) % 20)
        ax1.stackplot(wide.index, wide.to_numpy().T, colors=colors, linewidth=0)
    ax1.set_title(f"Members of each cluster (replication {replication})")
    ax1.set_xlabel("quarter")
    ax1.set_ylabel("member firms")
    ax1.grid(alpha=0.3)
    for name, color in (("member_share", "tab:blue"), ("n_clusters", "tab:orange")):
        band = mean_and_ci(ts, name)
        ax = ax2 if name == "member_share" else ax2.twinx()
        ax.fill_between(band["step"], band["low"], band["high"], alpha=0.2, color=color, linewidth=0)
        ax.plot(band["step"], band["mean"], color=color, label=name.replace("_", " "))
        ax.set_ylabel(f"{name.replace('_', ' ')} ({INDICATORS[name].unit})", color=color)
    ax2.set_xlabel("quarter")
    ax2.set_title("Share of firms in clusters and active clusters (mean, 95 % CI)")
    ax2.grid(alpha=0.3)
    return fig


def plot_network(nodes: pd.DataFrame, edges: pd.DataFrame, title: str = "Firm network",
                 seed: int = 0, max_nodes: int = 2000) -> Figure:
    """The firm network: nodes coloured by (first) cluster, grey when outside any cluster, sized by
    employment; supplier–customer links as grey arrows, peer links in colour-neutral dashes."""
    fig, ax = plt.subplots(figsize=(9, 8), constrained_layout=True)
    if len(nodes) > max_nodes:  # keep the layout affordable: the largest firms
        nodes = nodes.nlargest(max_nodes, "size")
    keep = set(nodes["firm"].tolist())
    edges = edges[edges["src"].isin(keep) & edges["dst"].isin(keep)]
    g = nx.Graph()
    g.add_nodes_from(nodes["firm"].tolist())
    g.add_weighted_edges_from(edges[["src", "dst", "intensity"]].itertuples(index=False, name=None))
    # lay out with an invisible hub per cluster pulling its members together; isolated firms on a ring
    hubs = {c: ("hub", c) for c in nodes["cluster"].unique() if c >= 0}
    layout_graph = g.copy()
    for firm, c in zip(nodes["firm"], nodes["cluster"], strict=True):
        if c >= 0:
            layout_graph.add_edge(firm, hubs[c], weight=3.0)
    isolated = [n for n in g.nodes if layout_graph.degree(n) == 0]
    layout_graph.remove_nodes_from(isolated)
    pos = nx.spring_layout(layout_graph, seed=seed, k=2.0 / np.sqrt(max(len(layout_graph), 1))) if len(
        layout_graph) else {}
    angle = np.linspace(0, 2 * np.pi, max(len(isolated), 1), endpoint=False)
    for a, n in zip(angle, isolated, strict=False):
        pos[n] = np.array([1.15 * np.cos(a), 1.15 * np.sin(a)])
    clusters = sorted(c for c in nodes["cluster"].unique() if c >= 0)
    cmap = plt.get_cmap("tab20")
    color_of = {c: cmap(i % 20) for i, c in enumerate(clusters)}
    colors = [color_of.get(c, (0.75, 0.75, 0.75, 1.0)) for c in nodes["cluster"]]
    sizes = 10 + 60 * np.sqrt(nodes["size"].to_numpy() / max(nodes["size"].max(), 1.0))
    for kind, style, color, alpha in (("horizontal", "dashed", "tab:purple", 0.12),
                                      ("vertical", "solid", "0.35", 0.5)):
        e = edges[edges["type"] == kind]
        nx.draw_networkx_edges(g, pos, edgelist=list(zip(e["src"], e["dst"], strict=True)), ax=ax,
                               style=style, edge_color=color, alpha=alpha, width=0.6)
    nx.draw_networkx_nodes(g, pos, nodelist=nodes["firm"].tolist(), node_color=colors, node_size=sizes, ax=ax,
                           linewidths=0.3, edgecolors="0.2")
    ax.set_title(f"{title}: {len(nodes)} firms, {len(clusters)} clusters (colours; grey = none); "
                 "solid = supplier–customer, dashed = peer links", fontsize=9)
    ax.set_axis_off()
    return fig
