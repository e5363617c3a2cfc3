"""Runs that crash, hang, exhaust memory or return NaN are contained: each is recorded with its cause, the
other runs complete and are bit-identical to a clean sweep's, on the local pool (1 and 2 workers) and on a real
Dask scheduler with nanny workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import dask_cluster

from clustersim.app.cli import main
from clustersim.experiment.evaluate import failure_cause
from clustersim.experiment.store import RunStore

TESTS = Path(__file__).resolve().parent
FAULTS = {"exit": "crash", "segfault": "crash", "sleep": "timeout", "hog": "memory", "nan": "nonfinite"}

EXPERIMENT = """\
name: faults
model: fault_models:{fn}
design:
  kind: points
  points: [{points}]
replications: 2
seed: 17
chunk_size: {chunk}
timeout_s: {timeout}
memory_mb: 400
"""


def _experiment(tmp_path: Path, fn: str, faults: list[str], *, chunk: int = 3, timeout: float = 2.0) -> Path:
    points = ", ".join(f"{{a: {i}, fault: {f}}}" for i, f in enumerate(faults))
    path = tmp_path / f"{fn}.yaml"
    path.write_text(EXPERIMENT.format(fn=fn, points=points, chunk=chunk, timeout=timeout))
    return path


def _check(out: Path, clean: Path, faults: list[str]) -> None:
    """Every faulty run recorded with its cause; the others bit-identical to the clean sweep."""
    store = RunStore.open(out, "r")
    index = store.index().set_index("run_id")
    assert len(index) == 2 * len(faults)
    for rid, row in index.iterrows():
        fault = faults[rid // 2]
        if fault == "none":
            assert row["status"] == "ok", (rid, row["error"])
        elif fault == "nan":
            assert row["status"] == "nonfinite", (rid, row["error"])
        else:
            assert row["status"] == "failed" and failure_cause(row["error"]) == FAULTS[fault], (rid, row["error"])
    good = [rid for rid in range(2 * len(faults)) if faults[rid // 2] == "none"]
    got = store.outputs().set_index("run_id").loc[good]
    want = RunStore.open(clean, "r").outputs().set_index("run_id").loc[good]
    pd.testing.assert_frame_equal(got, want, check_exact=True)


FAULT_LIST = ["none", "exit", "none", "segfault", "sleep", "none", "hog", "nan", "none"]


@pytest.mark.parametrize("workers", [1, 2])
def test_local_pool_contains_every_fault(tmp_path, monkeypatch, capsys, workers):
    monkeypatch.syspath_prepend(str(TESTS))
    clean = _experiment(tmp_path, "clean", FAULT_LIST)
    faulty = _experiment(tmp_path, "faulty", FAULT_LIST)
    assert main(["sweep", str(clean), "--out", str(tmp_path / "clean"), "-w", "1", "-q"]) == 0
    capsys.readouterr()
    assert main(["sweep", str(faulty), "--out", str(tmp_path / "out"), "-w", str(workers), "-q"]) == 1
    err = capsys.readouterr()
    assert "Traceback" not in err.out + err.err
    _check(tmp_path / "out", tmp_path / "clean", FAULT_LIST)
    # the status names the causes; a retry runs the failed runs again (and they fail again, the same way)
    assert main(["status", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    for words in ("exit code 3", "signal 11 (SIGSEGV)", "timeout: the run took more than 2 s",
                  "memory", "non-finite outputs: y=nan"):
        assert words in text, (words, text)
    assert "crash 4, timeout 2, memory 2" in text, text
    assert main(["sweep", str(faulty), "--out", str(tmp_path / "out"), "-w", str(workers), "-q",
                 "--retry-failed"]) == 1
    _check(tmp_path / "out", tmp_path / "clean", FAULT_LIST)


def test_the_default_timeout_follows_measured_run_times():
    from clustersim.experiment.contained import INITIAL_TIMEOUT_S, MIN_TIMEOUT_S, TIMEOUT_FACTOR, RunLimits

    assert RunLimits().timeout(None) == INITIAL_TIMEOUT_S
    assert RunLimits().timeout(0.5) == MIN_TIMEOUT_S
    assert RunLimits().timeout(60.0) == TIMEOUT_FACTOR * 60.0
    assert RunLimits(measured_s=30.0).timeout(None) == TIMEOUT_FACTOR * 30.0
    assert RunLimits(timeout_s=3.0).timeout(600.0) == 3.0


def test_a_plugin_exiting_in_a_one_worker_sweep_does_not_take_the_sweep_with_it(tmp_path):
    """The sweep process itself survives (before: it exited with the plug-in's code and printed nothing)."""
    exp = _experiment(tmp_path, "faulty", ["none", "exit", "none"], chunk=6)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "clustersim.app.cli", "sweep", str(exp), "--out",
                           str(tmp_path / "out"), "-w", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "4 ok, 2 failed" in done.stdout and "Traceback" not in done.stderr, (done.stdout, done.stderr)


@pytest.fixture
def nanny_cluster(tmp_path):
    """A scheduler and two nanny-managed single-threaded workers with a 400 MB memory limit, each its own
    process on loopback; a task is given up after killing 2 workers (allowed-failures 1: Dask's default is 3,
    which only makes the test slower)."""
    pytest.importorskip("distributed")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    with dask_cluster(tmp_path, ["--memory-limit", "400MB"], env) as running:
        yield running["address"]


def test_dask_contains_every_fault_through_its_own_mechanisms(tmp_path, monkeypatch, capsys, nanny_cluster):
    monkeypatch.syspath_prepend(str(TESTS))
    faults = ["none", "exit", "segfault", "none", "sleep", "hog", "nan", "none"]
    clean = _experiment(tmp_path, "clean", faults, chunk=2, timeout=4.0)
    faulty = _experiment(tmp_path, "faulty", faults, chunk=2, timeout=4.0)
    assert main(["sweep", str(clean), "--out", str(tmp_path / "clean"), "-w", "1", "-q"]) == 0
    # in a process of its own, bounded: a sweep that hung would fail this test rather than hang the suite
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "clustersim.app.cli", "sweep", str(faulty), "--out",
                           str(tmp_path / "out"), "--executor", "dask", "--scheduler", nanny_cluster, "-q"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    _check(tmp_path / "out", tmp_path / "clean", faults)


def test_run_and_compare_contain_their_runs_too(tmp_path, capsys):
    """`run` and `compare` go through the same contained pool: a memory limit below what a worker needs, or a
    timeout shorter than a run, records every replication with its cause (exit code 1, no traceback)."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: tiny\nsimulation: {n_firms: 30, steps: 4, replications: 2}\n")
    long = tmp_path / "long.yaml"  # a run of several seconds, against a timeout of 0.3 s
    long.write_text("name: long\nsimulation: {n_firms: 1000, steps: 400, replications: 2}\n")
    for path, flags, cause in ((scenario, ["--memory-limit", "16"], "memory"), (long, ["--timeout", "0.3"], "timeout")):
        out = tmp_path / f"run-{cause}"
        assert main(["run", str(path), "--out", str(out), "-q", "-w", "2", "--no-figures", *flags]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "2 replication(s) failed" in err
        failures = json.loads((out / "failures.json").read_text())
        assert [failure_cause(f["error"]) for f in failures] == [cause, cause]
    other = tmp_path / "other.yaml"
    other.write_text(scenario.read_text().replace("name: tiny", "name: other"))
    out = tmp_path / "cmp"
    assert main(["compare", str(other), "--baseline", str(scenario), "--out", str(out), "-q", "-w", "1",
                 "--no-figures", "--memory-limit", "16"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert {failure_cause(f["error"]) for f in json.loads((out / "failures.json").read_text())} == {"memory"}


def test_a_sensitivity_study_whose_plugin_crashes_records_the_crashes_and_is_analysed(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(TESTS))
    study = tmp_path / "s.yaml"
    study.write_text("name: crashing\nmodel: fault_models:ishigami_exits_high_x1\nmethod: morris\nsamples: 8\n"
                     "seed: 3\noutputs: [y]\nfactors: {x1: [-3.14159, 3.14159], x2: [-3.14159, 3.14159], "
                     "x3: [-3.14159, 3.14159]}\nreplications: 1\n")
    out = tmp_path / "out"
    assert main(["sensitivity", str(study), "--out", str(out), "-q", "-w", "2", "--no-figures"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    index = RunStore.open(out / "runs", "r").index()
    crashed = index[index["status"] == "failed"]
    assert len(crashed) > 0 and set(crashed["error"]) == {"crash: the run's process ended with exit code 5"}
    assert (out / "indices.parquet").exists() and "## Warnings" in (out / "report.md").read_text()
