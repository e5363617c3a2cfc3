"""The run summary: one row of numbers per run, the same whichever front end ran it.

Each indicator's final value (``<name>_final``) and its mean over the last :data:`LATE_WINDOW` of the run
(``<name>_late``), cluster life-cycle statistics (also by founding mode), and public spending by item and
funder (``spending_<item>``, ``spending_by_<funder>``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clustersim.model.indicators import INDICATORS, SURVIVAL_WINDOW
from clustersim.model.model import FOUNDED_MODES, ClusterModel
from clustersim.model.policy.instruments import SPENDING_ITEMS
from clustersim.model.state import formed_in_observation
from clustersim.model.tables import spending_table
from clustersim.scenario.schema import FUNDER_NAMES

__all__ = ["LATE_WINDOW", "STATISTICS", "late_steps", "model_spending_summary", "summarise_model", "summarise_run",
           "summarise_spending"]

#: share of the run (its last part) over which ``<indicator>_late`` summaries are averaged
LATE_WINDOW = 0.2
#: the per-run statistics of each indicator: ``<name>_late`` (mean over the late window), ``<name>_final``
STATISTICS = ("late", "final")


def summarise_spending(spending: pd.DataFrame) -> dict[str, float]:
    """Total public spending of a run, by instrument (``spending_<item>``) and funder (``spending_by_<funder>``),
    the same columns whatever the scenario."""
    out = {"public_spending_total": float(spending["amount"].sum()) if len(spending) else 0.0}
    by_item = spending.groupby("instrument")["amount"].sum() if len(spending) else {}
    by_funder = spending.groupby("funder")["amount"].sum() if len(spending) else {}
    for item in SPENDING_ITEMS:
        out[f"spending_{item}"] = float(by_item.get(item, 0.0)) if len(spending) else 0.0
    for f in FUNDER_NAMES:
        out[f"spending_by_{f}"] = float(by_funder.get(f, 0.0)) if len(spending) else 0.0
    return out


def late_steps(steps: int) -> np.ndarray:
    """The quarters whose indicators a run summary averages (the last :data:`LATE_WINDOW` of ``steps``)."""
    step = np.arange(steps + 1)
    return step[step >= steps * (1 - LATE_WINDOW)]


def _summary(step: np.ndarray, values: np.ndarray, alive: np.ndarray, lifetime: np.ndarray, born: np.ndarray,
             founded_mode: np.ndarray, steps: int) -> dict[str, float]:
    """The run summary from arrays: ``values`` (indicator × step, in :data:`INDICATORS` order) and the
    cluster table's columns. Each mean is computed as pandas computes a column's mean (a float64 sum of one
    contiguous row, divided by the count), so both entry points give identical numbers."""
    out: dict[str, float] = {}
    late = np.ascontiguousarray(values[:, step >= steps * (1 - LATE_WINDOW)])
    n_late = late.shape[1]
    for k, name in enumerate(INDICATORS):
        out[f"{name}_final"] = float(values[k, -1])
        out[f"{name}_late"] = float(late[k].sum() / n_late) if n_late else float("nan")
    dead = ~alive
    n_dead = int(dead.sum())
    out["cluster_lifetime_dissolved_mean"] = (float(lifetime[dead].sum(dtype=np.float64) / n_dead) if n_dead
                                              else float(steps))
    old = born <= steps - SURVIVAL_WINDOW
    n_old = int(old.sum())
    out["cluster_survival_12q"] = float((lifetime[old] >= SURVIVAL_WINDOW).sum() / n_old) if n_old else 1.0
    out["clusters_ever"] = float(len(born))
    for code, mode in enumerate(FOUNDED_MODES):
        out[f"clusters_formed_{mode}"] = float((founded_mode == code).sum())
    return out


def summarise_run(ts: pd.DataFrame, clusters: pd.DataFrame, steps: int) -> dict[str, float]:
    """Per-run summary: each indicator's final value and its mean over the last 20 % of the run,
    plus cluster life-cycle statistics (also by founding mode)."""
    values = np.ascontiguousarray(ts[list(INDICATORS)].to_numpy(dtype=np.float64).T)
    alive = clusters["alive"].to_numpy(dtype=bool)
    seen = formed_in_observation(clusters["born"].to_numpy())
    return _summary(ts["step"].to_numpy(), values, alive[seen], clusters["lifetime"].to_numpy()[seen],
                    clusters["born"].to_numpy()[seen], clusters["founded_mode"].to_numpy()[seen], steps)


def summarise_model(model: ClusterModel, steps: int) -> dict[str, float]:
    """:func:`summarise_run` of a model's recorded time series and cluster table, read from the model
    directly (no data frames: what a sweep's evaluation needs, at a fraction of the cost)."""
    if model.datacollector is None:
        raise ValueError("summarise_model: the model was built with collect=False (no indicators recorded)")
    columns = model.datacollector.model_vars
    values = np.array([columns[name] for name in INDICATORS], dtype=np.float64)
    if model.record_from > min(late_steps(steps)[0], model.now):
        raise ValueError(f"summarise_model: indicators were recorded from quarter {model.record_from}, after the "
                         f"first quarter the summary reads ({late_steps(steps)[0]})")
    C, n = model.clusters, model.clusters.n
    alive = C.alive[:n]
    seen = formed_in_observation(C.born[:n])
    lifetime = np.where(alive, model.now - C.born[:n], C.died[:n] - C.born[:n])
    return _summary(np.arange(model.record_from, model.record_from + values.shape[1]), values, alive[seen],
                    lifetime[seen], C.born[:n][seen], C.founded_mode[:n][seen], steps)


def model_spending_summary(model: ClusterModel) -> dict[str, float]:
    """:func:`summarise_spending` of a model's ledger (all zeros, without building it, when no public
    policy acts)."""
    if getattr(model.policy, "treasury", None) is None:
        return {"public_spending_total": 0.0, **{f"spending_{item}": 0.0 for item in SPENDING_ITEMS},
                **{f"spending_by_{f}": 0.0 for f in FUNDER_NAMES}}
    return summarise_spending(spending_table(model))
