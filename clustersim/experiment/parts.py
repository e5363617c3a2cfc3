"""A chunk's tables for the run store, validated and converted to Arrow before anything is written: the index
(one row per run, a fixed schema), the outputs (float64), the time series and the other run tables."""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["INDEX_COLUMNS", "INDEX_SCHEMA", "KEPT", "TABLE_NAME", "index_table", "outputs_table", "run_table",
           "timeseries_table"]

INDEX_SCHEMA = pa.schema([
    pa.field("run_id", pa.int64(), nullable=False),
    pa.field("point_id", pa.int64(), nullable=False),
    pa.field("replication", pa.int64(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("error", pa.string()),
    pa.field("traceback", pa.string()),
    pa.field("seconds", pa.float64()),
    pa.field("spawn_key", pa.int64(), nullable=False),
    pa.field("started", pa.float64()),
    pa.field("finished", pa.float64()),
])
"""The fixed schema of an index part: one row per run of a chunk."""

INDEX_COLUMNS: tuple[str, ...] = tuple(INDEX_SCHEMA.names)
_INT_COLUMNS = ("run_id", "point_id", "replication", "spawn_key")
_FLOAT_COLUMNS = ("seconds", "started", "finished")
_OPTIONAL_COLUMNS = ("error", "traceback")
_STATUSES = ("ok", "failed", "nonfinite")
#: the statuses of runs whose outputs (and tables) are stored: "nonfinite" runs finished but gave a NaN or an
#: infinite output, kept for inspection and never read as ok
KEPT = ("ok", "nonfinite")
_RESERVED = ("point_id", "replication")  # joined onto outputs and timeseries by the readers
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")




def _as_int(value: Any, column: str, i: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"index row {i}: {column} must be an integer, not {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"index row {i}: {column} must be an integer, not {value!r}") from None


def _as_float(value: Any, column: str, i: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"index row {i}: {column} must be a number or None, not {value!r}")
    return float(value)


def _one_line(text: str) -> str:
    """``text`` on one line: its non-blank lines, stripped, joined by `` | ``."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def index_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    if not rows:
        raise ValueError("a chunk needs at least one index row")
    columns: dict[str, list[Any]] = {c: [] for c in INDEX_COLUMNS}
    seen: set[int] = set()
    for i, row in enumerate(rows):
        unknown = sorted(set(row) - set(INDEX_COLUMNS))
        if unknown:
            raise ValueError(f"index row {i}: unknown column(s) {unknown} (allowed: {list(INDEX_COLUMNS)})")
        missing = [c for c in INDEX_COLUMNS if c not in row and c not in _OPTIONAL_COLUMNS]
        if missing:
            raise ValueError(f"index row {i}: missing column(s) {missing}")
        for c in _INT_COLUMNS:
            columns[c].append(_as_int(row[c], c, i))
        for c in _FLOAT_COLUMNS:
            columns[c].append(_as_float(row[c], c, i))
        if row["status"] not in _STATUSES:
            raise ValueError(f"index row {i}: status {row['status']!r} is not one of {list(_STATUSES)}")
        columns["status"].append(row["status"])
        for c in _OPTIONAL_COLUMNS:
            value = row.get(c)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"index row {i}: {c} must be a string or None, not {type(value).__name__}")
            columns[c].append(_one_line(value) if c == "error" and value is not None else value)
        run_id = columns["run_id"][-1]
        if run_id in seen:
            raise ValueError(f"index row {i}: run_id {run_id} appears twice in one chunk")
        seen.add(run_id)
    return pa.table(columns, schema=INDEX_SCHEMA)


def _check_columns(df: pd.DataFrame, what: str, required: Sequence[str]) -> None:
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise ValueError(f"{what}: column names must be strings, not {bad}")
    if len(set(df.columns)) != len(df.columns):
        raise ValueError(f"{what}: duplicate column names")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}")
    reserved = [c for c in _RESERVED if c in df.columns]
    if reserved:
        raise ValueError(f"{what}: column(s) {reserved} are reserved (joined from the index by the readers)")


def _int_array(series: pd.Series, what: str) -> pa.Array:
    if series.isna().any() or not (pd.api.types.is_integer_dtype(series) or series.empty):
        raise ValueError(f"{what}: must be integers without missing values")
    return pa.array(series.to_numpy(dtype=np.int64), pa.int64())


def outputs_table(outputs: pd.DataFrame | None, ok_ids: list[int]) -> pa.Table | None:
    if outputs is None:
        return pa.table({"run_id": pa.array(ok_ids, pa.int64())}) if ok_ids else None
    _check_columns(outputs, "outputs", ["run_id"])
    run_ids = _int_array(outputs["run_id"], "outputs.run_id")
    ids = run_ids.to_pylist()
    if len(set(ids)) != len(ids) or set(ids) != set(ok_ids):
        raise ValueError("outputs: needs exactly one row for each ok run of the chunk, and none for failed runs "
                         f"(ok runs: {sorted(ok_ids)}; outputs run_ids: {sorted(ids)})")
    if not ids:
        return None
    arrays: dict[str, pa.Array] = {"run_id": run_ids}
    rest = [c for c in outputs.columns if c != "run_id"]
    if rest and all(dt == np.float64 for dt in outputs[rest].dtypes):  # the usual case: one conversion, not
        values = outputs[rest].to_numpy(dtype=np.float64).T            # one per column (a chunk has ~150)
        for k, c in enumerate(rest):
            arrays[c] = pa.array(values[k], pa.float64())
        return pa.table(arrays)
    for c in rest:
        try:
            arrays[c] = pa.array(outputs[c].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan),
                                 pa.float64())
        except (TypeError, ValueError) as exc:
            raise ValueError(f"outputs: column {c!r} is not numeric (scalar outputs are float64): {exc}") from None
    return pa.table(arrays)


def run_table(df: pd.DataFrame, ok_ids: list[int], name: str) -> pa.Table:
    """A run table (``run_id`` then any columns) of a chunk's ok runs, as Arrow."""
    if not TABLE_NAME.match(name):
        raise ValueError(f"table name {name!r}: expected lower-case letters, digits and underscores")
    _check_columns(df, name, ["run_id"])
    run_ids = _int_array(df["run_id"], f"{name}.run_id")
    extra = set(run_ids.to_pylist()) - set(ok_ids)
    if extra:
        raise ValueError(f"{name}: rows for run_ids {sorted(extra)} that are not ok runs of the chunk")
    rest = [c for c in df.columns if c != "run_id"]  # an empty table is kept too: its columns are data
    table = pa.Table.from_pandas(df[rest], preserve_index=False)
    return pa.table({"run_id": run_ids, **{c: table.column(c).combine_chunks() for c in rest}})


def timeseries_table(timeseries: pd.DataFrame | None, ok_ids: list[int]) -> pa.Table | None:
    if timeseries is None:
        return None
    _check_columns(timeseries, "timeseries", ["run_id", "step"])
    run_ids = _int_array(timeseries["run_id"], "timeseries.run_id")
    extra = set(run_ids.to_pylist()) - set(ok_ids)
    if extra:
        raise ValueError(f"timeseries: rows for run_ids {sorted(extra)} that are not ok runs of the chunk")
    if len(timeseries) == 0:
        return None
    rest = [c for c in timeseries.columns if c not in ("run_id", "step")]
    table = pa.Table.from_pandas(timeseries[rest], preserve_index=False) if rest else None
    arrays: dict[str, pa.Array] = {"run_id": run_ids, "step": _int_array(timeseries["step"], "timeseries.step")}
    if table is not None:
        for c in rest:
            arrays[c] = table.column(c).combine_chunks()
    return pa.table(arrays)


