"""Where runs execute: this process, a local process pool, or a Dask cluster.

An executor has ``workers`` and ``map_unordered(fn, items)``, which applies a picklable module-level
function to each item and yields the results as they complete; the items are submitted as workers free
up (at most two per worker in flight), so memory stays flat. Sweeps map chunks of runs
(:func:`clustersim.experiment.evaluate.evaluate_chunk`), ``clustersim run`` and ``compare`` map
replications (:func:`clustersim.experiment.runner.run_scenario`): the same executors for both.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
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
    """A process pool on this machine (``workers`` = 1: in this process); results as they complete."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, default_workers() if workers is None else int(workers))

    def map_unordered(self, fn: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        if self.workers == 1:
            for chunk in chunks:
                yield fn(chunk)
            return
        chunks = iter(chunks)
        in_flight = 2 * self.workers  # bounded: the client never holds more than this many chunks
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=pool_context()) as pool:
            pending = set()
            for chunk in chunks:
                pending.add(pool.submit(fn, chunk))
                if len(pending) >= in_flight:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                    nxt = next(chunks, None)
                    if nxt is not None:
                        pending.add(pool.submit(fn, nxt))


def local_cluster_options() -> dict[str, Any]:
    """Where a ``distributed.LocalCluster`` listens: this machine only, no dashboard, and the scheduler's HTTP
    server (which runs even without the dashboard, for its health and metrics routes, and would otherwise ask
    for port 8787 and warn whenever another program holds it) on a free port of 127.0.0.1."""
    return {"host": "127.0.0.1", "dashboard_address": None,
            "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}


class DaskExecutor:
    """Chunks as tasks on a Dask cluster: a ``distributed.Client`` on a scheduler address, a scheduler file,
    or (neither given) a LocalCluster on this machine (:func:`local_cluster_options`). A worker lost
    mid-task has its task re-run by Dask elsewhere; results are identical to the local executor's (seeds
    depend on the run, not the worker).

    Requires the optional extra: ``pip install 'clustersim[dask]'``.
    """

    def __init__(self, address: str | None = None, scheduler_file: str | None = None,
                 workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("the Dask executor needs dask.distributed: pip install 'clustersim[dask]'") from exc
        self._cluster = None
        if address is not None:
            self.client = Client(address, timeout="30s")
        elif scheduler_file is not None:
            if not os.path.isfile(scheduler_file):  # distributed would wait for it to appear, without end
                raise FileNotFoundError(f"scheduler file {scheduler_file} not found: start the scheduler first "
                                        f"(dask scheduler --scheduler-file {scheduler_file})")
            self.client = Client(scheduler_file=scheduler_file, timeout="30s")
        else:
            n = max(1, default_workers() if workers is None else int(workers))
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         **local_cluster_options())
            self.client = Client(self._cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or (workers or 1))

    def map_unordered(self, fn: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        from distributed import as_completed

        chunks = iter(chunks)
        first = [self.client.submit(fn, c, pure=False) for c in itertools.islice(chunks, 2 * self.workers)]
        queue = as_completed(first, with_results=True)
        for _, result in queue:
            yield result
            nxt = next(chunks, None)
            if nxt is not None:
                queue.add(self.client.submit(fn, nxt, pure=False))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
