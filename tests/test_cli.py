"""The command line, tested in-process through ``clustersim.app.cli.main``."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from clustersim.app.cli import main
from clustersim.experiment.store import RunStore
from clustersim.scenario.io import load_scenario
from clustersim.scenario.schema import Scenario

SMALL = ["--set", "simulation.n_firms=40", "--steps", "6", "--replications", "2", "--workers", "1", "-q"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    return _write(tmp_path, "s.yaml", "name: tiny\nsimulation:\n  n_firms: 40\n  steps: 6\n")


def test_run_writes_tables_figures_and_provenance(tmp_path, scenario_file, capsys):
    out = tmp_path / "res"
    code = main(["run", str(scenario_file), *SMALL, "--seed", "5", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "results:" in printed and str(out) in printed and "relative_productivity" in printed
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 2 * 7 and set(ts["replication"]) == {0, 1}
    assert ts.groupby("replication")["step"].apply(list).tolist() == [list(range(7))] * 2
    summary_csv = pd.read_csv(out / "summary.csv")
    summary_pq = pd.read_parquet(out / "summary.parquet")
    assert len(summary_csv) == len(summary_pq) == 2
    assert (summary_pq["status"] == "ok").all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["root_seed"] == 5
    # the recorded scenario is what ran: --steps/--replications/--seed are folded into it
    assert meta["scenario"]["simulation"] == {"n_firms": 40, "steps": 6, "warmup": 40, "record_warmup": False,
                                              "replications": 2, "seed": 5}
    assert meta["overrides"] == ["simulation.n_firms=40", "simulation.replications=2", "simulation.steps=6",
                                 "simulation.seed=5"]
    assert len(meta["scenario_hash"]) == 64
    assert {"mesa", "numpy", "pandas", "python"} <= set(meta["versions"])
    assert [r["spawn_key"] for r in meta["replications"]] == [[0], [1]]
    assert "commit" in meta["git"] and meta["wall_seconds"] >= 0
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"competitiveness.png", "durability.png", "leverage.png", "membership.png", "network.png"} <= figures
    for f in (out / "figures").iterdir():
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_run_default_folder_is_new_and_never_overwritten(tmp_path, scenario_file, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(scenario_file), *SMALL, "--no-figures"]) == 0
    assert main(["run", str(scenario_file), *SMALL, "--no-figures"]) == 0
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2 and all(f.startswith("tiny-") for f in folders)


def test_run_refuses_an_existing_out_folder(tmp_path, scenario_file, capsys):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", str(scenario_file), *SMALL, "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("simulation:\n  n_firms: 40\n  stepz: 6\n", ["s.yaml:3", "simulation.stepz", "did you mean 'steps'"]),
        ("simulation:\n  n_firms: 2\n", ["s.yaml:2", "simulation.n_firms", "2", ">= 5"]),
        ("firms:\n  size_median: big\n", ["s.yaml:2", "firms.size_median", "big"]),
        ("simulation: [1, 2\n", ["s.yaml"]),
        ("- a\n- b\n", ["s.yaml"]),
        ("", ["s.yaml"]),
    ],
    ids=["unknown-key", "out-of-range", "wrong-type", "malformed", "not-a-mapping", "empty"],
)
def test_bad_scenarios_exit_2_and_write_nothing(tmp_path, capsys, text, expect):
    bad = _write(tmp_path, "s.yaml", text)
    out = tmp_path / "res"
    assert main(["run", str(bad), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    for piece in expect:
        assert piece in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
    assert main(["validate", str(bad)]) == 2


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--set", "firms.size_medain=3"], ["--set", "firms.size_medain", "size_median"]),
        (["--set", "clusters.min_founders=1"], ["--set", "clusters.min_founders", ">= 2"]),
        (["--set", "nonsense"], ["--set", "nonsense"]),
        (["--replications", "0"], ["--replications", "0"]),
        (["--steps", "-3"], ["--steps", "-3"]),
        (["--seed", "-1"], ["--seed", "-1"]),
        (["--workers", "abc"], ["--workers", "abc"]),
    ],
    ids=["override-unknown", "override-range", "override-syntax", "replications", "steps", "seed", "workers"],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path, scenario_file, capsys, args, expect):
    out = tmp_path / "res"
    assert main(["run", str(scenario_file), "--out", str(out), "-q", *args]) == 2
    err = capsys.readouterr().err
    for piece in expect:
        assert piece in err
    assert not out.exists()


def test_unwritable_out_is_refused_before_running(tmp_path, scenario_file, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    assert main(["run", str(scenario_file), *SMALL, "--out", str(blocker / "x")]) == 2
    err = capsys.readouterr().err
    assert "afile" in err and "replications ok" not in err
    assert blocker.read_text() == "not a folder"


def test_default_folder_taken_meanwhile_gets_a_new_name(tmp_path, scenario_file, monkeypatch, capsys):
    """Two runs started in the same second: the second one's results go to the next free name."""
    import clustersim.app.cli as cli
    import clustersim.reports.run as output

    real_new = output.new_results_dir
    monkeypatch.chdir(tmp_path)
    claimed = []

    def same_second(base, name, now=None):
        path = real_new(base, name)
        claimed.append(path)
        return path

    def check_then_claim(out, explicit):
        problem = real_check(out, explicit)
        out.mkdir()  # another run, started in the same second, claims the name while this one runs
        return problem

    real_check = cli._check_out
    monkeypatch.setattr(output, "new_results_dir", same_second)
    monkeypatch.setattr(cli, "_check_out", check_then_claim)
    assert main(["run", str(scenario_file), *SMALL, "--no-figures"]) == 0
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2 and folders[1] == folders[0] + "-2"
    assert (tmp_path / "results" / folders[1] / "summary.csv").exists()
    assert list((tmp_path / "results" / folders[0]).iterdir()) == []


