"""The docking figures: the simulated measurement over the analytic prediction.

The functions take plain arrays (the docking study's results, unpacked by :mod:`clustersim.reports.docking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_cascade", "plot_gradient"]

SIM, ANA = "tab:blue", "black"


def plot_gradient(curve: dict[str, Any], analytic: dict[str, Any], search: dict[str, Any], title: str,
                  parameter: str):
    """Two panels. Left: the simulated gradient of selection (smoothed, with its 95 % band, and the quarterly
    estimates averaged in bins of 0.025) over the analytic f_C − f_D, with the roots of each. Right: the
    critical search, the maximum of the simulated gradient (with its band) at each parameter value tried, over
    the analytic maximum, with both critical values."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.5, 3.8), gridspec_kw={"width_ratios": [1.35, 1]})
    x, est = np.asarray(curve["x"]), np.asarray(curve["estimate"])
    ax.fill_between(x, curve["lower"], curve["upper"], color=SIM, alpha=0.2, lw=0, label="simulated, 95 % band")
    ax.plot(x, est, color=SIM, lw=1.5, label="simulated (smoothed)")
    sx, sy = np.asarray(curve["samples_x"]), np.asarray(curve["samples_y"])
    if len(sx):
        edges = np.linspace(0, 1, 41)
        idx = np.clip(np.digitize(sx, edges) - 1, 0, 39)
        count = np.bincount(idx, minlength=40)
        mean = np.bincount(idx, weights=sy, minlength=40) / np.maximum(count, 1)
        keep = count >= 5
        ax.plot(((edges[:-1] + edges[1:]) / 2)[keep], mean[keep], ".", color=SIM, ms=4, alpha=0.6,
                label="simulated, bin means")
    ax.plot(analytic["x"], analytic["y"], color=ANA, lw=1.2, ls="--", label="analytic")
    ax.axhline(0, color="0.5", lw=0.6)
    for r in analytic["roots"]:
        ax.axvline(r, color=ANA, ls=":", lw=1)
    for r in curve["roots"] or ():
        ax.axvline(r, color=SIM, ls="-", lw=0.8, alpha=0.8)
    lo = np.nanmin(np.concatenate([curve["lower"], analytic["y"][(analytic["x"] > x[0]) & (analytic["x"] < x[-1])]]))
    hi = np.nanmax(np.concatenate([curve["upper"], analytic["y"][(analytic["x"] > x[0]) & (analytic["x"] < x[-1])]]))
    pad = 0.1 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of cooperators x")
    ax.set_ylabel("gradient f_C − f_D (payoff units)")
    ax.set_title("gradient of selection (dotted: analytic roots; solid: simulated)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    values = np.asarray(search["values"], dtype=float)
    if len(values):
        order = np.argsort(values)
        top = np.asarray(search["maximum"], dtype=float)
        err = [top - np.asarray(search["lower"]), np.asarray(search["upper"]) - top]
        bx.errorbar(values[order], top[order], yerr=[e[order] for e in err], fmt="o", color=SIM, capsize=4,
                    label="simulated maximum (95 % band)")
    bx.plot(search["analytic_values"], search["analytic_maximum"], color=ANA, ls="--", lw=1.2,
            label="analytic maximum")
    bx.axhline(0, color="0.5", lw=0.6)
    if search["analytic_critical"] is not None:
        bx.axvline(search["analytic_critical"], color=ANA, ls=":", lw=1, label="analytic critical")
    if search["critical"] is not None:
        bx.axvline(search["critical"], color=SIM, lw=1, label="simulated critical")
    if search.get("bracket"):
        bx.axvspan(*search["bracket"], color=SIM, alpha=0.12, lw=0)
    bx.set_xlabel(parameter)
    bx.set_ylabel("maximum of the gradient over x")
    bx.set_title("critical value: where the maximum crosses zero", fontsize=9)
    bx.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_cascade(counts: Sequence[int], response_r: np.ndarray, response: np.ndarray, analytic: float,
                 simulated: float | None, title: str):
    """Granovetter's diagram: the number of actors whose threshold is at most r (the response curve) against r,
    the diagonal, the simulated cascade as a cobweb (contributors quarter after quarter) and both fixed points."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    n = max(float(np.max(response)), 1.0)
    ax.plot([0, n], [0, n], color="0.6", lw=0.8, label="r = response")
    ax.step(response_r, response, where="post", color=ANA, lw=1.2, label="actors with threshold ≤ r")
    c = np.asarray(counts, dtype=float)
    if len(c) > 1:
        xs = np.repeat(c[:-1], 2)[1:]
        ys = np.repeat(c[1:], 2)[:-1]
        ax.plot(np.concatenate([[c[0]], xs]), np.concatenate([[c[0]], ys]), color=SIM, lw=1, alpha=0.8,
                label="simulated cascade (quarters)")
    ax.axvline(analytic, color=ANA, ls=":", lw=1, label=f"analytic fixed point {analytic:.1f}")
    if simulated is not None:
        ax.plot([simulated], [simulated], "o", color=SIM, label=f"simulated adopters {simulated:g}")
    ax.set_xlabel("r: actors who contributed last quarter")
    ax.set_ylabel("actors who contribute")
    ax.set_xlim(0, n * 1.02)
    ax.set_ylim(0, n * 1.02)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
