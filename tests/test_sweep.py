"""Sweeps: experiment files, the run store, resume, failures kept as data, identical results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from helpers import ROOT

from clustersim.app.cli import main
from clustersim.experiment.runner import run_replication
from clustersim.experiment.spec import load_experiment
from clustersim.experiment.store import RunStore
from clustersim.experiment.sweep import LocalExecutor, run_sweep
from clustersim.scenario.schema import Scenario

TESTS = Path(__file__).resolve().parent


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


FACTORIAL = f"""\
name: fee_sweep
base: {ROOT / "configs" / "baseline.yaml"}
overrides: {{simulation.n_firms: 30}}
design:
  kind: factorial
  factors: {{clusters.membership_fee: [1.0, 3.0], trust.loss_rate: [0.2, 0.5]}}
replications: 2
seed: 7
steps: 5
"""

PLUGIN = """\
name: plugin
model: plugin_models:{fn}
overrides: {{b: 0.5}}
design:
  kind: points
  points: [{{a: 1}}, {{a: 2}}, {{a: 3}}, {{a: 4}}]
replications: {reps}
seed: 3
chunk_size: {chunk}
"""


def _outputs(folder: Path) -> pd.DataFrame:
    return RunStore.open(folder).outputs().sort_values("run_id").reset_index(drop=True)


def test_sweep_of_the_model_matches_plain_runs(tmp_path):
    """Run (p, r) of a sweep is replication r of point p's scenario under the root seed (common random numbers)."""
    exp_file = _write(tmp_path, "e.yaml", FACTORIAL)
    out = tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "1", "-q"]) == 0
    outputs = _outputs(out)
    assert len(outputs) == 8 and sorted(outputs["run_id"]) == list(range(8))
    exp = load_experiment(exp_file)
    for run_id in (0, 5):
        point, rep = divmod(run_id, 2)
        scenario = exp.params[point]  # the point's scenario, validated when the file was read
        assert isinstance(scenario, Scenario)
        assert scenario.simulation.n_firms == 30 and scenario.simulation.steps == 5
        expected = run_replication(scenario, 7, rep, catch=False).summary
        row = outputs[outputs["run_id"] == run_id].iloc[0]
        for key in ("relative_productivity_final", "n_clusters_late", "value_added_final"):
            assert row[key] == expected[key]


def test_a_point_is_validated_once_when_the_file_is_read_and_never_by_its_runs(tmp_path):
    """Every validation of a whole scenario is counted (``Scenario.model_validate``, which all of the scenario
    reader's validations go through): the base once and each design point once, at load; its runs receive
    the point's validated scenario and validate nothing."""
    exp_file = _write(tmp_path, "e.yaml", FACTORIAL)  # 4 points, 2 replications
    validate = Scenario.model_validate
    seen: list[tuple[float, float]] = []

    def counted(data, **kw):
        seen.append((data["clusters"]["membership_fee"], data["trust"]["loss_rate"]))
        return validate(data, **kw)

    with mock.patch.object(Scenario, "model_validate", side_effect=counted):
        exp = load_experiment(exp_file)
        at_load = len(seen)
        # the runs in this process (not contained in a worker), so that a validation by a run would be counted
        report = run_sweep(exp, tmp_path / "out", executor=LocalExecutor(1, contained=False))
    assert report.ok == 8 and not report.failed
    assert at_load == len(seen) == 1 + 4  # the base, then each point: nothing while the 8 runs ran
    assert Counter(seen[1:]) == Counter(map(tuple, exp.points[["clusters.membership_fee", "trust.loss_rate"]]
                                            .itertuples(index=False)))
    assert all(isinstance(scenario, Scenario) for scenario in exp.params)