def test_toml_scenario_and_duplicate_key_through_the_cli(tmp_path, capsys):
    toml = _write(tmp_path, "s.toml", 'name = "t"\n[simulation]\nn_firms = 40\nsteps = 4\n')
    assert main(["run", str(toml), "-r", "1", "-w", "1", "-q", "--no-figures", "--out", str(tmp_path / "r")]) == 0
    dup = _write(tmp_path, "d.yaml", "simulation:\n  n_firms: 40\n  n_firms: 50\n")
    assert main(["validate", str(dup)]) == 2
    assert "d.yaml:3" in capsys.readouterr().err


def test_default_cli_path_with_progress_bar_and_pool(tmp_path, scenario_file, capsys):
    """No -q, no --workers: the progress bar and the process pool as a user gets them."""
    out = tmp_path / "res"
    assert main(["run", str(scenario_file), "--set", "simulation.n_firms=30", "--steps", "4", "-r", "3",
                 "--out", str(out), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "3/3" in err
    assert len(pd.read_parquet(out / "timeseries.parquet")) == 3 * 5


def test_compare_runs_paired_scenarios_and_refuses_bad_input(tmp_path, scenario_file, capsys):
    other = _write(tmp_path, "o.yaml", "name: other\nsimulation:\n  n_firms: 40\n  steps: 6\n"
                                       "market:\n  frontier_growth: 0.05\n")
    out = tmp_path / "cmp"
    args = ["compare", str(other), "--baseline", str(scenario_file), "-r", "3", "-w", "1", "-q", "--no-figures"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "other" in printed and "relative_productivity" in printed and "leverage of other: undefined" in printed
    diff = pd.read_csv(out / "differences.csv")
    row = diff[(diff["scenario"] == "other") & (diff["indicator"] == "relative_productivity")
               & (diff["statistic"] == "final")].iloc[0]
    assert row["difference"] < 0 and row["n"] == 3  # a faster frontier leaves the region further behind
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["root_seed"] == 20261126
    assert main([*args, "--out", str(out)]) == 2  # never overwritten
    bad = _write(tmp_path, "b.yaml", "simulation:\n  n_firmz: 3\n")
    assert main(["compare", str(bad), "--baseline", str(scenario_file), "-q", "--out", str(tmp_path / "c2")]) == 2
    assert "b.yaml:2" in capsys.readouterr().err
    assert not (tmp_path / "c2").exists()
    same = _write(tmp_path, "same.yaml", "name: tiny\n")
    assert main(["compare", str(same), "--baseline", str(scenario_file), "-q", "--out", str(tmp_path / "c3")]) == 2
    assert "tiny" in capsys.readouterr().err


def test_missing_file_and_bad_extension(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    odd = _write(tmp_path, "s.ini", "[x]\n")
    assert main(["run", str(odd), "-q", "--out", str(tmp_path / "r")]) == 2
    assert "s.ini" in capsys.readouterr().err


def test_validate_accepts_every_shipped_scenario(root, capsys):
    for f in sorted((root / "configs").glob("*.yaml")):
        assert main(["validate", str(f)]) == 0, f
        assert "valid scenario" in capsys.readouterr().out


def test_template_round_trips(tmp_path, capsys):
    assert main(["template"]) == 0
    text = capsys.readouterr().out
    f = _write(tmp_path, "t.yaml", text)
    assert load_scenario(f).model_dump() == Scenario().model_dump()
    assert text.count("#") > 80


def test_failed_replication_is_recorded_and_exit_code_is_1(tmp_path, scenario_file, monkeypatch, capsys):
    import clustersim.experiment.sweep as sweep_module
    import clustersim.model.model as model_module

    real = model_module.ClusterModel

    class Failing(real):
        fail = False

        def step(self):
            if self.fail and self.now == 3:
                raise RuntimeError("boom in quarter 3")
            super().step()

    def make(scenario, rng=None, **kw):
        m = Failing(scenario, rng=rng, **kw)
        m.fail = rng.spawn_key == (1,)  # only replication 1 fails
        return m

    monkeypatch.setattr(model_module, "ClusterModel", make)
    # the replications in this process, where the patch is (a contained worker started from a fork server, as
    # in a process with threads, would not see it)
    monkeypatch.setattr(sweep_module, "LocalExecutor", functools.partial(sweep_module.LocalExecutor, contained=False))
    out = tmp_path / "res"
    assert main(["run", str(scenario_file), *SMALL, "--out", str(out), "--no-figures"]) == 1
    err = capsys.readouterr().err
    assert "1 replication(s) failed" in err
    failures = json.loads((out / "failures.json").read_text())
    assert [f["replication"] for f in failures] == [1]
    assert "boom in quarter 3" in failures[0]["error"] and "Traceback" in failures[0]["error"]
    summary = pd.read_csv(out / "summary.csv")
    assert summary.set_index("replication")["status"].to_dict() == {0: "ok", 1: "failed"}
    assert set(pd.read_parquet(out / "timeseries.parquet")["replication"]) == {0}


def test_help_and_usage_errors(capsys):
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert main([]) == 2


def test_a_killed_run_resumes_from_its_stored_replications(tmp_path, capsys):
    """``clustersim run`` stores replications as they finish (a hidden run store beside the results folder):
    killed, then started again, it runs only what is missing and writes the same tables as an uninterrupted
    run; the store is removed once the results folder exists."""
    scenario = _write(tmp_path, "s.yaml", "name: slow\nsimulation: {n_firms: 120, steps: 40, replications: 6}\n")
    out = tmp_path / "res"
    args = ["run", str(scenario), "--workers", "1", "-q", "--no-figures", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from clustersim.app.cli import main; "
                             "sys.exit(main(sys.argv[1:]))", *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    parts: list[Path] = []
    while time.monotonic() < deadline and not parts and proc.poll() is None:
        parts = list(tmp_path.glob(".clustersim-runs-*/index/part-*.parquet"))
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert parts, "no replication was stored before the run ended"
    assert not out.exists()
    stored = len(RunStore.open(parts[0].parent.parent).index())
    assert 0 < stored < 6
    capsys.readouterr()
    assert main(args) == 0
    assert f"6 of 6 replications ok ({stored} resumed from an interrupted run)" in capsys.readouterr().out
    assert not list(tmp_path.glob(".clustersim-runs-*"))
    clean = tmp_path / "clean"
    assert main([*args[:-1], str(clean)]) == 0
    for name in ("summary", "timeseries", "clusters", "spending"):
        a, b = (pd.read_parquet(d / f"{name}.parquet") for d in (out, clean))
        pd.testing.assert_frame_equal(a.drop(columns=["seconds"], errors="ignore"),
                                      b.drop(columns=["seconds"], errors="ignore"), check_exact=True)
