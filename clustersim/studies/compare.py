"""Paired comparison of scenarios against a baseline, with common random numbers.

:func:`compare_scenarios` runs a baseline and each scenario with the same root seed and number of
replications. Replication ``i`` of every scenario then uses the same random stream
(``numpy.random.SeedSequence(root_seed, spawn_key=(i,))``, see :func:`clustersim.experiment.runner.replication_seed`):
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

Figures: :func:`clustersim.plots.compare.plot_bands`, :func:`~clustersim.plots.compare.plot_differences`;
:func:`clustersim.reports.compare.write_comparison` writes everything into a new folder, atomically.

Pairing rule: replication ``i`` of a scenario is paired with replication ``i`` of the baseline; a pair
is used only when both runs succeeded (failed runs are listed by :meth:`Comparison.failures`), and ``n``
in every table is the number of pairs (or of runs, for means) actually used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _stats

from clustersim.experiment.runner import RunResult, ScenarioResults, run_scenarios
from clustersim.experiment.summary import STATISTICS
from clustersim.model.indicators import INDICATORS
from clustersim.scenario.schema import Scenario

__all__ = ["CI_LEVEL", "SEEDING", "STATISTICS", "Comparison", "compare_scenarios"]

#: confidence level of every interval
CI_LEVEL = 0.95
#: relative tolerance under which extra public spending counts as zero (leverage undefined)
SPENDING_RTOL = 1e-9

SEEDING = ("replication i of every scenario (baseline included) uses numpy.random.SeedSequence(root_seed, "
           "spawn_key=(i,)) == SeedSequence(root_seed).spawn(R)[i]: common random numbers, so replication i "
           "of a scenario is paired with replication i of the baseline")


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
            note = _leverage_note(n, n_def, int((ps < 0).sum()) if n else 0, defined)
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
def _leverage_note(n: int, n_def: int, n_less: int, defined: bool) -> str:
    """Why a scenario's leverage is undefined, or its caveats: ``n`` paired replications, ``n_def`` with extra
    public spending, ``n_less`` where the scenario spends less than the baseline."""
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
    if n_less:
        note = (note + "; " if note else "") + (f"the scenario spends less public money than the "
                                                f"baseline in {n_less} of {n} replications")
    if defined and n < 2:
        note = (note + "; " if note else "") + "one replication: no confidence interval"
    return note


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
                      progress: Callable[[str, RunResult], None] | None = None, executor: Any = None,
                      store_root: str | os.PathLike[str] | None = None) -> Comparison:
    """Run ``baseline`` and every scenario with the same root seed and replications, and pair them.

    All runs are one experiment (:func:`clustersim.experiment.runner.run_scenarios`: the scenarios are its
    points) with ``replications`` and ``seed`` (the scenarios' own ``simulation.replications`` and
    ``simulation.seed`` are ignored), so replication i of every scenario uses the same random stream (common
    random numbers); it is stored as runs finish under ``store_root`` and resumes after a kill.

    Args:
        scenarios: the scenarios to compare with the baseline (at least one).
        baseline: the reference scenario.
        replications: replications per scenario (≥ 1; confidence intervals need ≥ 2).
        seed: the shared root seed.
        steps: quarters per run for all scenarios (default: the scenarios' ``simulation.steps``, which must
            then agree, so that all runs cover the same horizon).
        workers: processes (see :func:`~clustersim.experiment.runner.run_scenarios`).
        progress: called as ``progress(scenario_name, run_result)`` for each finished replication.
        executor: an executor (e.g. a ``DaskExecutor``) instead of the local pool; the same results.
        store_root: where the runs are stored until they are all done (default: a temporary folder).

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
    everything = [baseline, *scenarios]
    runs = run_scenarios(everything, name=f"compare-{baseline.name}", replications=reps, seed=int(seed),
                         steps=n_steps, workers=workers, executor=executor, store_root=store_root,
                         progress=None if progress is None else (lambda k, r: progress(everything[k].name, r)))
    return Comparison(baseline=runs[0], scenarios=runs[1:], root_seed=int(seed), replications=reps,
                      steps=n_steps, workers=max(r.workers for r in runs), started=started,
                      finished=time.time())
