"""Global sensitivity analysis end to end: ``clustersim sensitivity`` and :mod:`clustersim.studies.sensitivity`.

The pipeline is validated on functions with known Sobol' indices (Ishigami, Sobol's G-function) run as plug-in
models through the experiment engine: sequentially, on a local process pool and on Dask, with identical index
tables whatever the executor, workers and chunking. Then: every method on Ishigami, stochastic models (seed
variance share, replication means), failed runs (recorded, handled openly, retried), resuming, the convergence
check, the written outputs, bad study files and the built-in clustersim model with a policy factor.
"""

from __future__ import annotations

import hashlib
import json
import math
import socket
import warnings
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import sa_plugins
from helpers import ROOT

from clustersim.app.cli import main
from clustersim.experiment.store import RunStore, StoreMismatchError
from clustersim.experiment.sweep import LocalExecutor
from clustersim.reports import sensitivity as sensitivity_report
from clustersim.scenario.schema import Scenario
from clustersim.studies.analytic import ISHIGAMI_A, g_function_indices, ishigami, ishigami_indices
from clustersim.studies.sensitivity import (
    MIN_HALF_ROWS,
    MOVED,
    WIDE_INTERVAL,
    SensitivityError,
    SensitivitySpec,
    SensitivityStudy,
    analyse,
    load_sensitivity,
    resolve_study,
    run_sensitivity,
)

write_sensitivity = sensitivity_report.write_sensitivity

PI = math.pi
ISHIGAMI = "clustersim.studies.analytic:ishigami"
FAILING = "sa_plugins:ishigami_fails_high_x1"
X3 = {f"x{i}": [-PI, PI] for i in (1, 2, 3)}
G6 = {f"x{i}": [0.0, 1.0] for i in range(1, 7)}
TRUTH = ishigami_indices()
#: the Ishigami function's variance (a = 7, b = 0.1): V2 = a²/8 is the share S1(x2) of it
ISHIGAMI_VAR = ISHIGAMI_A**2 / 8 / TRUTH["S1"]["x2"]
#: a study of Ishigami by Sobol' with N = 1024 (5 120 runs, about a second); tests change what they need
DEFAULTS = {"name": "ishigami", "model": ISHIGAMI, "method": "sobol", "samples": 1024, "seed": 42, "outputs": ["y"],
            "factors": X3}
PNG = b"\x89PNG\r\n\x1a\n"


def spec(**kw) -> SensitivitySpec:
    return SensitivitySpec.model_validate({**DEFAULTS, **kw})


def run(out: Path, executor=None, **kw):
    """(study, sweep report, result) of the default study changed by ``kw``, run into ``out``."""
    study = resolve_study(spec(**kw), "<test>")
    report, result = run_sensitivity(study, out, executor=executor if executor is not None else LocalExecutor(1))
    return study, report, result


def write_study(path: Path, **kw) -> Path:
    """A study file: one ``key: value`` line per field (values in JSON flow style, which YAML 1.2 reads)."""
    fields = {**DEFAULTS, **kw}
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items() if v is not None))
    return path


def cli(path: Path, out: Path, *extra: str) -> int:
    return main(["sensitivity", str(path), "--out", str(out), "--workers", "1", "-q", *extra])


def row(indices: pd.DataFrame, factor: str, index: str, output: str = "y") -> pd.Series:
    sel = indices[(indices["output"] == output) & (indices["factor"] == factor) & (indices["index"] == index)]
    assert len(sel) == 1, f"{output}/{factor}/{index}: {len(sel)} rows"
    return sel.iloc[0]


def outside(indices: pd.DataFrame, truth: dict[str, dict[str, float]]) -> list[str]:
    """Analytic indices outside the estimated confidence intervals."""
    bad = []
    for kind, values in truth.items():
        for factor, value in values.items():
            r = row(indices, factor, kind)
            if not r["low"] <= value <= r["high"]:
                bad.append(f"{kind}({factor}) = {value:.5f} outside [{r['low']:.5f}, {r['high']:.5f}]")
    return bad


def evaluate(x: np.ndarray) -> np.ndarray:
    """Ishigami on design rows, here (independently of the engine)."""
    return np.array([ishigami({"x1": a, "x2": b, "x3": c})["y"] for a, b, c in x])


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tables(a, b) -> None:
    for name in ("indices", "outputs", "convergence"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def ishigami_cli(tmp_path_factory):
    """Ishigami by Sobol', N = 1024, run sequentially through the command line (in process), then resumed
    through the API on the same folder."""
    folder = tmp_path_factory.mktemp("ishigami")
    path = write_study(folder / "ishigami.yaml")
    out = folder / "out"
    code = cli(path, out)
    study = load_sensitivity(path)
    report, result = run_sensitivity(study, out, executor=LocalExecutor(1))
    return {"path": path, "out": out, "code": code, "study": study, "report": report, "result": result}


@pytest.fixture(scope="module")
def dask_executor():
    """The Dask executor on a scheduler address: a LocalCluster of two single-threaded worker processes on
    127.0.0.1, set up as ``DaskExecutor()`` sets up its own (:func:`local_cluster_options`)."""
    distributed = pytest.importorskip("distributed")
    from clustersim.experiment.sweep import DaskExecutor, local_cluster_options

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **local_cluster_options())
    ex = DaskExecutor(cluster.scheduler_address)
    assert ex.workers == 2
    yield ex
    ex.close()
    cluster.close()


# ------------------------------------------------------------------------------- 1. validation, executors
def test_sequential_run_recovers_ishigami_indices_within_tight_intervals(ishigami_cli):
    assert ishigami_cli["code"] == 0
    idx = ishigami_cli["result"].indices
    assert list(idx.columns) == ["output", "factor", "index", "value", "conf", "low", "high"]
    assert sorted(zip(idx["index"], idx["factor"], strict=True)) == [(k, f"x{i}") for k in ("S1", "ST")
                                                                     for i in (1, 2, 3)]
    assert not outside(idx, TRUTH), outside(idx, TRUTH)
    # the intervals are informative (containing the truth is no achievement if they span [0, 1])
    assert (idx["conf"] > 0).all() and (idx["conf"] < 0.1).all(), idx
    np.testing.assert_allclose(idx["low"], idx["value"] - idx["conf"])
    np.testing.assert_allclose(idx["high"], idx["value"] + idx["conf"])


