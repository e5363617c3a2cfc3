"""Plug-in evaluation functions for the sweep tests (named by import path in experiment files)."""

from __future__ import annotations

import time

import numpy as np


def noisy_sum(params, seed):
    """A test function: the sum of the parameters plus seeded noise."""
    rng = np.random.default_rng(seed)
    return {"y": float(sum(params.values())) + float(rng.normal()), "x_count": float(len(params))}


def slow_noisy_sum(params, seed):
    time.sleep(0.05)
    return noisy_sum(params, seed)


def fails_above(params, seed):
    """Fails on design points whose ``a`` exceeds 2."""
    if params["a"] > 2:
        raise RuntimeError(f"a = {params['a']} is too large for this model")
    return noisy_sum(params, seed)


def ishigami_failing_high_x1(params, seed):
    """The Ishigami function, failing on design points whose x1 exceeds 2.8 (missing points for the analysis)."""
    from clustersim.studies.analytic import ishigami

    if params["x1"] > 2.8:
        raise RuntimeError(f"x1 = {params['x1']} is too large for this model")
    return ishigami(params, seed)


def nan_above_half(params, seed):
    """A test function that gives NaN (and an infinite second output) for a > 0.5, finite values otherwise."""
    a = float(params["a"])
    if a > 0.5:
        return {"y": float("nan"), "z": float("inf")}
    return {"y": a + float(np.random.default_rng(seed).normal()), "z": a}
