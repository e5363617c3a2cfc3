"""Contained runs: a pool of local worker processes in which a run that crashes, hangs or exhausts memory is
recorded as that run's failure, with its cause, and the sweep goes on.

Each worker is a process of its own (forked from this one when it runs a single thread, otherwise from a fork
server: :func:`~clustersim.experiment.executors.pool_context`) that evaluates chunks of runs and tells the pool,
through its pipe, which run it starts. The pool watches every busy worker:

- **crash**: the worker exits (``os._exit``, a C library's ``abort``) or dies of a signal (a segmentation
  fault): the run it was in is recorded as failed, ``crash: ... exit code 3`` or ``crash: ... signal 11
  (SIGSEGV)``; the worker is replaced; the chunk's other runs are evaluated again by a fresh worker
  (seeds depend on the run only, so their results are the same as if nothing had happened).
- **timeout**: a run that takes longer than the limit has its worker killed and is recorded as
  ``timeout: ...``. The limit is the experiment's ``timeout_s``; by default it is derived from the run times
  measured so far (:meth:`RunLimits.timeout`).
- **memory**: a worker whose resident memory passes the limit (``memory_mb``; by default a share of this
  machine's memory, :meth:`RunLimits.memory_bytes`) is killed and its run recorded as ``memory: ...``; the
  worker's data segment is also capped (``RLIMIT_DATA``) a little above the limit, so that an allocation
  too fast for the watch fails inside the run as a ``MemoryError`` (recorded with the traceback).
  A worker killed by the system (``SIGKILL`` we did not send: the kernel's out-of-memory killer) is
  recorded as ``memory`` too.

Runs that raise are not the pool's business: :func:`~clustersim.experiment.evaluate.evaluate_chunk` records
them (and a model calling ``sys.exit``) in the worker, which carries on. ``--retry-failed`` runs every
failed run again, whatever its cause.
"""

from __future__ import annotations

import collections
import faulthandler
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from clustersim.experiment.evaluate import Chunk, ChunkResult, chunk_without, lost_run

__all__ = ["ContainedPool", "RunLimits", "describe_exit"]

#: before any run has been measured, a run may take this long (seconds)
INITIAL_TIMEOUT_S = 1800.0
#: once runs have been measured, a run may take this many times the longest of them ...
TIMEOUT_FACTOR = 20.0
#: ... but never less than this (seconds)
MIN_TIMEOUT_S = 120.0
#: by default the workers together may hold this share of the machine's physical memory
MEMORY_SHARE = 0.8
#: the watch's period (seconds): how often busy workers' run times and memory are checked
POLL_S = 0.05


@dataclass(frozen=True)
class RunLimits:
    """What a run may take: ``timeout_s`` seconds (None: derived from measured run times) and ``memory_mb``
    megabytes per worker (None: :data:`MEMORY_SHARE` of the machine's memory, shared by the workers).
    ``measured_s`` is the longest run already measured (a resumed store's), if any."""

    timeout_s: float | None = None
    memory_mb: float | None = None
    measured_s: float | None = None

    def timeout(self, longest: float | None) -> float:
        """The per-run timeout, given the longest run measured so far: the experiment's ``timeout_s`` if set;
        otherwise :data:`TIMEOUT_FACTOR` times the longest run measured, at least :data:`MIN_TIMEOUT_S`, and
        :data:`INITIAL_TIMEOUT_S` before any run has been measured."""
        if self.timeout_s is not None:
            return float(self.timeout_s)
        known = [x for x in (longest, self.measured_s) if x is not None]
        if not known:
            return INITIAL_TIMEOUT_S
        return max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * max(known))

    def memory_bytes(self, workers: int) -> int:
        """The resident memory one worker may use, in bytes."""
        if self.memory_mb is not None:
            return int(self.memory_mb * 2**20)
        return int(MEMORY_SHARE * physical_memory() / max(1, workers))


