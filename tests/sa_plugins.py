"""Plug-in models for tests/test_sensitivity.py, named by import path (``sa_plugins:...``) like tests/plugin_models.py:
pytest puts tests/ on sys.path, and the local executor's workers (fork or forkserver) inherit it."""

from __future__ import annotations

import os

from clustersim.studies.analytic import ishigami

#: while this environment variable is set, :func:`ishigami_fails_high_x1` fails where x1 > 3.0
FAIL_ENV = "CLUSTERSIM_SA_TEST_FAIL"


def ishigami_fails_high_x1(params, seed):
    """The Ishigami function, failing on design points whose x1 exceeds 3.0 (about 2 % of U(-π, π)) while
    :data:`FAIL_ENV` is set; unset it and ``--retry-failed`` heals the study."""
    if os.environ.get(FAIL_ENV) and params["x1"] > 3.0:
        raise RuntimeError(f"x1 = {params['x1']} is too large for this model")
    return ishigami(params, seed)



def seed_probe(params, seed):
    """The Ishigami function, and the seed the run received (its root entropy and spawn key)."""
    return {"y": ishigami(params)["y"], "entropy": float(seed.entropy), "spawn_key": float(seed.spawn_key[-1]),
            "spawn_depth": float(len(seed.spawn_key))}
