"""The evaluation unit: one scenario run with one seed, and the chunks of runs that workers evaluate.

:func:`evaluate` runs the clustersim model on a validated scenario with one seed and returns a :class:`Run`:
the run summary (:mod:`clustersim.experiment.summary`) and the tables asked for (:data:`TABLES`). Every
front end runs the model through it: ``clustersim run`` and ``compare`` (through
:func:`~clustersim.experiment.runner.run_replication`), sweeps and sensitivity studies (through
:func:`clustersim_model`, the built-in evaluation function), the calibration script and the notebooks.

A sweep's evaluation function has the EMA Workbench signature ``f(params, seed) -> mapping``: numbers are
outputs; a model that can also return tables accepts a keyword ``tables`` and returns each asked table as a
DataFrame under its name. :func:`clustersim_model` is such a function, and plug-ins are called the same
way. A chunk is plain data (picklable): the model's import path, the root seed, the tables to keep and a
few runs. Each run calls the evaluation function with its parameters and its seed
``SeedSequence(root, spawn_key=(replication,))``; a run that raises is recorded (status ``failed``,
one-line error, traceback) and the chunk goes on. A run's parameters are, for the built-in model, its
design point's :class:`~clustersim.scenario.schema.Scenario`, validated once where the experiment is run
(when its file is read, or, for a large study, when the point's first run is chunked) and passed as it is,
never validated again here; for a plug-in, a plain mapping, of which each run gets a fresh ``dict``.
"""

from __future__ import annotations

import importlib
import inspect
import math
import time
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clustersim.experiment.seeds import replication_seed

if TYPE_CHECKING:
    from clustersim.scenario.schema import Scenario

__all__ = ["LOST_CAUSES", "TABLES", "Chunk", "ChunkResult", "Run", "RunTask", "chunk_without", "clustersim_model",
           "evaluate", "evaluate_chunk", "failure_cause", "lost_run", "resolve_model"]

#: the tables a run can give besides its summary: indicators per quarter, clusters ever formed, cluster sizes
#: per quarter, the public spending ledger, and the firm network at the end (nodes and edges)
TABLES = ("timeseries", "clusters", "cluster_sizes", "spending", "network_nodes", "network_edges")


@dataclass(frozen=True)
class RunTask:
    """One run of a chunk: its ids, and the parameters its evaluation function receives (the built-in model's
    validated scenario, or a plug-in's plain parameters)."""

    run_id: int
    point_id: int
    replication: int
    params: Scenario | dict[str, Any]


@dataclass(frozen=True)
class Chunk:
    model: str
    root_seed: int
    tables: tuple[str, ...]  # the tables to keep besides the outputs (a sweep keeps "timeseries" or none)
    tasks: tuple[RunTask, ...]


@dataclass
class ChunkResult:
    index_rows: list[dict[str, Any]]
    outputs: pd.DataFrame | None
    timeseries: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # the other tables kept, by name


@dataclass
class Run:
    """One run's results: its summary (numbers by name) and the tables asked for (DataFrames by name)."""

    summary: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def evaluate(scenario: Scenario, seed: np.random.SeedSequence, *, tables: Collection[str] = (),
             steps: int | None = None) -> Run:
    """Run the clustersim model on ``scenario`` with ``seed`` for ``steps`` quarters (default: the scenario's)
    and return its summary and the ``tables`` asked for (names of :data:`TABLES`).

    Indicators are recorded from the first quarter the summary reads, or from the initial state when the
    time series is asked for; the Mesa agent views are not built (nothing here reads them). Neither changes
    a result: the dynamics and the random stream are the same.
    """
    from clustersim.experiment.summary import late_steps, model_spending_summary, summarise_model
    from clustersim.model.model import ClusterModel
    from clustersim.model.tables import cluster_table, network_snapshot, spending_table

    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"evaluate: unknown table(s) {', '.join(unknown)} (known: {', '.join(TABLES)})")
    n_steps = scenario.simulation.steps if steps is None else int(steps)
    model = ClusterModel(scenario, rng=seed, record_from=0 if "timeseries" in tables else int(late_steps(n_steps)[0]),
                         agents=False)
    sizes: list[tuple[int, np.ndarray, np.ndarray]] | None = [] if "cluster_sizes" in tables else None
    for _ in range(n_steps):
        model.step()
        if sizes is not None:
            live = model.live_clusters
            sizes.append((model.now, live, model.clusters.size[live].copy()))
    run = Run({**summarise_model(model, n_steps), **model_spending_summary(model)})
    if "timeseries" in tables:
        run.tables["timeseries"] = model.timeseries()
    if "clusters" in tables:
        run.tables["clusters"] = cluster_table(model)
    if sizes is not None:
        run.tables["cluster_sizes"] = _sizes_table(sizes)
    if "spending" in tables:
        run.tables["spending"] = spending_table(model)
    if "network_nodes" in tables or "network_edges" in tables:
        network = network_snapshot(model)
        run.tables.update({f"network_{k}": v for k, v in network.items() if f"network_{k}" in tables})
    return run


