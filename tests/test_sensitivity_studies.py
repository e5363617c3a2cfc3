"""The shipped sensitivity studies (every experiments/*.yaml with a ``method:`` key; the others are sweeps):
each loads and resolves (factors are scenario parameters, their ranges within the schema's bounds), names
outputs the model's run summary has, and opens with its question; morris_quick runs end to end at a tiny
size with indices for every output and factor."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from clustersim.experiment.designs import run_seed
from clustersim.experiment.evaluate import clustersim_model
from clustersim.experiment.sweep import LocalExecutor
from clustersim.model.indicators import INDICATORS
from clustersim.reports.sensitivity import write_sensitivity
from clustersim.studies.sensitivity import SensitivitySpec, load_sensitivity, resolve_study, run_sensitivity

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SHIPPED = ("sensitivity_policy.yaml", "sensitivity_behaviour.yaml", "morris_quick.yaml")


def _is_study(path: Path) -> bool:
    return any(line.startswith("method:") for line in path.read_text(encoding="utf-8").splitlines())


STUDIES = [p for p in sorted(EXPERIMENTS.glob("*.yaml")) if _is_study(p)]


def test_the_shipped_studies_are_there():
    assert set(SHIPPED) <= {p.name for p in STUDIES}, f"sensitivity studies found: {[p.name for p in STUDIES]}"


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_study_loads_and_says_what_it_answers(path):
    study = load_sensitivity(path)  # validates the file, the factors' paths and their ranges against the schema
    assert study.spec.base is not None and study.spec.model is None, "a shipped study runs the clustersim model"
    assert len(study.sample) == len(study.experiment.params)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# Question:"), f"{path.name} should open with '# Question: ...'"
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert f"clustersim sensitivity experiments/{path.name}" in header, f"{path.name}: say how to run it"


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_study_outputs_are_in_the_model_summary(path):
    study = load_sensitivity(path)
    scenario = copy.deepcopy(study.experiment.params[0])  # the base with the first point's values, validated
    scenario.simulation.n_firms, scenario.simulation.steps = 20, 6
    summary = clustersim_model(scenario, run_seed(study.spec.seed, 0))
    missing = [name for name in study.spec.outputs if name not in summary]
    assert not missing, f"{path.name}: outputs the model's run summary does not have: {missing}"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_study_covers_the_three_indicator_families(name):
    spec = load_sensitivity(EXPERIMENTS / name).spec
    families = {INDICATORS[o.rsplit("_", 1)[0]].family for o in spec.outputs
                if o.endswith(("_late", "_final")) and o.rsplit("_", 1)[0] in INDICATORS}
    assert {"competitiveness", "durability", "leverage"} <= families, f"{name}: families covered {families}"


def test_morris_quick_runs_end_to_end_at_a_tiny_size(tmp_path):
    path = EXPERIMENTS / "morris_quick.yaml"
    spec = load_sensitivity(path).spec
    # 4 trajectories x 9 points, one replication, 40 firms over 20 quarters (clusters formed early enough for
    # cluster_survival_12q to vary), a short bootstrap
    tiny = SensitivitySpec.model_validate({**spec.model_dump(), "samples": 4, "replications": 1, "steps": 20,
                                           "resamples": 100,
                                           "overrides": {**spec.overrides, "simulation.n_firms": 40}})
    study = resolve_study(tiny, str(path), path.parent)
    out = tmp_path / "morris_quick"
    report, result = run_sensitivity(study, out, executor=LocalExecutor(1))
    assert report.ok == len(study.sample) == 4 * (len(spec.factors) + 1) and not report.failed
    mu = result.indices[result.indices["index"] == "mu_star"]
    assert list(dict.fromkeys(mu["output"])) == spec.outputs, result.outputs[["output", "note"]].to_string()
    for output, sub in mu.groupby("output"):
        assert set(sub["factor"]) == set(spec.factors), output
        assert np.isfinite(sub["value"]).all() and (sub["value"] >= 0).all(), output
        assert (sub["value"] > 0).any(), f"{output}: no factor moves it"
    assert (result.outputs["points_missing"] == 0).all()
    write_sensitivity(result, out, figures=False)
    assert (out / "report.md").is_file() and (out / "indices.csv").is_file()
