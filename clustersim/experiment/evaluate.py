"""The evaluation unit of a sweep: chunks of runs, evaluated in a worker, returned as tidy tables.

A chunk is plain data (picklable): the model's import path, the root seed and a few runs. Each run calls
the evaluation function with its parameters and its seed ``SeedSequence(root, spawn_key=(replication,))``;
a run that raises is recorded (status ``failed``, one-line error, traceback) and the chunk goes on.
"""

from __future__ import annotations

import importlib
import math
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clustersim.experiment.seeds import replication_seed

__all__ = ["RunTask", "Chunk", "ChunkResult", "clustersim_model", "resolve_model", "evaluate_chunk"]


@dataclass(frozen=True)
class RunTask:
    run_id: int
    point_id: int
    replication: int
    params: dict[str, Any]


@dataclass(frozen=True)
class Chunk:
    model: str
    root_seed: int
    timeseries: bool
    tasks: tuple[RunTask, ...]


@dataclass
class ChunkResult:
    index_rows: list[dict[str, Any]]
    outputs: pd.DataFrame | None
    timeseries: pd.DataFrame | None


def clustersim_model(params: Mapping[str, Any], seed: np.random.SeedSequence, *,
                     timeseries: bool = False) -> dict[str, Any]:
    """The built-in evaluation: run the clustersim model on a resolved scenario, return its run summary
    (each indicator's ``_final`` and ``_late`` values, cluster life-cycle statistics, public spending by
    instrument and funder)."""
    from clustersim.experiment.summary import late_steps, model_spending_summary, summarise_model
    from clustersim.model.model import ClusterModel
    from clustersim.scenario.io import scenario_from_dict

    scenario = scenario_from_dict(params, source="<design point>")
    # without a time series, only the quarters the summary reads need indicators (the same summary); the
    # summary is read from the column stores, so the Mesa agent views are not created (the same results)
    steps = scenario.simulation.steps
    model = ClusterModel(scenario, rng=seed, record_from=0 if timeseries else int(late_steps(steps)[0]),
                         agents=False)
    model.run()
    out: dict[str, Any] = summarise_model(model, scenario.simulation.steps)
    out.update(model_spending_summary(model))
    if timeseries:
        out["__timeseries__"] = model.timeseries()
    return out


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


def evaluate_chunk(chunk: Chunk) -> ChunkResult:
    """Evaluate every run of ``chunk``; failures are results, not exceptions."""
    rows: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    series: list[pd.DataFrame] = []
    fn: Callable[..., Mapping[str, Any]] = clustersim_model
    problem: ValueError | None = None
    try:
        fn = resolve_model(chunk.model)
    except ValueError as exc:
        problem = exc
    builtin = fn is clustersim_model
    for task in chunk.tasks:
        started = time.time()
        t0 = time.perf_counter()
        status, error, tb = "ok", None, None
        try:
            if problem is not None:
                raise problem
            seed = replication_seed(chunk.root_seed, task.replication)
            result = (fn(task.params, seed, timeseries=chunk.timeseries) if builtin
                      else fn(dict(task.params), seed))
            if not isinstance(result, Mapping):
                raise TypeError(f"the model returned {type(result).__name__}, not a mapping of outputs")
            ts = result.get("__timeseries__") if builtin else None
            values = {k: v for k, v in result.items() if k != "__timeseries__"}
            bad = [k for k, v in values.items()
                   if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating)]
            if bad:
                raise TypeError(f"outputs must be numbers; not: {', '.join(map(str, bad[:5]))}")
            outputs.append({"run_id": task.run_id, **{k: float(v) for k, v in values.items()}})
            if ts is not None:
                frame = ts.copy()
                frame.insert(0, "run_id", task.run_id)
                series.append(frame)
        except Exception as exc:  # noqa: BLE001 - a failed run is data
            status, error, tb = "failed", _one_line(exc), "".join(traceback.format_exception(exc))
        rows.append({"run_id": task.run_id, "point_id": task.point_id, "replication": task.replication,
                     "status": status, "error": error, "traceback": tb,
                     "seconds": time.perf_counter() - t0, "spawn_key": task.replication,
                     "started": started, "finished": time.time()})
    out_df = pd.DataFrame(outputs) if outputs else None
    if out_df is not None:
        out_df = out_df.fillna(math.nan)
    ts_df = pd.concat(series, ignore_index=True) if series else None
    return ChunkResult(rows, out_df, ts_df)
