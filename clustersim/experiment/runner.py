"""Running the replications of one scenario, with their tables: ``clustersim run``, ``compare``, notebooks.

:func:`run_replication` is :func:`~clustersim.experiment.evaluate.evaluate` with every table, as a
:class:`RunResult` (failures recorded, not raised); :func:`run_scenario` runs replications on an executor.
Seeds: replication ``i`` of an experiment with root seed ``s`` uses
``numpy.random.SeedSequence(s, spawn_key=(i,))`` (the same stream as ``SeedSequence(s).spawn(n)[i]``), so any
run can be rebuilt from (root seed, index) alone, whatever the executor, the number of workers or the
completion order.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from clustersim.experiment.evaluate import evaluate
from clustersim.experiment.executors import LocalExecutor, default_workers
from clustersim.experiment.seeds import replication_seed
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
    tables = ("timeseries", "clusters", "cluster_sizes", "spending", *(("network_nodes", "network_edges")
                                                                     if network else ()))
    try:
        run = evaluate(scenario, replication_seed(root_seed, index), tables=tables, steps=steps)
        for name in ("timeseries", "clusters", "cluster_sizes", "spending"):
            run.tables[name].insert(0, "replication", index)
        result.timeseries = run.tables["timeseries"]
        result.clusters = run.tables["clusters"]
        result.cluster_sizes = run.tables["cluster_sizes"]
        result.spending = run.tables["spending"]
        result.summary = run.summary
        if network:
            result.network = {"nodes": run.tables["network_nodes"], "edges": run.tables["network_edges"]}
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


def _run_task(task: tuple[Scenario, int, int, int | None, bool]) -> RunResult:
    """:func:`run_replication` of one (scenario, root seed, index, steps, network) task, in a worker."""
    scenario, root, index, steps, network = task
    return run_replication(scenario, root, index, steps=steps, network=network)


def run_scenario(scenario: Scenario, *, replications: int | None = None, seed: int | None = None,
                 steps: int | None = None, workers: int | None = None,
                 progress: Callable[[RunResult], None] | None = None,
                 network_replication: int | None = 0, executor: Any = None) -> ScenarioResults:
    """Run replications of a scenario on an executor (default: a local process pool when ``workers`` > 1).

    Args:
        replications: number of replications (default: the scenario's).
        seed: root seed (default: the scenario's ``simulation.seed``).
        steps: quarters per run (default: the scenario's).
        workers: processes (default: all cores, never more than replications); 1 runs in this process.
        progress: called with each finished :class:`RunResult`, in completion order.
        network_replication: which replication also returns a network snapshot (None: none).
        executor: an executor of :mod:`clustersim.experiment.executors` (e.g. a ``DaskExecutor``) instead
            of the local pool; results are the same whatever runs them.
    """
    n = scenario.simulation.replications if replications is None else int(replications)
    root = scenario.simulation.seed if seed is None else int(seed)
    w = min(default_workers() if workers is None else max(1, int(workers)), n)
    started = time.time()
    runs: dict[int, RunResult] = {}
    ex = executor if executor is not None else LocalExecutor(w)
    tasks = [(scenario, root, i, steps, i == network_replication) for i in range(n)]
    try:
        for result in ex.map_unordered(_run_task, tasks):
            runs[result.replication] = result
            if progress is not None:
                progress(result)
    except Exception as exc:  # noqa: BLE001 - a worker that died: its replications are recorded, not fatal
        error = "".join(traceback.format_exception(exc))
        for i in range(n):
            if i not in runs:
                runs[i] = RunResult(replication=i, root_seed=root, error=error)
                if progress is not None:
                    progress(runs[i])
    ordered = [runs[i] for i in range(n)]
    return ScenarioResults(scenario=scenario, root_seed=root, runs=ordered, workers=getattr(ex, "workers", w),
                           started=started, finished=time.time())
