"""Running replications of a scenario: one pure evaluation unit, and a local process pool around it.

:func:`run_replication` runs one scenario with one seed and returns tidy tables; everything else (the CLI,
notebooks, later the experiment engine) calls it. Seeds: replication ``i`` of an experiment with root seed
``s`` uses ``numpy.random.SeedSequence(s, spawn_key=(i,))`` — the same stream as
``SeedSequence(s).spawn(n)[i]`` — so any run can be rebuilt from (root seed, index) alone, whatever the
executor, the number of workers or the completion order.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clustersim.experiment.executors import default_workers, pool_context
from clustersim.experiment.seeds import replication_seed
from clustersim.experiment.summary import summarise_run, summarise_spending
from clustersim.model.model import ClusterModel
from clustersim.model.tables import cluster_table, network_snapshot, spending_table
from clustersim.scenario.schema import Scenario

__all__ = ["RunResult", "ScenarioResults", "run_replication", "run_scenario"]


@dataclass
class RunResult:
    """Everything one replication produced (tables are tidy, one row per step or per cluster)."""

    replication: int
    root_seed: int
    timeseries: pd.DataFrame | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    clusters: pd.DataFrame | None = None
    cluster_sizes: pd.DataFrame | None = None
    network: dict[str, pd.DataFrame] | None = None
    spending: pd.DataFrame | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_replication(scenario: Scenario, root_seed: int, index: int, *, steps: int | None = None,
                    network: bool = False, catch: bool = True) -> RunResult:
    """Run replication ``index`` of ``scenario`` under ``root_seed`` and return its tables.

    Args:
        scenario: a validated scenario.
        root_seed: the experiment's root seed.
        index: the replication's index (its seed is :func:`replication_seed`).
        steps: quarters to run (default: the scenario's ``simulation.steps``).
        network: also return a snapshot of the final firm network.
        catch: record an exception in ``RunResult.error`` (with its traceback) instead of raising.
    """
    t0 = time.perf_counter()
    result = RunResult(replication=index, root_seed=int(root_seed))
    try:
        n_steps = scenario.simulation.steps if steps is None else int(steps)
        model = ClusterModel(scenario, rng=replication_seed(root_seed, index))
        size_rows: list[tuple[int, np.ndarray, np.ndarray]] = []
        for _ in range(n_steps):
            model.step()
            live = model.live_clusters
            size_rows.append((model.now, live, model.clusters.size[live].copy()))
        ts = model.timeseries()
        ts.insert(0, "replication", index)
        result.timeseries = ts
        result.clusters = cluster_table(model)
        result.clusters.insert(0, "replication", index)
        steps_col = (np.concatenate([np.full(len(r[1]), r[0]) for r in size_rows]) if size_rows
                     else np.zeros(0, np.int64))
        result.cluster_sizes = pd.DataFrame({
            "replication": index,
            "step": np.asarray(steps_col, dtype=np.int64),
            "cluster": np.concatenate([r[1] for r in size_rows]) if size_rows else np.zeros(0, np.int64),
            "size": np.concatenate([r[2] for r in size_rows]) if size_rows else np.zeros(0, np.int64),
        })
        result.spending = spending_table(model)
        result.spending.insert(0, "replication", index)
        result.summary = {**summarise_run(ts, result.clusters, n_steps), **summarise_spending(result.spending)}
        if network:
            result.network = network_snapshot(model)
    except Exception as exc:  # noqa: BLE001 - a failed run is data, not a crash
        if not catch:
            raise
        result.error = "".join(traceback.format_exception(exc))
    result.seconds = time.perf_counter() - t0
    return result


@dataclass
class ScenarioResults:
    """All replications of one scenario run."""

    scenario: Scenario
    root_seed: int
    runs: list[RunResult]
    workers: int
    started: float
    finished: float

    @property
    def ok_runs(self) -> list[RunResult]:
        return [r for r in self.runs if r.ok]

    @property
    def failed_runs(self) -> list[RunResult]:
        return [r for r in self.runs if not r.ok]

    def timeseries(self) -> pd.DataFrame:
        """One row per replication and step."""
        return pd.concat([r.timeseries for r in self.ok_runs], ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """One row per replication: its seed, run time and summary statistics."""
        rows = []
        for r in self.runs:
            seq = replication_seed(r.root_seed, r.replication)
            rows.append({"replication": r.replication, "root_seed": r.root_seed,
                         "spawn_key": r.replication, "seed_entropy": str(seq.entropy),
                         "status": "ok" if r.ok else "failed", "seconds": r.seconds, **r.summary})
        return pd.DataFrame(rows)

    def clusters(self) -> pd.DataFrame:
        return pd.concat([r.clusters for r in self.ok_runs], ignore_index=True)

    def cluster_sizes(self) -> pd.DataFrame:
        return pd.concat([r.cluster_sizes for r in self.ok_runs], ignore_index=True)

    def spending(self) -> pd.DataFrame:
        """Every replication's spending ledger (replication, step, funder, instrument, phase, cluster, amount)."""
        return pd.concat([r.spending for r in self.ok_runs], ignore_index=True)

    def spending_by_instrument(self) -> pd.DataFrame:
        """Mean total spending per replication (k€) by funder and instrument, with each item's phase."""
        sp = self.spending()
        n = max(len(self.ok_runs), 1)
        if not len(sp):
            return pd.DataFrame(columns=["funder", "instrument", "phase", "total_per_replication",
                                         "per_year_per_replication", "active_years_per_replication",
                                         "per_active_year"])
        g = sp.groupby(["funder", "instrument", "phase"], as_index=False)["amount"].sum()
        g["total_per_replication"] = g.pop("amount") / n
        steps = self.scenario.simulation.steps
        g["per_year_per_replication"] = g["total_per_replication"] / (steps / 4)
        # budget years (quarters 1-4, 5-8, ...) in which the item spent anything: a time-limited programme's
        # yearly spending while it runs
        years = (sp.assign(year=(sp["step"] - 1) // 4).groupby(["funder", "instrument"])[["replication", "year"]]
                 .apply(lambda d: len(d.drop_duplicates())).rename("active").reset_index())
        g = g.merge(years, on=["funder", "instrument"])
        g["active_years_per_replication"] = g.pop("active") / n
        g["per_active_year"] = g["total_per_replication"] / g["active_years_per_replication"]
        return g.sort_values(["funder", "instrument"]).reset_index(drop=True)


def run_scenario(scenario: Scenario, *, replications: int | None = None, seed: int | None = None,
                 steps: int | None = None, workers: int | None = None,
                 progress: Callable[[RunResult], None] | None = None,
                 network_replication: int | None = 0) -> ScenarioResults:
    """Run replications of a scenario, in parallel on a local process pool when ``workers`` > 1.

    Args:
        replications: number of replications (default: the scenario's).
        seed: root seed (default: the scenario's ``simulation.seed``).
        steps: quarters per run (default: the scenario's).
        workers: processes (default: all cores, never more than replications); 1 runs in this process.
        progress: called with each finished :class:`RunResult`, in completion order.
        network_replication: which replication also returns a network snapshot (None: none).
    """
    n = scenario.simulation.replications if replications is None else int(replications)
    root = scenario.simulation.seed if seed is None else int(seed)
    w = min(default_workers() if workers is None else max(1, int(workers)), n)
    started = time.time()
    runs: dict[int, RunResult] = {}

    def done(r: RunResult) -> None:
        runs[r.replication] = r
        if progress is not None:
            progress(r)

    if w <= 1:
        for i in range(n):
            done(run_replication(scenario, root, i, steps=steps, network=(i == network_replication)))
    else:
        with ProcessPoolExecutor(max_workers=w, mp_context=pool_context()) as pool:
            pending = {pool.submit(run_replication, scenario, root, i, steps=steps,
                                   network=(i == network_replication)): i for i in range(n)}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = pending.pop(fut)
                    try:
                        done(fut.result())
                    except Exception as exc:  # noqa: BLE001 - a worker that died is recorded, not fatal
                        done(RunResult(replication=i, root_seed=root,
                                       error="".join(traceback.format_exception(exc))))
    ordered = [runs[i] for i in range(n)]
    return ScenarioResults(scenario=scenario, root_seed=root, runs=ordered, workers=w, started=started,
                           finished=time.time())

