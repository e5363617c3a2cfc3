"""Where runs execute: this process, a local process pool, or a Dask cluster.

An executor has ``workers`` and ``map_unordered(fn, items)``, which applies a picklable module-level
function to each item and yields the results as they complete; the items are submitted as workers free
up (at most two per worker in flight), so memory stays flat. Sweeps map chunks of runs
(:func:`clustersim.experiment.evaluate.evaluate_chunk`), ``clustersim run`` and ``compare`` map
replications (:func:`clustersim.experiment.runner.run_scenario`): the same executors for both.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["DaskExecutor", "LocalExecutor", "default_workers", "local_cluster_options", "pool_context"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pool_context() -> mp.context.BaseContext:
    """The start method for worker processes.

    ``fork`` when this process runs a single thread: workers start at once, inherit the imported model,
    and scripts need no ``if __name__ == "__main__"`` guard. Otherwise (a notebook kernel, a threaded
    application) ``forkserver``, since forking a threaded process can deadlock; its workers preload the
    model once.
    """
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["clustersim.experiment.runner"])
    return ctx


class LocalExecutor:
    """Worker processes on this machine, each run contained (:mod:`clustersim.experiment.contained`: a crash, a
    hang or a memory blow-up is recorded as that run's failure, with its cause, and the sweep goes on);
    results as they complete. ``contained=False`` with one worker evaluates in this process instead (for a
    debugger; a model that crashes then takes this process with it)."""

    def __init__(self, workers: int | None = None, *, contained: bool = True, limits: Any = None) -> None:
        self.workers = max(1, default_workers() if workers is None else int(workers))
        self.contained = contained or self.workers > 1
        self.limits = limits  # a RunLimits whose set fields override the experiment's (the command line's)

    def close(self) -> None:
        """Nothing to release: the pool's workers end with each map."""

    def map_unordered(self, fn: Callable[..., R], chunks: Iterable[T], limits: Any = None) -> Iterator[R]:
        if not self.contained:
            for chunk in chunks:
                yield fn(chunk)
            return
        from clustersim.experiment.contained import ContainedPool

        yield from ContainedPool(self.workers, pool_context()).map_unordered(fn, chunks, limits)  # type: ignore[arg-type, misc]


def local_cluster_options() -> dict[str, Any]:
    """Where a ``distributed.LocalCluster`` listens: this machine only, no dashboard, and the scheduler's HTTP
    server (which runs even without the dashboard, for its health and metrics routes, and would otherwise ask
    for port 8787 and warn whenever another program holds it) on a free port of 127.0.0.1."""
    return {"host": "127.0.0.1", "dashboard_address": None,
            "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}


class DaskExecutor:
    """Chunks as tasks on a Dask cluster: a ``distributed.Client`` on a scheduler address, a scheduler file,
    or (neither given) a LocalCluster on this machine (:func:`local_cluster_options`), made when the first
    chunks are sent so that it takes the experiment's memory limit. A worker lost mid-task has its task re-run
    by Dask elsewhere; results are identical to the local executor's (seeds depend on the run, not the worker).

    Runs are contained by Dask's own mechanisms (:meth:`map_unordered`): a task whose workers keep dying
    (``KilledWorker``: a crash, or the nanny's memory limit) and a task past the timeout (cancelled, its worker
    restarted by its nanny) are recorded as failed runs with their cause, and the sweep goes on.

    Requires the optional extra: ``pip install 'clustersim[dask]'``.
    """

    def __init__(self, address: str | None = None, scheduler_file: str | None = None,
                 workers: int | None = None, connect_timeout: float = 30.0, *, limits: Any = None) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("the Dask executor needs dask.distributed: pip install 'clustersim[dask]'") from exc
        self._cluster: Any = None
        self._client: Any = None
        self.limits = limits  # a RunLimits whose set fields override the experiment's (the command line's)
        self._local = max(1, default_workers() if workers is None else int(workers))
        wait = f"{float(connect_timeout)}s"
        if address is not None:
            self._client = Client(address, timeout=wait)
        elif scheduler_file is not None:
            if not os.path.isfile(scheduler_file):  # distributed would wait for it to appear, without end
                raise FileNotFoundError(f"scheduler file {scheduler_file} not found: start the scheduler first "
                                        f"(dask scheduler --scheduler-file {scheduler_file})")
            self._client = Client(scheduler_file=scheduler_file, timeout=wait)
        self.workers = (max(1, len(self._client.scheduler_info().get("workers", {})) or (workers or 1))
                        if self._client is not None else self._local)

    @property
    def client(self) -> Any:
        """The client (for a local cluster, made on first use with the default memory limit)."""
        if self._client is None:
            self._start_local(None)
        return self._client

    def _start_local(self, memory: int | None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = LocalCluster(n_workers=self._local, threads_per_worker=1, processes=True,
                                     memory_limit=memory if memory else "auto", **local_cluster_options())
        self._client = Client(self._cluster)

    def map_unordered(self, fn: Callable[..., Any], chunks: Iterable[Any], limits: Any = None) -> Iterator[Any]:
        """Chunks as tasks, results as they complete; lost runs recorded with their cause
        (:class:`~clustersim.experiment.dask_watch.DaskWatch`)."""
        from clustersim.experiment.contained import RunLimits
        from clustersim.experiment.dask_watch import DaskWatch

        limits = limits or RunLimits()
        if self._client is None:
            self._start_local(limits.memory_bytes(self._local) if limits.memory_mb is not None else None)
        yield from DaskWatch(self.client, fn, 2 * self.workers, limits).run(iter(chunks))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
