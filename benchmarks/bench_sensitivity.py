"""The issue's sensitivity benchmark: a Sobol' analysis of 12 factors, N = 1024 (first and total order,
14,336 runs), one replication, of the 200-firm baseline over 40 steps, end to end on all cores.

End to end = sampling, every run through the experiment engine (stored as it finishes), the analysis of
three outputs with bootstrap intervals and the convergence check, the tables, figures and report.

Reference measured in the same run: the same model runs called in a plain loop in this process, on a
subset of the design points (``--reference`` points), which gives the serial cost of one run. The ratio
``end-to-end wall time / (runs × serial cost per run / cores)`` shows what the engine and the analysis add
on top of perfect parallel speed-up (1.0 would be perfect).

    python benchmarks/bench_sensitivity.py [--samples 1024] [--workers 2] [--reference 100] [--out DIR]

``--samples 64`` runs a shorter version (896 runs) and extrapolates the full study's time linearly.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

FACTORS = {  # 12 behavioural and structural parameters of the baseline
    "firms.cooperativeness_mean": [0.3, 0.8],
    "trust.gain_rate": [0.04, 0.16],
    "trust.loss_rate": [0.1, 0.5],
    "learning.information_noise": [0.1, 0.6],
    "clusters.membership_fee": [0.5, 4.0],
    "clusters.coordination_cost": [1.5, 4.0],
    "clusters.prospect_value": [6.0, 18.0],
    "clusters.join_threshold": [0.0, 3.0],
    "clusters.leave_threshold": [-3.0, 0.0],
    "competition.leakage_rate": [0.1, 0.6],
    "orientations.club.learning_rate": [0.01, 0.05],
    "orientations.products_markets.project_revenue": [2.0, 8.0],
}
OUTPUTS = ["relative_productivity_late", "member_share_late", "value_added_late"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--reference", type=int, default=100, help="design points run in the serial reference loop")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from clustersim.experiment.designs import run_seed
    from clustersim.experiment.evaluate import clustersim_model
    from clustersim.experiment.executors import default_workers
    from clustersim.experiment.sweep import LocalExecutor
    from clustersim.reports.sensitivity import write_sensitivity
    from clustersim.studies.sensitivity import SensitivitySpec, resolve_study, run_sensitivity

    root = Path(__file__).resolve().parent.parent
    workers = args.workers or default_workers()
    spec = SensitivitySpec(name="bench_sobol_12", base=str(root / "configs" / "baseline.yaml"),
                           overrides={"simulation.n_firms": 200}, steps=40, method="sobol",
                           samples=args.samples, replications=1, seed=2026, outputs=OUTPUTS, factors=FACTORS)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-sa-"))
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    cpu0, children0 = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    study = resolve_study(spec, "bench", root)
    report, result = run_sensitivity(study, out, executor=LocalExecutor(workers))
    write_sensitivity(result, out)
    wall = time.perf_counter() - t0
    parent_cpu = time.process_time() - cpu0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = (children.ru_utime + children.ru_stime) - (children0.ru_utime + children0.ru_stime)
    n_runs = report.total

    # reference: the same runs in a plain loop, serially, on a subset of the points
    k = min(args.reference, len(study.sample))
    pick = np.linspace(0, len(study.sample) - 1, k).astype(int)
    t1 = time.perf_counter()
    for i in pick:
        clustersim_model(study.experiment.params[int(i)], run_seed(spec.seed, 0))
    serial_per_run = (time.perf_counter() - t1) / k
    ideal = n_runs * serial_per_run / workers
    full_runs = 1024 * (len(FACTORS) + 2)
    figures = {
        "samples": args.samples, "factors": len(FACTORS), "runs": n_runs, "ok": report.ok, "failed": report.failed,
        "workers": workers, "wall_seconds": round(wall, 1), "runs_per_second": round(n_runs / wall, 2),
        "serial_seconds_per_run": round(serial_per_run, 4), "ideal_parallel_seconds": round(ideal, 1),
        "ratio_to_ideal": round(wall / ideal, 3),
        "workers_cpu_seconds_per_run": round(workers_cpu / n_runs, 4),
        "launching_process_cpu_seconds": round(parent_cpu, 1),
        "extrapolated_full_study_seconds": round(wall * full_runs / n_runs, 0),
        "converged": result.outputs[["output", "converged"]].to_dict(orient="records"),
        "out": str(out),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
