"""Figures of a paired comparison: indicators over time per scenario, paired differences with intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from clustersim.experiment.summary import STATISTICS
from clustersim.model.indicators import FAMILIES, INDICATORS, by_family
from clustersim.plots.indicators import FAMILY_TITLES, indicator_grid, mean_and_ci, style_indicator_axis

__all__ = ["plot_bands", "plot_differences"]

_BASELINE_COLOR = "black"
#: the families drawn by :func:`plot_differences`
DIFFERENCE_FAMILIES = ("competitiveness", "durability", "leverage")


class Comparison(Protocol):
    """What the figures read of a :class:`clustersim.studies.compare.Comparison` (its tables and names)."""

    replications: int
    root_seed: int

    @property
    def baseline_name(self) -> str: ...

    @property
    def names(self) -> list[str]: ...

    def timeseries(self) -> pd.DataFrame: ...

    def differences(self) -> pd.DataFrame: ...


def _colors(names: list[str], baseline: str) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    out: dict[str, Any] = {}
    k = 0
    for n in names:
        if n == baseline:
            out[n] = _BASELINE_COLOR
        else:
            out[n] = cmap(k % 10)
            k += 1
    return out


def plot_bands(comparison: Comparison, indicators: str | Sequence[str]) -> Figure:
    """Indicators over time: per scenario, the mean over replications and its 95 % CI band (baseline in
    black, one colour per scenario).

    ``indicators``: a list of indicator names, one indicator name, or a family name (all its indicators).
    """
    if isinstance(indicators, str):
        names = by_family(indicators) if indicators in FAMILIES else [indicators]
        title = FAMILY_TITLES.get(indicators, indicators.replace("_", " "))
    else:
        names = list(indicators)
        title = "Indicators"
    unknown = [n for n in names if n not in INDICATORS]
    if unknown:
        raise ValueError(f"unknown indicator(s): {', '.join(unknown)}")
    ts = comparison.timeseries()
    colors = _colors(comparison.names, comparison.baseline_name)
    fig, axes = indicator_grid(names, extra_height=0.6)
    for ax, name in zip(axes.flat, names, strict=False):
        for scen in comparison.names:
            part = ts[ts["scenario"] == scen]
            if not len(part):
                continue
            band = mean_and_ci(part, name)
            c = colors[scen]
            ax.fill_between(band["step"], band["low"], band["high"], alpha=0.18, color=c, linewidth=0)
            is_base = scen == comparison.baseline_name
            ax.plot(band["step"], band["mean"], color=c, linewidth=1.6 if is_base else 1.3, label=scen,
                    zorder=3 if is_base else 2)  # the baseline stays visible on top
        style_indicator_axis(ax, name)
    handles = [plt.Line2D([], [], color=colors[n], linewidth=2) for n in comparison.names]
    labels = [f"{n} (baseline)" if n == comparison.baseline_name else n for n in comparison.names]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8, frameon=False)
    fig.suptitle(f"{title} — mean and 95 % CI over {comparison.replications} replications per scenario "
                 f"(common random numbers, root seed {comparison.root_seed})", fontsize=10)
    return fig


def _difference_marker(ax: Any, row: pd.Series, y: float, scale: float, color: Any) -> None:
    """One paired difference (× ``scale``) with its interval at height ``y``; filled when significant."""
    x = row["difference"] * scale
    if not np.isfinite(x):
        return
    lo = max((row["difference"] - row["low"]) * scale, 0.0) if np.isfinite(row["low"]) else 0.0
    hi = max((row["high"] - row["difference"]) * scale, 0.0) if np.isfinite(row["high"]) else 0.0
    ax.errorbar([x], [y], xerr=[[lo], [hi]], fmt="o", color=color, ecolor=color,
                markerfacecolor=color if row["significant"] else "white", markersize=5, capsize=2, linewidth=1.2)


def plot_differences(comparison: Comparison, statistic: str = "late", *, relative: bool = True) -> Figure:
    """Paired differences scenario − baseline with their 95 % CI, one panel per family (competitiveness,
    durability, leverage), one row per indicator, one colour per scenario, and a zero line.

    ``relative`` (default): differences in % of the baseline's mean, so that indicators of different units
    share an axis; an indicator whose baseline mean is 0 is then marked "n/a" (its difference is in the
    tables). ``relative=False``: differences in each indicator's own unit. Filled markers: the CI excludes 0.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)} (got {statistic!r})")
    diff = comparison.differences()
    diff = diff[diff["statistic"] == statistic]
    scen_names = comparison.names[1:]  # the compared scenarios (the baseline comes first)
    colors = _colors(comparison.names, comparison.baseline_name)
    heights = [len(by_family(f)) for f in DIFFERENCE_FAMILIES]
    fig, axes = plt.subplots(len(DIFFERENCE_FAMILIES), 1, figsize=(9, 0.32 * sum(heights) + 2.5),
                             gridspec_kw={"height_ratios": heights}, constrained_layout=True)
    k = len(scen_names)
    offsets = (np.arange(k) - (k - 1) / 2) * (0.7 / max(k, 1))
    for ax, family in zip(axes, DIFFERENCE_FAMILIES, strict=True):
        inds = by_family(family)
        labels = []
        for i, ind in enumerate(inds):
            labels.append(ind.replace("_", " ") if relative else f"{ind.replace('_', ' ')} ({INDICATORS[ind].unit})")
            for j, scen in enumerate(scen_names):
                row = diff[(diff["scenario"] == scen) & (diff["indicator"] == ind)]
                if not len(row):
                    continue
                row = row.iloc[0]
                b = row["mean_baseline"]
                if relative and (not np.isfinite(b) or b == 0):
                    if j == 0:
                        labels[-1] += " (n/a: baseline 0)"
                    continue
                _difference_marker(ax, row, i + offsets[j], 100.0 / abs(b) if relative else 1.0, colors[scen])
        ax.axvline(0.0, color="0.2", linewidth=0.9)
        ax.set_yticks(np.arange(len(inds)), labels, fontsize=8)
        ax.set_ylim(len(inds) - 0.5, -0.5)
        ax.set_title(FAMILY_TITLES.get(family, family), fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel(f"difference from {comparison.baseline_name} (% of its mean)" if relative
                      else f"difference from {comparison.baseline_name} (indicator units)", fontsize=8)
    handles = [plt.Line2D([], [], color=colors[n], marker="o", linestyle="none") for n in scen_names]
    fig.legend(handles, scen_names, loc="outside lower center", ncols=min(max(k, 1), 4), fontsize=8,
               frameon=False)
    what = "mean over the last 20 % of the run" if statistic == "late" else "final value"
    fig.suptitle(f"Paired differences from {comparison.baseline_name} ({what}), mean and 95 % CI over "
                 f"{comparison.replications} replications; filled: CI excludes 0", fontsize=10)
    return fig
