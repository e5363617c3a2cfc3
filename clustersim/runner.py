"""Running replications of a scenario: one pure evaluation unit, and a local process pool around it.

:func:`run_replication` runs one scenario with one seed and returns tidy tables; everything else (the CLI,
notebooks, later the experiment engine) calls it. Seeds: replication ``i`` of an experiment with root seed
``s`` uses ``numpy.random.SeedSequence(s, spawn_key=(i,))`` — the same stream as
``SeedSequence(s).spawn(n)[i]`` — so any run can be rebuilt from (root seed, index) alone, whatever the
executor, the number of workers or the completion order.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clustersim.config import FUNDER_NAMES, Scenario
from clustersim.indicators import INDICATORS, SURVIVAL_WINDOW
from clustersim.model import FOUNDED_MODES, ClusterModel
from clustersim.policy import SPENDING_ITEMS

__all__ = [
    "RunResult",
    "ScenarioResults",
    "replication_seed",
    "run_replication",
    "run_scenario",
    "spending_table",
    "summarise_run",
    "summarise_spending",
    "default_workers",
]

#: share of the run (its last part) over which ``<indicator>_late`` summaries are averaged
LATE_WINDOW = 0.2


def replication_seed(root_seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of replication ``index`` under ``root_seed`` (= ``SeedSequence(root).spawn(n)[index]``)."""
    return np.random.SeedSequence(int(root_seed), spawn_key=(int(index),))


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


def _cluster_table(model: ClusterModel) -> pd.DataFrame:
    C = model.clusters
    n = C.n
    return pd.DataFrame({
        "cluster": np.arange(n),
        "born": C.born[:n],
        "died": C.died[:n],
        "alive": C.alive[:n],
        "lifetime": np.where(C.alive[:n], model.now - C.born[:n], C.died[:n] - C.born[:n]),
        "size": C.size[:n],
        "peak_size": C.peak_size[:n],
        "joins": C.joins[:n],
        "leaves": C.leaves[:n],
        "n_sectors": C.n_sectors[:n],
        "moyens": C.orient[:n, 0],
        "products_markets": C.orient[:n, 1],
        "club": C.orient[:n, 2],
        "trust": C.trust[:n],
        "alignment": C.alignment[:n],
        "founded_mode": C.founded_mode[:n],
        "founded_by": np.asarray(FOUNDED_MODES, dtype=object)[C.founded_mode[:n]],
        "supported": C.supported[:n],
        "labelled_at": C.labelled_at[:n],
        "support_ended": C.support_ended[:n],
        "validated": C.validated[:n],
        "facilitator_quality": C.facilitator_quality[:n],
        "last_score": C.score[:n],
    })


def network_snapshot(model: ClusterModel) -> dict[str, pd.DataFrame]:
    """Firms (nodes) with their first cluster, and both link layers (edges), at the model's current step."""
    F, mem = model.firms, model.memberships
    rows = model.alive_rows
    first = np.full(F.n, -1, dtype=np.int64)
    if len(mem):
        order = np.lexsort((mem.cluster, mem.firm))[::-1]  # the smallest cluster row wins
        first[mem.firm[order]] = mem.cluster[order]
    nodes = pd.DataFrame({"firm": rows, "sector": F.sector[rows], "chain": F.chain[rows], "size": F.size[rows],
                          "cluster": first[rows], "n_memberships": F.n_memberships[rows],
                          "outside": F.outside[rows]})
    edges = [pd.DataFrame({"src": store.src, "dst": store.dst, "type": kind, "intensity": store.value})
             for kind, store in (("vertical", model.vertical), ("horizontal", model.horizontal))]
    return {"nodes": nodes, "edges": pd.concat(edges, ignore_index=True)}


def spending_table(model: ClusterModel) -> pd.DataFrame:
    """The run's public spending ledger: one row per (step, funder, instrument, cluster) payment (k€);
    cluster −1 marks region-wide spending. Empty without public policy."""
    treasury = getattr(model.policy, "treasury", None)
    if treasury is None:
        from clustersim.policy import Treasury

        treasury = Treasury(np.zeros(len(FUNDER_NAMES)), np.zeros(len(FUNDER_NAMES), bool), "matched")
    return treasury.table()


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
    return _summary(ts["step"].to_numpy(), values, clusters["alive"].to_numpy(dtype=bool),
                    clusters["lifetime"].to_numpy(), clusters["born"].to_numpy(), clusters["founded_mode"].to_numpy(),
                    steps)


def summarise_model(model: ClusterModel, steps: int) -> dict[str, float]:
    """:func:`summarise_run` of a model's recorded time series and cluster table, read from the model
    directly (no data frames: what a sweep's evaluation needs, at a fraction of the cost)."""
    columns = model.datacollector.model_vars
    values = np.array([columns[name] for name in INDICATORS], dtype=np.float64)
    if model.record_from > min(late_steps(steps)[0], model.now):
        raise ValueError(f"summarise_model: indicators were recorded from quarter {model.record_from}, after the "
                         f"first quarter the summary reads ({late_steps(steps)[0]})")
    C, n = model.clusters, model.clusters.n
    alive = C.alive[:n]
    lifetime = np.where(alive, model.now - C.born[:n], C.died[:n] - C.born[:n])
    return _summary(np.arange(model.record_from, model.record_from + values.shape[1]), values, alive, lifetime,
                    C.born[:n], C.founded_mode[:n], steps)


def model_spending_summary(model: ClusterModel) -> dict[str, float]:
    """:func:`summarise_spending` of a model's ledger (all zeros, without building it, when no public
    policy acts)."""
    if getattr(model.policy, "treasury", None) is None:
        return {"public_spending_total": 0.0, **{f"spending_{item}": 0.0 for item in SPENDING_ITEMS},
                **{f"spending_by_{f}": 0.0 for f in FUNDER_NAMES}}
    return summarise_spending(spending_table(model))


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
        result.clusters = _cluster_table(model)
        result.clusters.insert(0, "replication", index)
        steps_col = np.concatenate([np.full(len(r[1]), r[0]) for r in size_rows]) if size_rows else []
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


def _pool_context() -> mp.context.BaseContext:
    """The start method for worker processes.

    ``fork`` when this process runs a single thread: workers start at once, inherit the imported model,
    and scripts need no ``if __name__ == "__main__"`` guard. Otherwise (a notebook kernel, a threaded
    application) ``forkserver``, since forking a threaded process can deadlock; its workers preload the
    model once.
    """
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["clustersim.runner"])
    return ctx


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
        with ProcessPoolExecutor(max_workers=w, mp_context=_pool_context()) as pool:
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

