"""Bit-identity of results between this tree and a git reference, through every front end.

A refactoring must not change what the model computes. For each tree (the working tree and ``--ref``,
checked out in a temporary git worktree) this runs, with the tree's own ``clustersim`` command line
(``python -c`` with the tree first on ``sys.path``):

- ``run`` of every shipped scenario (``configs/*.yaml``; 2 replications, 150 firms, 40 quarters);
- ``compare`` of every policy scenario against ``configs/no_policy.yaml`` (3 paired replications, 40 quarters);
- ``sweep experiments/fee_sweep.yaml`` (24 runs);
- ``sensitivity experiments/morris_quick.yaml`` (288 runs);

then reads every table each wrote (Parquet and CSV files, the run stores' parts joined by run id) and
compares them cell by cell, NaN equal to NaN, after dropping the columns that are clocks (``seconds``,
``started``, ``finished``). Prints one line per table and exits 1 if any differs.

    python benchmarks/identity_check.py [--ref HEAD] [--keep DIR]

About 4 minutes on 2 cores (the two trees one after the other, each front end on 2 workers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

#: the command line of the tree under test, wherever its module lives
DRIVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
try:
    from clustersim.app.cli import main
except ImportError:
    from clustersim.cli import main
sys.exit(main(sys.argv[2:]))
"""

CLOCKS = ("seconds", "started", "finished", "wall_seconds", "cpu_seconds_runs")
POLICY_SCENARIOS = ("awareness_only", "call_for_projects", "top_down_identification", "full_support",
                    "support_withdrawal", "adaptive", "directive", "multi_level")


def _cli(tree: Path, args: list[str]) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(tree), *args], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: clustersim {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")


def produce(tree: Path, out: Path) -> None:
    """Every front end of ``tree``, writing under ``out``."""
    small = ["--replications", "2", "--steps", "40", "--set", "simulation.n_firms=150", "--no-figures", "--quiet",
             "--workers", "2"]
    for cfg in sorted((tree / "configs").glob("*.yaml")):
        _cli(tree, ["run", str(cfg), *small, "--out", str(out / f"run-{cfg.stem}")])
    _cli(tree, ["compare", *(str(tree / "configs" / f"{s}.yaml") for s in POLICY_SCENARIOS),
                "--baseline", str(tree / "configs" / "no_policy.yaml"), "--replications", "3", "--steps", "40",
                "--no-figures", "--quiet", "--workers", "2", "--out", str(out / "compare")])
    _cli(tree, ["sweep", str(tree / "experiments" / "fee_sweep.yaml"), "--workers", "2", "--quiet",
                "--out", str(out / "sweep")])
    _cli(tree, ["sensitivity", str(tree / "experiments" / "morris_quick.yaml"), "--workers", "2", "--quiet",
                "--no-figures", "--out", str(out / "sensitivity")])


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every table under ``out`` by relative name; a run store's parts become one table per kind."""
    tables: dict[str, pd.DataFrame] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if path.name.startswith((".", "_")) or not path.is_file():
            continue
        if rel.parts[-2:-1] and rel.parts[-2] in ("index", "outputs", "timeseries"):
            continue  # parts: gathered below
        if path.suffix == ".parquet":
            tables[str(rel)] = pd.read_parquet(path)
        elif path.suffix == ".csv":
            tables[str(rel)] = pd.read_csv(path)
    for store in sorted({p.parent.parent for p in out.rglob("index/part-*.parquet")}):
        index = pd.concat([pd.read_parquet(p) for p in sorted((store / "index").glob("part-*.parquet"))])
        index = index.sort_values("run_id", kind="stable").drop_duplicates("run_id", keep="last")
        tables[f"{store.relative_to(out)}/index"] = index.reset_index(drop=True)
        for kind in ("outputs", "timeseries"):
            parts = sorted((store / kind).glob("part-*.parquet"))
            if parts:
                frame = pd.concat([pd.read_parquet(p) for p in parts])
                keys = ["run_id", "step"] if kind == "timeseries" else ["run_id"]
                frame = frame.sort_values(keys, kind="stable").drop_duplicates(keys, keep="last")
                tables[f"{store.relative_to(out)}/{kind}"] = frame.reset_index(drop=True)
    return {k: v.drop(columns=[c for c in CLOCKS if c in v.columns]) for k, v in tables.items()}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """None if the two tables are identical (NaN = NaN), else what differs. Tables whose columns differ are
    compared on their common columns too (a new output column does not hide a change in the others)."""
    if list(a.columns) != list(b.columns):
        common = [c for c in a.columns if c in b.columns]
        rest = _same(a[common], b[common]) if a.shape[0] == b.shape[0] else f"rows {a.shape[0]} vs {b.shape[0]}"
        return (f"columns differ: {sorted(set(a.columns) ^ set(b.columns))[:8]}; the common columns "
                + ("are identical" if rest is None else f"differ too: {rest}"))
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            bad = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        else:
            both_missing = pd.isna(x) & pd.isna(y)
            bad = ~((pd.Series(x).astype(str).to_numpy() == pd.Series(y).astype(str).to_numpy()) | both_missing)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            return f"column {col!r}: {int(bad.sum())} cells differ (first: row {k}, {x[k]!r} vs {y[k]!r})"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="git reference to compare with (default: HEAD)")
    ap.add_argument("--keep", type=Path, help="keep both trees' results in this new folder")
    ap.add_argument("--ref-results", type=Path,
                    help="the reference's results kept by an earlier --keep (its out-ref folder is reused)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="identity-") as tmp:
        work = Path(tmp)
        if args.ref_results is not None:
            shutil.copytree(args.ref_results / "out-ref", work / "out-ref")
        else:
            ref_tree = work / "ref"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(ref_tree), args.ref],
                           check=True, capture_output=True)
            try:
                produce(ref_tree, work / "out-ref")
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)],
                               check=False, capture_output=True)
        produce(ROOT, work / "out-tree")
        old, new = _tables(work / "out-ref"), _tables(work / "out-tree")
        if args.keep is not None:
            shutil.copytree(work, args.keep, ignore=shutil.ignore_patterns("ref"))
    differ = 0
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            print(f"MISSING  {name} (only in {'the working tree' if name in new else args.ref})")
            differ += 1
            continue
        problem = _same(old[name], new[name])
        print(f"{'same' if problem is None else 'DIFFERS':<8} {name} {old[name].shape}"
              + ("" if problem is None else f": {problem}"))
        differ += problem is not None
    cells = sum(t.size for t in old.values())
    against = args.ref if args.ref_results is None else f"the results kept in {args.ref_results}"
    print(f"{len(old)} tables, {cells:,} cells: {'identical' if not differ else f'{differ} differ'} "
          f"(working tree against {against})")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
