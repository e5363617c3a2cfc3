"""Contained runs on a Dask cluster, through Dask's own mechanisms.

- **crash or memory**: a worker that dies while running a task (a segmentation fault, ``os._exit``, or its
  nanny stopping it past the worker's memory limit) is restarted by its nanny, and the scheduler gives the
  task to another worker, until ``distributed.scheduler.allowed-failures`` workers have died with it; the
  task then fails with ``KilledWorker``. A chunk of several runs is then split into single runs, sent again
  (their results are the same: seeds depend on the run only); a single run is sent once more on its own
  (a task merely queued on a dying worker is counted as suspect too, so an innocent run can be given up
  with a guilty one); a single run that kills its workers twice over is recorded as ``memory: ...`` if the
  nanny says it restarted the last one for memory (its ``worker-restart-memory`` event), otherwise as
  ``crash: ...`` (Dask does not tell the client the exit code or the signal: the worker logs do).
- **timeout**: the client asks the workers which tasks they are executing (``Client.run``, about once a
  second); a task executed by one worker longer than ``timeout_s`` × its runs is cancelled and its worker
  restarted (``Client.restart_workers``: the worker needs a nanny, ``dask worker``'s default); a chunk of
  several runs is split into single runs, a single run recorded as ``timeout: ...``.

Anything else a task raises (it should not: runs that raise are recorded by the chunk itself) fails its runs
with the error's first line.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator
from typing import Any

from clustersim.experiment.contained import RunLimits
from clustersim.experiment.evaluate import Chunk, ChunkResult, lost_run

__all__ = ["DaskWatch"]

#: how often (seconds) the client looks at what the cluster is processing
POLL_S = 1.0


def _executing(dask_worker: Any) -> list[Any]:
    """The keys of the tasks ``dask_worker`` is executing (run on each worker by ``Client.run``: tasks merely
    queued on a worker do not count towards their timeout)."""
    return [ts.key for ts in dask_worker.state.executing]


def _singles(chunk: Chunk) -> list[Chunk]:
    return [Chunk(model=chunk.model, root_seed=chunk.root_seed, tables=chunk.tables, tasks=(task,))
            for task in chunk.tasks]


class DaskWatch:
    """Submit chunks to ``client`` (at most ``in_flight`` at a time), yield their results, and record the runs
    Dask loses."""

    def __init__(self, client: Any, fn: Callable[..., Any], in_flight: int, limits: RunLimits) -> None:
        self.client, self.fn, self.in_flight, self.limits = client, fn, in_flight, limits
        self.pending: dict[Any, Chunk] = {}
        self.retry: collections.deque[Chunk] = collections.deque()
        # task key -> (the worker processing it, since when): a task given to another worker (its first died)
        # starts again
        self.seen: dict[str, tuple[str, float]] = {}
        self.longest: float | None = None
        self.second: set[int] = set()  # runs given a second chance after a KilledWorker
        self.submitted: dict[Any, float] = {}  # future -> when it was submitted (time.time())

    def _fill(self, source: Iterator[Chunk]) -> None:
        while len(self.pending) < self.in_flight:
            chunk = self.retry.popleft() if self.retry else next(source, None)
            if chunk is None:
                return
            future = self.client.submit(self.fn, chunk, pure=False)
            self.pending[future] = chunk
            self.submitted[future] = time.time()

    def run(self, source: Iterator[Chunk]) -> Iterator[ChunkResult]:
        from distributed import wait

        self._fill(source)
        while self.pending:
            try:
                done = wait(list(self.pending), timeout=POLL_S, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                done = set()
            for future in done:
                chunk = self.pending.pop(future)
                self.seen.pop(future.key, None)
                yield from self._finished(future, chunk, self.submitted.pop(future, 0.0))
            yield from self._timeouts()
            self._fill(source)

    def _finished(self, future: Any, chunk: Chunk, submitted: float) -> Iterator[ChunkResult]:
        from distributed import KilledWorker

        if future.status == "finished":
            result: ChunkResult = future.result()
            seconds = [r["seconds"] for r in result.index_rows if r["status"] != "failed"]
            if seconds:
                self.longest = max([*seconds, *([self.longest] if self.longest is not None else [])])
            yield result
            return
        if future.status == "cancelled":  # pragma: no cover - only this class cancels, and drops them first
            return
        exc = future.exception()
        if isinstance(exc, KilledWorker) and len(chunk.tasks) > 1:
            self.retry.extend(_singles(chunk))
            return
        if isinstance(exc, KilledWorker) and chunk.tasks[0].run_id not in self.second:
            # a task merely queued on a worker that died is counted as suspect too: an innocent run can be
            # given up with the guilty one. A second opinion, on its own, tells them apart.
            self.second.add(chunk.tasks[0].run_id)
            self.retry.append(chunk)
            return
        if isinstance(exc, KilledWorker) and self._memory_killed(exc, submitted):
            why = ("memory: the Dask workers that ran it passed their memory limit (their nanny restarted them; "
                   "KilledWorker)")
        elif isinstance(exc, KilledWorker):
            why = ("crash: every Dask worker that ran it died (KilledWorker); the worker logs give the exit code "
                   "or signal")
        else:
            why = f"crash: the Dask task failed ({type(exc).__name__}: {exc})".splitlines()[0][:500]
        for task in chunk.tasks:
            yield lost_run(chunk, task.run_id, why, 0.0)

    def _memory_killed(self, exc: Any, since: float) -> bool:
        """Whether the last worker lost with the task was restarted by its nanny for memory after ``since``
        (the nanny's ``worker-restart-memory`` event)."""
        try:
            address = exc.last_worker.address
            events = self.client.get_events("worker-restart-memory")
        except Exception:  # noqa: BLE001 - an older scheduler, or the event log is off: then it says crash
            return False
        return any(isinstance(event, dict) and event.get("worker") == address and stamp >= since
                   for stamp, event in events)

    def _timeouts(self) -> Iterator[ChunkResult]:
        """Cancel tasks past the timeout and restart their workers; record or split their runs."""
        now = time.monotonic()
        try:
            running = self.client.run(_executing, on_error="return")
        except Exception:  # noqa: BLE001 - a worker coming and going: look again at the next poll
            return
        where = {key: worker for worker, keys in running.items() if isinstance(keys, list) for key in keys}
        timeout = self.limits.timeout(self.longest)
        late: list[tuple[Any, Chunk, str, float]] = []
        for future, chunk in self.pending.items():
            if future.key in where:
                worker, since = self.seen.get(future.key, (None, now))
                if worker != where[future.key]:
                    worker, since = where[future.key], now
                    self.seen[future.key] = (worker, since)
                if now - since > timeout * len(chunk.tasks):
                    late.append((future, chunk, where[future.key], since))
        for future, chunk, worker, since in late:
            del self.pending[future]
            self.seen.pop(future.key, None)
            self.submitted.pop(future, None)
            future.cancel()
            self.client.restart_workers([worker], raise_for_error=False)
            if len(chunk.tasks) > 1:
                self.retry.extend(_singles(chunk))
            else:
                yield lost_run(chunk, chunk.tasks[0].run_id,
                               f"timeout: the run took more than {timeout:g} s (timeout_s)", now - since)