def test_parallel_run_with_other_chunks_gives_identical_tables(ishigami_cli, tmp_path):
    # two processes and 97-run chunks: runs complete in another order, stored in other parts
    _, report, par = run(tmp_path / "par", LocalExecutor(2), chunk_size=97)
    assert report.ok == report.total == 5120
    assert_same_tables(par, ishigami_cli["result"])


def test_dask_gives_identical_tables(ishigami_cli, dask_executor, tmp_path):
    _, report, remote = run(tmp_path / "dask", dask_executor, chunk_size=640)
    assert report.ok == report.total == 5120 and report.failed == 0
    assert_same_tables(remote, ishigami_cli["result"])
    assert not outside(remote.indices, TRUTH)


def test_dask_executor_own_cluster_stays_off_port_8787_and_on_localhost(tmp_path):
    # another program (or cluster) holding port 8787 made DaskExecutor() warn, an error here, or fail
    pytest.importorskip("distributed")
    from clustersim.experiment.sweep import DaskExecutor

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen(1)
    except OSError:  # someone else holds it already: the situation under test
        pass
    try:
        ex = DaskExecutor(workers=1)
        try:
            _, report, res = run(tmp_path / "d", ex, samples=16, chunk_size=40)  # the cluster starts here
            scheduler = ex._cluster.scheduler
            assert scheduler.address.startswith("tcp://127.0.0.1:")
            assert scheduler.http_server.address == "127.0.0.1" and scheduler.http_server.port != 8787
        finally:
            ex.close()
    finally:
        holder.close()
    assert report.ok == report.total == 16 * 5
    _, _, seq = run(tmp_path / "s", samples=16)
    assert_same_tables(res, seq)


def test_g_function_recovered_sequentially_and_on_dask_identically(dask_executor, tmp_path):
    g = {"name": "g", "model": "clustersim.studies.analytic:g_function", "seed": 2026, "factors": G6}
    _, _, par = run(tmp_path / "seq", **g)  # in process, adaptive chunks
    _, report, remote = run(tmp_path / "dask", dask_executor, chunk_size=1000, **g)
    assert report.ok == 1024 * 8
    assert_same_tables(par, remote)
    truth = g_function_indices()
    assert not outside(par.indices, truth), outside(par.indices, truth)
    assert (par.indices["conf"] < 0.08).all()
    # the two negligible factors (a = 99) are estimated as such, and ranked below the others
    st = par.indices[par.indices["index"] == "ST"].set_index("factor")["value"]
    assert list(st.sort_values(ascending=False).index[:4]) == ["x1", "x2", "x3", "x4"]
    assert st[["x5", "x6"]].max() < 1e-3
    # N = 1024 is enough for this function: the convergence check agrees
    assert par.outputs.loc[0, "converged"] == True  # noqa: E712
    assert par.outputs.loc[0, "note"] == ""


# --------------------------------------------------------------------------------------------- 5. resume
def test_rerun_on_the_same_folder_runs_nothing_and_gives_identical_indices(ishigami_cli):
    report = ishigami_cli["report"]
    assert (report.ran_now, report.skipped, report.ok, report.failed) == (0, 5120, 5120, 0)
    written = pd.read_parquet(ishigami_cli["out"] / "indices.parquet")
    pd.testing.assert_frame_equal(written, ishigami_cli["result"].indices, check_exact=True, check_dtype=False)


