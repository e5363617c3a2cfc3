"""What a sensitivity study is: the validated study file (:class:`SensitivitySpec`, one :class:`FactorSpec` per
factor) and the resolved study (:class:`SensitivityStudy`: its SALib problem, sample and experiment).

The file's format is described in :mod:`clustersim.studies.sensitivity`, which reads and resolves it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.experiment.spec import Experiment, ExperimentError, check_runs, memory_field, timeout_field

__all__ = ["METHODS", "FactorSpec", "SensitivityError", "SensitivitySpec", "SensitivityStudy", "study_hash"]

METHODS = ("sobol", "morris", "fast", "rbd_fast", "pawn", "delta")


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
    timeout_s: float | None = timeout_field()
    memory_mb: float | None = memory_field()

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


def sample_size(spec: SensitivitySpec) -> int:
    """The number of design points the method draws for ``spec`` (D: factors, or groups when there are),
    computed before drawing any: Sobol' N·(D+2) (N·(2D+2) with second order), Morris N·(D+1), FAST N·D,
    RBD-FAST, PAWN and delta N."""
    fs = spec.factor_specs()
    groups = {f.group for f in fs.values()}
    d = len(groups) if None not in groups else len(fs)
    n = spec.samples
    return {"sobol": n * (2 * d + 2 if spec.second_order else d + 2), "morris": n * (d + 1),
            "fast": n * d}.get(spec.method, n)


def check_study_runs(spec: SensitivitySpec, source: str, max_runs: int | None) -> None:
    """Refuse a study of more than ``max_runs`` runs (default :data:`~clustersim.experiment.spec.MAX_RUNS`)
    before anything is drawn."""
    try:
        check_runs(sample_size(spec) * spec.replications, max_runs, source,
                   f"{spec.method} design of {sample_size(spec):,} points × {spec.replications} replications")
    except ExperimentError as exc:
        raise SensitivityError(str(exc)) from None


def read_study(path: str | os.PathLike[str], *, max_runs: int | None = None) -> SensitivitySpec:
    """Read and validate a sensitivity file and check its size, with nothing drawn and neither SALib nor pandas
    loaded (a refused file is refused quickly): :func:`~clustersim.studies.sensitivity.resolve_study` then
    makes the study."""
    from clustersim.scenario.io import load_model_file

    spec: SensitivitySpec = load_model_file(path, SensitivitySpec)
    check_study_runs(spec, os.fspath(path), max_runs)
    return spec


def study_hash(spec: SensitivitySpec) -> str:
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
