"""Running the replications of one scenario, with their tables: ``clustersim run``, ``compare``, notebooks.

:func:`run_replication` is :func:`~clustersim.experiment.evaluate.evaluate` with every table, as a
:class:`RunResult` (failures recorded, not raised); :func:`run_scenario` runs replications on an executor.
Seeds: replication ``i`` of an experiment with root seed ``s`` uses
``numpy.random.SeedSequence(s, spawn_key=(i,))`` (the same stream as ``SeedSequence(s).spawn(n)[i]``), so any
run can be rebuilt from (root seed, index) alone, whatever the executor, the number of workers or the
completion order.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clustersim.experiment.evaluate import evaluate
from clustersim.experiment.executors import LocalExecutor, default_workers
from clustersim.experiment.seeds import replication_seed
from clustersim.experiment.spec import DEFAULT_MODEL, DesignSpec, Experiment, ExperimentSpec, OutputsSpec
from clustersim.experiment.store import RunStore
from clustersim.experiment.sweep import run_sweep
from clustersim.model.policy.treasury import YEAR
from clustersim.scenario.io import scenario_to_dict
from clustersim.scenario.schema import Scenario

__all__ = ["RunResult", "ScenarioResults", "run_replication", "run_scenario", "run_scenarios", "scenarios_experiment"]


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
    resumed: int = 0  # runs found already stored (by an interrupted earlier call) and not run again

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
        g["per_year_per_replication"] = g["total_per_replication"] / (steps / YEAR)
        # budget years (quarters 1-4, 5-8, ...) in which the item spent anything: a time-limited programme's
        # yearly spending while it runs
        years = (sp.assign(year=(sp["step"] - 1) // YEAR).groupby(["funder", "instrument"])[["replication", "year"]]
                 .apply(lambda d: len(d.drop_duplicates())).rename("active").reset_index())
        g = g.merge(years, on=["funder", "instrument"])
        g["active_years_per_replication"] = g.pop("active") / n
        g["per_active_year"] = g["total_per_replication"] / g["active_years_per_replication"]
        return g.sort_values(["funder", "instrument"]).reset_index(drop=True)


#: the tables a run of ``clustersim run`` keeps besides its summary and time series (the network only when asked)
RUN_TABLES = ("clusters", "cluster_sizes", "spending")
NETWORK_TABLES = ("network_nodes", "network_edges")
#: the name prefix of the run store that ``run`` and ``compare`` work in until their results folder exists
WORK_STORE_PREFIX = ".clustersim-runs-"


def scenarios_experiment(scenarios: Sequence[Scenario], *, name: str, replications: int, seed: int,
                         steps: int | None = None, network: bool = False) -> Experiment:
    """The experiment of running each scenario ``replications`` times under root ``seed`` (common random
    numbers: replication r of every scenario has the same seed), keeping every run's summary and tables.

    Its points are the scenarios, described by name and content hash (so a changed scenario file is another
    experiment); its parameters are the scenarios themselves, with ``simulation.steps`` set to ``steps``
    when given."""
    params: list[Scenario] = []  # validated already: the runs use them as they are
    for s in scenarios:
        if steps is not None:
            s = s.model_copy(deep=True)
            s.simulation.steps = int(steps)
        params.append(s)
    described = [{"scenario": s.name, "scenario_hash": hashlib.sha256(json.dumps(scenario_to_dict(s),
                                                                                 sort_keys=True).encode())
                  .hexdigest()} for s in params]
    spec = ExperimentSpec(name=name, design=DesignSpec(kind="points", points=described),
                          replications=int(replications), seed=int(seed), steps=None,
                          outputs=OutputsSpec(timeseries=True, tables=[*RUN_TABLES, *(NETWORK_TABLES if network
                                                                                      else ())]))
    points = pd.DataFrame({"point_id": np.arange(len(scenarios), dtype=np.int64),
                           "scenario": [x["scenario"] for x in described],
                           "scenario_hash": [x["scenario_hash"] for x in described]})
    return Experiment(spec, f"<{name}>", DEFAULT_MODEL, None, points, params)


def run_scenarios(scenarios: Sequence[Scenario], *, name: str, replications: int, seed: int,
                  steps: int | None = None, workers: int | None = None, executor: Any = None,
                  progress: Callable[[int, RunResult], None] | None = None, network_replication: int | None = None,
                  store_root: str | os.PathLike[str] | None = None) -> list[ScenarioResults]:
    """Run every scenario ``replications`` times under root ``seed`` as one experiment, stored as runs finish,
    and return each scenario's results.

    The runs go to a run store named by the experiment's identity under ``store_root``
    (``.clustersim-runs-<name>-<id>``; default: a temporary folder): if the process is killed, the same
    call resumes from the runs stored. The store is deleted once the results are read back (they are then
    in memory, and the caller writes its results folder). ``progress(point, run)`` is called for each
    finished run (``point``: the scenario's index); ``executor`` defaults to a local pool of ``workers``.
    """
    n = int(replications)
    experiment = scenarios_experiment(scenarios, name=name, replications=n, seed=seed, steps=steps,
                                      network=network_replication is not None)
    w = min(default_workers() if workers is None else max(1, int(workers)), n * len(scenarios))
    ex = executor if executor is not None else LocalExecutor(w)
    started = time.time()
    root = Path(store_root) if store_root is not None else Path(tempfile.mkdtemp(prefix=WORK_STORE_PREFIX))
    path = root / f"{WORK_STORE_PREFIX}{_slug(name)}-{experiment.identity()[:12]}"

    def chunk_done(result: Any) -> None:
        if progress is not None:
            for row in result.index_rows:
                error = (row["traceback"] or row["error"]) if row["status"] != "ok" else None
                progress(int(row["point_id"]), RunResult(replication=int(row["replication"]), root_seed=int(seed),
                                                         error=error))

    try:
        report = run_sweep(experiment, path, executor=ex, progress=chunk_done)
        runs = _stored_runs(RunStore.open(path, "r"), int(seed), n, len(scenarios), network_replication)
        shutil.rmtree(path, ignore_errors=True)  # everything is read back: the work store has served
    finally:
        # interrupted (a kill, a full disk): the runs stored under store_root stay, for the same call to resume;
        # a temporary store cannot be found again and goes
        if store_root is None:
            shutil.rmtree(root, ignore_errors=True)
    finished = time.time()
    return [ScenarioResults(scenario=s, root_seed=int(seed), runs=runs[k], workers=getattr(ex, "workers", w),
                            started=started, finished=finished, resumed=report.skipped if k == 0 else 0)
            for k, s in enumerate(scenarios)]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)[:60] or "runs"


def _stored_runs(store: RunStore, seed: int, replications: int, n_points: int, network_replication: int | None
                 ) -> list[list[RunResult]]:
    """Every run of the store as a :class:`RunResult` with its tables, by point then replication."""
    index = store.index().set_index("run_id")
    outputs = store.outputs().set_index("run_id")
    summary_columns = [c for c in outputs.columns if c not in ("point_id", "replication")]
    tables = {"timeseries": store.timeseries()}
    for name in (*RUN_TABLES, *NETWORK_TABLES):
        tables[name] = store.table(name)
    by_run = {name: _ByRun(df) for name, df in tables.items()}
    out: list[list[RunResult]] = []
    for p in range(n_points):
        runs = []
        for r in range(replications):
            rid = p * replications + r
            row = index.loc[rid] if rid in index.index else None
            run = RunResult(replication=r, root_seed=seed, seconds=float(row["seconds"]) if row is not None else 0.0)
            if row is None or row["status"] != "ok":
                run.error = ("the run did not complete" if row is None else
                             str(row["traceback"]) if isinstance(row["traceback"], str) else str(row["error"]))
            else:
                values = outputs.loc[rid, summary_columns]
                run.summary = {k: float(v) for k, v in values.items()}
                for name in ("timeseries", *RUN_TABLES):
                    setattr(run, name, by_run[name].of(rid) if by_run[name].empty is not None else None)
                if r == network_replication and by_run["network_nodes"].empty is not None:
                    # a snapshot of one replication: its tables have no replication column
                    run.network = {k: by_run[f"network_{k}"].of(rid).drop(columns="replication")
                                   for k in ("nodes", "edges")}
            runs.append(run)
        out.append(runs)
    return out


class _ByRun(dict[int, pd.DataFrame]):
    """A stored table's rows by run id; a run without rows gets the table's columns and no row."""

    def __init__(self, df: pd.DataFrame | None) -> None:
        super().__init__()
        self.empty = None if df is None else df.iloc[:0].drop(columns=["run_id", "point_id"])
        if df is not None:
            self.update({int(rid): part.drop(columns=["run_id", "point_id"]).reset_index(drop=True)
                         for rid, part in df.groupby("run_id", sort=False)})

    def of(self, rid: int) -> pd.DataFrame:
        """The run's rows (only asked of tables that were kept)."""
        if self.empty is None:
            raise KeyError("this table was not kept")
        return self.get(rid, self.empty.copy())


def run_scenario(scenario: Scenario, *, replications: int | None = None, seed: int | None = None,
                 steps: int | None = None, workers: int | None = None,
                 progress: Callable[[RunResult], None] | None = None,
                 network_replication: int | None = 0, executor: Any = None,
                 store_root: str | os.PathLike[str] | None = None) -> ScenarioResults:
    """Run replications of a scenario (:func:`run_scenarios` of one scenario).

    Args:
        replications: number of replications (default: the scenario's).
        seed: root seed (default: the scenario's ``simulation.seed``).
        steps: quarters per run (default: the scenario's).
        workers: processes (default: all cores, never more than replications); 1 runs in this process.
        progress: called with each finished :class:`RunResult`, in completion order.
        network_replication: which replication also returns a network snapshot (None: none).
        executor: an executor of :mod:`clustersim.experiment.executors` (e.g. a ``DaskExecutor``) instead
            of the local pool; results are the same whatever runs them.
        store_root: where the runs are stored until they are all done (see :func:`run_scenarios`).
    """
    n = scenario.simulation.replications if replications is None else int(replications)
    root = scenario.simulation.seed if seed is None else int(seed)
    return run_scenarios([scenario], name=scenario.name, replications=n, seed=root, steps=steps, workers=workers,
                         executor=executor, progress=None if progress is None else (lambda _p, r: progress(r)),
                         network_replication=network_replication, store_root=store_root)[0]
