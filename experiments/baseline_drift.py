"""How far the baseline region drifts over a long run: the measurement the regional-economy issue starts from.

Runs the baseline scenario (``configs/baseline.yaml``) for ``--quarters`` quarters (200 by default: fifty
years), ``--replications`` paired replications under the scenario's root seed, and prints, for the indicators
a stationary region would keep level (employment, value added, export share, productivity relative to the
frontier, number of firms) and for the cluster population (member share, mean cluster size and age), the
mean across replications at quarters 0, 20, 40, 80, 120, 160 and 200 with its drift to the last quarter from
quarter 0 and from quarter 40 (a ratio for levels, a difference for shares), then writes the table as CSV if
``--out`` is given.

    python experiments/baseline_drift.py [--quarters 200] [--replications 4] [--workers 2] [--out drift.csv]

A few seconds on 2 cores with the defaults (300 firms).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import clustersim as cs  # noqa: E402

#: indicators read, and whether each is a share (its drift is a difference) or a level (a ratio)
LEVELS = ("employment", "value_added", "n_firms", "relative_productivity", "mean_cluster_size", "mean_cluster_age")
SHARES = ("export_share", "member_share")


def drift_table(ts: pd.DataFrame, quarters: list[int]) -> pd.DataFrame:
    """Mean across replications of each indicator at ``quarters``, and its drift from quarter 0."""
    mean = ts.groupby("step")[[*LEVELS, *SHARES]].mean()
    rows = []
    last_q = max(q for q in quarters if q in mean.index)
    for name in (*LEVELS, *SHARES):
        at = {f"q{q}": float(mean.loc[q, name]) for q in quarters if q in mean.index}
        row = {"indicator": name, **at}
        for start in (0, 40):  # from the start, and from the end of the initial shake-out (clusters exist)
            if start >= last_q or start not in mean.index:
                continue
            first, last = float(mean.loc[start, name]), at[f"q{last_q}"]
            if name in SHARES:
                row[f"drift_from_q{start}"] = f"{last - first:+.3f}"
            else:
                row[f"drift_from_q{start}"] = f"x {last / first:.2f}" if first else "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quarters", type=int, default=200)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    scenario = cs.load_scenario(ROOT / "configs" / "baseline.yaml", [f"simulation.steps={args.quarters}"])
    results = cs.run_scenario(scenario, replications=args.replications, workers=args.workers)
    quarters = [q for q in (0, 20, 40, 80, 120, 160, 200) if q <= args.quarters]
    if quarters[-1] != args.quarters:
        quarters.append(args.quarters)
    table = drift_table(results.timeseries(), quarters)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"baseline, {scenario.simulation.n_firms} firms, {args.replications} replications, root seed "
              f"{scenario.simulation.seed}: mean across replications")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out is not None:
        table.to_csv(args.out, index=False)
    values = table[[f"q{q}" for q in quarters]].to_numpy(dtype=float)
    return 0 if np.isfinite(values).all() else 1


if __name__ == "__main__":
    sys.exit(main())
