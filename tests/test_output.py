"""The results writer: atomic folders, never overwritten, complete provenance."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import small_scenario

import clustersim.reports.run as output
from clustersim import replication_seed, run_scenario, write_results
from clustersim.reports.run import new_results_dir
from clustersim.util.atomic import OutputExistsError


@pytest.fixture(scope="module")
def results():
    return run_scenario(small_scenario(n_firms=40, steps=6, replications=3), workers=1)


def test_written_tables_match_the_results(tmp_path, results):
    out = write_results(results, tmp_path / "r", figures=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), results.timeseries())
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["replication"]) == [0, 1, 2]
    for _, row in summary.iterrows():
        assert row["seed_entropy"] == str(replication_seed(row["root_seed"], row["replication"]).entropy)
    clusters = pd.read_parquet(out / "clusters.parquet")
    assert len(clusters) == len(results.clusters())
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["scenario_hash"] and meta["root_seed"] == results.root_seed
    assert not (out / "figures").exists() and not (out / "failures.json").exists()


def test_an_existing_folder_is_never_overwritten(tmp_path, results):
    target = tmp_path / "r"
    target.mkdir()
    with pytest.raises(OutputExistsError):
        write_results(results, target, figures=False)
    assert list(target.iterdir()) == []


def test_a_crash_while_writing_leaves_nothing_behind(tmp_path, results, monkeypatch):
    real = output._write_all

    def crash(res, d, **kw):
        real(res, d, **kw)  # everything written, then the process "dies" before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "_write_all", crash)
    with pytest.raises(KeyboardInterrupt):
        write_results(results, tmp_path / "r", figures=False)
    assert list(tmp_path.iterdir()) == []


def test_new_results_dir_never_reuses_a_name(tmp_path):
    import datetime as dt

    now = dt.datetime(2026, 11, 26, 12, 0, 0)
    a = new_results_dir(tmp_path, "base line/x", now)
    a.mkdir()
    b = new_results_dir(tmp_path, "base line/x", now)
    assert a != b and a.name == "base-line-x-20261126-120000" and b.name.endswith("-2")
