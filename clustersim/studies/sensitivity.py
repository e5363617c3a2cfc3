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
stored as they finish, resumable by running the same command again. The analysis:

- averages each design point's replications (indices on replication means) and reports, per output, the
  share of variance due to the random seed and the part of it that is a common shift of a whole
  replication (see :func:`_seed_shares`: estimated from variance components, so that common random numbers
  do not inflate it; never capped, a value above 1 is estimator noise and is said so in the note);
- handles failed or missing runs openly: a point with no successful replication is missing; the whole
  Saltelli block (Sobol') or trajectory (Morris) holding it is dropped, Latin-hypercube methods drop the
  point, and FAST (whose sample cannot be thinned) is not analysed for that output; the report says how
  many points were missing and what was dropped;
- gives bootstrap confidence intervals (SALib's, with a fixed non-zero seed) and a convergence check:
  indices on the first half of the sample against the whole, flagged when intervals are wide or the
  estimates moved (only when the first half holds enough independent blocks or points for the method:
  :data:`MIN_HALF_BLOCKS` Saltelli blocks or trajectories, :data:`MIN_HALF_ROWS` Latin-hypercube points);
- calls SALib's analysers in isolation: their warnings are recorded (in the notes) rather than shown, and
  neither the warning filters nor numpy's global random state (which the delta analyser seeds) change.

The output folder holds the study (``study.json``), its run store (``runs/``) and the results; a non-empty
folder that is not this study's is refused before anything in it changes (:func:`check_study_folder`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.experiment.designs import (
    DesignError,
    _leaves,
    _value_for,
    _with_values,
    validate_factors,
)
from clustersim.experiment.evaluate import resolve_model
from clustersim.experiment.spec import DEFAULT_MODEL, DesignSpec, Experiment, ExperimentSpec, OutputsSpec, _text
from clustersim.experiment.store import EXPERIMENT_FILE, RunStore, StoreMismatchError
from clustersim.scenario.io import ScenarioError, load_model_file, load_scenario, scenario_from_dict, scenario_to_dict
from clustersim.scenario.schema import Scenario
from clustersim.util.atomic import atomic_write_text

__all__ = [
    "METHODS",
    "SensitivityError",
    "SensitivitySpec",
    "SensitivityStudy",
    "SensitivityResult",
    "load_sensitivity",
    "analyse",
    "check_study_folder",
    "run_sensitivity",
]

METHODS = ("sobol", "morris", "fast", "rbd_fast", "pawn", "delta")
#: SALib analysers get this seed (plus the study's) so that bootstrap intervals are reproducible
ANALYSIS_SEED_OFFSET = 7919
#: convergence flags: a confidence half-width above this, or a move between N/2 and N above this
WIDE_INTERVAL = 0.1
MOVED = 0.05
#: the N/2 convergence check needs this many independent blocks in the first half (Sobol': base samples,
#: Morris: trajectories; with one, Morris' sigma divides by zero and nothing can be compared) ...
MIN_HALF_BLOCKS = 2
#: ... or, for the Latin-hypercube methods, this many points (PAWN: 2 per each of its 10 slices; delta: its
#: classes need 10 points; RBD-FAST also at least 4·M: its bias correction divides by 1 - 2·M/N)
MIN_HALF_ROWS = 20
#: the folder's record of the study, and the run store's folder, in an output folder
STUDY_FILE = "study.json"
RUNS_DIR = "runs"


class SensitivityError(ValueError):
    """A sensitivity study that cannot be run or analysed; the message says why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactorSpec(_Strict):
    dist: Literal["unif", "norm", "triang", "lognorm", "truncnorm"] = Field(
        "unif", description="SALib distribution: unif [low, high]; norm [mean, sd]; triang [low, high, peak "
                            "fraction]; lognorm [mean, sd] of the log; truncnorm [low, high, mean, sd]")
    bounds: list[float] = Field(min_length=2, max_length=4, description="the distribution's parameters")
    group: str | None = Field(None, description="factors of a group move together (Sobol', Morris)")
    kind: Literal["float", "int"] = Field("float", description="'int' rounds the sampled values")

    @model_validator(mode="after")
    def _shape(self) -> FactorSpec:
        want = {"unif": 2, "norm": 2, "triang": 3, "lognorm": 2, "truncnorm": 4}[self.dist]
        if len(self.bounds) != want:
            raise ValueError(f"a {self.dist!r} factor needs {want} numbers in 'bounds', got {len(self.bounds)}")
        if self.dist in ("unif", "triang", "truncnorm") and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds: the low end {self.bounds[0]} must be below the high end {self.bounds[1]}")
        if self.dist in ("norm", "lognorm") and self.bounds[1] <= 0:
            raise ValueError("bounds: the standard deviation must be positive")
        return self


class SensitivitySpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    base: str | None = Field(None, description="scenario file, relative to the study file")
    model: str | None = Field(None, description="plug-in evaluation function 'package.module:function'")
    overrides: dict[str, Any] = Field(default_factory=dict)
    steps: int | None = Field(None, ge=1, le=4000)
    method: Literal["sobol", "morris", "fast", "rbd_fast", "pawn", "delta"]
    samples: int = Field(ge=2, le=10_000_000, description="base sample size N")
    second_order: bool = Field(False, description="Sobol': also second-order indices")
    levels: int = Field(4, ge=2, le=100, description="Morris: grid levels")
    interference: int = Field(4, ge=1, le=100, description="FAST: interference factor M")
    replications: int = Field(1, ge=1, le=100_000)
    seed: int = Field(ge=1, le=2**63 - 1, description="root seed (non-zero)")
    outputs: list[str] = Field(min_length=1, description="outputs analysed (the model's summary names)")
    factors: dict[str, FactorSpec] = Field(min_length=1)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    resamples: int = Field(1000, ge=10, le=100_000, description="bootstrap resamples")
    chunk_size: int | None = Field(None, ge=1, le=100_000)

    @field_validator("factors", mode="before")
    @classmethod
    def _lists_are_uniform_bounds(cls, value: Any) -> Any:
        """``path: [low, high]`` is short for ``path: {bounds: [low, high]}`` (validated, and located, as such)."""
        if isinstance(value, dict):
            return {k: ({"bounds": v} if isinstance(v, list | tuple) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SensitivitySpec:
        groups = {f.group for f in self.factor_specs().values()}
        if self.method == "morris":
            open_ended = [k for k, f in self.factor_specs().items() if f.dist in ("norm", "lognorm")]
            if open_ended:
                raise ValueError(f"factors {', '.join(open_ended)}: Morris samples the 0 and 1 quantiles of each "
                                 "distribution, infinite for 'norm' and 'lognorm': use unif, triang or truncnorm")
        if None in groups and len(groups) > 1:
            raise ValueError("either every factor has a group or none has")
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"samples: Sobol' sampling needs a power of 2 (got {self.samples}; try "
                             f"{1 << max(1, (self.samples - 1).bit_length())})")
        if self.method == "fast" and self.samples <= 4 * self.interference**2:
            raise ValueError(f"samples: FAST needs N > 4·M² = {4 * self.interference**2}")
        if self.method not in ("sobol", "morris") and None not in groups:
            raise ValueError(f"groups are only supported by sobol and morris, not {self.method}")
        if len(set(self.outputs)) != len(self.outputs):
            raise ValueError("outputs: listed twice")
        return self

    def factor_specs(self) -> dict[str, FactorSpec]:
        return dict(self.factors)


@dataclass
class SensitivityStudy:
    """A resolved study: the SALib problem, its sample and the engine experiment that runs it."""

    spec: SensitivitySpec
    source: str
    problem: dict[str, Any]
    sample: np.ndarray  # design matrix, one row per point (values as run)
    experiment: Experiment

    @property
    def names(self) -> list[str]:
        return list(self.problem["names"])

    def identity(self) -> str:
        return self.experiment.identity()


def _problem(spec: SensitivitySpec) -> dict[str, Any]:
    fs = spec.factor_specs()
    problem: dict[str, Any] = {"num_vars": len(fs), "names": list(fs), "bounds": [f.bounds for f in fs.values()],
                               "dists": [f.dist for f in fs.values()]}
    groups = [f.group for f in fs.values()]
    if all(g is not None for g in groups):
        problem["groups"] = groups
    return problem


def _sample(spec: SensitivitySpec, problem: dict[str, Any]) -> np.ndarray:
    from SALib.sample import fast_sampler, latin, morris, sobol

    n, seed = spec.samples, spec.seed
    if spec.method == "sobol":
        x = sobol.sample(problem, n, calc_second_order=spec.second_order, seed=seed)
    elif spec.method == "morris":
        x = morris.sample(problem, n, num_levels=spec.levels, seed=seed)
    elif spec.method == "fast":
        x = fast_sampler.sample(problem, n, M=spec.interference, seed=seed)
    else:
        x = latin.sample(problem, n, seed=seed)
    x = np.asarray(x, dtype=np.float64)
    for j, f in enumerate(spec.factor_specs().values()):
        if f.kind == "int":
            x[:, j] = np.rint(x[:, j])
    return x


def _points(names: list[str], x: np.ndarray, kinds: Sequence[str]) -> pd.DataFrame:
    cols: dict[str, Any] = {"point_id": np.arange(len(x), dtype=np.int64)}
    for j, name in enumerate(names):
        cols[name] = x[:, j].astype(np.int64) if kinds[j] == "int" else x[:, j]
    return pd.DataFrame(cols)


def load_sensitivity(path: str | os.PathLike[str]) -> SensitivityStudy:
    """Read, validate and resolve a sensitivity file (its sample is drawn here, from its seed)."""
    source = os.fspath(path)
    spec: SensitivitySpec = load_model_file(path, SensitivitySpec)
    return resolve_study(spec, source, Path(source).parent)


def resolve_study(spec: SensitivitySpec, source: str = "<spec>", folder: Path | None = None) -> SensitivityStudy:
    """The study a validated spec describes (``folder``: where a relative ``base`` is looked up)."""
    model = spec.model or DEFAULT_MODEL
    if ":" not in model or not all(part.strip() for part in model.split(":", 1)):
        raise SensitivityError(f"{source}: model: {model!r} is not an import path ('package.module:function')")
    if model != DEFAULT_MODEL:
        # import it now: a path that cannot be imported would otherwise fail every run, after the whole design
        # was queued (the function must be importable here, where the study is launched, as on the workers)
        try:
            resolve_model(model)
        except ValueError as exc:  # resolve_model's message: "model 'path': what is wrong with it"
            raise SensitivityError(f"{source}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - the module itself fails on import
            raise SensitivityError(f"{source}: model: {model!r}: importing it failed: "
                                   f"{type(exc).__name__}: {exc}") from None
    problem = _problem(spec)
    x = _sample(spec, problem)
    kinds = [f.kind for f in spec.factor_specs().values()]
    points = _points(problem["names"], x, kinds)
    design = DesignSpec(kind="points", points=[{"__sensitivity__": spec.method}])  # the points are below
    exp_spec = ExperimentSpec(name=spec.name, description=spec.description, base=spec.base, model=spec.model,
                              overrides=spec.overrides, design=design, replications=spec.replications,
                              seed=spec.seed, steps=spec.steps, outputs=OutputsSpec(), chunk_size=spec.chunk_size)
    if model != DEFAULT_MODEL:
        fixed = dict(spec.overrides)
        names = problem["names"]
        params = _LazyParams(lambda i: {**fixed, **dict(zip(names, _cast(x[i], kinds), strict=True))}, len(points))
        return SensitivityStudy(spec, source, problem, x, Experiment(exp_spec, source, model, None, points, params))
    try:
        overrides = [f"{k}={_text(v)}" for k, v in spec.overrides.items()]
        if spec.base is not None:
            base = load_scenario((folder or Path(".")) / spec.base, overrides, override_source=f"{source}: overrides")
        else:
            base = scenario_from_dict(scenario_to_dict(Scenario()), source=f"{source}: overrides", overrides=overrides)
        if spec.steps is not None:
            base.simulation.steps = spec.steps
        validate_factors(problem["names"])
    except (ScenarioError, DesignError) as exc:
        raise SensitivityError(f"{source}: {exc}") from None
    base_dict = scenario_to_dict(base)
    leaves = _leaves()
    annotations = [leaves[name].annotation for name in problem["names"]]
    # check the extreme values once, so that a factor range outside a parameter's bounds fails now; these
    # are the ends of the factors' sampled ranges, not design points, and the message says so
    problems: list[str] = []
    for label, ends in (("lowest", x.min(axis=0)), ("highest", x.max(axis=0))):
        values = {name: _value_for(v, annotations[j])
                  for j, (name, v) in enumerate(zip(problem["names"], _cast(ends, kinds), strict=True))}
        try:
            scenario_from_dict(_with_values(base_dict, values), f"factors at their {label} sampled values")
        except ScenarioError as exc:
            problems += exc.errors
    if problems:
        raise SensitivityError(f"{source}: " + "\n".join(problems))

    def params_of(i: int) -> dict[str, Any]:
        # the base with the point's values (sections copied on write); every value of the sample lies within
        # the range checked above, and the worker validates the whole scenario again before running it
        return _with_values(base_dict, {name: _value_for(x[i, j], annotations[j])
                                        for j, name in enumerate(problem["names"])})

    return SensitivityStudy(spec, source, problem, x,
                            Experiment(exp_spec, source, model, base, points, _LazyParams(params_of, len(points))))


def _cast(values: np.ndarray, kinds: Sequence[str]) -> list[Any]:
    return [int(v) if k == "int" else float(v) for v, k in zip(values, kinds, strict=True)]


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class _LazyParams(Sequence[dict[str, Any]]):
    """Each design point's evaluation parameters, built when a task needs them (a Sobol' design of tens of
    thousands of points would otherwise hold that many full scenarios in memory)."""

    def __init__(self, make, n: int) -> None:
        self._make, self._n = make, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> dict[str, Any]:  # type: ignore[override]  # no slices
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._make(i)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(self._n))


# ------------------------------------------------------------------------------------------------ analysis
@dataclass
class SensitivityResult:
    """Indices per output, with what the analysis did about noise, missing runs and convergence."""

    study: dict[str, Any]
    indices: pd.DataFrame  # output, factor, index, value, conf, low, high
    outputs: pd.DataFrame  # per output: points used/missing, seed variance shares, convergence, notes
    convergence: pd.DataFrame  # output, factor, index, half, full, moved
    notes: list[str] = field(default_factory=list)


def _point_means(index: pd.DataFrame, values: pd.DataFrame, n_points: int, outputs: list[str]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(mean per point, variance within points, runs per point) for each output, NaN where no run succeeded."""
    ok = index[index["status"] == "ok"][["run_id", "point_id"]]
    vals = values.drop(columns=[c for c in ("point_id", "replication") if c in values.columns])
    df = ok.merge(vals, on="run_id", how="inner")
    missing_cols = [o for o in outputs if o not in df.columns]
    for o in missing_cols:
        df[o] = np.nan
    g = df.groupby("point_id")[outputs]
    full = pd.RangeIndex(n_points, name="point_id")
    return g.mean().reindex(full), g.var(ddof=1).reindex(full), g.count().reindex(full, fill_value=0)


