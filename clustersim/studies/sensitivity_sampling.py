"""A sensitivity study's design: the SALib problem of its factors, the sample SALib draws from the study's seed,
the design points the experiment runs and the design's independent blocks (the design sizes of each method are
listed in :mod:`clustersim.studies.sensitivity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from clustersim.studies.sensitivity_spec import SensitivitySpec

__all__: list[str] = []  # helpers of clustersim.studies.sensitivity and sensitivity_analysis


def _problem(spec: SensitivitySpec) -> dict[str, Any]:
    """SALib's problem: the factors' names, distributions and parameters (and groups, when every factor has one)."""
    fs = spec.factor_specs()
    problem: dict[str, Any] = {"num_vars": len(fs), "names": list(fs), "bounds": [f.bounds for f in fs.values()],
                               "dists": [f.dist for f in fs.values()]}
    groups = [f.group for f in fs.values()]
    if all(g is not None for g in groups):
        problem["groups"] = groups
    return problem


def _sample(spec: SensitivitySpec, problem: dict[str, Any]) -> np.ndarray:
    """The design matrix SALib draws for the method from the study's seed, one row per point ('int' factors
    rounded)."""
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
    """The design points table: ``point_id`` and one column per factor (integers for 'int' factors)."""
    cols: dict[str, Any] = {"point_id": np.arange(len(x), dtype=np.int64)}
    for j, name in enumerate(names):
        cols[name] = x[:, j].astype(np.int64) if kinds[j] == "int" else x[:, j]
    return pd.DataFrame(cols)


def _cast(values: np.ndarray, kinds: Sequence[str]) -> list[Any]:
    """One row of the design as Python numbers (``int`` for 'int' factors, else ``float``)."""
    return [int(v) if k == "int" else float(v) for v, k in zip(values, kinds, strict=True)]


def _blocks(method: str, problem: dict[str, Any], second_order: bool) -> int | None:
    """Rows per independent block of the design (Sobol': one base sample; Morris: one trajectory)."""
    d = len(set(problem["groups"])) if "groups" in problem else problem["num_vars"]
    if method == "sobol":
        return 2 * d + 2 if second_order else d + 2
    if method == "morris":
        return d + 1
    return None
