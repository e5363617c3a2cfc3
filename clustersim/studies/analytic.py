"""Test functions with known Sobol' indices, usable as plug-in models of the experiment engine.

They validate the sensitivity-analysis pipeline end to end (``clustersim sensitivity`` with
``model: clustersim.studies.analytic:ishigami``): the indices it recovers must match the analytic ones.

- Ishigami & Homma (1990): ``Y = sin x1 + a sin² x2 + b x3⁴ sin x1``, ``x_i ~ U(−π, π)``.
- Sobol' G-function (Saltelli & Sobol' 1995): ``Y = Π_i (|4 x_i − 2| + a_i) / (1 + a_i)``, ``x_i ~ U(0, 1)``.

Plug-in signature: ``f(params, seed) -> {"y": value}``; ``params`` maps ``x1``, ``x2``, ... to values. An
optional ``noise`` parameter adds ``noise · N(0, 1)`` drawn from the run's seed and the point (a stochastic
model whose seed variance the analysis must report).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["G_DEFAULT_A", "g_function", "g_function_indices", "ishigami", "ishigami_indices"]

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
#: the G-function's coefficients used by the validation: two important, two moderate, two negligible factors
G_DEFAULT_A = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0)


def _noise(params: Mapping[str, Any], seed: np.random.SeedSequence | None) -> float:
    """``noise · z``, z ~ N(0, 1) drawn from the run's seed *and* the point's values: the experiment engine
    gives every point the same seed for a replication (common random numbers), and a noise that depended on
    the seed alone would shift all points alike, as no real model's randomness does."""
    sd = float(params.get("noise", 0.0))
    if sd <= 0:
        return 0.0
    values = np.array([float(v) for k, v in sorted(params.items()) if k != "noise"], dtype=np.float64)
    point = int.from_bytes(hashlib.sha256(values.tobytes()).digest()[:8], "little")
    entropy = seed.entropy if seed is not None else 0
    key = tuple(seed.spawn_key) if seed is not None else ()
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(*key, point)))
    return sd * float(rng.standard_normal())


def ishigami(params: Mapping[str, Any], seed: np.random.SeedSequence | None = None) -> dict[str, float]:
    """The Ishigami function of ``x1``, ``x2``, ``x3`` (a = 7, b = 0.1), plus optional seed noise."""
    x1, x2, x3 = (float(params[f"x{i}"]) for i in (1, 2, 3))
    y = np.sin(x1) + ISHIGAMI_A * np.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * np.sin(x1)
    return {"y": float(y) + _noise(params, seed)}


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, dict[str, float]]:
    """Analytic first-order (S1) and total (ST) indices of x1, x2, x3."""
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": {"x1": v1 / v, "x2": v2 / v, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v}}


def g_function(params: Mapping[str, Any], seed: np.random.SeedSequence | None = None) -> dict[str, float]:
    """Sobol' G-function of ``x1`` ... ``xd`` with coefficients ``a1`` ... ``ad`` (default
    :data:`G_DEFAULT_A`), plus optional seed noise."""
    d = len(G_DEFAULT_A)
    xs = [float(params[f"x{i + 1}"]) for i in range(d)]
    a = [float(params.get(f"a{i + 1}", G_DEFAULT_A[i])) for i in range(d)]
    y = 1.0
    for x, ai in zip(xs, a, strict=True):
        y *= (abs(4 * x - 2) + ai) / (1 + ai)
    return {"y": y + _noise(params, seed)}


def g_function_indices(a: Sequence[float] = G_DEFAULT_A) -> dict[str, dict[str, float]]:
    """Analytic S1 and ST of the G-function: ``V_i = 1 / (3 (1 + a_i)²)``, ``V = Π (1 + V_i) − 1``."""
    vi = np.array([1 / (3 * (1 + ai) ** 2) for ai in a])
    v = float(np.prod(1 + vi) - 1)
    s1 = vi / v
    st = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) / v for i in range(len(vi))])
    names = [f"x{i + 1}" for i in range(len(vi))]
    return {"S1": dict(zip(names, s1.tolist(), strict=True)), "ST": dict(zip(names, st.tolist(), strict=True))}