def test_folder_of_another_study_is_refused_and_left_unchanged(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(write_study(tmp_path / "a.yaml", samples=64), out) == 0
    before = snapshot(out)
    capsys.readouterr()
    assert cli(write_study(tmp_path / "b.yaml", samples=128), out) == 2
    err = capsys.readouterr().err
    assert "another experiment" in err and "runs" in err
    assert snapshot(out) == before  # runs, results and study.json of the first study


def test_folder_holding_something_else_is_refused_and_left_unchanged(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("someone else's report\n")
    before = snapshot(out)
    assert cli(write_study(tmp_path / "a.yaml", samples=64), out, "--no-figures") == 2
    err = capsys.readouterr().err
    assert f"{out}: a non-empty folder that is not a sensitivity study's (no study.json; holds report.md)" in err
    assert "results are never mixed" in err
    assert snapshot(out) == before and sorted(p.name for p in out.iterdir()) == ["report.md"]


def test_sweep_folder_and_a_file_are_refused_as_clustersim_sweep_refuses_them(tmp_path, capsys):
    # a run store of `clustersim sweep` at the top: not a study folder (its runs would be mixed with these)
    study = resolve_study(spec(samples=64), "<test>")
    sweep_out = tmp_path / "sweep"
    RunStore.create_or_open(sweep_out, {"name": "other"}, "0123456789abcdef")
    before = snapshot(sweep_out)
    with pytest.raises(StoreMismatchError, match=r"sweep: a non-empty folder that is not a sensitivity study's "
                                                 r"\(no study\.json; holds experiment\.json"):
        run_sensitivity(study, sweep_out, executor=LocalExecutor(1))
    assert snapshot(sweep_out) == before
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert cli(write_study(tmp_path / "a.yaml", samples=64), a_file) == 2
    assert f"{a_file}: exists and is not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "x"


def test_study_folder_of_another_study_without_runs_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(write_study(tmp_path / "a.yaml", samples=64), out, "--no-figures") == 0
    # the runs deleted: study.json alone still says whose folder it is
    import shutil

    shutil.rmtree(out / "runs")
    before = snapshot(out)
    capsys.readouterr()
    assert cli(write_study(tmp_path / "b.yaml", samples=128), out, "--no-figures") == 2
    assert "holds another experiment's sensitivity study" in capsys.readouterr().err
    assert snapshot(out) == before and not (out / "runs").exists()


def test_resume_of_an_interrupted_first_run_is_accepted(tmp_path):
    # killed after the run store was created, before study.json was written: runs/ alone, resumed
    study = resolve_study(spec(samples=64), "<test>")
    out = tmp_path / "out"
    RunStore.create_or_open(out / "runs", study.experiment.resolved(), study.identity())
    report, res = run_sensitivity(study, out, executor=LocalExecutor(1))
    assert report.ok == report.total == 64 * 5 and (out / "study.json").exists()
    # ... and an empty folder, or one holding only a stale lock, is a new study
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".lock").touch()
    assert run_sensitivity(study, empty, executor=LocalExecutor(1))[0].ran_now == 64 * 5


# ------------------------------------------------------------------------------------------ 2. methods
def test_sobol_second_order_finds_the_x1_x3_interaction(tmp_path):
    study, report, res = run(tmp_path / "s2", samples=256, second_order=True)
    assert report.total == 256 * (2 * 3 + 2) == len(study.sample)
    s2 = res.indices[res.indices["index"] == "S2"].set_index("factor")
    assert list(s2.index) == ["x1 × x2", "x1 × x3", "x2 × x3"]
    # Ishigami's only interaction is x1 × x3: S13 = ST3 (x3 acts only through it); the others are 0
    assert s2["value"].idxmax() == "x1 × x3"
    for pair, value in (("x1 × x2", 0.0), ("x1 × x3", TRUTH["ST"]["x3"]), ("x2 × x3", 0.0)):
        assert s2.loc[pair, "low"] <= value <= s2.loc[pair, "high"], pair
    assert not outside(res.indices, TRUTH)


def test_morris_screening_ranks_x3_below_x1_x2_and_draws_mu_star_sigma(tmp_path, monkeypatch):
    calls = []
    real = sensitivity_report.plot_morris
    monkeypatch.setattr(sensitivity_report, "plot_morris", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    study, report, res = run(tmp_path / "m", method="morris", samples=50)
    assert report.total == 50 * (3 + 1)
    idx = res.indices
    assert set(idx["index"]) == {"mu_star", "sigma", "mu"}
    mu_star = idx[idx["index"] == "mu_star"].set_index("factor")["value"]
    assert mu_star.idxmax() in ("x1", "x2") and mu_star["x3"] < mu_star.max()
    # on a 4-level grid x2 jumps between sin² = 0 and sin² = 3/4 by Δ = 2/3: |EE| = 7 · 0.75 / (2/3), always
    assert mu_star["x2"] == pytest.approx(ISHIGAMI_A * 0.75 / (2 / 3))
    assert row(idx, "x2", "mu_star")["conf"] == pytest.approx(0, abs=1e-9)
    write_sensitivity(res, tmp_path / "m")
    assert calls == ["y"]  # the μ*–σ figure, not index bars
    assert (tmp_path / "m" / "figures" / "indices_y.png").read_bytes()[:8] == PNG
    assert (tmp_path / "m" / "figures" / "heatmap.png").read_bytes()[:8] == PNG


def test_morris_with_groups_gives_one_row_per_group(tmp_path):
    factors = {"x1": {"bounds": [-PI, PI], "group": "x1_x3"}, "x2": {"bounds": [-PI, PI], "group": "x2"},
               "x3": {"bounds": [-PI, PI], "group": "x1_x3"}}
    study, report, res = run(tmp_path / "g", method="morris", samples=50, factors=factors)
    assert report.total == 50 * (2 + 1)  # N (G + 1) points: groups move together
    assert set(res.indices["factor"]) == {"x1_x3", "x2"}
    mu_star = res.indices[res.indices["index"] == "mu_star"].set_index("factor")["value"]
    assert mu_star["x2"] == pytest.approx(ISHIGAMI_A * 0.75 / (2 / 3))
    assert mu_star["x1_x3"] > 0
    # trajectories move a whole group at once: x1 and x3 change in the same steps
    x = study.sample.reshape(50, 3, 3)
    moved = np.abs(np.diff(x, axis=1)) > 0
    assert (moved[:, :, 0] == moved[:, :, 2]).all()
    # SALib's sigma is NaN for a group of several factors: the outputs table and the report say so
    sigma = res.indices[res.indices["index"] == "sigma"].set_index("factor")["value"]
    assert math.isnan(sigma["x1_x3"]) and np.isfinite(sigma["x2"])
    note = "sigma is not defined for groups of several factors (x1_x3): its value is NaN, use mu_star"
    assert note in res.outputs.loc[0, "note"]
    written = write_sensitivity(res, tmp_path / "g")
    assert (tmp_path / "g" / "figures" / "indices_y.png").exists() and tmp_path / "g" / "report.md" in written
    assert note in (tmp_path / "g" / "report.md").read_text()
    # without groups of several factors there is nothing to say
    one_each = {k: {**v, "group": k} for k, v in factors.items()}
    _, _, plain = run(tmp_path / "p", method="morris", samples=50, factors=one_each)
    assert "sigma" not in plain.outputs.loc[0, "note"]
    assert plain.indices[plain.indices["index"] == "sigma"]["value"].notna().all()


def test_fast_recovers_first_order_indices(tmp_path):
    # (SALib's FAST analyser warns on every call that its intervals are unreliable, SALib issue 649: analyse
    # keeps the warning from escaping, an error here, and says it in the note instead)
    study, report, res = run(tmp_path / "f", method="fast", samples=300)
    assert report.total == 300 * 3
    for f in ("x1", "x2", "x3"):
        assert row(res.indices, f, "S1")["value"] == pytest.approx(TRUTH["S1"][f], abs=0.02), f
        assert row(res.indices, f, "ST")["value"] == pytest.approx(TRUTH["ST"][f], abs=0.05), f
    out = res.outputs.iloc[0]
    assert out["converged"] is None and "cannot be halved" in out["note"]
    assert "intervals indicative only" in out["note"]


def test_analysers_leave_warning_filters_and_the_global_numpy_rng_unchanged():
    # SALib's delta analyser seeds numpy's global RNG, sets simplefilter("once") and replaces the warning
    # formatter; its FAST analyser warns on every call; analyse isolates them (the runs are evaluated here)
    np.random.seed(2024)  # noqa: NPY002 - the legacy global state is what is checked
    state = np.random.get_state()  # noqa: NPY002
    filters, formatter, show = list(warnings.filters), warnings.formatwarning, warnings.showwarning
    for kw in (dict(method="delta", samples=200, resamples=10), dict(method="fast", samples=130),
               dict(method="morris", samples=10)):
        study = resolve_study(spec(**kw), "<test>")
        res = analyse(study, *runs_of(evaluate(study.sample)[:, None]))
        assert len(res.indices), kw
        assert warnings.filters == filters and warnings.formatwarning is formatter and warnings.showwarning is show
        after = np.random.get_state()  # noqa: NPY002
        assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:], kw
    # the delta analysis itself is reproducible (SALib seeds the global RNG from the analysis seed inside)
    study = resolve_study(spec(method="delta", samples=200, resamples=10), "<test>")
    runs = runs_of(evaluate(study.sample)[:, None])
    first, again = analyse(study, *runs), analyse(study, *runs)
    pd.testing.assert_frame_equal(again.indices, first.indices)


def test_analyser_warnings_are_kept_in_the_note_not_raised(monkeypatch):
    from clustersim.studies import sensitivity_analysis

    real = sensitivity_analysis._salib_rows

    def warns(*args, **kw):
        warnings.warn("something odd in the sample", RuntimeWarning, stacklevel=1)
        return real(*args, **kw)

    monkeypatch.setattr(sensitivity_analysis, "_salib_rows", warns)
    study = resolve_study(spec(method="morris", samples=10), "<test>")
    res = analyse(study, *runs_of(evaluate(study.sample)[:, None]))  # warnings are errors here: none escapes
    note = res.outputs.loc[0, "note"]
    assert "SALib warned: something odd in the sample" in note and "at N/2, SALib warned" in note


def test_rbd_fast_recovers_first_order_indices(tmp_path):
    study, report, res = run(tmp_path / "r", method="rbd_fast", samples=500, resamples=100)
    assert report.total == 500
    assert set(res.indices["index"]) == {"S1"}
    assert not outside(res.indices, {"S1": TRUTH["S1"]}), outside(res.indices, {"S1": TRUTH["S1"]})
    assert abs(row(res.indices, "x3", "S1")["value"]) < 0.05


def test_pawn_ranks_x3_last(tmp_path):
    study, report, res = run(tmp_path / "p", method="pawn", samples=500)
    assert report.total == 500
    med = res.indices[res.indices["index"] == "pawn_median"].set_index("factor")["value"]
    assert med.idxmax() == "x2" and med.idxmin() == "x3"
    assert set(res.indices["index"]) == {"pawn_median", "pawn_max"}


def test_delta_ranks_x3_last_and_its_first_order_index_is_zero(tmp_path):
    # N = 1000: at a few hundred points the delta estimates of Ishigami's three factors overlap (SALib's delta
    # analyser is slow: kernel densities per factor, bootstrap and the N/2 convergence rerun)
    study, report, res = run(tmp_path / "d", method="delta", samples=1000, resamples=10)
    assert report.total == 1000
    assert abs(row(res.indices, "x3", "S1")["value"]) < 0.1
    delta = res.indices[res.indices["index"] == "delta"].set_index("factor")["value"]
    assert delta.idxmin() == "x3"


# ------------------------------------------------------------------------------------ 3. stochastic models
def test_seed_variance_share_grows_with_noise_and_is_na_with_one_replication(tmp_path):
    shares = {}
    for noise in (0.0, 0.5, 2.0):
        _, _, res = run(tmp_path / f"n{noise}", samples=32, replications=3, overrides={"noise": noise})
        shares[noise] = float(res.outputs.loc[0, "seed_variance_share"])
    assert shares[0.0] == 0.0  # a deterministic model: replications agree exactly
    assert 0 < shares[0.5] < shares[2.0] < 1
    _, _, one = run(tmp_path / "one", samples=32, overrides={"noise": 2.0})
    assert math.isnan(one.outputs.loc[0, "seed_variance_share"])
    write_sensitivity(one, tmp_path / "one", figures=False)
    line = next(t for t in (tmp_path / "one" / "report.md").read_text().splitlines() if t.startswith("| `y`"))
    assert "| n/a |" in line


def runs_of(y: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The store's (index, outputs) tables of runs whose output ``y`` is given as points × replications."""
    p, r = y.shape
    run_id = np.arange(p * r)
    index = pd.DataFrame({"run_id": run_id, "point_id": run_id // r, "replication": run_id % r, "status": "ok",
                          "error": None})
    return index, pd.DataFrame({"run_id": run_id, "point_id": run_id // r, "replication": run_id % r,
                                "y": y.ravel()})


def test_seed_variance_share_of_a_common_shift_is_not_inflated():
    # y = f(point) + shift(replication), exactly: the seed's variance is the shift's, all of it common to the
    # points of a replication, and the run's total variance is f's plus the shift's
    study = resolve_study(spec(samples=64, replications=2), "<test>")
    f, shift = study.sample[:, 0], np.array([-1.0, 1.0])
    y = f[:, None] + shift[None, :]
    res = analyse(study, *runs_of(y))
    out = res.outputs.iloc[0]
    var_f, var_shift = np.var(f, ddof=1), np.var(shift, ddof=1)
    assert out["seed_variance_share"] == pytest.approx(var_shift / (var_f + var_shift), rel=1e-12)
    assert out["replication_variance_share"] == pytest.approx(out["seed_variance_share"], rel=1e-12)
    # the plain variance of all runs sees two draws of the shift, not 640: it understates it (by (R - 1)/R)
    naive = var_shift / np.var(y, ddof=1)
    assert naive > out["seed_variance_share"] + 0.05
    # the shift is common to all points: the indices of the replication means are those of f alone
    clean = analyse(study, *runs_of(np.repeat(f[:, None], 2, axis=1)))
    pd.testing.assert_frame_equal(res.indices, clean.indices, check_exact=False, rtol=1e-9, atol=1e-12)
    assert clean.outputs.loc[0, "seed_variance_share"] == 0.0


def test_seed_variance_shares_recover_known_components():
    # f(point) + shift(replication) + independent noise: the shares are the components' (the shift as realised)
    study = resolve_study(spec(samples=256, replications=4), "<test>")
    rng = np.random.default_rng(3)
    f, shift, sd = study.sample[:, 0], np.array([-1.0, 0.5, 0.0, 1.5]), 1.5
    y = f[:, None] + shift[None, :] + rng.normal(0.0, sd, size=(len(f), 4))
    out = analyse(study, *runs_of(y)).outputs.iloc[0]
    var_f, var_shift = np.var(f, ddof=1), np.var(shift, ddof=1)
    total = var_f + var_shift + sd**2
    assert out["seed_variance_share"] == pytest.approx((var_shift + sd**2) / total, abs=0.02)
    assert out["replication_variance_share"] == pytest.approx(var_shift / total, abs=0.02)
    assert 0 < out["replication_variance_share"] < out["seed_variance_share"] < 1


def test_seed_variance_share_above_one_is_reported_not_capped(tmp_path):
    # every point sees the same four values in another order: the point means agree exactly, the between-point
    # variance estimate is negative (the noise left in the means, removed, was not there) and the share > 1
    study = resolve_study(spec(samples=64, replications=4), "<test>")
    y = np.array([np.roll([0.0, 1.0, 2.0, 3.0], p) for p in range(len(study.sample))])
    res = analyse(study, *runs_of(y))
    out = res.outputs.iloc[0]
    p, w = len(y), np.var([0.0, 1.0, 2.0, 3.0], ddof=1)
    assert out["seed_variance_share"] == pytest.approx(w / (w - w * p / (p - 1) / 4), rel=1e-12)
    assert out["seed_variance_share"] > 1 and out["replication_variance_share"] == pytest.approx(0, abs=1e-12)
    assert f"seed variance share {out['seed_variance_share']:.0%} above 100 %: estimator noise" in out["note"]
    write_sensitivity(res, tmp_path, figures=False)
    assert f"| {out['seed_variance_share']:.1%} | 0.0% |" in (tmp_path / "report.md").read_text()


def test_noisy_model_is_analysed_on_replication_means(tmp_path):
    from SALib.analyze import sobol

    # the analytic noise is independent across points and replications: within a point its variance is sd²,
    # over all runs V + sd²; the replication means keep sd² / R of it
    sd, reps = 2.0, 4
    study, _, res = run(tmp_path / "m", samples=256, replications=reps, overrides={"noise": sd})
    assert res.outputs.loc[0, "seed_variance_share"] == pytest.approx(sd**2 / (sd**2 + ISHIGAMI_VAR), abs=0.03)
    store = RunStore.open(tmp_path / "m" / "runs")
    index, values = store.index(), store.outputs()
    assert len(values) == 256 * 5 * reps
    # the indices are SALib's on the replication means, exactly
    means = values.groupby("point_id")["y"].mean().sort_index().to_numpy()
    direct = sobol.analyze(study.problem, means, calc_second_order=False, num_resamples=100, seed=1)
    for k in ("S1", "ST"):
        got = res.indices[res.indices["index"] == k]["value"].to_numpy()
        np.testing.assert_allclose(got, direct[k], rtol=1e-10, err_msg=k)
    # ... and estimate the indices of the means: the analytic ones with the means' noise variance sd²/R added
    # to the total (and, for total indices, to each factor's share: the noise differs between A and AB_i)
    left, v = sd**2 / reps, ISHIGAMI_VAR
    attenuated = {"S1": {f: s * v / (v + left) for f, s in TRUTH["S1"].items()},
                  "ST": {f: (s * v + left) / (v + left) for f, s in TRUTH["ST"].items()}}
    assert not outside(res.indices, attenuated), outside(res.indices, attenuated)
    # one replication alone (what an analysis ignoring the replications would see) gives other indices
    first = analyse(study, index[index["replication"] == 0], values[values["replication"] == 0])
    assert not np.allclose(first.indices["value"], res.indices["value"], atol=0.01)
    assert "not yet run" in first.notes[0] and str(256 * 5 * (reps - 1)) in first.notes[0]


def test_runs_get_the_seeds_the_report_states(tmp_path):
    # "runs: SeedSequence(seed, spawn_key=(replication,)), common random numbers across points"
    _, _, res = run(tmp_path / "s", model="sa_plugins:seed_probe", method="morris", samples=4, replications=3,
                    seed=77)
    values = RunStore.open(tmp_path / "s" / "runs").outputs()
    assert len(values) == 16 * 3
    assert (values["entropy"] == 77).all() and (values["spawn_depth"] == 1).all()
    assert (values["spawn_key"] == values["replication"]).all()
    write_sensitivity(res, tmp_path / "s", figures=False)
    text = (tmp_path / "s" / "report.md").read_text()
    assert "Root seed 77 (runs: `SeedSequence(seed, spawn_key=(replication,))`" in text


# --------------------------------------------------------------------------------------- 4. missing runs
MISSING_CASES = {
    "sobol": dict(method="sobol", samples=64, replications=2),
    "morris": dict(method="morris", samples=30),
    "rbd_fast": dict(method="rbd_fast", samples=300, resamples=100),
    "pawn": dict(method="pawn", samples=300),
    "fast": dict(method="fast", samples=130),
}


@pytest.mark.parametrize("case", list(MISSING_CASES))
def test_failed_runs_are_recorded_and_their_points_handled_openly(tmp_path, monkeypatch, case):
    from SALib.analyze import morris, pawn, rbd_fast, sobol

    monkeypatch.setenv(sa_plugins.FAIL_ENV, "1")
    kw = MISSING_CASES[case]
    study, report, res = run(tmp_path / case, model=FAILING, **kw)
    reps = kw.get("replications", 1)
    x = study.sample
    bad = x[:, 0] > 3.0
    assert 0 < bad.sum() < len(x) / 2
    assert report.failed == bad.sum() * reps and report.ok == report.total - report.failed
    out = res.outputs.iloc[0]
    assert out["points_missing"] == bad.sum() and out["runs_ok"] == report.ok
    assert res.notes and f"{report.failed} failed" in res.notes[0]
    n, d = study.spec.samples, 3
    keep = ~bad
    if case in ("sobol", "morris"):
        block = d + 2 if case == "sobol" else d + 1
        dead = bad.reshape(n, block).any(axis=1)
        what = "Saltelli blocks (base samples)" if case == "sobol" else "trajectories"
        assert out["handling"] == f"dropped {dead.sum()} of {n} {what} holding a missing point"
        keep = np.repeat(~dead, block)
    elif case == "fast":
        assert "not analysed" in out["handling"] and out["converged"] is None
        assert not (res.indices["output"] == "y").any()
        assert any(n.startswith("y: FAST") for n in res.notes)
    else:
        assert out["handling"] == f"dropped {bad.sum()} missing points of the Latin hypercube"
    if case != "fast":
        # the indices are those of the kept rows exactly, evaluated here
        y, xk, seed = evaluate(x[keep]), x[keep], res.study["analysis_seed"]
        if case == "sobol":
            want = {k: sobol.analyze(study.problem, y, calc_second_order=False, num_resamples=100, seed=seed)[k]
                    for k in ("S1", "ST")}
        elif case == "morris":
            want = {"mu_star": morris.analyze(study.problem, xk, y, num_levels=4, seed=seed)["mu_star"]}
        elif case == "rbd_fast":
            want = {"S1": rbd_fast.analyze(study.problem, xk, y, M=4, num_resamples=100, seed=seed)["S1"]}
        else:
            want = {"pawn_median": pawn.analyze(study.problem, xk, y, S=10, seed=seed)["median"]}
        for k, v in want.items():
            got = res.indices[res.indices["index"] == k]["value"].to_numpy()
            np.testing.assert_allclose(got, v, rtol=1e-9, atol=1e-12, err_msg=k)
    write_sensitivity(res, tmp_path / case, figures=False)
    text = (tmp_path / case / "report.md").read_text()
    assert "## Warnings" in text and f"{report.failed} failed" in text
    assert f"| {bad.sum()} of {len(x)} | {out['handling']} |" in text


def test_cli_exit_code_and_retry_failed(tmp_path, monkeypatch, capsys):
    path = write_study(tmp_path / "s.yaml", model=FAILING, samples=64)
    out = tmp_path / "out"
    monkeypatch.setenv(sa_plugins.FAIL_ENV, "1")
    assert cli(path, out, "--no-figures") == 1
    captured = capsys.readouterr()
    summary = pd.read_csv(out / "outputs.csv").iloc[0]
    missing = int(summary["points_missing"])
    assert missing > 0 and summary["handling"].startswith("dropped")
    assert f"{missing} failed" in captured.err and f"{missing} failed" in captured.out
    assert "## Warnings" in (out / "report.md").read_text()
    monkeypatch.delenv(sa_plugins.FAIL_ENV)
    # resuming keeps the recorded failures: nothing is rerun behind the user's back
    assert cli(path, out, "--no-figures") == 1
    assert "(0 run now" in capsys.readouterr().out
    # --retry-failed reruns exactly the failed runs, which now succeed
    assert cli(path, out, "--no-figures", "--retry-failed") == 0
    assert f"({missing} run now, {64 * 5 - missing} already stored" in capsys.readouterr().out
    summary = pd.read_csv(out / "outputs.csv").iloc[0]
    assert summary["points_missing"] == 0 and summary["handling"] == "none missing"
    assert "## Warnings" not in (out / "report.md").read_text()
    _, _, clean = run(tmp_path / "clean", model=FAILING, samples=64)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indices.parquet"), clean.indices, check_exact=True,
                                  check_dtype=False)


def test_every_run_failing_or_an_unknown_output_is_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(sa_plugins.FAIL_ENV, "1")
    path = write_study(tmp_path / "s.yaml", model=FAILING, method="morris", samples=4,
                       factors={**X3, "x1": [3.05, 3.1]})  # x1 > 3.0 everywhere: every run fails
    assert cli(path, tmp_path / "a") == 1
    err = capsys.readouterr().err
    assert "16 failed" in err
    assert "every one of the 16 runs failed (run 0: RuntimeError: x1 = " in err
    assert "check its name" not in err  # the model was found: it is the runs that fail
    summary = pd.read_csv(tmp_path / "a" / "outputs.csv")
    assert summary.loc[0, "points_missing"] == 16 and summary.loc[0, "note"] == "no successful run"
    _, report, res = run(tmp_path / "b", method="morris", samples=4, outputs=["y", "no_such_output"])
    assert report.failed == 0
    assert any("no_such_output" in n for n in res.notes)
    assert set(res.indices["output"]) == {"y"}


def test_model_import_failing_on_the_workers_is_named_as_such():
    # refused upfront where the study is launched; on workers lacking the module every run fails so
    study = resolve_study(spec(method="morris", samples=4), "<test>")
    index, values = runs_of(np.zeros((16, 1)))
    index["status"] = "failed"
    index["error"] = (f"ValueError: model {ISHIGAMI!r}: cannot import module 'clustersim.studies.analytic' "
                      "(No module...)")
    res = analyse(study, index, values[["run_id"]])
    assert any(n.startswith("every one of the 16 runs failed (run 0: ValueError: model") and "check its name" in n
               for n in res.notes), res.notes


# ----------------------------------------------------------------------------------------- 6. convergence
def test_tiny_sample_is_flagged_not_converged(tmp_path):
    _, _, res = run(tmp_path / "t", samples=8)
    out = res.outputs.iloc[0]
    assert out["converged"] == False and "wide intervals" in out["note"]  # noqa: E712
    write_sensitivity(res, tmp_path / "t", figures=False)
    assert "| **no** | wide intervals" in (tmp_path / "t" / "report.md").read_text()


def test_two_trajectories_are_too_few_to_check_convergence(tmp_path):
    _, _, res = run(tmp_path / "m", method="morris", samples=2)
    out = res.outputs.iloc[0]
    assert out["converged"] is None and out["note"] == "convergence not checked (too few points)"
    assert res.convergence.empty


@pytest.mark.parametrize(("kw", "checked"), [
    (dict(method="morris", samples=3), False),  # the half: one trajectory
    (dict(method="morris", samples=4), True),  # two
    (dict(method="sobol", samples=2), False),  # one Saltelli block
    (dict(method="sobol", samples=4), True),  # two
    (dict(method="rbd_fast", samples=2 * MIN_HALF_ROWS - 2, resamples=50), False),  # points, not blocks
    (dict(method="pawn", samples=2 * MIN_HALF_ROWS), True),
], ids=["morris-3", "morris-4", "sobol-2", "sobol-4", "rbd_fast-38", "pawn-40"])
def test_convergence_needs_two_blocks_or_enough_points_in_the_half(tmp_path, kw, checked):
    _, _, res = run(tmp_path / "c", **kw)
    out = res.outputs.iloc[0]
    if checked:
        assert out["converged"] is not None and len(res.convergence), out["note"]
    else:
        assert out["converged"] is None and out["note"].startswith("convergence not checked (too few points)")
        assert res.convergence.empty


def test_convergence_table_holds_half_and_full_estimates(ishigami_cli):
    from SALib.analyze import sobol

    res, study = ishigami_cli["result"], ishigami_cli["study"]
    conv = res.convergence
    assert sorted(zip(conv["index"], conv["factor"], strict=True)) == [(k, f"x{i}") for k in ("S1", "ST")
                                                                       for i in (1, 2, 3)]
    merged = conv.merge(res.indices, on=["output", "factor", "index"])
    np.testing.assert_array_equal(merged["full"], merged["value"])
    np.testing.assert_allclose(conv["moved"], (conv["full"] - conv["half"]).abs())
    # the half is the first N/2 base samples (Saltelli blocks of D + 2 rows), evaluated here
    half = sobol.analyze(study.problem, evaluate(study.sample[: 512 * 5]), calc_second_order=False,
                         num_resamples=100, seed=1)
    for k in ("S1", "ST"):
        np.testing.assert_allclose(conv[conv["index"] == k]["half"], half[k], rtol=1e-10)
    # the flag follows the documented rule on the total indices
    st = merged[merged["index"] == "ST"]
    expected = not ((st["conf"] > WIDE_INTERVAL).any() or (st["moved"] > MOVED).any())
    assert res.outputs.loc[0, "converged"] == expected


# --------------------------------------------------------------------------------------------- 7. outputs
def test_written_tables_figures_and_report(ishigami_cli):
    out, res = ishigami_cli["out"], ishigami_cli["result"]
    for name in ("indices", "outputs", "convergence"):
        pq, csv = pd.read_parquet(out / f"{name}.parquet"), pd.read_csv(out / f"{name}.csv")
        assert list(pq.columns) == list(csv.columns) == list(getattr(res, name).columns)
        assert len(pq) == len(csv) == len(getattr(res, name)) > 0
        for col in pq.columns:
            if pd.api.types.is_float_dtype(pq[col]):
                np.testing.assert_allclose(pq[col], csv[col], rtol=1e-12, err_msg=f"{name}.{col}")
    assert {p.name for p in (out / "figures").iterdir()} == {"indices_y.png", "heatmap.png"}
    for p in (out / "figures").iterdir():
        assert p.read_bytes()[:8] == PNG
    study = json.loads((out / "study.json").read_text())
    assert study["identity"] == ishigami_cli["study"].identity() and study["spec"]["samples"] == 1024
    text = (out / "report.md").read_text()
    for needle in ("# Sensitivity analysis: ishigami", "Method **sobol**", "N = 1024", "5120 design points",
                   "Root seed 42", "## Main index (ST)", "![heatmap](figures/heatmap.png)", "## Provenance",
                   '"versions"', '"git"', '"numpy"'):
        assert needle in text, needle
    assert "## Warnings" not in text  # nothing failed
    assert not [p for p in out.rglob("*.tmp*")]


def test_report_provenance_records_the_salib_version(ishigami_cli):
    from importlib.metadata import version

    assert f'"SALib": "{version("SALib")}"' in (ishigami_cli["out"] / "report.md").read_text()


# ----------------------------------------------------------------------------------------- 8. bad input
BAD_FILES = [
    ({"method": "sobolx"}, ["method", "sobolx"]),
    ({"samples": 100}, ["samples", "power of 2"]),
    ({"method": "fast", "samples": 64}, ["samples", "FAST"]),
    ({"outputs": []}, ["outputs"]),
    ({"factors": {"x1": {"dist": "triang", "bounds": [0, 1]}}}, ["factors.x1", "bounds", "triang"]),
    ({"factors": {"x1": {"dist": "norm", "bounds": [0, 1, 2]}}}, ["factors.x1", "bounds"]),
    ({"factors": {"x1": {"bounds": [0, 1], "group": "a"}}, "method": "pawn"}, ["groups", "pawn"]),
    ({"sample": 64}, ["unknown key 'sample'"]),
    ({"model": "not_an_import_path"}, ["model", "not_an_import_path"]),
    ({"model": "clustersim.studies.analytic:no_such_function"},
     ["model", "'clustersim.studies.analytic'", "no function",
                                                         "'no_such_function'"]),
    ({"model": "no_such_package.models:f"}, ["model", "cannot import module 'no_such_package.models'"]),
    ({"model": None, "method": "morris", "samples": 4, "outputs": ["member_share_late"],
      "factors": {"trust.no_such_rate": [0.1, 0.5]}}, ["trust.no_such_rate", "not a scenario parameter"]),
    ({"model": None, "method": "morris", "samples": 4, "outputs": ["member_share_late"],
      "factors": {"trust.loss_rate": [0.5, 1.5]}}, ["trust.loss_rate", "1.5", "out of range"]),
    ({"model": None, "method": "morris", "samples": 4, "outputs": ["member_share_late"], "base": "missing.yaml",
      "factors": {"trust.loss_rate": [0.1, 0.5]}}, ["missing.yaml", "file not found"]),
]


@pytest.mark.parametrize(("fields", "needles"), BAD_FILES, ids=[f"{i}-{n[0]}" for i, (_, n) in enumerate(BAD_FILES)])
def test_bad_study_file_is_refused_naming_file_and_field(tmp_path, capsys, fields, needles):
    path = write_study(tmp_path / "bad_study.yaml", **fields)
    out = tmp_path / "out"
    assert cli(path, out) == 2
    err = capsys.readouterr().err
    assert "invalid sensitivity study" in err and "bad_study.yaml" in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert "design point" not in err  # nothing is specific to a point of the design
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad_study.yaml"]


def test_factor_outside_a_parameter_range_is_refused_by_the_api(tmp_path):
    path = write_study(tmp_path / "s.yaml", model=None, method="morris", samples=4, outputs=["member_share_late"],
                       factors={"trust.loss_rate": [0.5, 1.5]})
    with pytest.raises(SensitivityError) as info:
        load_sensitivity(path)
    # the ends of the factors' ranges, not a design point, break the bounds: the message says so
    assert str(info.value) == (f"{path}: factors at their highest sampled values: trust.loss_rate: 1.5 is out of "
                               "range (allowed: >= 0 and <= 1)")


def test_unimportable_model_is_refused_before_anything_runs(tmp_path):
    path = write_study(tmp_path / "s.yaml", model="clustersim.studies.analytic:no_such_function")
    with pytest.raises(SensitivityError, match=r"s\.yaml: model 'clustersim\.studies\.analytic:no_such_function': "
                                               r"module 'clustersim\.studies\.analytic' has no function "
                                               r"'no_such_function'"):
        load_sensitivity(path)


def test_reversed_range_error_names_the_factor(tmp_path, capsys):
    path = write_study(tmp_path / "bad_study.yaml", factors={"x1": [-PI, PI], "x2": [1.0, 0.0], "x3": [-PI, PI]})
    assert cli(path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "bounds" in err and "x2" in err


def test_morris_with_an_unbounded_distribution_never_samples_infinity():
    factors = {"x1": {"dist": "norm", "bounds": [0.0, 1.0]}, "x2": [-PI, PI], "x3": [-PI, PI]}
    # refused with a message naming the factor (pydantic's ValidationError is a ValueError)
    with pytest.raises(ValueError, match=r"(?s)x1.*Morris"):
        resolve_study(spec(method="morris", samples=4, factors=factors), "<test>")


def test_int_factor_reaches_a_plugin_model_as_an_int():
    factors = {**X3, "k": {"bounds": [0, 5], "kind": "int"}}
    study: SensitivityStudy = resolve_study(spec(samples=8, factors=factors), "<test>")
    ks = study.sample[:, 3]
    assert (ks == np.rint(ks)).all() and ks.min() >= 0 and ks.max() <= 5
    assert all(type(p["k"]) is int for p in study.experiment.params)


# ----------------------------------------------------------------------------------- 9. the built-in model
def test_builtin_model_morris_study_with_a_policy_factor(tmp_path, capsys):
    base = ROOT / "configs" / "call_for_projects.yaml"
    path = write_study(tmp_path / "policy.yaml", name="policy", model=None, base=str(base),
                       overrides={"simulation.n_firms": 40, "policy.constitution.calls.start_step": 2}, steps=8,
                       method="morris", samples=2, replications=2, seed=5,
                       outputs=["public_spending_total", "member_share_late"],
                       factors={"policy.instruments.facilitation.amount_per_cluster": [0.0, 50.0],
                                "trust.loss_rate": [0.1, 0.5], "clusters.membership_fee": [0.5, 4.0]})
    out = tmp_path / "out"
    assert cli(path, out, "--no-figures") == 0
    assert "16 ok, 0 failed" in capsys.readouterr().out
    assert not (out / "figures").exists() and "![" not in (out / "report.md").read_text()
    summary = pd.read_csv(out / "outputs.csv").set_index("output")
    assert list(summary.index) == ["public_spending_total", "member_share_late"]
    assert (summary["points"] == 8).all() and (summary["runs_ok"] == 16).all()
    assert (summary["points_missing"] == 0).all()
    # 8 points, 2 replications: noisy estimates, never capped; a share above 1 says so in the note
    share, common = summary["seed_variance_share"], summary["replication_variance_share"]
    assert (share >= 0).all() and (common >= 0).all() and (common <= share).all()
    assert all(("above 100 %" in note) == (s > 1) for s, note in zip(share, summary["note"], strict=True))
    idx = pd.read_parquet(out / "indices.parquet")
    for output in summary.index:
        sub = idx[idx["output"] == output]
        assert len(sub) == 3 * 3 and set(sub["index"]) == {"mu_star", "sigma", "mu"}
    # the policy parameter reaches the runs: the facilitation budget moves public spending
    assert row(idx, "policy.instruments.facilitation.amount_per_cluster", "mu_star", "public_spending_total")[
        "value"] > 0
    index = RunStore.open(out / "runs").index()
    assert len(index) == 16 and (index["status"] == "ok").all()


def _builtin(**kw) -> SensitivitySpec:
    """A tiny Morris study of the built-in model (20 firms, 3 quarters), changed by ``kw``."""
    return spec(**{"model": None, "overrides": {"simulation.n_firms": 20}, "steps": 3, "method": "morris",
                   "samples": 3, "replications": 2, "seed": 5, "outputs": ["member_share_late"], "resamples": 100,
                   **kw})


def test_builtin_model_point_is_validated_once_for_all_its_runs(tmp_path):
    """Every validation of a whole scenario is counted (``Scenario.model_validate``): at load the base and the
    two ends of the ranges; then each design point once, when its first run is chunked (one run a chunk here,
    so a point's replications are in different chunks), and nothing in the runs."""
    names = ["trust.loss_rate", "clusters.membership_fee"]
    validate = Scenario.model_validate
    seen: list[tuple[float, ...]] = []

    def counted(data, **kw):
        seen.append(tuple(data[section][leaf] for section, leaf in (name.split(".") for name in names)))
        return validate(data, **kw)

    with mock.patch.object(Scenario, "model_validate", side_effect=counted):
        study = resolve_study(_builtin(chunk_size=1, factors={names[0]: [0.1, 0.5], names[1]: [0.5, 4.0]}), "<test>")
        at_load = len(seen)
        # the runs in this process (not contained in a worker), so that a validation by a run would be counted
        report, _ = run_sensitivity(study, tmp_path / "out", executor=LocalExecutor(1, contained=False))
    assert report.ok == 2 * len(study.sample) == 18 and not report.failed
    assert at_load == 3
    assert Counter(seen[at_load:]) == Counter(map(tuple, study.experiment.points[names].itertuples(index=False)))


def test_builtin_model_point_breaking_a_rule_across_parameters_fails_its_runs(tmp_path):
    """The ends of the ranges pass (1 <= 3 and 12 <= 16), but points with clusters.min_size above
    clusters.max_size break a rule of the scenario: their runs fail with the scenario's message, the others run."""
    study = resolve_study(_builtin(factors={"clusters.min_size": {"bounds": [1, 12], "kind": "int"},
                                            "clusters.max_size": {"bounds": [3, 16], "kind": "int"}}), "<test>")
    report, _ = run_sensitivity(study, tmp_path / "out", executor=LocalExecutor(1))
    index = RunStore.open(tmp_path / "out" / "runs").index().sort_values("run_id")
    points = study.experiment.points.set_index("point_id").loc[index["point_id"]]
    broken = (points["clusters.min_size"] > points["clusters.max_size"]).to_numpy()
    assert 0 < broken.sum() < len(index) and report.failed == broken.sum()
    assert list(index["status"]) == ["failed" if b else "ok" for b in broken]
    assert list(index["error"][broken]) == [
        f"ScenarioError: <design point>: <top level>: clusters.min_size ({low}) must not exceed clusters.max_size "
        f"({high})" for low, high in points[["clusters.min_size", "clusters.max_size"]][broken].itertuples(index=False)]
