"""`clustersim docking`: a docking case's analytic and simulated values side by side (ODD "Docking")."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["cmd_docking"]


def cmd_docking(args: argparse.Namespace, *, check_out: Callable[[Path, bool], str | None], environment: int) -> int:
    """Run a docking case: analytic and simulated values side by side; exit code 1 when a measurement disagrees
    beyond its tolerance, 2 on bad input."""
    from clustersim.experiment.executors import default_workers
    from clustersim.scenario.io import ScenarioError
    from clustersim.studies.docking.cases import CASES, DockingError, run_case

    name = "clustersim docking"
    if args.case not in CASES:
        print(f"{name}: {args.case!r} is not a docking case (allowed: {', '.join(CASES)})", file=sys.stderr)
        return 2
    given: dict[str, str] = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            print(f"{name}: --set {item!r}: expected NAME=VALUE", file=sys.stderr)
            return 2
        given[key.strip()] = value.strip()
    if args.workers is not None:
        given["workers"] = str(args.workers)
    given.setdefault("workers", str(default_workers()))
    if args.out is not None:
        problem = check_out(args.out, True)
        if problem:
            print(f"{name}: {problem}", file=sys.stderr)
            return 2
    from concurrent.futures.process import BrokenProcessPool

    try:
        result = run_case(args.case, given)
    except (DockingError, ScenarioError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    except BrokenProcessPool:
        print(f"{name}: a worker process died (out of memory? try fewer --workers or --set firms=...); nothing "
              "was written", file=sys.stderr)
        return environment
    from clustersim.reports.docking import result_json, summary_lines, write_docking

    if args.json:
        print(result_json(result))
    else:
        print("\n".join(summary_lines(result)))
    if args.out is not None:
        path = write_docking(result, args.out, figures=not args.no_figures, command=sys.argv)
        print(f"results: {path}", file=sys.stderr if args.json else sys.stdout)
    return 1 if any(v is False for v in result.agrees.values()) else 0
