"""Paired comparison of scenarios against a baseline, with common random numbers.

:func:`compare_scenarios` runs a baseline and each scenario with the same root seed and number of
replications. Replication ``i`` of every scenario then uses the same random stream
(``numpy.random.SeedSequence(root_seed, spawn_key=(i,))``, see :func:`clustersim.runner.replication_seed`):
two scenarios differ in their parameters, not in their luck. Differences are therefore taken replication
by replication (*paired*), and the noise both runs share cancels; :meth:`Comparison.differences` reports
how much variance the pairing removed.

Tables (tidy pandas frames, one row per scenario × indicator × statistic):

- :meth:`Comparison.means` -- each scenario's mean over replications of each indicator's summary
  (``late``: mean over the last 20 % of the run; ``final``: value at the last quarter), 95 % Student-t CI;
- :meth:`Comparison.differences` -- paired differences scenario − baseline, 95 % t CI, the variance of
  the estimated difference paired and unpaired, the variance reduction and significance;
- :meth:`Comparison.leverage` -- extra regional value added per unit of extra public money;
- :meth:`Comparison.timeseries` -- every run's time series with a ``scenario`` column.

Figures: :func:`plot_bands`, :func:`plot_differences`. :func:`write_comparison` writes everything into a
new folder, atomically (as :func:`clustersim.output.write_results`).

Pairing rule: replication ``i`` of a scenario is paired with replication ``i`` of the baseline; a pair
is used only when both runs succeeded (failed runs are listed by :meth:`Comparison.failures`), and ``n``
in every table is the number of pairs (or of runs, for means) actually used.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats as _stats  # noqa: E402

from clustersim.config import Scenario  # noqa: E402
from clustersim.indicators import FAMILIES, INDICATORS, by_family  # noqa: E402
from clustersim.output import provenance, publish_folder, write_parquet  # noqa: E402
from clustersim.plots import FAMILY_TITLES, indicator_grid, mean_and_ci, style_indicator_axis  # noqa: E402
from clustersim.runner import LATE_WINDOW, RunResult, ScenarioResults, replication_seed, run_scenario  # noqa: E402
from clustersim.scenario_io import scenario_hash, scenario_to_dict  # noqa: E402

__all__ = [
    "Comparison",
    "compare_scenarios",
    "plot_bands",
    "plot_differences",
    "write_comparison",
    "STATISTICS",
    "CI_LEVEL",
]

#: the per-run summaries compared: ``<indicator>_late`` (mean over the last 20 % of the run), ``_final``
STATISTICS = ("late", "final")
#: confidence level of every interval
CI_LEVEL = 0.95
#: the families shown by :func:`plot_differences`
DIFFERENCE_FAMILIES = ("competitiveness", "durability", "leverage")
#: relative tolerance under which extra public spending counts as zero (leverage undefined)
SPENDING_RTOL = 1e-9

SEEDING = ("replication i of every scenario (baseline included) uses numpy.random.SeedSequence(root_seed, "
           "spawn_key=(i,)) == SeedSequence(root_seed).spawn(R)[i]: common random numbers, so replication i "
           "of a scenario is paired with replication i of the baseline")

_BASELINE_COLOR = "black"


# --------------------------------------------------------------------------------------------- statistics
def _t_interval(values: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float, float, float, int]:
    """Mean, sample sd, CI low, CI high and n of the finite ``values`` (Student t).

    n = 0: everything NaN. n = 1: the mean, NaN sd and interval (no estimate of the spread).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, np.nan, np.nan, np.nan, n
    sd = float(x.std(ddof=1))
    half = float(_stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return mean, sd, mean - half, mean + half, n


def _sample_var(x: np.ndarray) -> float:
    return float(x.var(ddof=1)) if len(x) >= 2 else np.nan


# --------------------------------------------------------------------------------------------- comparison
@dataclass
class Comparison:
    """A baseline and scenarios run with the same root seed and replications (common random numbers).

    Attributes:
        baseline: the baseline's results.
        scenarios: each compared scenario's results, in the order given.
        root_seed: the root seed shared by all runs.
        replications: replications per scenario.
        steps: quarters per run.
        workers: processes used per scenario.
        started, finished: wall-clock time stamps (seconds since the epoch) of the whole comparison.
    """

    baseline: ScenarioResults
    scenarios: list[ScenarioResults]
    root_seed: int
    replications: int
    steps: int
    workers: int
    started: float
    finished: float

    # ---- structure
    @property
    def baseline_name(self) -> str:
        return self.baseline.scenario.name

    @property
    def names(self) -> list[str]:
        """Scenario names, baseline first."""
        return [self.baseline_name, *(r.scenario.name for r in self.scenarios)]

    @property
    def results(self) -> dict[str, ScenarioResults]:
        """Each scenario's results by name, baseline first."""
        return {r.scenario.name: r for r in (self.baseline, *self.scenarios)}

    def failures(self) -> pd.DataFrame:
        """Failed replications: scenario, replication, error (traceback)."""
        rows = [{"scenario": name, "replication": run.replication, "error": run.error}
                for name, res in self.results.items() for run in res.failed_runs]
        return pd.DataFrame(rows, columns=["scenario", "replication", "error"])

    # ---- helpers
    @staticmethod
    def _summary(res: ScenarioResults) -> pd.DataFrame:
        """Summary statistics of the successful runs, indexed by replication."""
        rows = {r.replication: r.summary for r in res.ok_runs}
        return pd.DataFrame.from_dict(rows, orient="index").sort_index()

    @staticmethod
    def _runs_timeseries(res: ScenarioResults) -> pd.DataFrame | None:
        ok = res.ok_runs
        return pd.concat([r.timeseries for r in ok], ignore_index=True) if ok else None

    # ---- tables
    def means(self) -> pd.DataFrame:
        """Per scenario (baseline first), indicator and statistic: mean over replications and its 95 % t CI.

        Columns: scenario, is_baseline, indicator, family, unit, statistic ("late" | "final"), mean, sd,
        low, high, n.
        """
        rows = []
        for name, res in self.results.items():
            summ = self._summary(res)
            for ind, meta in INDICATORS.items():
                for stat in STATISTICS:
                    col = f"{ind}_{stat}"
                    values = summ[col].to_numpy(dtype=np.float64) if col in summ.columns else np.zeros(0)
                    mean, sd, lo, hi, n = _t_interval(values)
                    rows.append({"scenario": name, "is_baseline": name == self.baseline_name, "indicator": ind,
                                 "family": meta.family, "unit": meta.unit, "statistic": stat, "mean": mean,
                                 "sd": sd, "low": lo, "high": hi, "n": n})
        return pd.DataFrame(rows)

    def differences(self) -> pd.DataFrame:
        """Per compared scenario, indicator and statistic: the paired difference scenario − baseline.

        Replication i of the scenario is paired with replication i of the baseline (same random stream).
        Columns:

        - ``mean_scenario``, ``mean_baseline``: means over the paired replications;
        - ``difference``: mean of the paired differences d_i = x_i − b_i; ``sd_diff``: their sample sd;
          ``low``, ``high``: 95 % Student-t CI of the mean difference; ``n``: pairs used;
        - ``var_paired`` = var(d)/n and ``var_unpaired`` = var(x)/n + var(b)/n: the variance of the
          estimated mean difference with pairing, and what it would be for independent runs;
        - ``variance_reduction`` = 1 − var_paired/var_unpaired (the gain from pairing; negative if the
          runs were anti-correlated); NaN (undefined) when var_unpaired is 0 (both scenarios constant
          across replications) or n < 2;
        - ``significant``: the CI excludes 0 (False when n < 2).
        """
        base = self._summary(self.baseline)
        rows = []
        for res in self.scenarios:
            summ = self._summary(res)
            common = summ.index.intersection(base.index)
            for ind, meta in INDICATORS.items():
                for stat in STATISTICS:
                    col = f"{ind}_{stat}"
                    if col in summ.columns and col in base.columns:
                        x = summ.loc[common, col].to_numpy(dtype=np.float64)
                        b = base.loc[common, col].to_numpy(dtype=np.float64)
                        keep = np.isfinite(x) & np.isfinite(b)
                        x, b = x[keep], b[keep]
                    else:
                        x = b = np.zeros(0)
                    d = x - b
                    mean, sd, lo, hi, n = _t_interval(d)
                    var_p = _sample_var(d) / n if n >= 2 else np.nan
                    var_u = (_sample_var(x) + _sample_var(b)) / n if n >= 2 else np.nan
                    if n >= 2 and var_u > 0:
                        reduction = 1.0 - var_p / var_u
                    else:
                        reduction = np.nan
                    rows.append({
                        "scenario": res.scenario.name, "baseline": self.baseline_name, "indicator": ind,
                        "family": meta.family, "unit": meta.unit, "statistic": stat,
                        "mean_scenario": float(x.mean()) if n else np.nan,
                        "mean_baseline": float(b.mean()) if n else np.nan,
                        "difference": mean, "sd_diff": sd, "low": lo, "high": hi, "n": n,
                        "var_paired": var_p, "var_unpaired": var_u, "variance_reduction": reduction,
                        "significant": bool(n >= 2 and (lo > 0 or hi < 0)),
                    })
        return pd.DataFrame(rows)

    def leverage_by_replication(self) -> pd.DataFrame:
        """Per compared scenario and paired replication: the extra value added and extra public spending
        over the baseline, summed over quarters 1..T (step 0, the initial state, is not a quarter of the
        run), and their ratio.

        Columns: scenario, baseline, replication, extra_value_added (k€), extra_public_spending (k€),
        leverage, defined. ``defined`` is False -- and ``leverage`` NaN -- when the extra public spending
        is zero (within a relative tolerance of 1e-9 of the spending of either run): leverage is then
        undefined, never infinite.
        """
        cols = ["scenario", "baseline", "replication", "extra_value_added", "extra_public_spending",
                "leverage", "defined"]
        base_ts = self._runs_timeseries(self.baseline)
        frames = []
        for res in self.scenarios:
            ts = self._runs_timeseries(res)
            if ts is None or base_ts is None:
                continue
            keys = ["replication", "step"]
            m = ts.loc[ts["step"] >= 1, [*keys, "value_added", "public_spending"]].merge(
                base_ts.loc[base_ts["step"] >= 1, [*keys, "value_added", "public_spending"]],
                on=keys, how="inner", suffixes=("_s", "_b"))
            m["dva"] = m["value_added_s"] - m["value_added_b"]
            m["dps"] = m["public_spending_s"] - m["public_spending_b"]
            m["abs_s"] = m["public_spending_s"].abs()
            m["abs_b"] = m["public_spending_b"].abs()
            g = m.groupby("replication", sort=True)[["dva", "dps", "abs_s", "abs_b"]].sum()
            extra_va = g["dva"].to_numpy(dtype=np.float64)
            extra_ps = g["dps"].to_numpy(dtype=np.float64)
            tol = SPENDING_RTOL * np.maximum(g["abs_s"].to_numpy(), g["abs_b"].to_numpy())
            defined = np.abs(extra_ps) > tol  # both runs spend nothing: tol = 0 and |0| > 0 is False
            lev = np.full(len(g), np.nan)
            np.divide(extra_va, extra_ps, out=lev, where=defined)
            frames.append(pd.DataFrame({
                "scenario": res.scenario.name, "baseline": self.baseline_name,
                "replication": g.index.to_numpy(dtype=np.int64), "extra_value_added": extra_va,
                "extra_public_spending": extra_ps, "leverage": lev, "defined": defined,
            }))
        if not frames:
            return pd.DataFrame(columns=cols)
        return pd.concat(frames, ignore_index=True)[cols]

    def leverage(self) -> pd.DataFrame:
        """Per compared scenario: extra regional value added per unit of extra public money.

        In each paired replication, leverage = Σ_quarters (value_added_s − value_added_b) /
        Σ_quarters (public_spending_s − public_spending_b) (see :meth:`leverage_by_replication`). Columns:

        - ``n``: paired replications; ``n_defined``: those with non-zero extra public spending;
        - ``extra_value_added`` (mean, ``_low``, ``_high``) and ``extra_public_spending`` (mean), in k€
          summed over the run;
        - ``leverage``, ``leverage_low``, ``leverage_high``: mean of the per-replication ratios and its
          95 % t CI, given only when the ratio is defined in every replication (``defined`` True);
          otherwise NaN;
        - ``pooled_leverage``: Σ_replications extra value added / Σ_replications extra public spending,
          defined whenever the total extra spending is non-zero (NaN otherwise);
        - ``defined``, ``note``: why the leverage is undefined, or a caveat (empty when none).
        """
        by_rep = self.leverage_by_replication()
        rows = []
        for res in self.scenarios:
            name = res.scenario.name
            r = by_rep[by_rep["scenario"] == name]
            n = len(r)
            n_def = int(r["defined"].sum()) if n else 0
            va_mean, _, va_lo, va_hi, _ = _t_interval(r["extra_value_added"].to_numpy(dtype=np.float64))
            ps = r["extra_public_spending"].to_numpy(dtype=np.float64)
            ps_mean = float(ps.mean()) if n else np.nan
            defined = n > 0 and n_def == n
            if defined:
                lev, _, lev_lo, lev_hi, _ = _t_interval(r["leverage"].to_numpy(dtype=np.float64))
            else:
                lev = lev_lo = lev_hi = np.nan
            total_ps = float(ps.sum()) if n else 0.0
            total_abs = float(np.abs(ps).sum()) if n else 0.0
            pooled = (float(r["extra_value_added"].sum()) / total_ps
                      if n and abs(total_ps) > SPENDING_RTOL * total_abs else np.nan)
            if n == 0:
                note = "undefined: no paired replications (runs failed)"
            elif n_def == 0:
                note = ("undefined: the scenario spends no more public money than the baseline in any "
                        "replication (leverage = extra value added / extra public spending)")
            elif n_def < n:
                note = (f"undefined: no extra public spending in {n - n_def} of {n} replications; "
                        "pooled_leverage uses all replications")
            else:
                note = ""
            if n and (ps < 0).any():
                k = int((ps < 0).sum())
                note = (note + "; " if note else "") + (f"the scenario spends less public money than the "
                                                        f"baseline in {k} of {n} replications")
            if defined and n < 2:
                note = (note + "; " if note else "") + "one replication: no confidence interval"
            rows.append({
                "scenario": name, "baseline": self.baseline_name, "n": n, "n_defined": n_def,
                "extra_value_added": va_mean, "extra_value_added_low": va_lo, "extra_value_added_high": va_hi,
                "extra_public_spending": ps_mean, "leverage": lev, "leverage_low": lev_lo,
                "leverage_high": lev_hi, "pooled_leverage": pooled, "defined": bool(defined), "note": note,
            })
        return pd.DataFrame(rows, columns=[
            "scenario", "baseline", "n", "n_defined", "extra_value_added", "extra_value_added_low",
            "extra_value_added_high", "extra_public_spending", "leverage", "leverage_low", "leverage_high",
            "pooled_leverage", "defined", "note"])

    def timeseries(self) -> pd.DataFrame:
        """Every successful run's time series (one row per scenario, replication and step), with a
        ``scenario`` column first; baseline first, then the scenarios in the order given."""
        frames = []
        for name, res in self.results.items():
            ts = self._runs_timeseries(res)
            if ts is not None:
                ts.insert(0, "scenario", name)
                frames.append(ts)
        if not frames:
            return pd.DataFrame(columns=["scenario", "replication", "step", *INDICATORS])
        return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------- running
def _check_names(scenarios: Sequence[Scenario], baseline: Scenario) -> None:
    names = [baseline.name, *(s.name for s in scenarios)]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    dup = [n for n, k in seen.items() if k > 1]
    if dup:
        listed = ", ".join(repr(n) for n in dup)
        raise ValueError(f"scenario names must be unique (baseline included); repeated: {listed}")


def compare_scenarios(scenarios: Sequence[Scenario], baseline: Scenario, *, replications: int, seed: int,
                      steps: int | None = None, workers: int | None = None,
                      progress: Callable[[str, RunResult], None] | None = None) -> Comparison:
    """Run ``baseline`` and every scenario with the same root seed and replications, and pair them.

    Each is run by :func:`clustersim.runner.run_scenario` with ``replications`` and ``seed`` (the scenarios'
    own ``simulation.replications`` and ``simulation.seed`` are ignored), so replication i of every scenario
    uses the same random stream (common random numbers).

    Args:
        scenarios: the scenarios to compare with the baseline (at least one).
        baseline: the reference scenario.
        replications: replications per scenario (≥ 1; confidence intervals need ≥ 2).
        seed: the shared root seed.
        steps: quarters per run for all scenarios (default: the scenarios' ``simulation.steps``, which must
            then agree, so that all runs cover the same horizon).
        workers: processes per scenario (see :func:`run_scenario`).
        progress: called as ``progress(scenario_name, run_result)`` for each finished replication.

    Raises:
        ValueError: no scenario, repeated names (the baseline's included; the message names them),
            ``replications`` < 1, or differing ``simulation.steps`` without ``steps``.
    """
    scenarios = list(scenarios)
    if not scenarios:
        raise ValueError("no scenario to compare with the baseline")
    _check_names(scenarios, baseline)
    reps = int(replications)
    if reps < 1:
        raise ValueError(f"replications must be >= 1 (got {replications})")
    if steps is None:
        horizons = {s.name: s.simulation.steps for s in (baseline, *scenarios)}
        if len(set(horizons.values())) > 1:
            listed = ", ".join(f"{k}: {v}" for k, v in horizons.items())
            raise ValueError(f"scenarios run for different numbers of quarters ({listed}); pass steps= to "
                             "compare them over a common horizon")
        n_steps = baseline.simulation.steps
    else:
        n_steps = int(steps)
    started = time.time()
    runs = []
    for s in (baseline, *scenarios):
        cb = None if progress is None else (lambda r, _name=s.name: progress(_name, r))
        runs.append(run_scenario(s, replications=reps, seed=int(seed), steps=n_steps, workers=workers,
                                 progress=cb, network_replication=None))
    return Comparison(baseline=runs[0], scenarios=runs[1:], root_seed=int(seed), replications=reps,
                      steps=n_steps, workers=max(r.workers for r in runs), started=started,
                      finished=time.time())


# --------------------------------------------------------------------------------------------- figures
def _colors(names: list[str], baseline: str) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    out, k = {}, 0
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
    scen_names = [r.scenario.name for r in comparison.scenarios]
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
                scale = 1.0
                if relative:
                    b = row["mean_baseline"]
                    if not np.isfinite(b) or b == 0:
                        if j == 0:
                            labels[-1] += " (n/a: baseline 0)"
                        continue
                    scale = 100.0 / abs(b)
                x = row["difference"] * scale
                if not np.isfinite(x):
                    continue
                lo = max((row["difference"] - row["low"]) * scale, 0.0) if np.isfinite(row["low"]) else 0.0
                hi = max((row["high"] - row["difference"]) * scale, 0.0) if np.isfinite(row["high"]) else 0.0
                c = colors[scen]
                ax.errorbar([x], [i + offsets[j]], xerr=[[lo], [hi]], fmt="o", color=c, ecolor=c,
                            markerfacecolor=c if row["significant"] else "white", markersize=5, capsize=2,
                            linewidth=1.2)
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


# --------------------------------------------------------------------------------------------- writing
def write_comparison(comparison: Comparison, out_dir: Path | str, *, figures: bool = True,
                     command: list[str] | None = None) -> Path:
    """Write the comparison into the new folder ``out_dir`` (which must not exist) and return its path.

    The folder is assembled under a hidden temporary name next to ``out_dir``, fsynced, and moved into
    place (as :func:`clustersim.output.write_results`: the name is first claimed with ``mkdir``, so a folder
    that appeared meanwhile, even empty, is never replaced): a crash leaves no half-written folder.
    Contents::

        means.csv, means.parquet               Comparison.means()
        differences.csv, differences.parquet   Comparison.differences()
        leverage.csv                           Comparison.leverage()
        leverage_replications.csv             Comparison.leverage_by_replication()
        timeseries.parquet                     Comparison.timeseries()
        failures.json                          failed replications (only if any)
        metadata.json                          scenarios (resolved, hashes), seeds, versions, git, timings
        figures/bands_<family>.png             each family over time, every scenario
        figures/differences.png                paired differences ("late" statistic)

    Raises:
        OutputExistsError: ``out_dir`` exists already (results are never overwritten).
    """
    return publish_folder(Path(out_dir), lambda d: _write_all(comparison, d, figures=figures, command=command))


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat()


def _scenario_meta(res: ScenarioResults, role: str) -> dict[str, Any]:
    s = res.scenario
    return {
        "name": s.name,
        "role": role,
        "scenario_hash": scenario_hash(s),
        "scenario": scenario_to_dict(s),
        "replications": [{"replication": r.replication, "spawn_key": [r.replication],
                          "entropy": str(replication_seed(r.root_seed, r.replication).entropy),
                          "status": "ok" if r.ok else "failed", "seconds": round(r.seconds, 4)}
                         for r in res.runs],
        "workers": res.workers,
        "started": _iso(res.started),
        "finished": _iso(res.finished),
        "wall_seconds": round(res.finished - res.started, 3),
        "cpu_seconds_runs": round(sum(r.seconds for r in res.runs), 3),
    }


def _write_all(comparison: Comparison, d: Path, *, figures: bool, command: list[str] | None) -> None:
    means = comparison.means()
    write_parquet(means, d / "means.parquet")
    means.to_csv(d / "means.csv", index=False)
    diff = comparison.differences()
    write_parquet(diff, d / "differences.parquet")
    diff.to_csv(d / "differences.csv", index=False)
    comparison.leverage().to_csv(d / "leverage.csv", index=False)
    comparison.leverage_by_replication().to_csv(d / "leverage_replications.csv", index=False)
    ts = comparison.timeseries()
    write_parquet(ts, d / "timeseries.parquet")
    failures = comparison.failures()
    if len(failures):
        (d / "failures.json").write_text(json.dumps(failures.to_dict(orient="records"), indent=2))
    meta = {
        "clustersim_comparison": 1,
        "baseline": comparison.baseline_name,
        "scenarios": [_scenario_meta(comparison.baseline, "baseline"),
                      *(_scenario_meta(r, "scenario") for r in comparison.scenarios)],
        "root_seed": comparison.root_seed,
        "replications": comparison.replications,
        "steps": comparison.steps,
        "seeding": SEEDING,
        "statistics": {
            "late": f"mean of an indicator over the last {LATE_WINDOW:.0%} of the run",
            "final": "value of an indicator at the last quarter",
            "ci": f"{CI_LEVEL:.0%} Student-t interval of the mean over replications (or paired differences)",
            "variance_reduction": "1 - var_paired/var_unpaired, var_paired = var(d)/n, "
                                  "var_unpaired = var(scenario)/n + var(baseline)/n",
            "leverage": "per replication: sum over quarters 1..T of (value_added_s - value_added_b) / sum of "
                        "(public_spending_s - public_spending_b); undefined (NaN) when the extra public "
                        "spending is 0",
        },
        **provenance(command),
        "workers": comparison.workers,
        "started": _iso(comparison.started),
        "finished": _iso(comparison.finished),
        "wall_seconds": round(comparison.finished - comparison.started, 3),
        "cpu_seconds_runs": round(sum(r.seconds for res in comparison.results.values() for r in res.runs), 3),
    }
    (d / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    if figures and len(ts):
        fig_dir = d / "figures"
        fig_dir.mkdir()
        for family in FAMILIES:
            fig = plot_bands(comparison, family)
            fig.savefig(fig_dir / f"bands_{family}.png", dpi=110)
            plt.close(fig)
        fig = plot_differences(comparison, "late")
        fig.savefig(fig_dir / "differences.png", dpi=110)
        plt.close(fig)
