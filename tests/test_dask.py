"""The Dask executor against a real cluster: `dask scheduler` and `dask worker` as separate processes on
127.0.0.1. Results equal the local executor's; a worker killed mid-sweep does not lose or change anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from helpers import dask_cluster  # noqa: E402

from clustersim.app.cli import main  # noqa: E402
from clustersim.experiment.store import RunStore  # noqa: E402

TESTS = Path(__file__).resolve().parent

EXPERIMENT = """\
name: dask_check
model: plugin_models:{fn}
overrides: {{b: 0.5}}
design:
  kind: points
  points: [{{a: 1}}, {{a: 2}}, {{a: 3}}, {{a: 4}}, {{a: 5}}]
replications: {reps}
seed: 11
chunk_size: 2
"""


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers, each its own process, on loopback only."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    with dask_cluster(tmp_path, ["--no-nanny"], env) as running:
        yield running


def _outputs(folder: Path) -> pd.DataFrame:
    return RunStore.open(folder).outputs().sort_values("run_id").reset_index(drop=True)


def test_dask_cluster_gives_the_local_results(tmp_path, cluster):
    exp_file = tmp_path / "e.yaml"
    exp_file.write_text(EXPERIMENT.format(fn="noisy_sum", reps=4))
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["sweep", str(exp_file), "--out", str(local), "-w", "2", "-q"]) == 0
    assert main(["sweep", str(exp_file), "--out", str(remote), "--executor", "dask", "--scheduler",
                 cluster["address"], "-q"]) == 0
    pd.testing.assert_frame_equal(_outputs(local), _outputs(remote), check_exact=True)


def test_killed_worker_mid_sweep_loses_nothing(tmp_path, cluster):
    exp_file = tmp_path / "e.yaml"
    exp_file.write_text(EXPERIMENT.format(fn="slow_noisy_sum", reps=12))
    reference, out = tmp_path / "ref", tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(reference), "-w", "2", "-q"]) == 0
    cmd = [sys.executable, "-m", "clustersim.app.cli", "sweep", str(exp_file), "--out", str(out),
           "--executor", "dask", "--scheduler", cluster["address"], "-q"]
    sweep = subprocess.Popen(cmd, env=cluster["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and sweep.poll() is None:
        if (out / "index").exists() and len(list((out / "index").glob("part-*.parquet"))) >= 3:
            break
        time.sleep(0.02)
    victim = cluster["workers"][0]
    assert victim.poll() is None and sweep.poll() is None, "the sweep finished before a worker could be killed"
    os.killpg(victim.pid, signal.SIGKILL)  # a worker dies with tasks in flight
    output, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, output
    result = _outputs(out)
    assert result["run_id"].is_unique and len(result) == 60
    pd.testing.assert_frame_equal(result, _outputs(reference), check_exact=True)


SENSITIVITY = """\
name: dask_sobol
model: clustersim.studies.analytic:ishigami
method: sobol
samples: 512
seed: 42
chunk_size: 97
outputs: [y]
factors: {x1: [-3.141592653589793, 3.141592653589793], x2: [-3.141592653589793, 3.141592653589793],
          x3: [-3.141592653589793, 3.141592653589793]}
"""


def test_sensitivity_on_dask_recovers_ishigami_and_equals_the_local_analysis(tmp_path, cluster):
    """Completion order on a real Dask cluster does not matter: identical indices, and the analytic ones."""
    from clustersim.studies.analytic import ishigami_indices

    study = tmp_path / "s.yaml"
    study.write_text(SENSITIVITY)
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["sensitivity", str(study), "--out", str(local), "-w", "1", "-q", "--no-figures"]) == 0
    assert main(["sensitivity", str(study), "--out", str(remote), "--executor", "dask", "--scheduler",
                 cluster["address"], "-q", "--no-figures"]) == 0
    a, b = pd.read_parquet(local / "indices.parquet"), pd.read_parquet(remote / "indices.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for kind, values in ishigami_indices().items():
        for factor, value in values.items():
            row = a[(a["index"] == kind) & (a["factor"] == factor)].iloc[0]
            assert row["low"] <= value <= row["high"], (kind, factor, value, row.to_dict())


def _tables_of(folder: Path) -> dict[str, pd.DataFrame]:
    """A results folder's tables, clocks dropped."""
    out = {}
    for name in ("summary", "timeseries", "clusters", "cluster_sizes", "spending", "network_nodes"):
        df = pd.read_parquet(folder / f"{name}.parquet")
        out[name] = df.drop(columns=[c for c in ("seconds",) if c in df.columns])
    return out


def test_run_and_compare_on_dask_give_the_local_results(tmp_path, cluster):
    """``clustersim run`` and ``compare`` go through the same engine as sweeps: on a Dask cluster they write
    the same tables as on the local pool."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: tiny\nsimulation: {n_firms: 40, steps: 8, replications: 3}\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("name: aware\nsimulation: {n_firms: 40, steps: 8}\npolicy:\n  funders: {region: "
                      "{budget_per_year: 100.0}}\n  instruments: {awareness: {enabled: true}}\n")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["run", str(scenario), "--out", str(local), "-w", "2", "-q", "--no-figures"]) == 0
    assert main(["run", str(scenario), "--out", str(remote), "--executor", "dask", "--scheduler",
                 cluster["address"], "-q", "--no-figures"]) == 0
    a, b = _tables_of(local), _tables_of(remote)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    args = [str(policy), "--baseline", str(scenario), "-r", "2", "-q", "--no-figures"]
    assert main(["compare", *args, "--out", str(tmp_path / "c-local"), "-w", "1"]) == 0
    assert main(["compare", *args, "--out", str(tmp_path / "c-remote"), "--executor", "dask", "--scheduler",
                 cluster["address"]]) == 0
    for name in ("differences", "means"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "c-local" / f"{name}.csv"),
                                      pd.read_csv(tmp_path / "c-remote" / f"{name}.csv"), check_exact=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".clustersim-runs-")]  # work stores removed


def test_a_cluster_left_without_workers_stops_the_sweep_with_one_line(tmp_path, cluster, monkeypatch, capsys):
    """Workers without a nanny are not restarted: once none is left, the sweep ends (exit 3) instead of waiting
    for ever, and what was stored resumes."""
    import clustersim.experiment.dask_watch as watch

    monkeypatch.setattr(watch, "NO_WORKERS_S", 2.0)
    exp_file = tmp_path / "e.yaml"
    exp_file.write_text(EXPERIMENT.format(fn="slow_noisy_sum", reps=40))
    for worker in cluster["workers"]:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    out = tmp_path / "out"
    assert main(["sweep", str(exp_file), "--out", str(out), "--executor", "dask", "--scheduler",
                 cluster["address"], "-q"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no worker for 2 s" in err and "run the same command again" in err
    assert RunStore.open(out, "r").experiment["name"] == "dask_check"
