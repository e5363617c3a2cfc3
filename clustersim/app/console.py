"""What the commands print: summary tables of a run's indicators, its public spending, a comparison."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["COMPARE_INDICATORS", "KEY_INDICATORS", "comparison_text", "spending_text", "summary_table"]

#: indicators printed at the end of a run, by family
KEY_INDICATORS = (
    "relative_productivity", "export_share", "capability_index", "firm_survival",
    "n_clusters", "member_share", "cluster_survival", "mean_trust",
    "value_added_growth", "employment", "investors_attracted",
)

#: indicators printed at the end of a comparison
COMPARE_INDICATORS = ("relative_productivity", "export_share", "firm_survival", "n_clusters", "member_share",
                      "mean_trust", "value_added", "employment")


def summary_table(results: Any) -> str:
    """The key indicators at the final quarter across replications: mean and 95 % interval."""
    from clustersim.model.indicators import INDICATORS

    ts = results.timeseries()
    last = ts[ts["step"] == ts["step"].max()]
    lines = [f"{'indicator':<24} {'family':<16} {'unit':<12} {'mean':>12} {'95% CI':>27}"]
    from scipy import stats

    for name in KEY_INDICATORS:
        x = last[name].to_numpy(dtype=float)
        m = float(np.mean(x))
        ind = INDICATORS[name]
        if len(x) > 1:
            half = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
            lo, hi = m - half, m + half
            if ind.unit in ("share", "[0,1]"):  # an interval of a share stays within [0, 1]
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            ci = f"[{lo:,.4g}, {hi:,.4g}]"
        else:
            ci = "(one replication)"
        lines.append(f"{name:<24} {ind.family:<16} {ind.unit:<12} {m:>12,.4g} {ci:>27}")
    return "\n".join(lines)


def spending_text(results: Any) -> str:
    """Public spending per replication by funder and instrument (or a line saying there was none)."""
    table = results.spending_by_instrument()
    if not len(table):
        return "public spending: none (no public policy in this scenario)"
    lines = ["public spending per replication (k€), by funder and instrument:",
             f"{'funder':<8} {'instrument':<20} {'phase':<14} {'total':>12} {'per year':>10} "
             f"{'years':>6} {'per active year':>16}"]
    for row in table.itertuples():
        lines.append(f"{row.funder:<8} {row.instrument:<20} {row.phase:<14} {row.total_per_replication:>12,.1f} "
                     f"{row.per_year_per_replication:>10,.1f} {row.active_years_per_replication:>6.1f} "
                     f"{row.per_active_year:>16,.1f}")
    lines.append(f"{'all':<8} {'':<20} {'':<14} {table['total_per_replication'].sum():>12,.1f} "
                 f"{table['per_year_per_replication'].sum():>10,.1f}")
    lines.append("(per year: over the whole run; years: budget years with spending; per active year: over those)")
    return "\n".join(lines)


def comparison_text(comparison: Any, baseline: str, replications: int) -> str:
    """The paired differences of the key indicators and each scenario's leverage, as printed by compare."""
    diff = comparison.differences()
    late = diff[(diff["statistic"] == "late") & diff["indicator"].isin(COMPARE_INDICATORS)]
    lines = [f"\npaired differences to the baseline '{baseline}' (mean over the last 20 % of the run, "
             f"{replications} paired replications, 95 % CI; variance reduction = gain from pairing):",
             f"{'scenario':<20} {'indicator':<24} {'difference':>12} {'95% CI':>28} {'var. red.':>9}"]
    for row in late.itertuples():
        sig = " *" if row.significant else ""
        vr = "n/a" if np.isnan(row.variance_reduction) else f"{row.variance_reduction:.0%}"
        lines.append(f"{row.scenario:<20} {row.indicator:<24} {row.difference:>12,.4g} "
                     f"{f'[{row.low:,.4g}, {row.high:,.4g}]':>28}{sig:<2} {vr:>7}")
    for row in comparison.leverage().itertuples():
        note = f" ({row.note})" if isinstance(row.note, str) and row.note else ""
        if np.isnan(row.leverage):
            lines.append(f"leverage of {row.scenario}: undefined{note}")
        else:
            lines.append(f"leverage of {row.scenario}: {row.leverage:,.4g} k€ of extra value added per k€ of "
                         f"public money{note}")
    return "\n".join(lines)
