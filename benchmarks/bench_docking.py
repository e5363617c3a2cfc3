"""The docking suite over a grid of parameters: each case's analytic values against the simulated ones, the
deviations, the time each took, and the figures.

Every parameter set runs with the command's default settings (``clustersim docking CASE --set ...``), unless
the grid says otherwise. The reference, measured in the same run, is the default scenario's model: the docking
runs' cost per firm-quarter is given as a ratio to it.

    python benchmarks/bench_docking.py [--out results/docking-bench] [--workers 2] [--figures docs/figures]

Writes ``summary.json``, ``table.md`` (the table of docs/ODD.md's "Docking" section and the README) and one
figure per parameter set into ``--out``; with ``--figures``, the three cases' first parameter sets' figures as
``docking_<case>.png`` there. About 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clustersim.experiment.executors import default_workers  # noqa: E402
from clustersim.model.model import ClusterModel  # noqa: E402
from clustersim.reports.docking import docking_figure, result_json  # noqa: E402
from clustersim.scenario.schema import Scenario  # noqa: E402
from clustersim.studies.docking.cases import run_case  # noqa: E402

#: the grid: at least five parameter sets per case, the first drawn in the README
GRID: dict[str, list[dict[str, object]]] = {
    "threshold_cascade": [
        {"thresholds": "normal:25,12"},  # Granovetter's example: 100 actors near the tipping point (sd 12.2)
        {"thresholds": ",".join(str(i) for i in range(100))},  # the riot: each recruits the next
        {"thresholds": "0,2," + ",".join(str(i) for i in range(2, 100))},  # the 1 replaced by a 2
        {"thresholds": "normal:250,100", "actors": 1000},
        {"thresholds": "normal:250,122", "actors": 1000},  # next to the tipping point: a finite sample may tip
        {"thresholds": "normal:250,150", "actors": 1000},
        {"thresholds": "normal:400,300", "actors": 1000},
        {"thresholds": "uniform:0,1100", "actors": 1000},
    ],
    "stag_hunt": [
        {"group_size": 10, "threshold": 5, "enhancement": 8.0},
        {"group_size": 6, "threshold": 3, "enhancement": 5.0},
        {"group_size": 20, "threshold": 10, "enhancement": 15.0},
        {"group_size": 12, "threshold": 6, "enhancement": 10.0},
        {"group_size": 10, "threshold": 3, "enhancement": 9.0},
        {"group_size": 10, "threshold": 3, "enhancement": 9.0, "replicates": 24},  # the same, four times the runs
        {"group_size": 15, "threshold": 5, "enhancement": 10.0},
        {"group_size": 10, "threshold": 5, "enhancement": 5.0},  # below F*: no interior roots
    ],
    "collective_risk": [
        {"group_size": 6, "threshold": 3, "cost": 0.1, "risk": 0.6},
        {"group_size": 4, "threshold": 2, "cost": 0.1, "risk": 0.5},
        {"group_size": 10, "threshold": 5, "cost": 0.1, "risk": 0.7},
        {"group_size": 8, "threshold": 4, "cost": 0.1, "risk": 0.6},
        {"group_size": 6, "threshold": 2, "cost": 0.15, "risk": 0.5},
        {"group_size": 12, "threshold": 6, "cost": 0.05, "risk": 0.5},
        {"group_size": 6, "threshold": 3, "cost": 0.1, "risk": 0.2},  # below r*: no interior roots
    ],
}


def reference_cost(firms: int = 1000, quarters: int = 40) -> float:
    """Seconds per firm-quarter of the default scenario's model (the same run's reference)."""
    s = Scenario()
    s.simulation.n_firms = firms
    m = ClusterModel(s, rng=1, agents=False, collect=False)
    t0 = time.perf_counter()
    m.run(quarters)
    return (time.perf_counter() - t0) / (firms * quarters)


def _fmt(v: object) -> str:
    if v is None:
        return "unresolved"
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:.3f}" for x in v) + "]" if v else "none"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def _params(case: str, p: dict[str, object]) -> str:
    if case == "threshold_cascade":
        t = str(p["thresholds"])
        t = t if len(t) < 24 else t[:10] + "…" + t[-6:]
        return f"{t}, {p['actors']} actors"
    names = {"group_size": "N", "threshold": "M", "enhancement": "F", "cost": "c", "risk": "r"}
    return ", ".join(f"{names[k]}={v}" for k, v in p.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "docking-bench")
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--figures", type=Path, help="also write docking_<case>.png of each case's first set here")
    ap.add_argument("--cases", nargs="*", default=list(GRID))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ref = reference_cost()
    rows, lines = [], ["| case | parameters | measured | analytic | simulated | deviation | tolerance | agrees | s |",
                       "|---|---|---|---|---|---|---|---|---|"]
    for case in args.cases:
        for k, given in enumerate(GRID[case]):
            result = run_case(case, {**given, "workers": args.workers})
            d = json.loads(result_json(result))
            fq = d["details"].get("firm_quarters")
            cost = result.seconds * args.workers / fq if fq else None
            rows.append({**d, "cost_per_firm_quarter_s": cost, "reference_s": ref,
                         "ratio_to_reference": cost / ref if cost else None})
            label = _params(case, d["parameters"])
            settings = {k: v for k, v in given.items() if k not in d["parameters"] and k not in ("thresholds",)}
            if settings:
                label += " (" + ", ".join(f"{k}={v}" for k, v in settings.items() if k != "actors") + ")" \
                    if any(k != "actors" for k in settings) else ""
            for key in d["analytic"]:
                verdict = {True: "yes", False: "**no**", None: "unresolved"}[d["agrees"][key]]
                dev = d["deviation"][key]
                rel = " (rel.)" if key == "critical" else ""
                lines.append(f"| {case} | {label} | {key} | {_fmt(d['analytic'][key])} | "
                             f"{_fmt(d['simulated'][key])} | {_fmt(dev)}{rel if dev is not None else ''} | "
                             f"{_fmt(d['tolerance'][key])} | {verdict} | {result.seconds:.0f} |")
            print(lines[-1] if len(d["analytic"]) == 1 else "\n".join(lines[-2:]), flush=True)
            fig = docking_figure(result)
            fig.savefig(args.out / f"{case}_{k}.png", dpi=110)
            if k == 0 and args.figures is not None:
                fig.savefig(args.figures / f"docking_{case}.png", dpi=100)
            plt.close(fig)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    agree = sum(v is True for r in rows for v in r["agrees"].values())
    total = sum(len(r["agrees"]) for r in rows)
    unresolved = sum(v is None for r in rows for v in r["agrees"].values())
    costs = [r["ratio_to_reference"] for r in rows if r["ratio_to_reference"]]
    footer = (f"\n{agree} of {total} measurements agree within tolerance, {unresolved} unresolved; "
              f"{args.workers} workers; docking runs cost {min(costs):.2f}–{max(costs):.2f} × the default "
              f"scenario's model per firm-quarter ({ref * 1e6:.2f} µs)." if costs else "")
    (args.out / "table.md").write_text("\n".join(lines) + "\n" + footer + "\n")
    print(footer)
    print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
