"""Contained runs on a Dask cluster, through Dask's own mechanisms.

- **crash or memory**: a worker that dies while running a task (a segmentation fault, ``os._exit``, or its
  nanny stopping it past the worker's memory limit) is restarted by its nanny, and the scheduler gives the
  task to another worker, until ``distributed.scheduler.allowed-failures`` workers have died with it; the
  task then fails with ``KilledWorker``. A chunk of several runs is then split into single runs, sent again
  (their results are the same: seeds depend on the run only); a single run is sent once more, alone on the
  cluster once the tasks in flight have finished (a task merely queued on a dying worker is counted as
  suspect too, so an innocent run can be given up with a guilty one; alone, it cannot); a single run that
  kills its workers again, alone, is recorded as ``memory: ...`` if the
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
import concurrent.futures
import time
from collections.abc import Callable, Iterator
from typing import Any

from clustersim.experiment.contained import RunLimits
from clustersim.experiment.evaluate import Chunk, ChunkResult, lost_run

__all__ = ["ClusterLostError", "DaskWatch"]

#: how often (seconds) the client looks at what the cluster is processing
POLL_S = 1.0
#: how long (seconds) the client waits for the workers to say what they execute before it takes the scheduler's
#: view (which also counts tasks queued on a worker) for the poll
PROBE_PATIENCE_S = 30.0
#: how long (seconds) a cluster may have no worker at all before the sweep stops (without workers, nothing
#: would ever run: workers killed by a crashing plug-in with no nanny to restart them, or stopped)
NO_WORKERS_S = 120.0


class ClusterLostError(OSError):
    """The Dask cluster has had no worker for :data:`NO_WORKERS_S` seconds: the sweep stops (exit code 3 on the
    command line); what was stored is kept and the same command resumes once workers are back."""


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
        self.suspects: collections.deque[Chunk] = collections.deque()  # single runs to try again, alone
        self.isolated = False  # a suspect run is in flight, alone on the cluster
        self.submitted: dict[Any, float] = {}  # future -> when it was submitted (time.time())
        self.alone_since: float | None = None  # since when the cluster has had no worker
        self._probe: concurrent.futures.ThreadPoolExecutor | None = None  # asks the workers what they execute
        self._asked: tuple[concurrent.futures.Future[Any], float] | None = None  # the question in flight, since

    def _fill(self, source: Iterator[Chunk]) -> None:
        """Submit chunks up to ``in_flight``; a suspect run goes alone, once nothing else is in flight."""
        if not self.pending:
            self.isolated = False
        if self.suspects or self.isolated:
            if not self.pending and self.suspects:
                self.isolated = True
                self._submit(self.suspects.popleft())
            return
        while len(self.pending) < self.in_flight:
            chunk = self.retry.popleft() if self.retry else next(source, None)
            if chunk is None:
                return
            self._submit(chunk)

    def _submit(self, chunk: Chunk) -> None:
        future = self.client.submit(self.fn, chunk, pure=False)
        self.pending[future] = chunk
        self.submitted[future] = time.time()

    def run(self, source: Iterator[Chunk]) -> Iterator[ChunkResult]:
        """Every chunk of ``source``, evaluated; results (lost runs included) as they complete."""
        try:
            yield from self._loop(source)
        finally:
            self.close()

    def _loop(self, source: Iterator[Chunk]) -> Iterator[ChunkResult]:
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
            self._check_workers()
            self._fill(source)

    def _finished(self, future: Any, chunk: Chunk, submitted: float) -> Iterator[ChunkResult]:
        if future.status == "cancelled":  # pragma: no cover - only this class cancels, and drops them first
            return
        try:  # "finished" is not final: a result on a worker that dies before it is gathered is computed again,
            result: ChunkResult = future.result()  # and that can fail too
        except Exception as exc:  # noqa: BLE001 - judged below
            yield from self._failed(chunk, exc, submitted)
            return
        seconds = [r["seconds"] for r in result.index_rows if r["status"] != "failed"]
        if seconds:
            self.longest = max([*seconds, *([self.longest] if self.longest is not None else [])])
        yield result

    def _failed(self, chunk: Chunk, exc: BaseException, submitted: float) -> Iterator[ChunkResult]:
        """A chunk whose task failed: split it, give a single run a second opinion, or record its runs."""
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker) and len(chunk.tasks) > 1:
            self.retry.extend(_singles(chunk))
            return
        if isinstance(exc, KilledWorker) and chunk.tasks[0].run_id not in self.second:
            # a task merely queued on a worker that died is counted as suspect too: an innocent run can be
            # given up with the guilty one. A second opinion, with the run alone on the cluster, tells them apart.
            self.second.add(chunk.tasks[0].run_id)
            self.suspects.append(chunk)
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

    def _where_executing(self) -> dict[Any, str] | None:
        """Task key -> the worker executing it, asked of the workers (``Client.run``, which has no timeout of its
        own: asked from a helper thread, and while a worker is slow to answer, the scheduler's view of what it
        processes stands in after :data:`PROBE_PATIENCE_S`); None when nothing is known at this poll."""
        if self._probe is None:
            self._probe = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="clustersim-dask-probe")
        if self._asked is None:
            self._asked = (self._probe.submit(self.client.run, _executing, on_error="return"), time.monotonic())
        asked, since = self._asked
        try:
            running = asked.result(timeout=POLL_S / 4)
        except concurrent.futures.TimeoutError:
            if time.monotonic() - since < PROBE_PATIENCE_S:
                return None
            try:
                running = self.client.processing()
            except Exception:  # noqa: BLE001 - the scheduler busy too: the next poll
                return None
            return {key: worker for worker, keys in running.items() for key in keys}
        except Exception:  # noqa: BLE001 - a worker coming and going: look again at the next poll
            self._asked = None
            return None
        self._asked = None
        return {key: worker for worker, keys in running.items() if isinstance(keys, list) for key in keys}

    def close(self) -> None:
        """Stop the helper thread (a question still unanswered is left to end by itself)."""
        if self._probe is not None:
            self._probe.shutdown(wait=False, cancel_futures=True)

    def _check_workers(self) -> None:
        """Raise :class:`ClusterLostError` once the cluster has had no worker for :data:`NO_WORKERS_S`."""
        try:
            workers = len(self.client.nthreads())
        except Exception:  # noqa: BLE001 - the scheduler itself unreachable: distributed raises on the next call
            return
        now = time.monotonic()
        if workers:
            self.alone_since = None
        elif self.alone_since is None:
            self.alone_since = now
        elif now - self.alone_since > NO_WORKERS_S:
            raise ClusterLostError(f"the Dask cluster has had no worker for {NO_WORKERS_S:g} s ({len(self.pending)} "
                                   "task(s) waiting): its workers died or were stopped (workers started without a "
                                   "nanny are not restarted when a run kills them); start workers and run the same "
                                   "command again: what is stored is kept")

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
        where = self._where_executing()
        if where is None:
            return
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
            self.client.restart_workers([worker], timeout=30, raise_for_error=False)
            if len(chunk.tasks) > 1:
                self.retry.extend(_singles(chunk))
            else:
                yield lost_run(chunk, chunk.tasks[0].run_id,
                               f"timeout: the run took more than {timeout:g} s (timeout_s)", now - since)