def _seed_shares(values: pd.DataFrame, index: pd.DataFrame, output: str) -> tuple[float, float]:
    """(seed variance share, replication variance share) of ``output``: NaN with fewer than 2 replications
    (or 2 points) complete.

    On the design points whose replications all succeeded, a table ``y[p, r]`` of P points × R replications
    (R >= 2). Replication ``r`` runs with the same seed at every point (common random numbers), so an output
    is ``f(point) + shift(r) + noise(p, r)`` and, estimated from these components (method of moments):

    - ``W``, the within-point variance: the variance of a point's replications around their mean (ddof = 1),
      averaged over points; it estimates the seed's variance, shift and noise;
    - ``C``, its part shared by every point of a replication (the common shift): the variance over
      replications of the replication's mean over points (ddof = 1). ``C <= W`` always. A common shift
      moves every replication mean alike, so it cancels out of the indices (computed on replication means);
      the rest, ``W - C``, does not;
    - ``T``, the total variance of one run: ``W`` plus the between-point variance, estimated by the
      variance of the point means minus what the noise leaves in them (residual mean square / R). The plain
      variance of all runs would understate the shift (R draws of it only, not P·R: by a factor (R - 1)/R)
      and so inflate the share.

    The shares are ``W / T`` and ``C / T``. They are not capped: when the output hardly varies between
    points the between-point estimate can fall below zero by chance and ``W / T`` exceed 1 (the note says
    so); it then means "the seed dominates".
    """
    nan = (math.nan, math.nan)
    if output not in values.columns or not len(index):
        return nan
    ok = index[index["status"] == "ok"][["run_id", "point_id", "replication"]]
    runs = ok.merge(values[["run_id", output]], on="run_id")
    runs = runs[np.isfinite(runs[output].to_numpy(dtype=np.float64))].drop_duplicates(["point_id", "replication"])
    table = runs.pivot(index="point_id", columns="replication", values=output)
    y = table.dropna(axis=1, how="all").dropna(axis=0, how="any").to_numpy(dtype=np.float64)
    p, r = y.shape
    if p < 2 or r < 2:
        return nan
    # deviations within points from each point's first replication: exact zeros where replications agree
    d = y - y[:, :1]
    dev = d - d.mean(axis=1, keepdims=True)
    within = float((dev**2).sum() / (p * (r - 1)))
    rep_means = dev.mean(axis=0)  # replication means over points, less the grand mean
    common = float((rep_means**2).sum() / (r - 1))
    residual = float(((dev - rep_means) ** 2).sum() / ((p - 1) * (r - 1)))
    total = float(y.mean(axis=1).var(ddof=1)) - residual / r + within
    if within == 0:
        return 0.0, 0.0
    if total <= 0:
        return nan
    return within / total, common / total