def physical_memory() -> int:
    """This machine's physical memory in bytes (8 GiB where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def _resident(pid: int) -> int:
    """Resident memory of process ``pid`` in bytes (0 where it cannot be read: not Linux, or gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def describe_exit(code: int | None) -> str:
    """A worker's end, in words: ``exit code 3``, ``signal 11 (SIGSEGV)``."""
    if code is None:
        return "an unknown end"
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _cap_data(limit: int) -> None:
    """Cap this process's data segment at its present size plus ``limit`` bytes (where the system allows)."""
    try:
        import resource

        with open("/proc/self/status") as fh:
            now = next((int(line.split()[1]) * 1024 for line in fh if line.startswith("VmData:")), 0)
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        cap = now + limit
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    except (ImportError, OSError, ValueError, StopIteration):  # pragma: no cover - not Linux
        pass


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it dies (``PR_SET_PDEATHSIG``): a sweep
    killed mid-run leaves no worker computing on its own. Elsewhere the worker ends when its pipe closes."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _serve(conn: Connection, data_limit: int, environ: dict[str, str], other: Connection | None = None) -> None:
    """A worker's life: evaluate the chunks it is sent, telling the pool which run it starts, until told to
    stop (``None``) or its pipe closes. Ctrl-C is the pool's to handle: the worker ignores it. The worker
    takes the pool's environment as it is when the worker starts (as a forked one would, also when it comes
    from a fork server started earlier)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if other is not None:  # the pool's end of the pipe, inherited: closed, so that the pipe ends with the pool
        other.close()
    if environ != os.environ:
        os.environ.clear()
        os.environ.update(environ)
    if not os.environ.get("PYTHONFAULTHANDLER"):  # a crash is recorded with its signal; a stack dump per crash
        faulthandler.disable()                    # (inherited from a test runner, say) is noise, unless asked for
    if data_limit > 0:
        _cap_data(data_limit)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        key, fn, chunk = message
        try:
            result = fn(chunk, started=lambda run_id, key=key: conn.send(("start", key, run_id)))
            conn.send(("done", key, result))
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled: the pool records it
            conn.send(("broken", key, f"{type(exc).__name__}: {exc}".splitlines()[0][:500]))


class _Worker:
    """One worker process, its pipe, and what it is doing."""

    def __init__(self, ctx: Any, data_limit: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child, data_limit, dict(os.environ), self.conn),
                                 daemon=True, name="clustersim-worker")
        self.proc.start()
        child.close()
        self.key: int | None = None
        self.chunk: Chunk | None = None
        self.run_id: int | None = None
        self.since = time.monotonic()
        self.stopped_for: str | None = None  # why the pool killed it ("timeout: ...", "memory: ...")

    def give(self, key: int, fn: Callable[..., ChunkResult], chunk: Chunk) -> None:
        self.key, self.chunk, self.run_id, self.since = key, chunk, None, time.monotonic()
        self.conn.send((key, fn, chunk))

    def free(self) -> None:
        self.key = self.chunk = self.run_id = None

    def kill(self, why: str | None = None) -> None:
        self.stopped_for = why
        if self.proc.is_alive():
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - died meanwhile
                pass
        self.proc.join()

    def close(self) -> None:
        self.conn.close()
        self.proc.close()


class ContainedPool:
    """``workers`` contained worker processes; :meth:`map_unordered` evaluates chunks of runs in them."""

    def __init__(self, workers: int, context: Any) -> None:
        self.workers = max(1, int(workers))
        self.context = context

    def map_unordered(self, fn: Callable[..., ChunkResult], chunks: Iterable[Chunk],
                      limits: RunLimits | None = None) -> Iterator[ChunkResult]:
        """Evaluate ``chunks`` with ``fn`` (:func:`~clustersim.experiment.evaluate.evaluate_chunk`, or a function
        with its signature), yielding results as they complete: a lost run's result (one failed row) as soon
        as its worker is gone, then its chunk's other runs again, in a chunk of their own."""
        limits = limits or RunLimits()
        memory = limits.memory_bytes(self.workers)
        data_limit = int(memory * 1.25)
        source = iter(chunks)
        retry: collections.deque[Chunk] = collections.deque()
        idle: list[_Worker] = []
        busy: dict[int, _Worker] = {}
        longest: list[float] = []  # the longest run measured so far, if any
        keys = iter(range(1 << 62))
        exhausted = False
        try:
            while True:
                while len(busy) < self.workers and (retry or not exhausted):
                    chunk = retry.popleft() if retry else next(source, None)
                    if chunk is None:
                        exhausted = True
                        break
                    worker = idle.pop() if idle else _Worker(self.context, data_limit)
                    key = next(keys)
                    worker.give(key, fn, chunk)
                    busy[key] = worker
                if not busy:
                    return
                wait([w.conn for w in busy.values()] + [w.proc.sentinel for w in busy.values()], timeout=POLL_S)
                timeout = limits.timeout(longest[0] if longest else None)
                for key, worker in list(busy.items()):
                    result, lost = self._check(worker, timeout, memory, longest)
                    if result is not None:
                        yield result
                    if lost is not None:
                        del busy[key]
                        if lost.tasks:
                            retry.appendleft(lost)
                        worker.close()
                    elif worker.key is None:
                        del busy[key]
                        idle.append(worker)
        finally:
            for worker in idle + list(busy.values()):
                _stop(worker)

    def _check(self, worker: _Worker, timeout: float, memory: int, longest: list[float]
               ) -> tuple[ChunkResult | None, Chunk | None]:
        """Read what ``worker`` said and check its limits: (a result to yield or None, the runs to evaluate again
        if the worker is gone, or None)."""
        result = None
        try:
            while worker.conn.poll():
                kind, key, payload = worker.conn.recv()
                if key != worker.key:  # pragma: no cover - defensive: a message about an earlier chunk
                    continue
                if kind == "start":
                    worker.run_id, worker.since = payload, time.monotonic()
                elif kind == "done":
                    result = payload
                    seconds = [r["seconds"] for r in payload.index_rows if r["status"] != "failed"]
                    if seconds:
                        longest[:] = [max([*longest, *seconds])]
                    worker.free()
                    return result, None
                else:  # "broken": the chunk's runs cannot be returned
                    chunk = worker.chunk
                    worker.free()
                    assert chunk is not None
                    return _all_failed(chunk, f"crash: the worker could not return the results ({payload})"), None
        except (EOFError, OSError):
            pass  # the worker is gone: below
        elapsed = time.monotonic() - worker.since
        if worker.proc.is_alive():
            if elapsed > timeout:
                worker.kill(f"timeout: the run took more than {timeout:g} s (timeout_s)")
            elif memory > 0 and _resident(worker.proc.pid) > memory:
                worker.kill(f"memory: the run's process used more than {memory / 2**20:,.0f} MB (memory_mb)")
            else:
                return result, None
        else:
            worker.proc.join()
        return self._lost(worker, elapsed)

    @staticmethod
    def _lost(worker: _Worker, elapsed: float) -> tuple[ChunkResult, Chunk]:
        """The dead ``worker``'s run, recorded with its cause, and the rest of its chunk."""
        chunk = worker.chunk
        assert chunk is not None
        run_id = worker.run_id if worker.run_id is not None else chunk.tasks[0].run_id
        why = worker.stopped_for
        if why is None:
            code = worker.proc.exitcode
            if code == -signal.SIGKILL:
                why = ("memory: the run's process was killed by the system (signal 9, SIGKILL), most likely out "
                       "of memory")
            else:
                why = f"crash: the run's process ended with {describe_exit(code)}"
        return lost_run(chunk, run_id, why, elapsed), chunk_without(chunk, {run_id})


def _all_failed(chunk: Chunk, error: str) -> ChunkResult:
    """Every run of ``chunk`` failed with ``error``."""
    rows = [row for task in chunk.tasks for row in lost_run(chunk, task.run_id, error, 0.0).index_rows]
    return ChunkResult(rows, None, None, {})


def _stop(worker: _Worker) -> None:
    """Ask ``worker`` to stop; kill it if it does not within a second (a run still going: Ctrl-C, an error)."""
    if worker.key is None and worker.proc.is_alive():
        try:
            worker.conn.send(None)
        except OSError:  # pragma: no cover - already gone
            pass
        worker.proc.join(1.0)
    worker.kill()
    worker.close()
