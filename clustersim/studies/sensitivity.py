"""Global sensitivity analysis as a resumable experiment: SALib samples, the experiment engine runs.

A sensitivity file (YAML 1.2 or TOML, validated with located errors like scenario files)::

    name: policy_instruments
    base: ../configs/call_for_projects.yaml     # scenario file, relative to this file (built-in model)
    model: clustersim.studies.analytic:ishigami         # or a plug-in "module:function" (then no base)
    overrides: {simulation.n_firms: 200}
    steps: 40
    method: sobol                               # sobol | morris | fast | rbd_fast | pawn | delta
    samples: 256                                # base sample size N (see below)
    replications: 2                             # runs per design point (seeds: common random numbers)
    seed: 2026
    outputs: [relative_productivity_late, cluster_survival_12q, value_added_late]
    factors:
      policy.instruments.facilitation.amount_per_cluster: [0, 50]          # uniform on [low, high]
      trust.loss_rate: {dist: unif, bounds: [0.1, 0.5], group: trust}
      clusters.min_size: {bounds: [2, 6], kind: int}

Design sizes (D factors, G groups when groups are given): ``sobol`` N·(D + 2) points (N·(2D + 2) with
``second_order``; N a power of 2); ``morris`` N·(G + 1) (N trajectories, ``levels`` levels); ``fast``
N·D (N > 4·M²); ``rbd_fast``, ``pawn`` and ``delta`` a Latin hypercube of N points.

Runs go through the experiment engine (:func:`clustersim.experiment.sweep.run_sweep`): parallel or on Dask,
stored as they finish, resumable by running the same command again. The analysis
(:mod:`~clustersim.studies.sensitivity_analysis`) averages each design point's replications and reports the
share of variance due to the random seed, handles failed or missing runs openly, gives bootstrap confidence
intervals and a convergence check (the first half of the sample against the whole), and calls SALib's
analysers in isolation.

The output folder holds the study (``study.json``), its run store (``runs/``) and the results; a non-empty
folder that is not this study's is refused before anything in it changes (:func:`check_study_folder`).

The study is in four modules, SALib's steps apart: :mod:`~clustersim.studies.sensitivity_spec` (what a study
is: the file's schema and the resolved study), :mod:`~clustersim.studies.sensitivity_sampling` (the SALib
problem, its sample and the design points), :mod:`~clustersim.studies.sensitivity_analysis` (the indices) and
this one, the entry point: reading a study, resolving it into an experiment and running it (the public names
of the other three are importable from here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from clustersim.experiment.designs import (
    DesignError,
    _leaves,
    _value_for,
    _with_values,
    validate_factors,
)
from clustersim.experiment.spec import (
    DEFAULT_MODEL,
    DesignSpec,
    Experiment,
    ExperimentSpec,
    OutputsSpec,
    _text,
    model_problem,
)
from clustersim.experiment.store import EXPERIMENT_FILE, RunStore, StoreMismatchError
from clustersim.scenario.io import ScenarioError, load_scenario, scenario_from_dict, scenario_to_dict
from clustersim.scenario.schema import Scenario
from clustersim.studies.sensitivity_analysis import (
    ANALYSIS_SEED_OFFSET,
    MIN_HALF_BLOCKS,
    MIN_HALF_ROWS,
    MOVED,
    WIDE_INTERVAL,
    SensitivityResult,
    analyse,
)
from clustersim.studies.sensitivity_sampling import _cast, _points, _problem, _sample
from clustersim.studies.sensitivity_spec import (
    METHODS,
    FactorSpec,
    SensitivityError,
    SensitivitySpec,
    SensitivityStudy,
    check_study_runs,
    read_study,
    study_hash,
)
from clustersim.util.atomic import atomic_write_text

__all__ = [
    "METHODS",
    "ANALYSIS_SEED_OFFSET",
    "MIN_HALF_BLOCKS",
    "MIN_HALF_ROWS",
    "MOVED",
    "WIDE_INTERVAL",
    "STUDY_FILE",
    "RUNS_DIR",
    "FactorSpec",
    "SensitivityError",
    "SensitivitySpec",
    "SensitivityStudy",
    "SensitivityResult",
    "load_sensitivity",
    "resolve_study",
    "study_hash",
    "analyse",
    "check_study_folder",
    "run_sensitivity",
]

#: the folder's record of the study, and the run store's folder, in an output folder
STUDY_FILE = "study.json"
RUNS_DIR = "runs"


def load_sensitivity(path: str | os.PathLike[str], *, max_runs: int | None = None) -> SensitivityStudy:
    """Read, validate and resolve a sensitivity file (its sample is drawn here, from its seed). A study of
    more than ``max_runs`` runs (default :data:`~clustersim.experiment.spec.MAX_RUNS`) is refused before
    anything is drawn."""
    source = os.fspath(path)
    spec = read_study(path, max_runs=max_runs)
    return resolve_study(spec, source, Path(source).parent, max_runs=max_runs)


def resolve_study(spec: SensitivitySpec, source: str = "<spec>", folder: Path | None = None, *,
                  max_runs: int | None = None) -> SensitivityStudy:
    """The study a validated spec describes (``folder``: where a relative ``base`` is looked up); more than
    ``max_runs`` runs (default :data:`~clustersim.experiment.spec.MAX_RUNS`) are refused before drawing."""
    check_study_runs(spec, source, max_runs)
    model = _model(spec, source)
    problem = _problem(spec)
    x = _sample(spec, problem)
    kinds = [f.kind for f in spec.factor_specs().values()]
    points = _points(problem["names"], x, kinds)
    design = DesignSpec(kind="points", points=[{"__sensitivity__": spec.method}])  # the points are below
    exp_spec = ExperimentSpec(name=spec.name, description=spec.description, base=spec.base, model=spec.model,
                              overrides=spec.overrides, design=design, replications=spec.replications,
                              seed=spec.seed, steps=spec.steps, outputs=OutputsSpec(), chunk_size=spec.chunk_size,
                              timeout_s=spec.timeout_s, memory_mb=spec.memory_mb)
    if model != DEFAULT_MODEL:
        fixed = dict(spec.overrides)
        names = problem["names"]
        params = _LazyParams(lambda i: {**fixed, **dict(zip(names, _cast(x[i], kinds), strict=True))}, len(points))
        return SensitivityStudy(spec, source, problem, x, Experiment(exp_spec, source, model, None, points, params))
    base = _base_scenario(spec, source, folder, problem["names"])
    base_dict = scenario_to_dict(base)
    leaves = _leaves()
    annotations = [leaves[name].annotation for name in problem["names"]]
    _check_ends(base_dict, problem["names"], annotations, x, kinds, source)

    def scenario_of(i: int) -> Scenario | dict[str, Any]:
        # the base with the point's values (sections copied on write), validated here, once for all its runs,
        # which receive this scenario as it is. Every value lies within the ranges checked above, but a rule
        # across parameters (clusters.min_size <= clusters.max_size) can still refuse a point: its plain
        # parameters are then its runs', which the model validates and fails on, with its message
        data = _with_values(base_dict, {name: _value_for(x[i, j], annotations[j])
                                        for j, name in enumerate(problem["names"])})
        try:
            return scenario_from_dict(data, "<design point>")
        except ScenarioError:
            return data

    return SensitivityStudy(spec, source, problem, x,
                            Experiment(exp_spec, source, model, base, points, _LazyParams(scenario_of, len(points))))


def _model(spec: SensitivitySpec, source: str) -> str:
    """The study's evaluation function (an import path); a plug-in is imported here, to fail now if it cannot be."""
    model = spec.model or DEFAULT_MODEL
    problem = model_problem(model)
    if problem is not None:
        raise SensitivityError(f"{source}: {problem}")
    return model


