"""A crash-safe, resumable store of experiment runs: one folder per experiment, one Parquet part per chunk.

Layout of a store folder::

    experiment.json     the resolved experiment and its identity hash, written once, atomically
    metadata.json       provenance (versions, host, times, ...), rewritten atomically by write_metadata
    index/part-<seq:06d>-<token>.parquet        one row per run of a chunk (fixed schema, INDEX_SCHEMA)
    outputs/part-<seq:06d>-<token>.parquet      run_id + one float64 column per scalar output, ok runs only
    timeseries/part-<seq:06d>-<token>.parquet   optional: run_id, step, then the given columns, ok runs only
    tables/<name>/part-<seq:06d>-<token>.parquet   optional: any other table of the runs (run_id, then its
                                                columns), ok runs only: a run's clusters, spending ledger, ...

A chunk is *committed by its index part*. :meth:`RunStore.write_chunk` writes the outputs part (and the
timeseries and table parts) first and the index part last, each under a hidden temporary name (``.tmp-*``) in its
final folder, flushed and fsynced, then renamed into place with :func:`os.replace`, then the folder is
fsynced. Readers only look at outputs/timeseries parts whose ``(seq, token)`` has an index part, so a
kill at any instant never leaves a half-visible chunk, nor a run counted as done without its outputs.
:meth:`RunStore.open` deletes the leftovers of an interrupted write (orphan parts and ``.tmp-*`` files).

A run may appear in several chunks (a failed run retried, a run re-run): its row from the highest
``(seq, token)`` wins, and only that chunk's outputs and timeseries count. ``seq`` is one more than the
highest sequence number in the store and ``token`` is random, so two processes writing to one store never
collide on a file name (if they pick the same ``seq``, the token breaks the tie, deterministically).

The part folders are plain Parquet datasets: ``pyarrow.dataset.dataset(OUT / "outputs")`` reads one
directly (hidden temporary files are ignored by pyarrow); it then also sees the rows of superseded
attempts of re-run runs, which :meth:`RunStore.outputs` drops.

Concurrency: writers hold a shared advisory lock (``flock`` on ``OUT/.lock``) while they write; the
clean-up of :meth:`RunStore.open` runs only if it gets the exclusive lock at once (otherwise another
writer is active and the clean-up is skipped: readers ignore leftovers anyway). Locks die with their
process, so a killed writer never blocks anyone. Where ``fcntl`` is missing there is no locking, and one
writer at a time is assumed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clustersim.experiment.parts import (
    INDEX_COLUMNS,
    INDEX_SCHEMA,
    KEPT,
    TABLE_NAME,
    index_table,
    outputs_table,
    run_table,
    timeseries_table,
)
from clustersim.util.atomic import (
    TMP_PREFIX,
    atomic_write,
    atomic_write_bytes,
    fsync_dir,
    publish_new,
    tmp_path,
    write_tmp_bytes,
)

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "INDEX_COLUMNS",
    "INDEX_SCHEMA",
    "RunStore",
    "StoreCorruptError",
    "StoreMismatchError",
    "StoreReadOnlyError",
]

EXPERIMENT_FILE = "experiment.json"
METADATA_FILE = "metadata.json"
LOCK_FILE = ".lock"
INDEX_DIR, OUTPUTS_DIR, TIMESERIES_DIR, TABLES_DIR = "index", "outputs", "timeseries", "tables"
_PART_RE = re.compile(r"^part-(\d{6,})-([0-9a-f]+)\.parquet$")

_Key = tuple[int, str]  # (seq, token) of a chunk


class StoreMismatchError(ValueError):
    """The folder holds another experiment's results (or something else): results are never mixed."""


class StoreReadOnlyError(OSError):
    """The store is opened for reading only (read-only media, or ``mode="r"``): nothing may be written."""


class StoreCorruptError(RuntimeError):
    """A committed chunk lacks one of its parts (the store was edited by hand)."""


# ---------------------------------------------------------------------------------------------- file helpers


