"""Sensitivity analysis, core checks: the pipeline recovers analytic Sobol' indices through the plug-in model
path, whatever the executor; missing runs are handled openly; bad study files are refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clustersim.app.cli import main
from clustersim.experiment.sweep import LocalExecutor
from clustersim.reports.sensitivity import write_sensitivity
from clustersim.studies.analytic import g_function_indices, ishigami_indices
from clustersim.studies.sensitivity import (
    SensitivityError,
    SensitivitySpec,
    analyse,
    load_sensitivity,
    resolve_study,
    run_sensitivity,
)

PI = math.pi


def ishigami_spec(**kw) -> SensitivitySpec:
    base = dict(name="ishigami", model="clustersim.studies.analytic:ishigami", method="sobol", samples=1024, seed=42,
                outputs=["y"], factors={f"x{i}": [-PI, PI] for i in (1, 2, 3)})
    return SensitivitySpec.model_validate({**base, **kw})


def g_spec(**kw) -> SensitivitySpec:
    base = dict(name="g", model="clustersim.studies.analytic:g_function", method="sobol", samples=1024, seed=7,
                outputs=["y"], factors={f"x{i}": [0.0, 1.0] for i in range(1, 7)})
    return SensitivitySpec.model_validate({**base, **kw})


def _run(spec: SensitivitySpec, out: Path, workers: int = 1, chunk: int | None = None):
    if chunk is not None:
        spec = SensitivitySpec.model_validate({**spec.model_dump(), "chunk_size": chunk})
    study = resolve_study(spec, "<test>")
    return run_sensitivity(study, out, executor=LocalExecutor(workers))


def _within(indices: pd.DataFrame, truth: dict[str, dict[str, float]], slack: float = 0.0) -> list[str]:
    """Analytic indices outside the estimated confidence intervals (widened by ``slack``)."""
    bad = []
    for kind, values in truth.items():
        for factor, value in values.items():
            row = indices[(indices["index"] == kind) & (indices["factor"] == factor)].iloc[0]
            if not row["low"] - slack <= value <= row["high"] + slack:
                bad.append(f"{kind}({factor}) = {value:.4f} outside [{row['low']:.4f}, {row['high']:.4f}]")
    return bad


@pytest.mark.parametrize(("make", "truth"), [(ishigami_spec, ishigami_indices()), (g_spec, g_function_indices())],
                         ids=["ishigami", "g-function"])
def test_sobol_recovers_analytic_indices_sequentially_and_in_parallel(tmp_path, make, truth):
    _, seq = _run(make(), tmp_path / "seq", workers=1)
    assert not _within(seq.indices, truth), _within(seq.indices, truth)
    # two workers and another chunking: completion order differs, the tables are identical
    _, par = _run(make(), tmp_path / "par", workers=2, chunk=37)
    pd.testing.assert_frame_equal(seq.indices, par.indices)
    pd.testing.assert_frame_equal(seq.convergence, par.convergence)


def test_rerun_resumes_and_gives_identical_indices(tmp_path):
    rep1, first = _run(ishigami_spec(samples=256), tmp_path / "s")
    rep2, again = _run(ishigami_spec(samples=256), tmp_path / "s")
    assert rep1.ran_now == 256 * 5 and rep2.ran_now == 0 and rep2.skipped == 256 * 5
    pd.testing.assert_frame_equal(first.indices, again.indices)


def test_noise_gives_a_seed_variance_share_and_one_replication_gives_none(tmp_path):
    shares = []
    for noise in (0.5, 2.0):
        spec = ishigami_spec(samples=64, replications=3, overrides={"noise": noise})
        _, res = _run(spec, tmp_path / f"n{noise}")
        shares.append(float(res.outputs.loc[0, "seed_variance_share"]))
    assert 0 < shares[0] < shares[1] < 1
    # expected share of pure noise: sd² over (sd² + the function's variance, about 13.84 for Ishigami)
    assert shares[1] == pytest.approx(4.0 / (4.0 + 13.84), abs=0.06)
    _, one = _run(ishigami_spec(samples=64), tmp_path / "one")
    assert math.isnan(one.outputs.loc[0, "seed_variance_share"])


def test_indices_use_replication_means(tmp_path):
    spec = ishigami_spec(samples=64, replications=2, overrides={"noise": 1.0})
    study = resolve_study(spec, "<test>")
    _, res = run_sensitivity(study, tmp_path / "m", executor=LocalExecutor(1))
    from clustersim.experiment.store import RunStore

    store = RunStore.open(tmp_path / "m" / "runs")
    values = store.outputs()
    # analysing only replication 0 gives other indices than the analysis of the means
    only0 = analyse(study, store.index()[store.index()["replication"] == 0], values[values["replication"] == 0])
    assert not np.allclose(res.indices["value"], only0.indices["value"])
    means = values.groupby("point_id")["y"].mean().to_numpy()
    from SALib.analyze import sobol

    direct = sobol.analyze(study.problem, means, calc_second_order=False, num_resamples=spec.resamples,
                           conf_level=spec.confidence, seed=res.study["analysis_seed"])
    st = res.indices[res.indices["index"] == "ST"]["value"].to_numpy()
    np.testing.assert_allclose(st, direct["ST"])


@pytest.mark.parametrize(("method", "kind"), [("sobol", "blocks"), ("morris", "trajectories"), ("rbd_fast", "points"),
                                          ("fast", "not analysed")])
def test_missing_points_are_reported_and_handled(tmp_path, method, kind):
    extra = {"morris": {"samples": 20}, "rbd_fast": {"samples": 300}, "fast": {"samples": 130},
             "sobol": {"samples": 64}}[method]
    spec = ishigami_spec(method=method, model="plugin_models:ishigami_failing_high_x1", **extra)
    report, res = _run(spec, tmp_path / method)
    assert report.failed > 0
    row = res.outputs.iloc[0]
    assert row["points_missing"] == report.failed
    assert kind in (row["handling"] + row["note"])
    assert any("failed" in n for n in res.notes)
    write_sensitivity(res, tmp_path / method, figures=False)
    text = (tmp_path / method / "report.md").read_text()
    assert "failed" in text and str(report.failed) in text
    if method != "fast":
        assert len(res.indices)  # the rest was analysed


def test_cli_writes_tables_figures_and_report(tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text("name: cli_check\nmodel: clustersim.studies.analytic:ishigami\nmethod: morris\nsamples: 10\n"
                     "seed: 3\n"
                     "outputs: [y]\nfactors: {x1: [-3.14, 3.14], x2: [-3.14, 3.14], x3: [-3.14, 3.14]}\n")
    out = tmp_path / "out"
    assert main(["sensitivity", str(study), "--out", str(out), "-q", "--workers", "1"]) == 0
    for name in ("indices.parquet", "indices.csv", "outputs.csv", "convergence.csv", "report.md", "study.json",
                 "figures/indices_y.png", "figures/heatmap.png"):
        assert (out / name).exists(), name
    idx = pd.read_csv(out / "indices.csv")
    assert set(idx["index"]) >= {"mu_star", "sigma"}
    assert "Provenance" in (out / "report.md").read_text()


@pytest.mark.parametrize(("text", "needle"), [
    ("method: sobolx", "method"),
    ("method: sobol\nsamples: 100", "power of 2"),
    ("method: sobol\nsamples: 64\nfactors: {x1: {dist: norm, bounds: [0, 1, 2]}}", "bounds"),
    ("method: sobol\nsamples: 64\noutputs: []", "outputs"),
])
def test_bad_study_files_are_refused_with_nothing_written(tmp_path, capsys, text, needle):
    lines = {"name": "bad", "model": "clustersim.studies.analytic:ishigami", "seed": "1", "outputs": "[y]",
             "factors": "{x1: [0, 1], x2: [0, 1], x3: [0, 1]}"}
    given = {line.split(":", 1)[0] for line in text.splitlines()}
    body = "\n".join(f"{k}: {v}" for k, v in lines.items() if k not in given) + "\n" + text + "\n"
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    out = tmp_path / "out"
    assert main(["sensitivity", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and needle in err
    assert not out.exists()


def test_builtin_model_factor_out_of_range_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nmethod: morris\nsamples: 2\nseed: 1\noutputs: [member_share_late]\n"
                    "factors: {trust.loss_rate: [0.5, 1.5]}\n")
    with pytest.raises(SensitivityError, match="trust.loss_rate"):
        load_sensitivity(path)


def test_builtin_model_policy_study_runs(tmp_path):
    root = Path(__file__).resolve().parent.parent
    spec = SensitivitySpec.model_validate({
        "name": "tiny_policy", "base": str(root / "configs" / "call_for_projects.yaml"),
        "overrides": {"simulation.n_firms": 40, "policy.constitution.calls.start_step": 2}, "steps": 6,
        "method": "morris", "samples": 2, "replications": 2, "seed": 5,
        "outputs": ["member_share_late", "public_spending_total"],
        "factors": {"policy.instruments.facilitation.amount_per_cluster": [0.0, 50.0],
                    "trust.loss_rate": [0.1, 0.5]}})
    study = resolve_study(spec, "<test>")
    report, res = run_sensitivity(study, tmp_path / "p", executor=LocalExecutor(1))
    assert report.ok == report.total == 2 * 3 * 2
    assert set(res.outputs["output"]) == {"member_share_late", "public_spending_total"}
    assert res.outputs["runs_ok"].eq(12).all()
