"""Calibration check of configs/call_for_projects.yaml against the grappes d'entreprises facts.

Runs the scenario (default 16 replications on all cores), prints the comparison table (Markdown) and writes
the figure used by docs/calibration.md:

    .venv/bin/python experiments/calibration_grappes.py [--replications 16] [--out docs/figures/calibration.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clustersim.experiment.runner import run_scenario
from clustersim.plots.calibration import plot_calibration
from clustersim.scenario.io import load_scenario
from clustersim.studies.calibration import compare_with_facts, programme_metrics

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "configs" / "call_for_projects.yaml"))
    ap.add_argument("--replications", type=int, default=16)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument("--out", default=str(ROOT / "docs" / "figures" / "calibration.png"))
    args = ap.parse_args()
    scenario = load_scenario(args.scenario, args.overrides)
    results = run_scenario(scenario, replications=args.replications)
    metrics = programme_metrics(results.clusters(), results.cluster_sizes(), results.spending(),
                                results.timeseries(), scenario.simulation.steps)
    table = compare_with_facts(metrics)
    print(metrics.describe().T[["mean", "std", "min", "max"]].to_string())
    print()
    print("| quantity | published | model mean [95 % CI] | in band |")
    print("|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.label} ({r.unit}) | {r.fact:g} (band {r.band_low:g}–{r.band_high:g}) | "
              f"{r.model:.3g} [{r.model_low:.3g}, {r.model_high:.3g}] (n={r.n}) | {'yes' if r.in_band else 'no'} |")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_calibration(table)
        fig.savefig(args.out, dpi=120)
        print(f"\nfigure: {args.out}")


if __name__ == "__main__":
    main()
