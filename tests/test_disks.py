"""The environment failing under a sweep: a full disk, read-only media, a scheduler file that is not there.

Each ends with one line and exit code 3 (never a traceback), and the store stays consistent: what was
stored is kept and the same command resumes. The disks are small tmpfs mounts made by the test (CI runs as
root); where mounting is not permitted the tests are skipped, saying why.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustersim.app.cli import main
from clustersim.experiment.store import RunStore, StoreReadOnlyError

#: 300 runs of a plug-in: a few hundred kilobytes of parts, more than a 300 KiB disk holds
EXPERIMENT = ("name: disk\nmodel: plugin_models:noisy_sum\ndesign:\n  kind: lhs\n  samples: 100\n"
              "  factors: {{a: {{low: 0, high: 1}}}}\nreplications: 3\nseed: 11\nchunk_size: {chunk}\n")


def _mount(point: Path, *options: str) -> None:
    """``mount OPTIONS... POINT`` (a new tmpfs: ``-t tmpfs -o size=... tmpfs``; a change: ``-o remount,...``)."""
    subprocess.run(["mount", *options, str(point)], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 300 KiB tmpfs, unmounted afterwards."""
    point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    try:
        _mount(point, "-t", "tmpfs", "-o", "size=300k", "tmpfs")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({getattr(exc, 'stderr', b'').decode().strip() or exc}); "
                    "CI runs as root and can")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def test_a_sweep_that_fills_the_disk_stops_with_one_line_and_resumes_when_there_is_room(small_disk, tmp_path,
                                                                                         capsys):
    exp = tmp_path / "e.yaml"
    exp.write_text(EXPERIMENT.format(chunk=5))
    out = small_disk / "sweep"
    assert main(["sweep", str(exp), "--out", str(out), "-w", "1", "-q"]) == 3
    err = capsys.readouterr().err
    assert "No space left on device" in err and "run the same command again" in err and "Traceback" not in err
    stored = RunStore.open(out, "r")
    kept = len(stored.index())
    assert 0 < kept < 300
    assert len(stored.outputs()) == kept  # every run counted done has its outputs: the store is consistent
    _mount(small_disk, "-o", "remount,size=20m")
    assert main(["sweep", str(exp), "--out", str(out), "-w", "1", "-q"]) == 0
    assert f"{kept} already stored" in capsys.readouterr().out
    assert len(RunStore.open(out).outputs()) == 300


def test_a_store_on_read_only_media_is_read_and_never_written(small_disk, tmp_path, capsys):
    exp = tmp_path / "e.yaml"
    exp.write_text(EXPERIMENT.format(chunk=50).replace("samples: 100", "samples: 10"))
    out = small_disk / "sweep"
    assert main(["sweep", str(exp), "--out", str(out), "-w", "1", "-q"]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    _mount(small_disk, "-o", "remount,ro")
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
    assert "30 done, 0 failed, 0 remaining" in capsys.readouterr().out
    store = RunStore.open(out)  # on read-only media: opened for reading
    assert store.read_only and len(store.outputs()) == 30
    with pytest.raises(StoreReadOnlyError, match="reading only"):
        store.write_metadata({})
    with pytest.raises(StoreReadOnlyError, match="read-only"):
        RunStore.open(out, "a")
    assert main(["sweep", str(exp), "--out", str(out), "-w", "1", "-q", "--retry-failed"]) == 3
    err = capsys.readouterr().err
    assert "read-only" in err and "Traceback" not in err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # not even a lock file


def test_a_run_whose_folder_cannot_be_written_ends_with_one_line(small_disk, tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: tiny\nsimulation: {n_firms: 30, steps: 4, replications: 2}\n")
    _mount(small_disk, "-o", "remount,ro")
    code = main(["run", str(scenario), "--out", str(small_disk / "res"), "-q", "-w", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "not writable" in err and "Traceback" not in err  # refused before running
    assert not (small_disk / "res").exists()


def test_a_missing_scheduler_file_is_one_line_not_a_wait(tmp_path, capsys):
    exp = tmp_path / "e.yaml"
    exp.write_text(EXPERIMENT.format(chunk=5))
    missing = tmp_path / "nowhere" / "scheduler.json"
    code = main(["sweep", str(exp), "--out", str(tmp_path / "out"), "--executor", "dask", "--scheduler-file",
                 str(missing), "-q"])
    err = capsys.readouterr().err
    assert code == 3 and f"scheduler file {missing} not found" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_environment_exit_code_is_documented():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "exit code 3" in readme


def test_a_run_that_fills_the_disk_keeps_its_replications_and_resumes(small_disk, tmp_path, capsys):
    """``clustersim run`` works in a run store beside its results folder: a full disk ends it with one line and
    keeps what was stored, and the same command resumes once there is room."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: tiny\nsimulation: {n_firms: 60, steps: 30, replications: 12}\n")
    args = ["run", str(scenario), "--out", str(small_disk / "res"), "-q", "-w", "1", "--no-figures"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    stores = list(small_disk.glob(".clustersim-runs-*"))
    assert len(stores) == 1 and not (small_disk / "res").exists()
    kept = len(RunStore.open(stores[0], "r").index())
    assert 0 < kept < 12
    _mount(small_disk, "-o", "remount,size=20m")
    assert main(args) == 0
    assert f"12 of 12 replications ok ({kept} resumed from an interrupted run)" in capsys.readouterr().out
    assert not list(small_disk.glob(".clustersim-runs-*"))


def test_ctrl_c_ends_a_command_with_one_line(tmp_path, capsys, monkeypatch):
    import clustersim.app.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_validate", interrupted)
    assert main(["validate", str(tmp_path / "s.yaml")]) == 130
    err = capsys.readouterr().err
    assert "interrupted; what was stored is kept" in err and "Traceback" not in err