def _blocks(method: str, problem: dict[str, Any], second_order: bool) -> int | None:
    """Rows per independent block of the design (Sobol': one base sample; Morris: one trajectory)."""
    d = len(set(problem["groups"])) if "groups" in problem else problem["num_vars"]
    if method == "sobol":
        return 2 * d + 2 if second_order else d + 2
    if method == "morris":
        return d + 1
    return None


#: SALib warnings that say nothing about this analysis: the FAST analyser's, on every call, that its bootstrap
#: intervals are indicative only (SALib issue 649; the outputs table's note says it), and the delta analyser's
#: notices that it merged classes of a small sample
_ROUTINE_WARNINGS = ("FAST confidence intervals", "Bin Merge Notice")


@contextlib.contextmanager
def _isolated() -> Iterator[list[str]]:
    """Run a SALib analyser without it touching global state; yields the list its warnings are collected in.

    Its warnings are recorded, not shown (nor raised where warnings are errors): ``warnings.catch_warnings``
    restores the filters it changes (the delta analyser sets ``simplefilter("once")``), and the warning
    formatter it replaces and numpy's global random state it seeds (delta again) are restored here.
    """
    state = np.random.get_state()  # noqa: NPY002 - the legacy global state is what delta seeds
    formatter = warnings.formatwarning
    messages: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield messages
            finally:
                for w in caught:
                    text = " ".join(str(w.message).split())
                    if not any(r in text for r in _ROUTINE_WARNINGS) and text not in messages:
                        messages.append(text)
    finally:
        warnings.formatwarning = formatter
        np.random.set_state(state)  # noqa: NPY002


