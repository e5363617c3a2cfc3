"""Where runs execute: this process, a local process pool, or a Dask cluster."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading

__all__ = ["default_workers", "pool_context"]


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
