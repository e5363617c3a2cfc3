"""How far the baseline region drifts over a long observed run: the stationarity figures of the README and ODD.

Runs the baseline scenario (``configs/baseline.yaml``) for ``--quarters`` observed quarters (200 by default:
fifty years) after its warm-up, ``--replications`` paired replications under the scenario's root seed, and
prints, for the indicators a stationary region keeps level (employment, value added, number of firms,
productivity relative to the frontier, export share, the wage and unemployment) and for the cluster population
(member share, number, mean size and age of clusters), the mean across replications over the first 40 observed
quarters and over the last 40, and the drift between them (a ratio for levels, a difference for shares).
``--figure`` draws the indicators over time, the warm-up included (shaded), mean and 10-90 % band across
replications; ``--out`` writes the table as CSV.

    python experiments/baseline_drift.py [--quarters 200] [--replications 8] [--workers 2] [--out drift.csv]
                                         [--figure docs/figures/baseline_drift.png]

About 10 s on 2 cores with the defaults (300 firms).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import clustersim as cs  # noqa: E402

#: indicators read, and whether each is a share (its drift is a difference) or a level (a ratio)
LEVELS = ("employment", "value_added", "n_firms", "relative_productivity", "wage", "n_clusters",
          "mean_cluster_size", "mean_cluster_age")
SHARES = ("export_share", "unemployment_rate", "member_share")
#: the panels of the figure
SHOWN = ("employment", "value_added", "n_firms", "relative_productivity", "export_share", "wage",
         "member_share", "n_clusters", "mean_cluster_age")
WINDOW = 40


def drift_table(ts: pd.DataFrame, quarters: int) -> pd.DataFrame:
    """Mean across replications over the first and the last ``WINDOW`` observed quarters, and the drift."""
    mean = ts[ts["step"] >= 0].groupby("step")[[*LEVELS, *SHARES]].mean()
    first, last = mean.loc[0:WINDOW].mean(), mean.loc[quarters - WINDOW: quarters].mean()
    rows = []
    for name in (*LEVELS, *SHARES):
        drift = (f"{last[name] - first[name]:+.3f}" if name in SHARES
                 else f"x {last[name] / first[name]:.3f}" if first[name] else "n/a")
        rows.append({"indicator": name, f"q0-{WINDOW}": first[name],
                     f"q{quarters - WINDOW}-{quarters}": last[name], "drift": drift})
    return pd.DataFrame(rows)


def figure(ts: pd.DataFrame, path: Path, title: str) -> None:
    fig, axes = plt.subplots(3, 3, figsize=(12, 8), sharex=True)
    for ax, name in zip(axes.flat, SHOWN, strict=True):
        by_step = ts.groupby("step")[name]
        mean, low, high = by_step.mean(), by_step.quantile(0.1), by_step.quantile(0.9)
        ax.fill_between(mean.index, low, high, alpha=0.25, color="tab:blue", lw=0)
        ax.plot(mean.index, mean, color="tab:blue", lw=1.2)
        ax.axvspan(mean.index.min(), 0, color="0.85", lw=0)
        ax.set_title(f"{name} ({cs.INDICATORS[name].unit})", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("quarter (shaded: warm-up, no policy)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quarters", type=int, default=200)
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--figure", type=Path)
    args = ap.parse_args()
    if args.quarters < 2 * WINDOW:
        ap.error(f"--quarters must be at least {2 * WINDOW}")
    scenario = cs.load_scenario(ROOT / "configs" / "baseline.yaml",
                                [f"simulation.steps={args.quarters}", "simulation.record_warmup=true"])
    results = cs.run_scenario(scenario, replications=args.replications, workers=args.workers)
    ts = results.timeseries()
    table = drift_table(ts, args.quarters)
    head = (f"baseline, {scenario.simulation.n_firms} firms, warm-up {scenario.simulation.warmup} quarters, "
            f"{args.replications} replications, root seed {scenario.simulation.seed}")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"{head}: mean across replications")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out is not None:
        table.to_csv(args.out, index=False)
    if args.figure is not None:
        figure(ts, args.figure, f"{head}: mean and 10-90 % band")
        print(f"figure: {args.figure}")
    values = table.iloc[:, 1:3].to_numpy(dtype=float)
    return 0 if np.isfinite(values).all() else 1


if __name__ == "__main__":
    sys.exit(main())
