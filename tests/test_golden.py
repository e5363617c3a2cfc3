"""Golden regression: a short seeded baseline run must reproduce a small committed table.

The table is ``tests/golden/baseline_short.csv`` (every indicator, every quarter, 60 firms × 16 quarters after
the default warm-up, root seed 2026, replication 0). A deliberate change of the model's behaviour changes it;
regenerate it with

    CLUSTERSIM_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

then review the diff of the CSV (it is readable) and commit it with the change that explains it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from helpers import small_scenario

from clustersim import INDICATORS, run_replication
from clustersim.scenario.schema import Scenario

GOLDEN = Path(__file__).parent / "golden" / "baseline_short.csv"


def _run() -> pd.DataFrame:
    s = small_scenario(n_firms=60, steps=16, warmup=Scenario().simulation.warmup)
    return run_replication(s, 2026, 0, catch=False).timeseries


def test_golden_baseline_short_run():
    ts = _run()
    if os.environ.get("CLUSTERSIM_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        ts.to_csv(GOLDEN, index=False, float_format="%.12g")
    golden = pd.read_csv(GOLDEN)
    assert list(golden.columns) == list(ts.columns), "indicator set changed: regenerate the golden file"
    assert len(golden) == len(ts) == 17
    for name in ["step", *INDICATORS]:
        np.testing.assert_allclose(ts[name].to_numpy(dtype=float), golden[name].to_numpy(dtype=float),
                                   rtol=1e-9, atol=1e-9, err_msg=name)
    # the golden run is not trivial: clusters formed and firms met in them
    assert golden["clusters_formed"].iloc[-1] + golden["n_clusters"].iloc[0] > 0
    assert golden["member_share"].max() > 0
