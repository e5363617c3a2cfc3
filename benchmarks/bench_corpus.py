"""Time and peak memory of refusing every bad input of the corpus, and of sweeps with faulty plug-ins.

Each case of ``tests/corpus`` (the committed small ones and the large ones made on the fly) runs as its own
``clustersim`` process; its wall time and peak resident memory (``wait4``'s ``ru_maxrss``) are compared with a
reference in the same run: ``clustersim validate configs/baseline.yaml``, a valid file (the cost of starting
the command and reading a scenario). Then the fault sweep of ``tests/test_faults.py`` (exit, segfault, sleep
past a 2 s timeout, a memory hog past 400 MB, NaN, among clean runs) runs on 1 and 2 workers; its time is set
by the timeout; its peak memory (``wait4`` counts the workers the sweep waited for) is the memory hog's
worker, stopped past its limit.

    python benchmarks/bench_corpus.py [--worst 8]

About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT),
                                                    os.environ.get("PYTHONPATH", "")])}


def _measure(argv: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak resident MiB, stderr) of ``clustersim argv`` as its own process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "clustersim.app.cli", *argv], cwd=cwd, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, seconds, usage.ru_maxrss / 1024, err


def _maker():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worst", type=int, default=8, help="how many of the slowest cases to list")
    parser.add_argument("--all", action="store_true", help="list every case")
    args = parser.parse_args()
    maker = _maker()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        refs = [_measure(["validate", str(ROOT / "configs" / "baseline.yaml")], base) for _ in range(3)]
        ref_s = sorted(r[1] for r in refs)[1]
        ref_mb = sorted(r[2] for r in refs)[1]
        for case in sorted((CORPUS / "cases").iterdir()):
            folder = base / case.name
            shutil.copytree(case, folder)
            spec = json.loads((folder / "case.json").read_text())
            argv = [a.replace("{dir}", str(folder)) for a in spec["argv"]]
            code, secs, mb, err = _measure(argv, folder)
            rows.append((case.name, code == spec["code"] and "Traceback" not in err, secs, mb))
        for name, (make, argv, code_wanted, _) in sorted(maker.BIG.items()):
            folder = base / name
            folder.mkdir()
            make(folder)
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            code, secs, mb, err = _measure([a.replace("{dir}", str(folder)) for a in argv], folder)
            rows.append((f"{name} ({size / 2**20:.1f} MiB)", code == code_wanted and "Traceback" not in err,
                         secs, mb))
        faults = ["none", "exit", "none", "segfault", "sleep", "none", "hog", "nan", "none"]
        points = ", ".join(f"{{a: {i}, fault: {f}}}" for i, f in enumerate(faults))
        exp = base / "faults.yaml"
        exp.write_text(f"name: faults\nmodel: fault_models:faulty\ndesign: {{kind: points, points: [{points}]}}\n"
                       "replications: 2\nseed: 17\nchunk_size: 3\ntimeout_s: 2\nmemory_mb: 400\n")
        fault_rows = []
        for workers in (1, 2):
            code, secs, mb, err = _measure(["sweep", str(exp), "--out", str(base / f"f{workers}"), "-q",
                                            "-w", str(workers)], base)
            fault_rows.append((workers, code == 1 and "Traceback" not in err, secs, mb))
    ok = sum(r[1] for r in rows)
    print(f"reference: clustersim validate configs/baseline.yaml: {ref_s:.2f} s, {ref_mb:.0f} MiB peak (median of 3)")
    print(f"corpus: {ok} of {len(rows)} cases refused as expected (exit code, no traceback)")
    print("every case, slowest first:" if args.all else f"worst {args.worst} by time:")
    print(f"  {'case':<44} {'seconds':>8} {'x ref':>6} {'peak MiB':>9} {'x ref':>6}")
    for name, good, secs, mb in sorted(rows, key=lambda r: -r[2])[:len(rows) if args.all else args.worst]:
        print(f"  {name:<44} {secs:8.2f} {secs / ref_s:6.2f} {mb:9.0f} {mb / ref_mb:6.2f}{'' if good else '  FAILED'}")
    worst_mb = max(rows, key=lambda r: r[3])
    print(f"largest peak memory: {worst_mb[0]}: {worst_mb[3]:.0f} MiB ({worst_mb[3] / ref_mb:.2f} x ref)")
    print(f"largest time: {max(r[2] for r in rows):.2f} s; cases over 1 s: {sum(r[2] > 1 for r in rows)} "
          f"(the start of the command alone is {ref_s:.2f} s)")
    for workers, good, secs, mb in fault_rows:
        print(f"fault sweep, {workers} worker(s): 18 runs (8 clean, 8 faulty, 2 NaN) in {secs:.2f} s; peak of the "
              f"sweep and its workers {mb:.0f} MiB (the memory hog's, stopped past 400 MB)"
              f"{'' if good else '  FAILED'}")
    return 0 if ok == len(rows) and all(r[1] for r in fault_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