def _salib_indices(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, spec: SensitivitySpec,
                   seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Run one SALib analyser, isolated (:func:`_isolated`); tidy rows (factor, index, value, conf) and the
    warnings it gave."""
    with _isolated() as warned:
        rows = _salib_rows(method, problem, x, y, spec, seed)
    return pd.DataFrame(rows), warned


def _salib_rows(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, spec: SensitivitySpec,
                seed: int) -> list[dict[str, Any]]:
    from SALib.analyze import delta, fast, morris, pawn, rbd_fast, sobol

    conf, res = spec.confidence, spec.resamples
    rows: list[dict[str, Any]] = []
    names = list(dict.fromkeys(problem["groups"])) if "groups" in problem else list(problem["names"])

    def add(kind: str, values, confs=None) -> None:
        for k, name in enumerate(names):
            rows.append({"factor": name, "index": kind, "value": float(values[k]),
                         "conf": float(confs[k]) if confs is not None else math.nan})

    if method == "sobol":
        r = sobol.analyze(problem, y, calc_second_order=spec.second_order, num_resamples=res, conf_level=conf,
                          seed=seed)
        add("S1", r["S1"], r["S1_conf"])
        add("ST", r["ST"], r["ST_conf"])
        if spec.second_order:
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    rows.append({"factor": f"{names[a]} × {names[b]}", "index": "S2",
                                 "value": float(r["S2"][a, b]), "conf": float(r["S2_conf"][a, b])})
    elif method == "morris":
        r = morris.analyze(problem, x, y, num_resamples=res, conf_level=conf, num_levels=spec.levels, seed=seed)
        add("mu_star", r["mu_star"], r["mu_star_conf"])
        add("sigma", r["sigma"])
        add("mu", r["mu"])
    elif method == "fast":
        r = fast.analyze(problem, y, M=spec.interference, num_resamples=res, conf_level=conf, seed=seed)
        add("S1", r["S1"], r["S1_conf"])
        add("ST", r["ST"], r["ST_conf"])
    elif method == "rbd_fast":
        r = rbd_fast.analyze(problem, x, y, M=spec.interference, num_resamples=res, conf_level=conf, seed=seed)
        add("S1", r["S1"], r["S1_conf"])
    elif method == "pawn":
        r = pawn.analyze(problem, x, y, S=10, seed=seed)
        add("pawn_median", r["median"])
        add("pawn_max", r["maximum"])
    else:
        r = delta.analyze(problem, x, y, num_resamples=res, conf_level=conf, seed=seed)
        key = "delta" if "delta" in r else "delta_raw"  # SALib >= 1.6 names the classic estimator delta_raw
        add("delta", r[key], r[f"{key}_conf"])
        add("S1", r["S1"], r["S1_conf"])
    return rows


def _usable(method: str, problem: dict[str, Any], spec: SensitivitySpec, y: np.ndarray
            ) -> tuple[np.ndarray | None, str]:
    """Row mask of the design usable for this output, and what was done about missing points."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return np.ones(len(y), dtype=bool), ""
    block = _blocks(method, problem, spec.second_order)
    if block is not None:
        n_blocks = len(y) // block
        dead = bad[: n_blocks * block].reshape(n_blocks, block).any(axis=1)
        what = "Saltelli blocks (base samples)" if method == "sobol" else "trajectories"
        if dead.all():
            return None, f"every one of the {n_blocks} {what} has a missing point: not analysed"
        return np.repeat(~dead, block), f"dropped {int(dead.sum())} of {n_blocks} {what} holding a missing point"
    if method == "fast":
        return None, "FAST's sample cannot be thinned: not analysed (rerun the failed runs with --retry-failed)"
    return ~bad, f"dropped {int(bad.sum())} missing points of the Latin hypercube"


def _all_failed(index: pd.DataFrame, model: str) -> str:
    """The note when no run succeeded: how many failed, the first error, and a hint that fits the error."""
    failed = index[index["status"] == "failed"].sort_values("run_id")
    first = failed.iloc[0]
    text = f"every one of the {len(failed)} runs failed (run {int(first['run_id'])}: {first['error']})"
    errors = failed["error"].fillna("").astype(str)
    if errors.str.contains(r"^ValueError: model .*(?:cannot import module|has no function)", regex=True).all():
        return f"{text}: the model {model!r} could not be imported where the runs ran (check its name)"
    return f"{text}: `clustersim status OUT/runs` lists every failure"


def _group_sigma_note(problem: dict[str, Any]) -> str:
    """Morris with groups: SALib gives sigma NaN for a group of several factors; the note saying so."""
    if "groups" not in problem:
        return ""
    sizes: dict[str, int] = {}
    for g in problem["groups"]:
        sizes[g] = sizes.get(g, 0) + 1
    several = [g for g, k in sizes.items() if k > 1]
    if not several:
        return ""
    return (f"sigma is not defined for groups of several factors ({', '.join(several)}): its value is NaN, "
            "use mu_star")


def _enough_to_halve(method: str, problem: dict[str, Any], spec: SensitivitySpec, half: np.ndarray) -> bool:
    """Whether the first half of the usable design holds enough independent blocks (or points) to analyse."""
    block = _blocks(method, problem, spec.second_order)
    if block is not None:
        return int(half.sum()) // block >= MIN_HALF_BLOCKS
    need = max(MIN_HALF_ROWS, 4 * spec.interference) if method == "rbd_fast" else MIN_HALF_ROWS
    return int(half.sum()) >= need


def analyse(study: SensitivityStudy, index: pd.DataFrame, values: pd.DataFrame) -> SensitivityResult:
    """Indices of every output from the runs stored so far (``index``/``values``: the store's index and
    outputs tables)."""
    spec, problem, x = study.spec, study.problem, study.sample
    n = len(x)
    means, _, counts = _point_means(index, values, n, spec.outputs)
    seed = spec.seed + ANALYSIS_SEED_OFFSET
    runs_ok = int((index["status"] == "ok").sum()) if len(index) else 0
    all_idx, summaries, conv_rows, notes = [], [], [], []
    if len(index) and not runs_ok:
        notes.append(_all_failed(index, study.experiment.model))
    sigma_note = _group_sigma_note(problem) if spec.method == "morris" else ""
    for out in spec.outputs:
        y = means[out].to_numpy(dtype=np.float64)
        missing = int((~np.isfinite(y)).sum())
        share, common = _seed_shares(values, index, out)
        info: dict[str, Any] = {"output": out, "points": n, "points_missing": missing,
                                "runs_ok": int(counts[out].sum()) if out in counts else 0,
                                "seed_variance_share": share, "replication_variance_share": common,
                                "handling": "", "converged": None, "note": ""}
        remarks: list[str] = []  # said in the note whatever happens below
        if share > 1:
            remarks.append(f"seed variance share {share:.0%} above 100 %: estimator noise, the output hardly varies "
                           "between points (the seed dominates)")

        def done(note: str, info: dict[str, Any] = info, remarks: list[str] = remarks) -> None:
            info["note"] = "; ".join(t for t in (note, *remarks) if t)
            summaries.append(info)

        if out not in values.columns:
            info["handling"] = "not analysed"
            if runs_ok:
                done("no run returned this output")
                notes.append(f"{out}: no run returned this output (check its name)")
            else:
                done("no successful run")
            continue
        use, handling = _usable(spec.method, problem, spec, y)
        info["handling"] = handling or "none missing"
        if use is None:
            done(handling)
            notes.append(f"{out}: {handling}")
            continue
        if np.nanstd(y[use]) == 0:
            done("the output does not vary over the design: indices undefined")
            notes.append(f"{out}: constant over the design, not analysed")
            continue
        try:
            idx, warned = _salib_indices(spec.method, problem, x[use], y[use], spec, seed)
        except Exception as exc:  # noqa: BLE001 - SALib refuses a sample too small or degenerate for it
            done(f"not analysed: SALib failed: {type(exc).__name__}: {exc}")
            notes.append(f"{out}: not analysed: SALib failed: {type(exc).__name__}: {exc}")
            continue
        if spec.method == "fast":
            remarks.append("intervals indicative only (SALib's bootstrap is unreliable for FAST)")
        if sigma_note:
            remarks.append(sigma_note)
        if warned:
            remarks.append("SALib warned: " + " | ".join(warned[:3]) + (" | ..." if len(warned) > 3 else ""))
        idx.insert(0, "output", out)
        all_idx.append(idx)
        # convergence: the first half of the (independent) blocks or rows against all of them
        half = _half(spec.method, problem, spec, use)
        if half is None:
            done("convergence not checked (FAST's sample cannot be halved)")
            continue
        if not _enough_to_halve(spec.method, problem, spec, half):
            done("convergence not checked (too few points)")
            continue
        try:
            h, warned_half = _salib_indices(spec.method, problem, x[half], y[half], spec, seed)
        except Exception as exc:  # noqa: BLE001 - a half sample too small for the method
            done(f"convergence not checked: {type(exc).__name__}: {exc}")
            continue
        if warned_half:
            remarks.append("at N/2, SALib warned: " + " | ".join(warned_half[:3])
                           + (" | ..." if len(warned_half) > 3 else ""))
        m = idx.merge(h[["factor", "index", "value"]], on=["factor", "index"], suffixes=("", "_half"))
        m["moved"] = (m["value"] - m["value_half"]).abs()
        key = {"sobol": ("ST",), "fast": ("ST",), "morris": ("mu_star",)}.get(spec.method, None)
        sel = m[m["index"].isin(key)] if key else m
        scale = 1.0 if spec.method != "morris" else max(float(sel["value"].abs().max()), 1e-12)
        wide = bool((sel["conf"] / scale > WIDE_INTERVAL).any()) if sel["conf"].notna().any() else False
        moved = bool((sel["moved"] / scale > MOVED).any())
        info["converged"] = not (wide or moved)
        done("; ".join(t for t in ("wide intervals" if wide else "",
                                   "estimates moved between N/2 and N" if moved else "") if t))
        for r in m.itertuples():
            conv_rows.append({"output": out, "factor": r.factor, "index": r.index, "half": r.value_half,
                              "full": r.value, "moved": r.moved})
    indices = pd.concat(all_idx, ignore_index=True) if all_idx else pd.DataFrame(
        columns=["output", "factor", "index", "value", "conf"])
    z = indices["conf"]
    indices["low"] = indices["value"] - z
    indices["high"] = indices["value"] + z
    failed = int((index["status"] == "failed").sum()) if len(index) else 0
    expected = n * spec.replications
    if failed or len(index) < expected:
        notes.insert(0, f"{failed} failed and {expected - len(index)} not yet run of {expected} runs; points "
                        "without any successful replication are missing (see per-output handling)")
    return SensitivityResult(
        study={"name": spec.name, "method": spec.method, "samples": spec.samples, "points": n,
               "replications": spec.replications, "factors": problem["names"], "seed": spec.seed,
               "analysis_seed": seed, "identity": study.identity()},
        indices=indices, outputs=pd.DataFrame(summaries),
        convergence=pd.DataFrame(conv_rows, columns=["output", "factor", "index", "half", "full", "moved"]),
        notes=notes)


def _half(method: str, problem: dict[str, Any], spec: SensitivitySpec, use: np.ndarray) -> np.ndarray | None:
    if method == "fast":
        return None
    block = _blocks(method, problem, spec.second_order)
    n = len(use)
    if block is not None:
        n_blocks = n // block
        keep = np.zeros(n, dtype=bool)
        keep[: (n_blocks // 2) * block] = True
        return keep & use
    keep = np.zeros(n, dtype=bool)
    keep[: n // 2] = True
    return keep & use


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
    store = RunStore.open(out / RUNS_DIR)
    result = analyse(study, store.index(), store.outputs())
    return report, result


def study_hash(spec: SensitivitySpec) -> str:
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
