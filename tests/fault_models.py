"""Plug-in models that do not raise but crash, hang, exhaust memory or return NaN (for tests/test_faults.py).

``faulty`` behaves like ``clean`` except on the design points whose ``fault`` parameter names a fault; ``clean``
ignores ``fault``: the runs of the other points must come out of a faulty sweep bit-identical to a clean one.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np

#: the most the memory hog allocates: far past any limit the tests set, far below what would hurt the machine;
#: if it gets there, containment failed and the run says so
HOG_CAP = 6 * 2**30


def clean(params, seed):
    rng = np.random.default_rng(seed)
    return {"y": float(params["a"]) + float(rng.normal()), "z": float(rng.uniform())}


def faulty(params, seed):
    fault = params.get("fault", "none")
    if fault == "exit":
        os._exit(3)
    if fault == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if fault == "sleep":
        time.sleep(3600)
    if fault == "hog":
        hoard, held = [], 0
        while held < HOG_CAP:
            hoard.append(np.ones(2**23))  # 64 MiB, written
            held += hoard[-1].nbytes
        raise RuntimeError("the memory hog was not contained")
    if fault == "nan":
        return {"y": float("nan"), "z": 0.0}
    return clean(params, seed)


def ishigami_exits_high_x1(params, seed):
    """The Ishigami function, but the process exits (code 5) where x1 > 3.0: a plug-in that crashes on part of a
    sensitivity study's design."""
    from clustersim.studies.analytic import ishigami

    if params["x1"] > 3.0:
        os._exit(5)
    return ishigami(params, seed)