def _sizes_table(rows: list[tuple[int, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Members of each live cluster at each quarter, from (quarter, cluster rows, sizes) records."""
    if not rows:
        return pd.DataFrame({"step": np.zeros(0, np.int64), "cluster": np.zeros(0, np.int64),
                             "size": np.zeros(0, np.int64)})
    return pd.DataFrame({"step": np.concatenate([np.full(len(r[1]), r[0], dtype=np.int64) for r in rows]),
                         "cluster": np.concatenate([r[1] for r in rows]),
                         "size": np.concatenate([r[2] for r in rows])})


def clustersim_model(params: Scenario | Mapping[str, Any], seed: np.random.SeedSequence, *,
                     tables: Collection[str] = ()) -> dict[str, Any]:
    """The built-in evaluation function: :func:`evaluate` ``params``, a validated scenario (used as it is) or a
    mapping (validated as a scenario first); returns the run summary (each indicator's ``_final`` and ``_late``
    values, cluster life-cycle statistics, public spending by instrument and funder) and each asked table as a
    DataFrame under its name."""
    from clustersim.scenario.io import scenario_from_dict
    from clustersim.scenario.schema import Scenario

    scenario = params if isinstance(params, Scenario) else scenario_from_dict(params, source="<design point>")
    run = evaluate(scenario, seed, tables=tables)
    return {**run.summary, **run.tables}


def resolve_model(path: str) -> Callable[..., Mapping[str, Any]]:
    """The function named ``package.module:function`` (imported explicitly; never code from a file)."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"model {path!r}: cannot import module {module_name!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise ValueError(f"model {path!r}: module {module_name!r} has no function {attr!r}")
    return fn


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500] if str(exc) else type(exc).__name__


def _accepts_tables(fn: Callable[..., Any]) -> bool:
    """Whether an evaluation function takes the ``tables`` keyword (it can return tables)."""
    try:
        return "tables" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def _call(fn: Callable[..., Any], task: RunTask, seed: np.random.SeedSequence, tables: tuple[str, ...]
          ) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """One run of the evaluation function: its numeric outputs and its tables (run_id first).

    A validated scenario is passed as it is; plain parameters as a fresh ``dict`` (the function may change it).
    """
    params = dict(task.params) if isinstance(task.params, Mapping) else task.params
    result = fn(params, seed, tables=tables) if tables else fn(params, seed)
    if not isinstance(result, Mapping):
        raise TypeError(f"the model returned {type(result).__name__}, not a mapping of outputs")
    frames = {k: v for k, v in result.items() if isinstance(v, pd.DataFrame)}
    values = {k: v for k, v in result.items() if k not in frames}
    bad = [k for k, v in values.items()
           if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating)]
    if bad:
        raise TypeError(f"outputs must be numbers; not: {', '.join(map(str, bad[:5]))}")
    out = {}
    for name in tables:
        if name in frames:
            frame = frames[name].copy()
            frame.insert(0, "run_id", task.run_id)
            out[name] = frame
    return {k: float(v) for k, v in values.items()}, out


def _finite(values: Mapping[str, float]) -> tuple[str, str | None]:
    """("ok", None), or ("nonfinite", which outputs) when an output is NaN or infinite: such a run is kept
    for inspection and counted, never read as ok."""
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if not bad:
        return "ok", None
    shown = ", ".join(f"{k}={values[k]}" for k in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return "nonfinite", f"non-finite outputs: {shown}"


def evaluate_chunk(chunk: Chunk, started: Callable[[int], None] | None = None) -> ChunkResult:
    """Evaluate every run of ``chunk``; failures are results, not exceptions (a model calling ``sys.exit`` too).

    ``started(run_id)``, if given, is called before each run: a contained worker
    (:mod:`clustersim.experiment.contained`) tells its pool which run it is in, so that a crash, a hang or a
    memory blow-up is charged to that run only.
    """
    rows: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    series: list[pd.DataFrame] = []
    kept: dict[str, list[pd.DataFrame]] = {}
    fn: Callable[..., Mapping[str, Any]] = clustersim_model
    problem: ValueError | None = None
    try:
        fn = resolve_model(chunk.model)
    except ValueError as exc:
        problem = exc
    tables = chunk.tables if problem is None and _accepts_tables(fn) else ()
    for task in chunk.tasks:
        if started is not None:
            started(task.run_id)
        began = time.time()
        t0 = time.perf_counter()
        status, error, tb = "ok", None, None
        try:
            if problem is not None:
                raise problem
            values, frames = _call(fn, task, replication_seed(chunk.root_seed, task.replication), tables)
            status, error = _finite(values)
            outputs.append({"run_id": task.run_id, **values})
            for name, frame in frames.items():
                (series if name == "timeseries" else kept.setdefault(name, [])).append(frame)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failed run is data
            status, error, tb = "failed", _one_line(exc), "".join(traceback.format_exception(exc))
        rows.append({"run_id": task.run_id, "point_id": task.point_id, "replication": task.replication,
                     "status": status, "error": error, "traceback": tb,
                     "seconds": time.perf_counter() - t0, "spawn_key": task.replication,
                     "started": began, "finished": time.time()})
    out_df = pd.DataFrame(outputs) if outputs else None
    if out_df is not None:
        out_df = out_df.fillna(math.nan)
    ts_df = pd.concat(series, ignore_index=True) if series else None
    return ChunkResult(rows, out_df, ts_df, {k: pd.concat(v, ignore_index=True) for k, v in kept.items()})


def lost_run(chunk: Chunk, run_id: int, error: str, seconds: float) -> ChunkResult:
    """The result of a run whose process died or was stopped (a crash, a timeout, memory): one failed row whose
    error names the cause (``crash: ...``, ``timeout: ...``, ``memory: ...``), no outputs."""
    task = next(t for t in chunk.tasks if t.run_id == run_id)
    now = time.time()
    row = {"run_id": task.run_id, "point_id": task.point_id, "replication": task.replication, "status": "failed",
           "error": error, "traceback": None, "seconds": float(seconds), "spawn_key": task.replication,
           "started": now - seconds, "finished": now}
    return ChunkResult([row], None, None, {})


def chunk_without(chunk: Chunk, run_ids: Collection[int]) -> Chunk:
    """``chunk`` without the runs ``run_ids`` (the runs still to evaluate after one was lost)."""
    return Chunk(model=chunk.model, root_seed=chunk.root_seed, tables=chunk.tables,
                 tasks=tuple(t for t in chunk.tasks if t.run_id not in run_ids))


#: the causes a failed run's error starts with when its process did not survive it
LOST_CAUSES = ("crash", "timeout", "memory")


def failure_cause(error: str | None) -> str:
    """What a failed run's error says went wrong: ``crash`` (its process exited or died of a signal),
    ``timeout``, ``memory`` (the memory limit, or a ``MemoryError``), or ``error`` (the model raised)."""
    text = error or ""
    head = text.split(":", 1)[0]
    if head in LOST_CAUSES:
        return head
    return "memory" if head == "MemoryError" else "error"
