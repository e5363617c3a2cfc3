"""The run store: create/resume, refusal to mix experiments, retries, crash leftovers, SIGKILL at any instant."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import clustersim.experiment.store as store_module
from clustersim.experiment.store import INDEX_COLUMNS, RunStore, StoreMismatchError

ID_A = "a" * 12 + "0123456789abcdef" * 3
ID_B = "b" * 12 + "fedcba9876543210" * 3
EXPERIMENT = {"name": "test", "design": {"points": 3, "replications": 2}}


def row(run_id: int, status: str = "ok", *, point_id: int | None = None, error: str | None = None) -> dict:
    now = time.time()
    return {"run_id": run_id, "point_id": run_id // 2 if point_id is None else point_id, "replication": run_id % 2,
            "status": status, "error": error if status == "failed" else None,
            "traceback": "Traceback...\nValueError: boom" if status == "failed" else None,
            "seconds": 0.5, "spawn_key": run_id % 2, "started": now - 0.5, "finished": now}


def outs(run_ids: list[int], scale: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"run_id": run_ids, "x": [scale * r for r in run_ids], "y": [float(r) ** 2 for r in run_ids]})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


def assert_consistent(path: Path) -> RunStore:
    """Open the store and check every invariant a crash must not break."""
    store = RunStore.open(path)
    assert list(path.rglob(".tmp-*")) == []
    committed = {p.name for p in (path / "index").glob("part-*.parquet")}
    for sub in ("outputs", "timeseries"):
        assert {p.name for p in (path / sub).glob("part-*.parquet")} <= committed
    index = store.index()
    assert list(index.columns) == list(INDEX_COLUMNS)
    assert index["run_id"].is_unique and index["run_id"].is_monotonic_increasing
    out = store.outputs()
    assert out["run_id"].is_unique
    assert set(out["run_id"]) == store.done() == set(index.loc[index["status"] == "ok", "run_id"])
    assert store.failed() == set(index.loc[index["status"] == "failed", "run_id"])
    if len(out):
        assert (out["x"] == 2.0 * out["run_id"]).all()
        latest = index.set_index("run_id").loc[out["run_id"], "finished"].to_numpy()
        assert (out["fin"].to_numpy() == latest).all()  # outputs come from the latest attempt only
        ts = store.timeseries()
        assert ts is not None
        assert ts.groupby("run_id").size().eq(3).all() and set(ts["run_id"]) == set(out["run_id"])
        fin = out.set_index("run_id")["fin"]
        assert (ts["y"].to_numpy() == fin.loc[ts["run_id"]].to_numpy() + ts["step"].to_numpy()).all()
    ds.dataset(path / "outputs", format="parquet").to_table()
    return store


# ---------------------------------------------------------------------------------------------- create / open


def test_create_then_resume_with_the_same_identity(tmp_path):
    out = tmp_path / "exp"
    store = RunStore.create_or_open(out, EXPERIMENT, ID_A)
    saved = json.loads((out / "experiment.json").read_text())
    assert saved == {"identity": ID_A, "experiment": EXPERIMENT}
    assert store.identity == ID_A and store.experiment == EXPERIMENT
    assert store.summary() == {"runs": 0, "runs_ok": 0, "runs_failed": 0, "chunks": 0}
    assert store.index().empty and list(store.index().columns) == list(INDEX_COLUMNS)
    assert store.outputs().empty and store.timeseries() is None
    assert store.write_chunk([row(0), row(1, "failed", error="boom")], outs([0])) == 1

    again = RunStore.create_or_open(out, EXPERIMENT, ID_A)
    assert again.done() == {0} and again.failed() == {1}
    assert again.write_chunk([row(1)], outs([1])) == 2
    assert RunStore.open(out).summary() == {"runs": 2, "runs_ok": 2, "runs_failed": 0, "chunks": 2}
    assert saved == json.loads((out / "experiment.json").read_text())  # written once


def test_an_existing_empty_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    RunStore.create_or_open(out, EXPERIMENT, ID_A)
    assert (out / "experiment.json").exists() and (out / "index").is_dir()


def test_another_identity_is_refused_and_nothing_is_written(tmp_path):
    out = tmp_path / "exp"
    RunStore.create_or_open(out, EXPERIMENT, ID_A).write_chunk([row(0)], outs([0]))
    before = snapshot(out)
    with pytest.raises(StoreMismatchError) as err:
        RunStore.create_or_open(out, {"name": "other"}, ID_B)
    assert isinstance(err.value, ValueError)
    message = str(err.value)
    assert str(out) in message and ID_A[:12] in message and ID_B[:12] in message
    assert "never mixed" in message and "--out" in message
    assert snapshot(out) == before


@pytest.mark.parametrize("content", ["file", "folder", "hidden"])
def test_a_non_empty_folder_without_experiment_is_refused(tmp_path, content):
    out = tmp_path / "foreign"
    out.mkdir()
    if content == "file":
        (out / "notes.txt").write_text("mine")
    elif content == "folder":
        (out / "data").mkdir()
    else:
        (out / ".git").mkdir()
    before = snapshot(out)
    with pytest.raises(StoreMismatchError, match="never mixed"):
        RunStore.create_or_open(out, EXPERIMENT, ID_A)
    assert snapshot(out) == before
    with pytest.raises(StoreMismatchError):
        RunStore.open(out)


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    with pytest.raises(StoreMismatchError):
        RunStore.create_or_open(out, EXPERIMENT, ID_A)
    assert out.read_text() == "x"


def test_an_unserialisable_experiment_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        RunStore.create_or_open(tmp_path / "exp", {"bad": object()}, ID_A)
    assert not (tmp_path / "exp").exists()


# ---------------------------------------------------------------------------------------------- writing, reading


def test_chunks_read_back(tmp_path):
    store = RunStore.create_or_open(tmp_path / "exp", EXPERIMENT, ID_A)
    ts1 = pd.DataFrame({"run_id": [2, 2, 0, 0], "step": [1, 0, 1, 0], "gdp": [3.0, 2.0, 1.0, 0.0],
                        "clusters": [1, 1, 0, 0]})
    assert store.write_chunk([row(2), row(0), row(1, "failed", error="ValueError: x\n  detail")], outs([2, 0]),
                             ts1) == 1
    ts2 = pd.DataFrame({"run_id": [3], "step": [0], "gdp": [9.0], "clusters": [4]})
    assert store.write_chunk([row(3), row(4, "failed", error="boom")], outs([3]), ts2) == 2

    index = store.index()
    assert list(index["run_id"]) == [0, 1, 2, 3, 4]
    assert list(index["status"]) == ["ok", "failed", "ok", "ok", "failed"]
    for c in ("run_id", "point_id", "replication", "spawn_key"):
        assert index[c].dtype == "int64"
    for c in ("seconds", "started", "finished"):
        assert index[c].dtype == "float64"
    assert index.loc[1, "error"] == "ValueError: x | detail"  # one line
    assert index.loc[1, "traceback"].endswith("ValueError: boom")
    assert index.loc[0, "error"] is None or pd.isna(index.loc[0, "error"])

    out = store.outputs()
    assert list(out.columns) == ["run_id", "point_id", "replication", "x", "y"]
    assert list(out["run_id"]) == [0, 2, 3] and list(out["point_id"]) == [0, 1, 1]
    assert list(out["replication"]) == [0, 0, 1] and list(out["y"]) == [0.0, 4.0, 9.0]
    assert out["x"].dtype == "float64"

    ts = store.timeseries()
    assert list(ts.columns) == ["run_id", "point_id", "replication", "step", "gdp", "clusters"]
    assert list(zip(ts["run_id"], ts["step"], strict=True)) == [(0, 0), (0, 1), (2, 0), (2, 1), (3, 0)]
    assert list(ts["gdp"]) == [0.0, 1.0, 2.0, 3.0, 9.0]
    assert store.done() == {0, 2, 3} and store.failed() == {1, 4}
    assert store.summary() == {"runs": 5, "runs_ok": 3, "runs_failed": 2, "chunks": 2}


def test_outputs_may_be_omitted_and_columns_may_differ_between_chunks(tmp_path):
    store = RunStore.create_or_open(tmp_path / "exp", EXPERIMENT, ID_A)
    store.write_chunk([row(0)], None)
    store.write_chunk([row(1)], pd.DataFrame({"run_id": [1], "z": [5]}))
    out = store.outputs()
    assert list(out["run_id"]) == [0, 1] and pd.isna(out.loc[0, "z"]) and out.loc[1, "z"] == 5.0
    assert store.timeseries() is None


def test_retried_run_counts_once_from_its_latest_chunk(tmp_path):
    store = RunStore.create_or_open(tmp_path / "exp", EXPERIMENT, ID_A)
    store.write_chunk([row(5, "failed", error="boom"), row(6)], outs([6]))
    assert store.failed() == {5} and store.done() == {6}
    store.write_chunk([row(5)], outs([5]))
    assert store.done() == {5, 6} and store.failed() == set()
    index = store.index()
    assert list(index["run_id"]) == [5, 6] and pd.isna(index.loc[0, "error"])
    # an ok run re-run: only the latest outputs count, once
    store.write_chunk([row(6)], outs([6], scale=10.0))
    out = store.outputs()
    assert list(out["run_id"]) == [5, 6] and list(out["x"]) == [5.0, 60.0]
    # an ok run that fails on a later attempt is failed, and its old outputs are gone
    store.write_chunk([row(5, "failed", error="late")], None)
    assert store.failed() == {5} and list(store.outputs()["run_id"]) == [6]
    assert store.summary() == {"runs": 2, "runs_ok": 1, "runs_failed": 1, "chunks": 4}


@pytest.mark.parametrize(("rows", "outputs", "timeseries", "match"), [
    ([], None, None, "at least one"),
    ([row(0, "done")], None, None, "status"),
    ([row(0), row(0)], outs([0]), None, "twice"),
    ([{**row(0), "colour": 1}], outs([0]), None, "unknown"),
    ([{k: v for k, v in row(0).items() if k != "spawn_key"}], outs([0]), None, "missing"),
    ([row(0), row(1, "failed")], outs([0, 1]), None, "exactly one row"),
    ([row(0), row(1)], outs([0]), None, "exactly one row"),
    ([row(0)], pd.DataFrame({"run_id": [0], "point_id": [1.0]}), None, "reserved"),
    ([row(0)], pd.DataFrame({"run_id": [0], "label": ["a"]}), None, "not numeric"),
    ([row(0), row(1, "failed")], outs([0]), pd.DataFrame({"run_id": [1], "step": [0]}), "not ok runs"),
    ([row(0)], outs([0]), pd.DataFrame({"run_id": [0]}), "step"),
])
def test_bad_chunks_are_refused_before_anything_is_written(tmp_path, rows, outputs, timeseries, match):
    store = RunStore.create_or_open(tmp_path / "exp", EXPERIMENT, ID_A)
    before = snapshot(store.path)
    with pytest.raises(ValueError, match=match):
        store.write_chunk(rows, outputs, timeseries)
    assert snapshot(store.path) == before


def test_metadata_is_rewritten_atomically(tmp_path):
    store = RunStore.create_or_open(tmp_path / "exp", EXPERIMENT, ID_A)
    assert store.read_metadata() == {}
    store.write_metadata({"versions": {"clustersim": "0.1.0"}, "started": 1.5})
    store.write_metadata({"versions": {"clustersim": "0.1.0"}, "finished": 2.5, "path": tmp_path})
    assert store.read_metadata() == {"versions": {"clustersim": "0.1.0"}, "finished": 2.5, "path": str(tmp_path)}
    assert [p.name for p in store.path.iterdir() if p.name.startswith(".tmp-")] == []


# ---------------------------------------------------------------------------------------------- crash leftovers


def test_orphan_parts_and_temp_files_are_ignored_then_removed_on_open(tmp_path):
    out = tmp_path / "exp"
    store = RunStore.create_or_open(out, EXPERIMENT, ID_A)
    store.write_chunk([row(0), row(1)], outs([0, 1]), pd.DataFrame({"run_id": [0], "step": [0], "v": [1.0]}))
    # a crash after the outputs and timeseries parts, before the index part; and another mid-write
    orphan = out / "outputs" / "part-000002-deadbeef.parquet"
    pq.write_table(pa.Table.from_pandas(outs([1, 7], scale=100.0), preserve_index=False), orphan)
    ts_orphan = out / "timeseries" / "part-000002-deadbeef.parquet"
    pq.write_table(pa.table({"run_id": [7], "step": [0], "v": [9.0]}), ts_orphan)
    temps = [out / "outputs" / ".tmp-x", out / "index" / ".tmp-part-000003-0badf00d.parquet-1234abcd",
             out / ".tmp-metadata.json-00000000"]
    for t in temps:
        t.write_bytes(b"half a file")

    assert list(store.outputs()["x"]) == [0.0, 1.0]
    assert list(store.timeseries()["run_id"]) == [0]
    assert store.done() == {0, 1} and store.summary()["chunks"] == 1
    assert len(ds.dataset(out / "outputs", format="parquet").to_table()) == 4  # hidden temp files ignored

    reopened = RunStore.open(out)
    assert set(reopened.removed) == {orphan, ts_orphan, *temps}
    assert not orphan.exists() and not ts_orphan.exists() and not any(t.exists() for t in temps)
    pd.testing.assert_frame_equal(reopened.outputs(), store.outputs())
    assert reopened.write_chunk([row(2)], outs([2])) >= 2
    clean = RunStore.open(out)
    assert clean.removed == [] and clean.done() == {0, 1, 2}


def test_pyarrow_dataset_reads_the_part_folders(tmp_path):
    store = RunStore.create_or_open(tmp_path / "exp", EXPERIMENT, ID_A)
    for k in range(3):
        store.write_chunk([row(2 * k), row(2 * k + 1, "failed", error="e")], outs([2 * k]))
    (store.path / "outputs" / ".tmp-x").write_bytes(b"garbage")
    table = ds.dataset(store.path / "outputs", format="parquet").to_table()
    assert sorted(table.column("run_id").to_pylist()) == [0, 2, 4]
    assert table.schema.field("x").type == pa.float64()
    index = ds.dataset(store.path / "index", format="parquet").to_table()
    assert index.num_rows == 6 and index.schema.names == list(INDEX_COLUMNS)


# ---------------------------------------------------------------------------------------------- SIGKILL


WRITER = """
import importlib.util, random, sys, time
spec = importlib.util.spec_from_file_location("_store_under_test", {store_py!r})
mod = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = mod
spec.loader.exec_module(mod)
import pandas as pd

out, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
store = mod.RunStore.create_or_open(out, {{"name": "kill"}}, {identity!r})
print("ready", flush=True)
while True:
    rows, outs, ts = [], [], []
    for r in rng.sample(range(30), 3):
        started = time.time()
        finished = started + rng.random()
        ok = rng.random() < 0.7
        rows.append({{"run_id": r, "point_id": r // 3, "replication": r % 3, "status": "ok" if ok else "failed",
                     "error": None if ok else "boom", "traceback": None if ok else "Traceback\\nboom",
                     "seconds": finished - started, "spawn_key": r % 3, "started": started,
                     "finished": finished}})
        if ok:
            outs.append({{"run_id": r, "x": 2.0 * r, "fin": finished}})
            ts += [{{"run_id": r, "step": s, "y": finished + s}} for s in range(3)]
    store.write_chunk(rows, pd.DataFrame(outs, columns=["run_id", "x", "fin"]),
                      pd.DataFrame(ts, columns=["run_id", "step", "y"]))
"""


def test_sigkill_at_random_moments_never_corrupts_the_store(tmp_path):
    out = tmp_path / "exp"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(store_py=store_module.__file__, identity=ID_A))
    rng = random.Random(20240607)
    chunks = 0
    for kill in range(8):
        proc = subprocess.Popen([sys.executable, str(script), str(out), str(kill)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            time.sleep(rng.uniform(0.02, 0.3))
            assert proc.poll() is None, proc.stderr.read()  # still writing: it dies from the kill
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        store = assert_consistent(out)
        assert store.summary()["chunks"] >= chunks  # committed chunks are never lost
        chunks = store.summary()["chunks"]
    assert chunks > 0 and len(store.done()) > 0
