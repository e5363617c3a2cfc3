"""Running a sweep: the runs of an experiment, chunked, on an executor, stored as they finish, resumable.

The client keeps only the set of finished run ids (from the store's index): results go to disk chunk by
chunk as they complete, so memory stays flat in the number of runs. Running the same experiment on the
same folder again resumes it: runs already stored are skipped (failed ones too, unless ``retry_failed``).
Seeds depend on (root seed, replication) only, so results are identical whatever the executor, the number
of workers, the chunking or the completion order.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import platform
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clustersim.experiment.contained import RunLimits
from clustersim.experiment.evaluate import LOST_CAUSES, Chunk, ChunkResult, RunTask, evaluate_chunk, failure_cause
from clustersim.experiment.executors import DaskExecutor, LocalExecutor, local_cluster_options
from clustersim.experiment.spec import Experiment
from clustersim.experiment.store import EXPERIMENT_FILE, RunStore
from clustersim.util.provenance import git_commit, package_versions

__all__ = ["DaskExecutor", "LocalExecutor", "local_cluster_options", "sweep", "SweepReport", "run_sweep",
           "sweep_status", "make_chunks"]


def _chunk(experiment: Experiment, run_ids: list[int]) -> Chunk:
    r = experiment.spec.replications
    tasks = tuple(RunTask(run_id=rid, point_id=rid // r, replication=rid % r, params=experiment.params[rid // r])
                  for rid in run_ids)
    return Chunk(model=experiment.model, root_seed=experiment.spec.seed, tables=experiment.tables, tasks=tasks)


def make_chunks(experiment: Experiment, run_ids: list[int], chunk_size: int) -> Iterator[Chunk]:
    """Chunks of ``chunk_size`` runs, in run-id order."""
    for start in range(0, len(run_ids), chunk_size):
        yield _chunk(experiment, run_ids[start:start + chunk_size])


class _AdaptiveChunks:
    """Chunks sized so that one takes about ``target`` seconds, from the run times measured so far.

    The first chunks are small probes; later ones hold ``target / seconds per run`` runs, but never more
    than a share of what remains that keeps every worker busy to the end. Sizes change only how runs are
    grouped into tasks, never a result (a run's seed depends on its replication only).
    """

    def __init__(self, experiment: Experiment, run_ids: list[int], workers: int, target: float) -> None:
        self.experiment, self.run_ids, self.workers, self.target = experiment, run_ids, workers, target
        self.per_run: float | None = None
        self.sizes: list[int] = []

    def observe(self, result: ChunkResult) -> None:
        secs = [row["seconds"] for row in result.index_rows if row.get("status") != "failed"]  # not a timeout's
        if secs:
            mean = sum(secs) / len(secs)
            self.per_run = mean if self.per_run is None else 0.7 * self.per_run + 0.3 * mean

    def __iter__(self) -> Iterator[Chunk]:
        i, n = 0, len(self.run_ids)
        while i < n:
            left = n - i
            fair = max(1, math.ceil(left / (2 * self.workers)))
            size = min(2, fair) if self.per_run is None else min(fair, max(1, round(self.target / self.per_run)))
            self.sizes.append(size)
            yield _chunk(self.experiment, self.run_ids[i:i + size])
            i += size


@dataclass
class SweepReport:
    total: int
    ok: int
    failed: int
    ran_now: int
    skipped: int
    seconds: float
    path: Path
    nonfinite: int = 0  # runs that finished with a NaN or infinite output (kept, never read as ok)
    causes: dict[str, int] = dataclasses.field(default_factory=dict)  # failed runs by cause (failure_cause)

    @property
    def remaining(self) -> int:
        return self.total - self.ok - self.failed - self.nonfinite


def run_sweep(experiment: Experiment, out: Path, *, executor: Any = None, retry_failed: bool = False,
              progress: Callable[[ChunkResult], None] | None = None, task_seconds: float = 5.0,
              limits: RunLimits | None = None) -> SweepReport:
    """Run (or resume) ``experiment`` into the store at ``out``; return counts.

    Runs are grouped into tasks of about ``task_seconds`` (measured as the sweep goes), unless the
    experiment sets ``chunk_size``. Each finished task is one stored part (written and fsynced by this
    process, read back by the analysis): 5 s keeps that cost near 1 % of a sweep of short runs, while a
    kill loses at most one task per worker (re-run on resume) and the progress bar still moves every few
    seconds.

    Each run may take ``limits`` (default: the experiment's ``timeout_s`` and ``memory_mb``; a run timed out,
    killed for memory or crashing is recorded as failed with its cause: :mod:`clustersim.experiment.contained`);
    the default timeout also counts the runs a resumed store already measured.

    Raises :class:`~clustersim.experiment.store.StoreMismatchError` if ``out`` holds another experiment.
    """
    store = RunStore.create_or_open(Path(out), experiment.resolved(), experiment.identity())
    executor = executor if executor is not None else LocalExecutor()
    total = len(experiment.points) * experiment.spec.replications
    stored = store.index()  # read once: what is done, what failed, and how long stored runs took
    done = {int(r) for r in stored.loc[stored["status"] == "ok", "run_id"]}
    failed = {int(r) for r in stored.loc[stored["status"].isin(("failed", "nonfinite")), "run_id"]}
    skip = done | (set() if retry_failed else failed)
    todo = [rid for rid in range(total) if rid not in skip]
    workers = getattr(executor, "workers", 1)
    fixed = experiment.spec.chunk_size
    adaptive = None if fixed else _AdaptiveChunks(experiment, todo, workers, task_seconds)
    chunks = iter(adaptive) if adaptive is not None else make_chunks(experiment, todo, fixed or 1)
    started = time.time()
    meta: dict[str, Any] = {"started": started, "host": socket.gethostname(), "platform": platform.platform(),
            "versions": package_versions(), "git": git_commit(), "workers": workers,
            "executor": type(executor).__name__, "chunk_size": fixed or f"adaptive, about {task_seconds} s",
            "source": experiment.source}
    # the resolved experiment itself is in experiment.json (for a 14,336-point study, 9 MB: not copied here)
    previous = store.read_metadata()
    previous.pop("experiment", None)  # written by earlier versions
    store.write_metadata({**previous, "experiment_file": EXPERIMENT_FILE, "identity": experiment.identity(),
                          "root_seed": experiment.spec.seed, "source": experiment.source, "last_session": meta})
    if limits is None:  # the experiment's, each overridden by the executor's where set (the command line's)
        given = getattr(executor, "limits", None) or RunLimits()
        limits = RunLimits(given.timeout_s if given.timeout_s is not None else experiment.spec.timeout_s,
                           given.memory_mb if given.memory_mb is not None else experiment.spec.memory_mb)
    measured = stored.loc[stored["status"] != "failed", "seconds"]
    if limits.measured_s is None and len(measured):
        limits = dataclasses.replace(limits, measured_s=float(measured.max()))
    for result in executor.map_unordered(evaluate_chunk, chunks, limits):
        store.write_chunk(result.index_rows, result.outputs, result.timeseries, result.tables)
        if adaptive is not None:
            adaptive.observe(result)
        if progress is not None:
            progress(result)
    index = store.index()
    ok = int((index["status"] == "ok").sum()) if len(index) else 0
    bad = int((index["status"] == "failed").sum()) if len(index) else 0
    odd = int((index["status"] == "nonfinite").sum()) if len(index) else 0
    meta["finished"] = time.time()
    store.write_metadata({**store.read_metadata(), "last_session": meta})
    return SweepReport(total=total, ok=ok, failed=bad, ran_now=len(todo), skipped=total - len(todo),
                       seconds=meta["finished"] - started, path=Path(out), nonfinite=odd, causes=_causes(index))


def _causes(index: Any) -> dict[str, int]:
    """Failed runs by cause, in the order crash, timeout, memory, error (only those that occur)."""
    if not len(index):
        return {}
    errors = index.loc[index["status"] == "failed", "error"]
    counts = collections.Counter(failure_cause(e) for e in errors)
    return {cause: counts[cause] for cause in (*LOST_CAUSES, "error") if counts[cause]}


def sweep_status(out: Path) -> dict[str, Any]:
    """Runs done, failed and remaining in a sweep folder, with the failures' errors."""
    store = RunStore.open(Path(out), "r")  # a status only reads: it works on read-only media
    exp = store.experiment
    total = len(exp["points"]) * int(exp["replications"])
    index = store.index()
    failed = index[index["status"] != "ok"] if len(index) else index
    ok = int((index["status"] == "ok").sum()) if len(index) else 0
    odd = int((failed["status"] == "nonfinite").sum()) if len(failed) else 0
    return {"name": exp["name"], "total": total, "ok": ok, "failed": len(failed) - odd, "nonfinite": odd,
            "causes": _causes(index),
            "remaining": total - ok - len(failed),
            "failures": failed[["run_id", "point_id", "replication", "error"]].to_dict(orient="records")}


def sweep(experiment: str | Path | Experiment, out: str | Path, *, workers: int | None = None,
          executor: str = "local", scheduler: str | None = None, scheduler_file: str | None = None,
          retry_failed: bool = False, progress: bool = False) -> SweepReport:
    """Run or resume a sweep from Python (a notebook, a script): the powers of ``clustersim sweep``.

    ``experiment`` is an experiment file or a loaded :class:`~clustersim.experiment.spec.Experiment`. Results
    load with ``RunStore.open(out).outputs()``. ``progress=True`` shows a notebook-friendly bar (tqdm.auto).
    Parallel runs work from a notebook: the local pool uses a
    fork server when the calling process runs several threads (as a notebook kernel does).
    """
    from clustersim.experiment.spec import load_experiment
    from clustersim.util.progress import make_progress

    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    ex: Any = (DaskExecutor(scheduler, scheduler_file, workers) if executor == "dask" else LocalExecutor(workers))
    bar = make_progress(len(exp.points) * exp.spec.replications, exp.spec.name, notebook=progress) if progress \
        else None
    try:
        return run_sweep(exp, Path(out), executor=ex, retry_failed=retry_failed,
                         progress=(lambda r: bar.update(len(r.index_rows),
                                                        failed=sum(x["status"] != "ok" for x in r.index_rows)))
                         if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
        if hasattr(ex, "close"):
            ex.close()
