"""Instructions per model run, counted by valgrind's callgrind: this tree against a git reference.

Timings on a shared machine move by ±15 % from one minute to the next, far more than most optimisations
gain; instruction counts do not. For each tree (the working tree and ``--ref``, checked out in a temporary
git worktree) this runs the 200-firm, 40-quarter baseline ``--runs`` times under callgrind, and once with
no run at all, each process after one warm-up run (so that lazy imports and first-call caches, which a
package may do at import or at first use, count in neither), and reports (instructions with runs −
instructions without) / runs.

    python benchmarks/count_instructions.py [--ref HEAD] [--runs 4] [--scenario configs/baseline.yaml]

About 5 minutes (four processes under valgrind, two at a time); counts repeat to within about 1 %.
Needs ``valgrind`` (Debian package ``valgrind``). Fewer instructions usually means less time, but not
always (cache misses, vector width): confirm a large change with a timing too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKLOAD = r"""
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])  # the tree under test, before the installed (editable) package
import os
if os.path.isdir(os.path.join(sys.argv[1], "clustersim", "experiment")):  # the layout of clustersim >= 0.2
    from clustersim.experiment.evaluate import clustersim_model
    from clustersim.scenario.io import load_scenario, scenario_to_dict
else:  # a reference from before it
    from clustersim.engine.evaluate import clustersim_model
    from clustersim.scenario_io import load_scenario, scenario_to_dict
params = scenario_to_dict(load_scenario(sys.argv[2], ["simulation.n_firms=200", "simulation.steps=40"]))
# one warm-up run in every process (the 0-run one too): lazy imports and first-call caches are not counted
clustersim_model(params, np.random.SeedSequence([1]))
for i in range(int(sys.argv[3])):
    clustersim_model(params, np.random.SeedSequence([2026, i]))
"""


def _count(tree: Path, scenario: Path, runs: int, workdir: Path) -> int:
    out = workdir / f"callgrind.{tree.name}.{runs}"
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # string hashing changes dict work from one process to the next
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                           WORKLOAD, str(tree), str(scenario), str(runs)],
                          capture_output=True, text=True, check=False, env=env)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"callgrind failed for {tree} ({runs} runs):\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="git reference to compare with (default: HEAD)")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--scenario", type=Path, default=ROOT / "configs" / "baseline.yaml")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="count-instr-") as tmp:
        work = Path(tmp)
        ref_tree = work / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(ref_tree), args.ref],
                       check=True, capture_output=True)
        try:
            trees = {"working tree": ROOT, args.ref: ref_tree}
            jobs = [(name, tree, n) for name, tree in trees.items() for n in (0, args.runs)]
            with ThreadPoolExecutor(2) as pool:
                counts = list(pool.map(lambda j: _count(j[1], args.scenario.resolve(), j[2], work), jobs))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)],
                           check=False, capture_output=True)
    per_run = {}
    for k, (name, _tree, _n) in enumerate(jobs[::2]):
        per_run[name] = (counts[2 * k + 1] - counts[2 * k]) / args.runs
    new, old = per_run["working tree"], per_run[args.ref]
    print(json.dumps({"scenario": str(args.scenario), "runs": args.runs,
                      "instructions_per_run": {k: round(v) for k, v in per_run.items()},
                      "ratio_working_tree_to_ref": round(new / old, 4)}, indent=2))


if __name__ == "__main__":
    main()