def _base_scenario(spec: SensitivitySpec, source: str, folder: Path | None, names: list[str]) -> Scenario:
    """The built-in model's base scenario: the base file (or the defaults) with the study's overrides and steps;
    the factors' names are checked to be its parameters."""
    try:
        overrides = [f"{k}={_text(v)}" for k, v in spec.overrides.items()]
        if spec.base is not None:
            base = load_scenario((folder or Path(".")) / spec.base, overrides, override_source=f"{source}: overrides")
        else:
            base = scenario_from_dict(scenario_to_dict(Scenario()), source=f"{source}: overrides", overrides=overrides)
        if spec.steps is not None:
            base.simulation.steps = spec.steps
        validate_factors(names)
    except (ScenarioError, DesignError) as exc:
        raise SensitivityError(f"{source}: {exc}") from None
    return base


def _check_ends(base_dict: dict[str, Any], names: list[str], annotations: list[Any], x: np.ndarray,
                kinds: Sequence[str], source: str) -> None:
    """Check the extreme values once, so that a factor range outside a parameter's bounds fails now; these are
    the ends of the factors' sampled ranges, not design points, and the message says so."""
    problems: list[str] = []
    for label, ends in (("lowest", x.min(axis=0)), ("highest", x.max(axis=0))):
        values = {name: _value_for(v, annotations[j])
                  for j, (name, v) in enumerate(zip(names, _cast(ends, kinds), strict=True))}
        try:
            scenario_from_dict(_with_values(base_dict, values), f"factors at their {label} sampled values")
        except ScenarioError as exc:
            problems += exc.errors
    if problems:
        raise SensitivityError(f"{source}: " + "\n".join(problems))


