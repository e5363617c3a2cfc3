"""Clusters' survival by age, their hazard of dissolution and their size distribution, with the life cycle's
feedbacks off (the default) and on (ODD 7.21).

Runs the baseline (``configs/baseline.yaml``) for ``--quarters`` observed quarters after its warm-up,
``--replications`` replications, twice: as it is, and with the life cycle's feedbacks switched on
(``clusters.lock_in_diversity``, ``decline_hazard``, ``decline_discount``, ``reorientation_rate`` at the values
below). Prints, for each, the hazard of dissolution by year of cluster age with its 95 % interval and the
survival to each age (:func:`clustersim.studies.lifecycle.hazard_table`: clusters formed in the warm-up enter
at the age they had at quarter 0), and the size distribution of live clusters at ``--size-quarter`` (median,
90th percentile, largest) with the share of firms that are members. ``--figure`` draws survival and hazard.

    python experiments/cluster_lifecycle.py [--quarters 200] [--replications 8] [--workers 2]
                                            [--figure docs/figures/cluster_lifecycle.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import clustersim as cs  # noqa: E402
from clustersim.studies.lifecycle import hazard_table, size_distribution  # noqa: E402

#: the life cycle's feedbacks, switched on
FEEDBACKS = ["clusters.lock_in_diversity=0.08", "clusters.decline_hazard=0.05", "clusters.decline_discount=0.5",
             "clusters.reorientation_rate=0.05"]


def measure(overrides: list[str], args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, float]]:
    scenario = cs.load_scenario(ROOT / "configs" / "baseline.yaml", [f"simulation.steps={args.quarters}",
                                                                     *overrides])
    results = cs.run_scenario(scenario, replications=args.replications, workers=args.workers)
    table = hazard_table(results.clusters(), args.quarters, band=4, max_age=args.quarters + 40)
    sizes = results.cluster_sizes()
    at = sizes[sizes["step"] == args.size_quarter]["size"].to_numpy()
    ts = results.timeseries()
    dist = size_distribution(at)
    dist["n"] /= args.replications  # clusters per run
    dist["member_share"] = float(ts.loc[ts["step"] == args.size_quarter, "member_share"].mean())
    return table, dist


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quarters", type=int, default=200)
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size-quarter", type=int, default=80)
    ap.add_argument("--figure", type=Path)
    args = ap.parse_args()
    cases = {"feedbacks off (default)": [], "feedbacks on": FEEDBACKS}
    measured = {name: measure(overrides, args) for name, overrides in cases.items()}
    for name, (table, dist) in measured.items():
        print(f"\n{name}: hazard of dissolution by year of cluster age (per quarter), survival from age 0")
        shown = table[(table["exposure"] >= 40) & (table["age_from"] < 80)].copy()  # the first 20 years
        shown["year"] = shown["age_from"] // 4 + 1
        print(shown[["year", "exposure", "dissolved", "hazard", "hazard_low", "hazard_high", "survival"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"live clusters at quarter {args.size_quarter}: {dist['n']:.1f} per run, median size "
              f"{dist['median']:.0f}, 90th percentile {dist['p90']:.0f}, largest {dist['largest']:.0f}; "
              f"member share {dist['member_share']:.2f}")
    if args.figure is not None:
        fig, (ax_s, ax_h) = plt.subplots(1, 2, figsize=(11, 4))
        for name, (table, _) in measured.items():
            t = table[table["exposure"] >= 40]
            years = t["age_to"] / 4
            ax_s.step(years, t["survival"], where="post", label=name)
            ax_h.errorbar(t["age_from"] / 4 + 0.5, t["hazard"],
                          yerr=[t["hazard"] - t["hazard_low"], t["hazard_high"] - t["hazard"]], fmt="o-", ms=3,
                          capsize=2, label=name)
        ax_s.set(xlabel="cluster age (years)", ylabel="survival from age 0", ylim=(0, 1.02))
        ax_h.set(xlabel="cluster age (years)", ylabel="hazard of dissolution (per quarter)")
        for ax in (ax_s, ax_h):
            ax.axvline(3, color="0.6", lw=0.8, ls="--")
            ax.legend(fontsize=8)
        fig.suptitle(f"baseline, {args.replications} replications of {args.quarters} observed quarters", fontsize=10)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=110)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
