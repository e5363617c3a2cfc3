"""The sweep engine against references measured in the same run (ratios; the machine is shared).

1. Overhead: a sweep of N runs of a CPU-bound test function (about ``--ms`` milliseconds each) on one
   worker, against calling the same function N times in a plain loop. Overhead = sweep / loop − 1.
2. Parallel efficiency: the same sweep on all cores against the one-worker sweep: speed-up / cores.
3. Client memory: peak resident memory of the sweep process for a small and a large number of (very short)
   runs, each measured in a fresh process.

    python benchmarks/bench_engine.py [--runs 200] [--ms 20] [--repeats 3] [--small 1000] [--large 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def busy(params, seed):
    """A CPU-bound test function of about params['ms'] milliseconds (a fixed amount of arithmetic)."""
    rng = np.random.default_rng(seed)
    x = 0.0
    for i in range(int(params["work"])):
        x += (i % 7) * 1e-9
    return {"y": x + float(rng.normal())}


def quick(params, seed):
    return {"y": float(np.random.default_rng(seed).normal())}


def _calibrate(ms: float) -> int:
    work = 1_000_000
    busy({"work": work}, np.random.SeedSequence(0))  # warm-up
    t0 = time.perf_counter()
    busy({"work": work}, np.random.SeedSequence(0))
    per = (time.perf_counter() - t0) / work
    return max(1, int(ms / 1000 / per))


def _experiment(folder: Path, fn: str, runs: int, work: int) -> Path:
    path = folder / f"{fn}-{runs}.yaml"
    path.write_text(f"name: bench_{fn}\nmodel: bench_engine:{fn}\noverrides: {{work: {work}}}\n"
                    f"design: {{kind: points, points: [{{p: 0}}]}}\nreplications: {runs}\nseed: 1\n")
    return path


def _sweep(exp: Path, out: Path, workers: int) -> float:
    from clustersim.experiment.spec import load_experiment
    from clustersim.experiment.sweep import LocalExecutor, run_sweep

    t0 = time.perf_counter()
    report = run_sweep(load_experiment(exp), out, executor=LocalExecutor(workers))
    assert report.ok == report.total, report
    return time.perf_counter() - t0


def _peak_rss_mib_of_sweep(exp: Path, out: Path) -> float:
    code = (f"import resource, sys; sys.path.insert(0, {str(HERE)!r})\n"
            "from clustersim.experiment.spec import load_experiment\n"
            "from clustersim.experiment.sweep import LocalExecutor, run_sweep\n"
            f"run_sweep(load_experiment({str(exp)!r}), {str(out)!r}, executor=LocalExecutor(1))\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(res.stdout.strip().splitlines()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--ms", type=float, default=20.0)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--large", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import clustersim.experiment.sweep  # noqa: F401 - imported before any timing (import costs are not per run)

    cores = len(os.sched_getaffinity(0))
    work = _calibrate(args.ms)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exp = _experiment(folder, "busy", args.runs, work)
        loops, ones, manys = [], [], []
        for k in range(args.repeats):  # interleaved, best of each: the least disturbed on a shared machine
            t0 = time.perf_counter()
            for r in range(args.runs):
                busy({"p": 0, "work": work}, np.random.SeedSequence(1, spawn_key=(r,)))
            loops.append(time.perf_counter() - t0)
            ones.append(_sweep(exp, folder / f"one-{k}", 1))
            manys.append(_sweep(exp, folder / f"many-{k}", cores))
        loop, one, many = min(loops), min(ones), min(manys)
        figures.update(runs=args.runs, ms_per_run=loop / args.runs * 1000, loop_s=loop, sweep_1_worker_s=one,
                       sweep_all_cores_s=many, cores=cores, overhead=one / loop - 1,
                       parallel_efficiency=one / many / cores)
        # marginal cost of the engine per run: sweeps of near-free runs, small and large (fixed costs cancel)
        few, lots = 50, 2050
        t_few = min(_sweep(_experiment(folder, "quick", few, 0), folder / f"few-{k}", 1) for k in range(3))
        t_lots = min(_sweep(_experiment(folder, "quick", lots, 0), folder / f"lots-{k}", 1) for k in range(3))
        per_run = (t_lots - t_few) / (lots - few)
        figures.update(engine_s_per_run=per_run, engine_fixed_s=t_few - few * per_run,
                       engine_per_run_share=per_run / (loop / args.runs))
        small = _peak_rss_mib_of_sweep(_experiment(folder, "quick", args.small, 0), folder / "small")
        large = _peak_rss_mib_of_sweep(_experiment(folder, "quick", args.large, 0), folder / "large")
        figures.update(rss_small_mib=small, rss_large_mib=large, rss_ratio=large / small,
                       small_runs=args.small, large_runs=args.large)
    print(f"runs of {figures['ms_per_run']:.1f} ms: plain loop {loop:.2f} s, sweep on 1 worker {one:.2f} s "
          f"(engine overhead {figures['overhead']:+.1%}), on {cores} cores {many:.2f} s "
          f"(parallel efficiency {figures['parallel_efficiency']:.0%})")
    print(f"engine cost per run {figures['engine_s_per_run'] * 1000:.2f} ms "
          f"({figures['engine_per_run_share']:.1%} of a {figures['ms_per_run']:.1f} ms run), "
          f"fixed {figures['engine_fixed_s']:.2f} s per sweep")
    print(f"client peak memory: {small:.0f} MiB for {args.small} runs, {large:.0f} MiB for {args.large} runs "
          f"(ratio {figures['rss_ratio']:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
