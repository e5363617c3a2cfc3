"""The calibration figure: the model's measurements against a programme's published facts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_calibration"]


def plot_calibration(table: pd.DataFrame, title: str = "call_for_projects against the grappes d'entreprises"):
    """One panel per fact: the model's mean and 95 % interval, the published value and its band."""

    n = len(table)
    fig, axes = plt.subplots(1, n, figsize=(2.8 * n, 3.4))
    axes = np.atleast_1d(axes)
    for ax, row in zip(axes, table.itertuples(), strict=True):
        ax.axhspan(row.band_low, row.band_high, color="tab:green", alpha=0.15, label="order-of-magnitude band")
        ax.axhline(row.fact, color="tab:green", lw=2, label="published fact")
        if np.isfinite(row.model):
            err = None if not np.isfinite(row.model_low) else [[row.model - row.model_low],
                                                                 [row.model_high - row.model]]
            ax.errorbar([0], [row.model], yerr=err, fmt="o", color="tab:blue", capsize=6, label="model (95 % CI)")
        ax.set_xticks([])
        ax.set_title(row.label, fontsize=9)
        ax.set_ylabel(row.unit, fontsize=8)
        lo = min(row.band_low, row.model_low if np.isfinite(row.model_low) else row.band_low)
        hi = max(row.band_high, row.model_high if np.isfinite(row.model_high) else row.band_high)
        pad = 0.15 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad, hi + pad)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