T = TypeVar("T")


class _LazyParams(Sequence[T]):
    """Each design point's evaluation parameters, built when a task needs them (a Sobol' design of tens of
    thousands of points would otherwise hold that many full scenarios in memory). The last point built is kept:
    a sweep asks for its runs' parameters in run-id order, a point's replications one after another, so each
    point is built (and, for the built-in model, validated) once."""

    def __init__(self, make: Callable[[int], T], n: int) -> None:
        self._make, self._n = make, n
        self._last: tuple[int, T] | None = None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> T:  # type: ignore[override]  # no slices
        if not 0 <= i < self._n:
            raise IndexError(i)
        if self._last is None or self._last[0] != i:
            self._last = (i, self._make(i))
        return self._last[1]

    def __iter__(self) -> Iterator[T]:
        return (self[i] for i in range(self._n))



# ------------------------------------------------------------------------------------------------ running
def check_study_folder(out: str | os.PathLike[str], identity: str) -> None:
    """Refuse, before anything in it changes, an output folder that is not this study's.

    Accepted: a missing or empty folder (a new study), or this study's folder (resumed: its ``study.json``
    and its run store ``runs/`` carry this study's identity; ``runs/`` alone is a first run interrupted
    before ``study.json`` was written). Anything else raises
    :class:`~clustersim.experiment.store.StoreMismatchError` naming the folder and why: a non-empty folder
    holding something else, or another study. It is the check ``clustersim sweep`` makes of its folder
    (:meth:`RunStore.create_or_open <clustersim.experiment.store.RunStore.create_or_open>`), which is reused for
    ``runs/``, extended to the study folder around it.
    """
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise StoreMismatchError(f"{out}: exists and is not a folder; results are never mixed (choose another --out)")
    runs = out / RUNS_DIR
    if (runs / EXPERIMENT_FILE).exists():
        RunStore.check_identity(runs, identity)  # the run store's own check: another experiment's runs
    record = out / STUDY_FILE
    if record.exists():
        try:
            old = json.loads(record.read_text(encoding="utf-8"))["identity"]
        except (OSError, ValueError, KeyError, TypeError):
            raise StoreMismatchError(f"{out}: its {STUDY_FILE} is not a sensitivity study's record; results are "
                                     "never mixed (choose another --out)") from None
        if old != identity:
            raise StoreMismatchError(f"{out}: holds another experiment's sensitivity study (identity "
                                     f"{str(old)[:12]}, this study {identity[:12]}); results are never mixed "
                                     "(choose another --out)")
        return
    foreign = sorted(e.name for e in out.iterdir() if e.name != RUNS_DIR and not RunStore.is_ours(e.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise StoreMismatchError(f"{out}: a non-empty folder that is not a sensitivity study's (no {STUDY_FILE}; "
                                 f"holds {shown}); results are never mixed (choose another --out)")


def run_sensitivity(study: SensitivityStudy, out: Path, *, executor: Any = None, retry_failed: bool = False,
                    progress=None) -> tuple[Any, SensitivityResult]:
    """Run (or resume) the study's runs into ``out/runs`` and analyse them; returns (sweep report, result).

    Raises :class:`~clustersim.experiment.store.StoreMismatchError`, with nothing written, if ``out`` is a
    non-empty folder that is not this study's (:func:`check_study_folder`).
    """
    from clustersim.experiment.sweep import run_sweep

    out = Path(out)
    # a folder holding another study, or anything else, is refused here, before anything in it changes
    check_study_folder(out, study.identity())
    out.mkdir(parents=True, exist_ok=True)
    RunStore.create_or_open(out / RUNS_DIR, study.experiment.resolved(), study.identity())
    atomic_write_text(out / STUDY_FILE, json.dumps({"spec": study.spec.model_dump(mode="json"), "source": study.source,
                                                    "problem": study.problem, "identity": study.identity()},
                                                   indent=2, default=str))
    report = run_sweep(study.experiment, out / RUNS_DIR, executor=executor, retry_failed=retry_failed,
                       progress=progress)
    store = RunStore.open(out / RUNS_DIR, "r")
    result = analyse(study, store.index(), store.outputs())
    return report, result

