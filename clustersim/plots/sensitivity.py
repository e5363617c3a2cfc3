"""Figures of a sensitivity analysis: index bars with intervals, Morris μ* against σ, a factor × output heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_indices", "plot_morris", "plot_heatmap", "MAIN_INDEX"]

#: the index that ranks factors, by method (the heatmap shows it)
MAIN_INDEX = {"sobol": "ST", "fast": "ST", "morris": "mu_star", "rbd_fast": "S1", "pawn": "pawn_median",
              "delta": "delta"}


def plot_indices(indices: pd.DataFrame, output: str):
    """First-order and total indices (or the method's indices) of one output as bars with their intervals."""
    import matplotlib.pyplot as plt

    kinds = [k for k in ("S1", "ST", "delta", "pawn_median") if k in set(indices["index"])]
    factors = list(dict.fromkeys(indices.loc[indices["index"].isin(kinds), "factor"]))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(factors) + 2.5), 3.8))
    width = 0.8 / max(len(kinds), 1)
    x = np.arange(len(factors))
    for k, kind in enumerate(kinds):
        sub = indices[indices["index"] == kind].set_index("factor").reindex(factors)
        err = sub["conf"].to_numpy(dtype=float)
        ax.bar(x + (k - (len(kinds) - 1) / 2) * width, sub["value"].to_numpy(dtype=float), width,
               yerr=np.where(np.isfinite(err), err, 0.0), capsize=3, label=kind)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels([f.split(".")[-1] for f in factors], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("index")
    ax.set_title(output, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_morris(indices: pd.DataFrame, output: str):
    """Morris screening of one output: μ* (with its interval) against σ, one labelled point per factor."""
    import matplotlib.pyplot as plt

    mu = indices[indices["index"] == "mu_star"].set_index("factor")
    sigma = indices[indices["index"] == "sigma"].set_index("factor").reindex(mu.index)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.errorbar(mu["value"], sigma["value"], xerr=np.nan_to_num(mu["conf"].to_numpy(dtype=float)), fmt="o",
                capsize=3)
    for f, m, s in zip(mu.index, mu["value"], sigma["value"], strict=True):
        ax.annotate(f.split(".")[-1], (m, s), fontsize=7, xytext=(3, 3), textcoords="offset points")
    top = float(np.nanmax(np.r_[mu["value"].to_numpy(dtype=float), sigma["value"].to_numpy(dtype=float), 1e-12]))
    ax.plot([0, top], [0, top], ls=":", color="grey", lw=0.8, label="σ = μ*")
    ax.set_xlabel("μ* (mean absolute elementary effect)")
    ax.set_ylabel("σ (spread: interactions, non-linearity)")
    ax.set_title(output, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_heatmap(indices: pd.DataFrame, method: str):
    """The method's main index (total index for Sobol'/FAST, μ* scaled per output for Morris) for every
    factor and output: which factor drives which output, at a glance. None if there is nothing to show."""
    import matplotlib.pyplot as plt

    key = MAIN_INDEX.get(method, "ST")
    sub = indices[indices["index"] == key]
    if not len(sub):
        return None
    piv = sub.pivot(index="factor", columns="output", values="value")
    data = piv.to_numpy(dtype=float)
    label = key
    if method == "morris":
        data = data / np.where(np.nanmax(np.abs(data), axis=0) > 0, np.nanmax(np.abs(data), axis=0), 1.0)
        label = "μ* / largest μ* of the output"
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * piv.shape[1] + 3.5), max(3.0, 0.35 * piv.shape[0] + 1.8)))
    im = ax.imshow(data, cmap="viridis", vmin=0, vmax=max(1.0, float(np.nanmax(data))) if method != "morris" else 1.0,
                   aspect="auto")
    ax.set_xticks(range(piv.shape[1]))
    ax.set_xticklabels(piv.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(piv.shape[0]))
    ax.set_yticklabels(piv.index, fontsize=7)
    for i in range(piv.shape[0]):
        for j in range(piv.shape[1]):
            if np.isfinite(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] < 0.5 else "black")
    fig.colorbar(im, ax=ax, label=label)
    ax.set_title(f"{label}: factor × output", fontsize=10)
    fig.tight_layout()
    return fig