def _write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as Parquet to ``path`` atomically (:func:`~clustersim.util.atomic.atomic_write`)."""
    atomic_write(path, lambda fh: pq.write_table(table, fh, compression="snappy"))


@contextlib.contextmanager
def _flock(folder: Path, *, exclusive: bool, blocking: bool) -> Iterator[bool]:
    """Hold an advisory lock on ``folder/.lock``; yields whether it was acquired (always True if blocking)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
            acquired = True
        except BlockingIOError:
            acquired = False
        yield acquired
    finally:
        os.close(fd)  # releases the lock


def _part_name(key: _Key) -> str:
    return f"part-{key[0]:06d}-{key[1]}.parquet"


def _parts(folder: Path) -> dict[_Key, Path]:
    """The part files of ``folder`` by (seq, token); other and hidden files are ignored."""
    out: dict[_Key, Path] = {}
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return out
    for name in names:
        m = _PART_RE.match(name)
        if m:
            out[(int(m.group(1)), m.group(2))] = folder / name
    return out


def _short(identity: str) -> str:
    return identity[:12]


# ---------------------------------------------------------------------------------------------- the store


class RunStore:
    """A crash-safe, resumable store of the runs of one experiment (see the module docstring).

    Make one with :meth:`create_or_open` (new or resumed experiment) or :meth:`open` (existing store).
    Every reader lists the folder afresh, so it sees chunks committed by other processes since.
    """

    def __init__(self, path: Path, identity: str, experiment: dict[str, Any], read_only: bool = False) -> None:
        self.path = Path(path)
        self.identity = identity
        self.experiment = experiment
        self.read_only = read_only  # opened for reading: no lock, no clean-up, no write
        self.removed: list[Path] = []  # leftovers of interrupted writes deleted by open()
        self._last_seq = 0

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r}, identity={_short(self.identity)!r})"

    # ------------------------------------------------------------------------------ creating and opening

    @classmethod
    def create_or_open(cls, path: str | os.PathLike[str], experiment: dict[str, Any], identity: str) -> RunStore:
        """The store of ``experiment`` at ``path``: created if ``path`` is missing or empty, else resumed.

        Raises :class:`StoreMismatchError` (and writes nothing) if ``path`` holds another experiment (another
        identity) or is a non-empty folder that is not a run store.
        """
        path = Path(path)
        if not isinstance(identity, str) or not identity:
            raise ValueError("identity must be a non-empty string (the experiment's hash)")
        if (path / EXPERIMENT_FILE).exists():
            cls.check_identity(path, identity)
            return cls.open(path, "a")
        text = json.dumps({"identity": identity, "experiment": experiment}, indent=2, allow_nan=False)
        if path.exists():
            if not path.is_dir():
                raise StoreMismatchError(f"{path}: exists and is not a folder; results are never mixed "
                                         "(choose another --out)")
            foreign = sorted(e.name for e in path.iterdir() if not cls.is_ours(e.name))
            if foreign:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise StoreMismatchError(f"{path}: a non-empty folder that is not a run store (no {EXPERIMENT_FILE}; "
                                         f"holds {shown}); results are never mixed (choose another --out)")
        path.mkdir(parents=True, exist_ok=True)
        with _flock(path, exclusive=False, blocking=True):
            tmp = tmp_path(path, EXPERIMENT_FILE)
            write_tmp_bytes(tmp, (text + "\n").encode())
            published = publish_new(tmp, path / EXPERIMENT_FILE)
            fsync_dir(path)
        if not published:  # another process created it meanwhile
            cls.check_identity(path, identity)
        return cls.open(path, "a")

    @classmethod
    def open(cls, path: str | os.PathLike[str], mode: str | None = None) -> RunStore:
        """Open the existing store at ``path``.

        ``mode="a"`` (the default where the folder is writable): the leftovers of interrupted writes are
        deleted — hidden ``.tmp-*`` files and outputs/timeseries/table parts without their index part — if
        no other process is writing at the moment (see the module docstring); the deleted paths are listed
        in ``store.removed``. ``mode="r"`` (the default on read-only media, such as an archive or a
        read-only mount): nothing is written, not even a lock file, and every reader works (they ignore
        leftovers anyway); writing raises :class:`StoreReadOnlyError`.
        """
        path = Path(path)
        if mode not in (None, "r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such run store folder")
        try:
            saved = json.loads((path / EXPERIMENT_FILE).read_text())
            identity, experiment = saved["identity"], saved["experiment"]
        except FileNotFoundError:
            raise StoreMismatchError(f"{path}: not a run store (no {EXPERIMENT_FILE})") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreMismatchError(f"{path}: {EXPERIMENT_FILE} is not a run store's ({exc})") from None
        writable = os.access(path, os.W_OK)
        if mode == "a" and not writable:
            raise StoreReadOnlyError(f"{path}: the run store is on read-only media or not writable; it can be "
                                     "read (mode='r') but not written")
        if mode == "r" or not writable:
            return cls(path, identity, experiment, read_only=True)
        for sub in (INDEX_DIR, OUTPUTS_DIR, TIMESERIES_DIR):
            (path / sub).mkdir(exist_ok=True)
        store = cls(path, identity, experiment)
        store.removed = store._clean()
        return store

    def _writable(self) -> None:
        if self.read_only:
            raise StoreReadOnlyError(f"{self.path}: the run store is open for reading only; nothing is written")

    @staticmethod
    def is_ours(name: str) -> bool:
        """Whether a folder entry named ``name`` is the store's own even before its experiment file exists: the
        lock file, or a hidden file of an interrupted write."""
        return name == LOCK_FILE or name.startswith(TMP_PREFIX)

    @staticmethod
    def check_identity(path: Path, identity: str) -> None:
        """Raise :class:`StoreMismatchError` unless the store at ``path`` (its experiment file exists) holds the
        runs of the experiment ``identity``."""
        try:
            old = json.loads((path / EXPERIMENT_FILE).read_text())["identity"]
        except (ValueError, KeyError, TypeError):
            raise StoreMismatchError(f"{path}: {EXPERIMENT_FILE} is not a run store's; results are never mixed "
                                     "(choose another --out)") from None
        if old != identity:
            raise StoreMismatchError(
                f"{path}: holds the runs of another experiment (identity {_short(str(old))}, this experiment "
                f"{_short(identity)}); results are never mixed (choose another --out)")

    def _clean(self) -> list[Path]:
        removed: list[Path] = []
        with _flock(self.path, exclusive=True, blocking=False) as acquired:
            if not acquired:
                return removed
            committed = set(_parts(self.path / INDEX_DIR))
            for sub in ("", INDEX_DIR, *self._data_dirs()):
                folder = self.path / sub if sub else self.path
                doomed = [folder / n for n in os.listdir(folder) if n.startswith(TMP_PREFIX)]
                if sub != INDEX_DIR and sub:
                    doomed += [p for key, p in _parts(folder).items() if key not in committed]
                for p in doomed:
                    if p.is_file():
                        p.unlink(missing_ok=True)
                        removed.append(p)
                if doomed:
                    fsync_dir(folder)
        return sorted(removed)

    # ------------------------------------------------------------------------------ writing

    def _data_dirs(self) -> list[str]:
        """The part folders other than the index: outputs, timeseries and each table's folder."""
        tables = self.path / TABLES_DIR
        names = sorted(e.name for e in tables.iterdir() if e.is_dir()) if tables.is_dir() else []
        return [OUTPUTS_DIR, TIMESERIES_DIR, *(f"{TABLES_DIR}/{n}" for n in names)]

    def _next_seq(self) -> int:
        seqs = [self._last_seq]
        for sub in (INDEX_DIR, *self._data_dirs()):
            seqs += [seq for seq, _ in _parts(self.path / sub)]
        return max(seqs) + 1

    def write_chunk(self, index_rows: list[dict[str, Any]], outputs: pd.DataFrame | None,
                    timeseries: pd.DataFrame | None = None, tables: Mapping[str, pd.DataFrame] | None = None
                    ) -> int:
        """Commit one chunk of runs atomically and return its sequence number.

        ``index_rows``: one dict per run with the columns of :data:`INDEX_SCHEMA` (``error`` and
        ``traceback`` may be left out; ``error`` is put on one line). ``outputs``: ``run_id`` and one numeric
        column per scalar output (stored as float64), exactly one row per ok run of the chunk, none for
        failed runs; ``None`` means no scalar outputs. ``timeseries``: ``run_id``, ``step`` and any columns,
        for ok runs of the chunk only. ``tables``: other tables by name (lower case, digits, underscores),
        each ``run_id`` and any columns, for ok runs of the chunk only. Everything is validated before
        anything is written.
        """
        self._writable()
        index = index_table(index_rows)
        ok_ids = [r for r, s in zip(index.column("run_id").to_pylist(), index.column("status").to_pylist(),
                                    strict=True) if s in KEPT]
        out_table = outputs_table(outputs, ok_ids)
        ts_table = timeseries_table(timeseries, ok_ids)
        more = {name: run_table(df, ok_ids, name) for name, df in (tables or {}).items()}
        with _flock(self.path, exclusive=False, blocking=True):
            key = (self._next_seq(), secrets.token_hex(4))
            name = _part_name(key)
            if out_table is not None:
                _write_table(out_table, self.path / OUTPUTS_DIR / name)
            if ts_table is not None:
                _write_table(ts_table, self.path / TIMESERIES_DIR / name)
            for table_name, table in more.items():
                folder = self.path / TABLES_DIR / table_name
                folder.mkdir(parents=True, exist_ok=True)
                _write_table(table, folder / name)
            _write_table(index, self.path / INDEX_DIR / name)  # the commit
        self._last_seq = key[0]
        return key[0]

    def write_metadata(self, meta: dict[str, Any]) -> None:
        """Replace ``metadata.json`` with ``meta`` atomically (values JSON cannot hold are written as text)."""
        self._writable()
        data = (json.dumps(meta, indent=2, default=str) + "\n").encode()
        with _flock(self.path, exclusive=False, blocking=True):
            atomic_write_bytes(self.path / METADATA_FILE, data)

    def read_metadata(self) -> dict[str, Any]:
        """The content of ``metadata.json``, or ``{}`` if it was never written."""
        try:
            return json.loads((self.path / METADATA_FILE).read_text())
        except FileNotFoundError:
            return {}

    # ------------------------------------------------------------------------------ reading

    def _latest(self, columns: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[_Key]]:
        """The latest index row of each run (with an ``_chunk`` column: position in the returned keys)."""
        parts = _parts(self.path / INDEX_DIR)
        keys = sorted(parts)
        cols = list(columns) if columns is not None else list(INDEX_COLUMNS)
        if "run_id" not in cols:
            cols.insert(0, "run_id")
        tables = []
        for i, key in enumerate(keys):
            t = pq.read_table(parts[key], columns=cols)
            tables.append(t.append_column("_chunk", pa.array(np.full(t.num_rows, i, dtype=np.int64))))
        schema = pa.schema([INDEX_SCHEMA.field(c) for c in cols] + [pa.field("_chunk", pa.int64())])
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        df = table.to_pandas()
        del table, tables
        df = df.sort_values(["run_id", "_chunk"], kind="stable").drop_duplicates("run_id", keep="last")
        return df.reset_index(drop=True), keys

    def index(self) -> pd.DataFrame:
        """All runs, one row each (its latest attempt: the row of the highest chunk), sorted by run_id."""
        df, _ = self._latest()
        return df.drop(columns="_chunk")

    def done(self) -> set[int]:
        """The run_ids whose latest status is ok."""
        df, _ = self._latest(["run_id", "status"])
        return {int(r) for r in df.loc[df["status"] == "ok", "run_id"]}

    def failed(self) -> set[int]:
        """The run_ids whose latest status is failed or nonfinite (``--retry-failed`` runs them again)."""
        df, _ = self._latest(["run_id", "status"])
        return {int(r) for r in df.loc[df["status"].isin(("failed", "nonfinite")), "run_id"]}

    def _gather(self, sub: str, ok: pd.DataFrame, keys: list[_Key], *, required: bool) -> pa.Table | None:
        """Rows of the ``sub`` parts for the ok runs, each from its latest chunk only (None if no part)."""
        tables = []
        for chunk, group in ok.groupby("_chunk", sort=True):
            path = self.path / sub / _part_name(keys[int(chunk)])
            if not path.exists():
                if required:
                    raise StoreCorruptError(f"{path}: missing, but its chunk is committed with ok runs")
                continue
            t = pq.read_table(path)
            ids = pa.array(group["run_id"].to_numpy(dtype=np.int64), pa.int64())
            tables.append(t.filter(pc.is_in(t.column("run_id"), value_set=ids)))
            del t
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="permissive")

    def _joined(self, sub: str, *, required: bool, statuses: tuple[str, ...] = ("ok",)) -> pd.DataFrame | None:
        latest, keys = self._latest(["run_id", "point_id", "replication", "status"])
        ok = latest.loc[latest["status"].isin(statuses), ["run_id", "point_id", "replication", "_chunk"]]
        table = self._gather(sub, ok, keys, required=required)
        if table is None:
            return None
        df = table.to_pandas()
        del table
        df = df.merge(ok[["run_id", "point_id", "replication"]], on="run_id", how="left", validate="many_to_one")
        first = ["run_id", "point_id", "replication"] + (["step"] if "step" in df.columns else [])
        df = df[first + [c for c in df.columns if c not in first]]
        return df.sort_values(first[:1] + first[3:], kind="stable").reset_index(drop=True)

    def outputs(self, *, include_nonfinite: bool = False) -> pd.DataFrame:
        """Scalar outputs of the runs whose latest status is ok, from their latest chunk, sorted by run_id
        (with ``include_nonfinite``, also those of the runs that gave a NaN or an infinite output).

        Columns: run_id, point_id, replication, then the outputs (a column some chunks lack is NaN there).
        """
        df = self._joined(OUTPUTS_DIR, required=True, statuses=KEPT if include_nonfinite else ("ok",))
        if df is None:
            return pd.DataFrame({c: pd.Series([], dtype="int64") for c in ("run_id", "point_id", "replication")})
        return df

    def timeseries(self) -> pd.DataFrame | None:
        """Time series of the runs whose latest status is ok, from their latest chunk, sorted by run_id, step.

        Columns: run_id, point_id, replication, step, then the series. ``None`` if none of these chunks has
        a timeseries part.
        """
        return self._joined(TIMESERIES_DIR, required=False)

    def table(self, name: str) -> pd.DataFrame | None:
        """The table ``name`` of the runs whose latest status is ok, from their latest chunk, sorted by run_id
        (each run's rows in the order it gave them). Columns: run_id, point_id, replication, then the
        table's. ``None`` if none of these chunks has a part of it."""
        if not TABLE_NAME.match(name):
            raise ValueError(f"table name {name!r}: expected lower-case letters, digits and underscores")
        if not (self.path / TABLES_DIR / name).is_dir():
            return None
        return self._joined(f"{TABLES_DIR}/{name}", required=False)

    def summary(self) -> dict[str, int]:
        """Counts: ``runs`` (distinct run_ids), ``runs_ok``, ``runs_failed`` (failed or non-finite), ``chunks``
        (committed)."""
        df, keys = self._latest(["run_id", "status"])
        ok = int((df["status"] == "ok").sum())
        return {"runs": len(df), "runs_ok": ok, "runs_failed": len(df) - ok, "chunks": len(keys)}
