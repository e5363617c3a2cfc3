"""Clusters' survival by age and their hazard of dissolution, from runs' cluster tables (ODD 7.21).

A cluster is observed from the later of its founding and quarter 0 (clusters formed in the warm-up enter
observation at the age they had then: left truncation) until its dissolution or the end of the run (right
censoring). The hazard of each age band is a life-table (actuarial) estimate: dissolutions observed at ages in
the band over the cluster-quarters observed at risk in it (a cluster dissolved in the quarter it was formed has
no exposure and is not counted); survival to age ``a`` is the product of the bands'
quarterly survival, ``Π (1 − h_band)^(quarters of the band below a)``. This is the exposure-based estimator of
demography for grouped data, which handles truncation and censoring exactly by counting exposure; it needs no
survival library (lifelines would bring autograd and formulaic for these ten lines); the rates' intervals are
scipy's chi-square quantiles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

__all__ = ["hazard_table", "size_distribution"]


def hazard_table(clusters: pd.DataFrame, steps: int, band: int = 4, max_age: int | None = None) -> pd.DataFrame:
    """Hazard and survival by cluster age from the cluster tables of runs of ``steps`` observed quarters.

    ``clusters`` has the columns of :func:`clustersim.model.tables.cluster_table` (``born``, ``died``,
    ``alive``), one table per run stacked. Returns one row per age band of ``band`` quarters (years with the
    default): ``age_from``, ``age_to``, ``exposure`` (cluster-quarters at risk), ``dissolved``, ``hazard`` (per
    quarter), ``hazard_low``/``hazard_high`` (95 % Poisson interval), ``survival`` (to the band's end, from
    age 0) and ``n_at_risk`` (clusters observed at some age of the band).
    """
    born = clusters["born"].to_numpy(dtype=np.int64)
    died = clusters["died"].to_numpy(dtype=np.int64)
    alive = clusters["alive"].to_numpy(dtype=bool)
    seen = alive | (died > 0)  # not those the warm-up dissolved
    born, died, alive = born[seen], died[seen], alive[seen]
    entry = np.maximum(0, -born)  # age at which observation starts
    exit_age = np.where(alive, steps - born, died - born)  # age at dissolution or censoring
    top = int(exit_age.max()) if len(exit_age) else band
    if max_age is not None:
        top = min(top, max_age)
    rows = []
    survival = 1.0
    for lo in range(0, top + 1, band):
        hi = lo + band
        exposure = np.clip(np.minimum(exit_age, hi) - np.maximum(entry, lo), 0, None).sum()
        events = int(np.count_nonzero(~alive & (exit_age > lo) & (exit_age <= hi)))
        at_risk = int(np.count_nonzero((entry < hi) & (exit_age > lo)))
        h = events / exposure if exposure else float("nan")
        low, high = _poisson_interval(events, float(exposure))
        # survival from age 0 is known only while every band before has exposure
        survival = survival * (1 - h) ** band if exposure else float("nan")
        rows.append({"age_from": lo, "age_to": hi, "exposure": float(exposure), "dissolved": events, "hazard": h,
                     "hazard_low": low, "hazard_high": high, "survival": survival,
                     "n_at_risk": at_risk})
    return pd.DataFrame(rows)


def _poisson_interval(events: int, exposure: float) -> tuple[float, float]:
    """The exact 95 % interval of a rate from a Poisson count (Garwood's chi-square bounds)."""
    if not exposure:
        return float("nan"), float("nan")
    low = 0.0 if events == 0 else float(chi2.ppf(0.025, 2 * events)) / 2
    high = float(chi2.ppf(0.975, 2 * events + 2)) / 2
    return low / exposure, high / exposure


def size_distribution(sizes: np.ndarray) -> dict[str, float]:
    """Median, 90th percentile and largest of live clusters' member counts (``n`` clusters)."""
    sizes = np.asarray(sizes, dtype=np.float64)
    if not len(sizes):
        return {"n": 0.0, "median": float("nan"), "p90": float("nan"), "largest": float("nan")}
    return {"n": float(len(sizes)), "median": float(np.median(sizes)), "p90": float(np.percentile(sizes, 90)),
            "largest": float(sizes.max())}