def test_one_and_two_workers_and_any_chunking_give_identical_results(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    exp = load_experiment(_write(tmp_path, "e.yaml", FACTORIAL))
    run_sweep(exp, a, executor=LocalExecutor(1))
    exp.spec.chunk_size = 3  # chunking is not part of the experiment's identity of results
    run_sweep(exp, b, executor=LocalExecutor(2))
    pd.testing.assert_frame_equal(_outputs(a), _outputs(b), check_exact=True)


def test_rerun_resumes_and_skips_stored_runs(tmp_path, capsys):
    exp_file = _write(tmp_path, "e.yaml", PLUGIN.format(fn="noisy_sum", reps=3, chunk=2))
    out = tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "1", "-q"]) == 0
    first = _outputs(out)
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "1", "-q"]) == 0
    assert "0 run now, 12 already stored" in capsys.readouterr().out
    pd.testing.assert_frame_equal(first, _outputs(out))


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    exp_file = _write(tmp_path, "e.yaml", PLUGIN.format(fn="fails_above", reps=2, chunk=1))
    out = tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "2", "-q"]) == 1
    store = RunStore.open(out)
    assert store.done() == {0, 1, 2, 3} and store.failed() == {4, 5, 6, 7}
    assert main(["status", str(out)]) == 0
    status = capsys.readouterr().out
    assert "4 done, 4 failed, 0 remaining of 8 runs" in status and "a = 3 is too large" in status
    index = store.index()
    assert index.loc[index["run_id"] == 6, "traceback"].iloc[0].startswith("Traceback")
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "1", "-q", "--retry-failed"]) == 1
    assert "4 run now" in capsys.readouterr().out


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL mid-sweep, rerun: same dataset as an uninterrupted sweep, no duplicate, no lost run."""
    exp_file = _write(tmp_path, "e.yaml", PLUGIN.format(fn="slow_noisy_sum", reps=10, chunk=2))
    reference = tmp_path / "ref"
    assert main(["sweep", str(exp_file), "--out", str(reference), "-w", "2", "-q"]) == 0
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "clustersim.app.cli", "sweep", str(exp_file), "--out", str(out), "-w", "2", "-q"]
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            parts = list((out / "index").glob("part-*.parquet")) if (out / "index").exists() else []
            if len(parts) >= 2 + 3 * kills or proc.poll() is not None:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-sweep
            kills += 1
        proc.wait()
    assert kills >= 1
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "2", "-q"]) == 0
    result, ref = _outputs(out), _outputs(reference)
    assert result["run_id"].is_unique and len(result) == 40
    pd.testing.assert_frame_equal(result, ref, check_exact=True)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (FACTORIAL.replace("replications: 2", "replicatons: 2"), ["e.yaml:7", "replicatons", "replications"]),
        (FACTORIAL.replace("clusters.membership_fee", "clusters.membership_fe"), ["membership_fe",
                                                                                 "clusters.membership_fee"]),
        (FACTORIAL.replace("[1.0, 3.0]", "[1.0, -3.0]"), ["clusters.membership_fee", "-3"]),
        ("name: x\nseed: 1\ndesign: {kind: lhs, factors: {trust.loss_rate: {low: 0, high: 1}}}\n", ["samples"]),
        ("name: x\nseed: 1\nmodel: nocolon\ndesign: {kind: points, points: [{a: 1}]}\n", ["nocolon"]),
    ],
    ids=["unknown-key", "unknown-factor", "out-of-range-level", "lhs-without-samples", "bad-model-path"],
)
def test_bad_experiment_files_are_refused_with_nothing_written(tmp_path, capsys, text, expect):
    exp_file = _write(tmp_path, "e.yaml", text)
    out = tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    for piece in expect:
        assert piece in err
    assert not out.exists()


def test_a_folder_of_another_experiment_is_never_mixed(tmp_path, capsys):
    out = tmp_path / "out"
    first = _write(tmp_path, "a.yaml", PLUGIN.format(fn="noisy_sum", reps=1, chunk=1))
    assert main(["sweep", str(first), "--out", str(out), "-w", "1", "-q"]) == 0
    before = sorted(p.name for p in out.rglob("*"))
    other = _write(tmp_path, "b.yaml", PLUGIN.format(fn="noisy_sum", reps=2, chunk=1))
    assert main(["sweep", str(other), "--out", str(out), "-w", "1", "-q"]) == 2
    assert "never" in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob("*")) == before
    assert main(["status", str(tmp_path)]) == 2


def test_adaptive_chunks_aim_at_the_target_duration_and_cover_every_run_once(tmp_path):
    from clustersim.experiment.evaluate import ChunkResult
    from clustersim.experiment.sweep import _AdaptiveChunks

    exp = load_experiment(_write(tmp_path, "e.yaml", PLUGIN.format(fn="noisy_sum", reps=25, chunk=1)
                                 .replace("chunk_size: 1\n", "")))
    chunks = _AdaptiveChunks(exp, list(range(100)), workers=1, target=0.5)
    it = iter(chunks)
    first = next(it)
    assert len(first.tasks) <= 2  # a probe before any run time is known
    chunks.observe(ChunkResult([{"seconds": 0.01}] * len(first.tasks), None, None))
    second = next(it)
    assert len(second.tasks) == min(50, -(-(100 - len(first.tasks)) // 2))  # target/time, capped to share work
    seen = [t.run_id for c in (first, second, *it) for t in c.tasks]
    assert seen == list(range(100))


def test_python_api_in_a_threaded_process_like_a_notebook(tmp_path):
    """A notebook kernel runs threads: the pool then uses a fork server; results are unchanged."""
    import threading

    import clustersim as cs

    exp_file = _write(tmp_path, "e.yaml", PLUGIN.format(fn="noisy_sum", reps=3, chunk=2))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert threading.active_count() > 1
        report = cs.sweep(exp_file, tmp_path / "nb", workers=2)
    finally:
        stop.set()
        thread.join()
    assert report.ok == 12 and report.failed == 0
    cs.sweep(exp_file, tmp_path / "serial", workers=1)
    pd.testing.assert_frame_equal(_outputs(tmp_path / "nb"), _outputs(tmp_path / "serial"), check_exact=True)


def test_sweep_folder_is_readable_by_pyarrow_and_duckdb(tmp_path):
    import duckdb
    import pyarrow.dataset as ds

    exp_file = _write(tmp_path, "e.yaml", PLUGIN.format(fn="noisy_sum", reps=3, chunk=2))
    out = tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(out), "-w", "1", "-q"]) == 0
    table = ds.dataset(out / "outputs", format="parquet").to_table()
    assert table.num_rows == 12 and set(table.column_names) >= {"run_id", "y"}
    rows = duckdb.sql(f"select count(*), count(distinct run_id), avg(y) from "
                      f"read_parquet('{out / 'outputs'}/part-*.parquet')").fetchall()[0]
    assert rows[0] == rows[1] == 12
    assert abs(rows[2] - _outputs(out)["y"].mean()) < 1e-12


def test_shipped_experiment_files_load():
    """Every sweep experiment in experiments/ loads (sensitivity studies, with a 'method', are tested in
    their own file)."""
    files = [f for f in sorted((ROOT / "experiments").glob("*.yaml"))
             if not any(line.startswith("method:") for line in f.read_text().splitlines())]
    assert files
    for f in files:
        exp = load_experiment(f)
        assert len(exp.points) * exp.spec.replications > 0
        assert f.read_text().startswith("# Question:")
