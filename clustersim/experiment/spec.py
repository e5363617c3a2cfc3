"""Experiment files: a base scenario, overrides, a design, replications, a root seed, outputs to keep.

An experiment file is YAML 1.2 or TOML, validated like scenario files (same located error messages)::

    name: fee_sweep
    base: ../configs/baseline.yaml        # a scenario file, relative to this file (default: the defaults)
    model: mypackage.models:my_model      # optional plug-in "module:function" (default: the clustersim model)
    overrides: {simulation.n_firms: 100}  # dotted parameter paths applied to the base
    design:
      kind: factorial                     # factorial | lhs | points
      factors: {clusters.membership_fee: [1.0, 2.0, 4.0], trust.loss_rate: [0.2, 0.4]}
    replications: 4
    seed: 2026
    steps: 40                             # optional: quarters per run (clustersim model)
    outputs: {timeseries: false}          # summaries are always kept

A Latin hypercube: ``design: {kind: lhs, samples: 64, factors: {path: {low: 0, high: 1, kind: float}}}``;
explicit points: ``design: {kind: points, points: [{path: value, ...}, ...]}``.

The clustersim model receives each design point's scenario: the base with the point's values, validated once,
here, when the file is read (a bad value is refused before anything runs), and not again by the runs.
A plug-in model is any function ``f(params: dict, seed: numpy.random.SeedSequence) -> Mapping[str, float]``
named by import path; it receives the design point's values and the overrides as a flat mapping of dotted
paths. Nothing in an experiment file is executed except that explicitly named function.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clustersim.scenario.errors import Loc
from clustersim.scenario.io import (
    ScenarioError,
    load_model_file_located,
    load_scenario,
    scenario_from_dict,
    scenario_to_dict,
)
from clustersim.scenario.schema import Scenario

if TYPE_CHECKING:  # numpy, pandas and scipy load once the file is known good: a refusal stays quick and small
    import pandas as pd

__all__ = ["ExperimentSpec", "Experiment", "ExperimentError", "load_experiment", "DEFAULT_MODEL"]

#: the built-in evaluation function (runs the clustersim model, returns its per-run summary)
DEFAULT_MODEL = "clustersim.experiment.evaluate:clustersim_model"


class ExperimentError(ValueError):
    """An experiment file that cannot be run; the message names the file and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactorRange(_Strict):
    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    kind: Literal["float", "int", "log"] = Field("float", description="scale of the factor")


class DesignSpec(_Strict):
    kind: Literal["factorial", "lhs", "points"]
    factors: dict[str, list[Any]] | dict[str, FactorRange] | None = None
    samples: int | None = Field(None, ge=1, le=10_000_000)
    points: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> DesignSpec:
        if self.kind == "factorial" and not (self.factors and all(isinstance(v, list) for v in self.factors.values())):
            raise ValueError("a factorial design needs 'factors': a mapping of parameter paths to lists of levels")
        if self.kind == "lhs":
            if not (self.factors and all(isinstance(v, FactorRange) for v in self.factors.values())):
                raise ValueError("an lhs design needs 'factors': a mapping of parameter paths to {low, high, kind}")
            if self.samples is None:
                raise ValueError("an lhs design needs 'samples' (the number of design points)")
        if self.kind == "points" and not self.points:
            raise ValueError("a points design needs 'points': a list of mappings of parameter paths to values")
        return self


class OutputsSpec(_Strict):
    timeseries: bool = Field(False, description="also keep every run's indicator time series")
    tables: list[Literal["clusters", "cluster_sizes", "spending", "network_nodes", "network_edges"]] = Field(
        default_factory=list, description="also keep these tables of every run (the built-in model's)")


#: the bounds of ``timeout_s`` (> 0 and at most a week) and ``memory_mb``, in files and on the command line
TIMEOUT_MAX_S = 7 * 86_400
MEMORY_MIN_MB, MEMORY_MAX_MB = 16, 2**24


def timeout_field() -> Any:
    """The ``timeout_s`` field of experiment and study files (not part of their identity, like ``chunk_size``)."""
    return Field(None, gt=0, le=TIMEOUT_MAX_S, description=(
        "seconds a run may take before it is stopped and recorded as 'timeout' (default: 20 times the longest "
        "run measured so far, at least 120 s; 1800 s before any run is measured)"))


def memory_field() -> Any:
    """The ``memory_mb`` field of experiment and study files (not part of their identity)."""
    return Field(None, ge=MEMORY_MIN_MB, le=MEMORY_MAX_MB, description=(
        "resident memory a worker may use, in MB, before its run is stopped and recorded as 'memory' "
        "(default: 80 % of this machine's memory, shared by the workers)"))


class ExperimentSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    base: str | None = Field(None, description="scenario file, relative to the experiment file")
    model: str | None = Field(None, description="plug-in evaluation function 'package.module:function'")
    overrides: dict[str, Any] = Field(default_factory=dict)
    design: DesignSpec
    replications: int = Field(1, ge=1, le=100_000)
    seed: int = Field(ge=0, le=2**63 - 1)
    steps: int | None = Field(None, ge=1, le=4000)
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)
    chunk_size: int | None = Field(None, ge=1, le=100_000, description="runs per task (default: automatic)")
    timeout_s: float | None = timeout_field()
    memory_mb: float | None = memory_field()


@dataclass
class Experiment:
    """A resolved experiment: everything a sweep needs, and its identity."""

    spec: ExperimentSpec
    source: str
    model: str
    base: Scenario | None  # None for a plug-in model
    points: pd.DataFrame
    # per design point, what the evaluation function receives: the built-in model's validated scenario, or a
    # plug-in's plain parameters
    params: Sequence[Scenario | dict[str, Any]]
    # resolved() and identity(), computed once: a study of 14,336 points describes itself in ~9 MB of JSON,
    # and a sweep asks for both several times (an experiment is not changed after resolution: ``params``,
    # built with it, are what runs)
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def builtin(self) -> bool:
        return self.model == DEFAULT_MODEL

    def resolved(self) -> dict[str, Any]:
        """A JSON-able description of what runs (recorded in the store; its hash is the identity)."""
        if "resolved" not in self._memo:
            self._memo["resolved"] = self._resolve()
        return dict(self._memo["resolved"])

    def _resolve(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "model": self.model,
            "base": scenario_to_dict(self.base) if self.base is not None else None,
            "overrides": self.spec.overrides,
            "design": self.spec.design.model_dump(mode="json"),
            "points": json.loads(self.points.to_json(orient="records")),
            "replications": self.spec.replications,
            "seed": self.spec.seed,
            "steps": self.spec.steps,
            "outputs": _outputs(self.spec.outputs),
            "seeding": "run (point p, replication r) uses numpy.random.SeedSequence(seed, spawn_key=(r,)): "
                       "common random numbers across points",
        }

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables each run keeps besides its outputs (the time series first, if kept)."""
        return (("timeseries",) if self.spec.outputs.timeseries else ()) + tuple(self.spec.outputs.tables)

    def identity(self) -> str:
        if "identity" not in self._memo:
            text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"), default=str)
            self._memo["identity"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self._memo["identity"]


def _outputs(outputs: OutputsSpec) -> dict[str, Any]:
    """The outputs' part of an experiment's description; without extra tables it is what it was before
    ``tables`` existed, so that the identity of every earlier store stays the same (and it resumes)."""
    described = outputs.model_dump(mode="json")
    if not described["tables"]:
        del described["tables"]
    return described


def _design_points(spec: ExperimentSpec) -> pd.DataFrame:
    from clustersim.experiment.designs import DesignError, Factor, explicit_points, full_factorial, latin_hypercube

    d = spec.design
    if d.kind == "factorial":
        return full_factorial(d.factors)  # type: ignore[arg-type]
    if d.kind == "lhs":
        factors: dict[str, Factor] = {}
        problems: list[str] = []
        for name, v in d.factors.items():  # type: ignore[union-attr]
            try:
                factors[name] = Factor(v.low, v.high, v.kind)  # type: ignore[union-attr]
            except DesignError as exc:
                problems.extend(f"{name}: {e}" for e in exc.errors)
        if problems:
            raise DesignError(problems)
        return latin_hypercube(factors, d.samples, spec.seed)  # type: ignore[arg-type]
    return explicit_points(d.points)  # type: ignore[arg-type]


#: the most runs (design points × replications) an experiment or study may ask for unless ``--max-runs``
#: raises it: far above any study of this project (the largest shipped: 7,168), far below what fills a disk
#: or a day by mistake
MAX_RUNS = 1_000_000


def design_size(design: DesignSpec) -> int:
    """The number of design points ``design`` makes, computed before making any."""
    if design.kind == "factorial":
        n = 1
        for levels in (design.factors or {}).values():
            n *= len(levels) if isinstance(levels, list) else 1
        return n
    if design.kind == "lhs":
        return int(design.samples or 0)
    return len(design.points or ())


def model_problem(model: str) -> str | None:
    """What is wrong with an evaluation function's import path, or None. A plug-in is imported here, to fail
    now if it cannot be: a path that cannot be imported would otherwise fail every run, after the whole design
    was queued (the function must be importable where the experiment is launched, as on the workers)."""
    if ":" not in model or not all(part.strip() for part in model.split(":", 1)):
        return f"model: {model!r} is not an import path (expected 'package.module:function')"
    if model == DEFAULT_MODEL:
        return None
    from clustersim.experiment.evaluate import resolve_model

    try:
        resolve_model(model)
    except ValueError as exc:  # resolve_model's message: "model 'path': what is wrong with it"
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the module itself fails on import
        return f"model: {model!r}: importing it failed: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


def check_runs(runs: int, max_runs: int | None, source: str, what: str) -> None:
    """Refuse ``runs`` above ``max_runs`` (default :data:`MAX_RUNS`) with a message saying how to raise it."""
    limit = MAX_RUNS if max_runs is None else int(max_runs)
    if runs > limit:
        raise ExperimentError(f"{source}: {what}: {runs:,} runs (allowed: at most {limit:,}; raise the limit with "
                              "--max-runs N, or max_runs= from Python, if this is what you mean)")


def load_experiment(path: str | os.PathLike[str], *, max_runs: int | None = None) -> Experiment:
    """Read, validate and resolve an experiment file; raise :class:`ExperimentError` (or
    :class:`~clustersim.scenario.errors.ScenarioError`) naming the file and every problem. A design of more
    than ``max_runs`` runs (default :data:`MAX_RUNS`) is refused before any point is made."""
    source = os.fspath(path)
    spec, line_of = load_model_file_located(path, ExperimentSpec)
    check_runs(design_size(spec.design) * spec.replications, max_runs, source,
               f"design of {design_size(spec.design):,} points × {spec.replications} replications")
    model = spec.model or DEFAULT_MODEL
    problem = model_problem(model)
    if problem is not None:
        line = line_of(("model",))
        raise ExperimentError(f"{source}:{line}: {problem}" if line is not None else f"{source}: {problem}")
    from clustersim.experiment.designs import DesignError, point_scenarios, validate_factors

    try:
        points = _design_points(spec)
    except DesignError as exc:
        raise _located(exc.errors, spec, source, line_of) from None
    if model != DEFAULT_MODEL:
        fixed = dict(spec.overrides)
        params = [{**fixed, **{k: v for k, v in row.items() if k != "point_id"}}
                  for row in points.to_dict(orient="records")]
        return Experiment(spec, source, model, None, points, params)
    line = line_of(("overrides",))
    origin = f"{source}:{line}: overrides:" if line is not None else f"{source}: overrides:"
    try:
        if spec.base is not None:
            base_path = Path(source).parent / spec.base
            base = load_scenario(base_path, [f"{k}={_text(v)}" for k, v in spec.overrides.items()],
                                 override_source=origin)
        else:
            base = scenario_from_dict(scenario_to_dict(Scenario()), source=f"{source}: overrides",
                                      overrides=[f"{k}={_text(v)}" for k, v in spec.overrides.items()],
                                      override_source=origin)
        if spec.steps is not None:
            base.simulation.steps = spec.steps
    except ScenarioError as exc:  # the base's own errors name the base file: say which experiment uses it
        raise ExperimentError(str(exc) if str(exc).startswith(source) else f"{source}: {exc}") from None
    try:
        validate_factors([c for c in points.columns if c != "point_id"])
        scenarios = [scenario for _, scenario in point_scenarios(base, points)]
    except DesignError as exc:
        raise _located(exc.errors, spec, source, line_of) from None
    return Experiment(spec, source, model, base, points, scenarios)


_POINT = re.compile(r"\bpoint (\d+)\b")


def _located(problems: Sequence[str], spec: ExperimentSpec, source: str, line_of: Callable[[Loc], int | None]
             ) -> ExperimentError:
    """An :class:`ExperimentError` with one line per design problem, each naming the line of the file it is
    about: the explicit point it names (and the field, where the message names one), or the factor."""
    lines = []
    for problem in problems:
        line = _design_line(problem, spec, line_of)
        where = f"{source}:{line}" if line is not None else source
        lines.append(f"{where}: {problem}" if problem.startswith("design") else f"{where}: design: {problem}")
    return ExperimentError("\n".join(lines))


def _design_line(problem: str, spec: ExperimentSpec, line_of: Callable[[Loc], int | None]) -> int | None:
    """The line of the design's part that ``problem`` (a message of :mod:`~clustersim.experiment.designs`)
    is about; the design's own line when no part is named."""
    design = spec.design
    match = _POINT.search(problem)
    if design.kind == "points" and design.points and match and int(match.group(1)) < len(design.points):
        i = int(match.group(1))
        named = [k for k in design.points[i] if f"{k}:" in problem]
        return line_of(("design", "points", i, max(named, key=len)) if named else ("design", "points", i))
    named = [k for k in (design.factors or {}) if f"{k}:" in problem or problem.startswith(k)]
    if named:
        return line_of(("design", "factors", max(named, key=len)))
    for i, point in enumerate(design.points or ()):
        named = [k for k in point if problem.startswith(f"{k}:")]
        if named:
            return line_of(("design", "points", i, named[0]))
    return line_of(("design",))


def _text(value: Any) -> str:
    """An override value as the text ``--set`` would parse back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
