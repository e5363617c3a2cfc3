"""Comparing a calls-for-projects scenario with the published facts of a real programme.

:data:`GRAPPES_FACTS` holds the French "grappes d'entreprises" programme's public figures (see
``docs/calibration.md``). :func:`programme_metrics` measures the same quantities on the clusters a scenario
labelled (selected in a call, identified or labelled otherwise), per replication; :func:`compare_with_facts`
summarises them with 95 % confidence intervals next to the facts; :func:`clustersim.plots.calibration.plot_calibration`
draws them.

Conventions (one step = one quarter):

- *selection rate*: projects selected over applications, over all calls (indicator ``selection_rate``);
- *support per cluster and year*: public money paid to identified clusters (ledger rows with a cluster),
  over the cluster-years of support;
- *support duration*: quarters supported (from the one after labelling to the last before support ended),
  in years, over the clusters whose support ended;
- *survival*: share of labelled clusters still active ``survival_lag`` quarters after their labelling
  (3.5 years by default: the programme's 2014 evaluation came 3–4 years after the 2010–2011 selections);
- *membership growth*: mean size of the surviving labelled clusters ``growth_to`` quarters after labelling
  over their mean size ``growth_from`` quarters after it, minus 1 (the programme: +29 % from 2011 to 2013,
  i.e. from about one to about three years after selection).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from clustersim.model.policy.treasury import YEAR

__all__ = ["Fact", "GRAPPES_FACTS", "programme_metrics", "compare_with_facts"]


@dataclass(frozen=True)
class Fact:
    """A published figure and the band within which a model value counts as matching in order of magnitude."""

    label: str
    value: float
    unit: str
    low: float
    high: float
    source: str


#: The "grappes d'entreprises" programme (DATAR, from 2009), as summarised in ../shared/MISSION.md.
GRAPPES_FACTS: dict[str, Fact] = {
    "selection_rate": Fact("selection rate", 0.375, "share", 0.25, 0.5,
                           "wave 1: 42 of 112 applications selected"),
    "support_per_cluster_year": Fact("public support per cluster", 100.0, "k€/year", 50.0, 200.0,
                                     "about 100 k€ per year per cluster"),
    "support_years": Fact("duration of support", 3.0, "years", 2.0, 4.0,
                          "about 3 years, then state support ended by design"),
    "survival": Fact("survival 3.5 years on", 0.96, "share", 0.85, 1.0,
                     "121 of 126 still active at the 2014 evaluation"),
    "membership_growth": Fact("membership growth, 2 years", 0.29, "relative change", 0.1, 0.6,
                              "mean members +29 % over 2011–2013"),
}


def programme_metrics(clusters: pd.DataFrame, cluster_sizes: pd.DataFrame, spending: pd.DataFrame,
                      timeseries: pd.DataFrame, steps: int, *, survival_lag: int = 14, growth_from: int = 4,
                      growth_to: int = 12) -> pd.DataFrame:
    """One row per replication with the quantities of :data:`GRAPPES_FACTS` (NaN where undefined).

    Arguments are the tables of a :class:`~clustersim.experiment.runner.ScenarioResults` (``clusters()``,
    ``cluster_sizes()``, ``spending()``, ``timeseries()``) and the number of quarters run.
    """
    rows = []
    for rep, cl in clusters.groupby("replication"):
        lab = cl[cl["labelled_at"] >= 0]
        ts = timeseries[timeseries["replication"] == rep]
        last = ts[ts["step"] == ts["step"].max()].iloc[0]
        sp = spending[(spending["replication"] == rep) & (spending["cluster"] >= 0)] if len(spending) else spending
        # supported quarters: from the one after labelling to the last before support ended (support_ended is
        # the first quarter without it), to dissolution, or to the end of the run
        last_q = np.where(lab["support_ended"] >= 0, lab["support_ended"] - 1,
                          np.where(lab["died"] >= 0, lab["died"], steps))
        quarters = (last_q - lab["labelled_at"]).to_numpy(dtype=np.float64)
        per_year = float(sp["amount"].sum() / (quarters.sum() / YEAR)) if quarters.sum() > 0 else np.nan
        finished = (lab["support_ended"] >= 0).to_numpy()
        years = float(quarters[finished].mean() / YEAR) if finished.any() else np.nan
        old = lab[lab["labelled_at"] + survival_lag <= steps]
        alive_then = (old["died"] < 0) | (old["died"] > old["labelled_at"] + survival_lag)
        survival = float(alive_then.mean()) if len(old) else np.nan
        sizes = cluster_sizes[cluster_sizes["replication"] == rep].set_index(["cluster", "step"])["size"]
        grow = lab[lab["labelled_at"] + growth_to <= steps]
        before, after = [], []
        for c, t0 in zip(grow["cluster"].to_numpy(), grow["labelled_at"].to_numpy(), strict=True):
            a, b = (int(c), int(t0 + growth_from)), (int(c), int(t0 + growth_to))
            if a in sizes.index and b in sizes.index:
                before.append(sizes[a])
                after.append(sizes[b])
        growth = float(np.mean(after) / np.mean(before) - 1) if before else np.nan
        rows.append({"replication": rep, "applications": float(last["applications"]),
                     "selection_rate": float(last["selection_rate"]) if last["applications"] else np.nan,
                     "labelled": float(len(lab)), "support_per_cluster_year": per_year, "support_years": years,
                     "survival": survival, "membership_growth": growth,
                     "mean_size_labelled": float(np.mean(after)) if after else np.nan})
    return pd.DataFrame(rows)


def compare_with_facts(metrics: pd.DataFrame, facts: dict[str, Fact] | None = None) -> pd.DataFrame:
    """Per fact: the model's mean over replications with its 95 % t-interval, the fact, and whether the
    model's mean lies in the fact's order-of-magnitude band."""
    facts = GRAPPES_FACTS if facts is None else facts
    out = []
    for key, fact in facts.items():
        x = metrics[key].dropna().to_numpy(dtype=np.float64)
        n = len(x)
        mean = float(x.mean()) if n else np.nan
        half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        out.append({"quantity": key, "label": fact.label, "unit": fact.unit, "model": mean, "model_low": mean - half,
                    "model_high": mean + half, "n": n, "fact": fact.value, "band_low": fact.low,
                    "band_high": fact.high, "in_band": bool(fact.low <= mean <= fact.high) if n else False,
                    "source": fact.source})
    return pd.DataFrame(out)
