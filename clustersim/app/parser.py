"""The command line's parser: one function per command adds its arguments (the commands are in
:mod:`clustersim.app.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own exit code is 2 as well; keep the usage line
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="clustersim", description="Agent-based simulation of economic clusters (Mesa 3.5).")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run(sub)
    _add_compare(sub)
    _add_sweep(sub)
    _add_sensitivity(sub)
    _add_status(sub)
    _add_validate(sub)
    _add_template(sub)
    _add_viz(sub)
    _add_docking(sub)
    return ap


def _add_run(sub: Any) -> None:
    run = sub.add_parser("run", help="run replications of a scenario and write tables, figures and provenance")
    run.add_argument("scenario", help="scenario file (.yaml, .yml or .toml)")
    run.add_argument("--replications", "-r", type=int, help="replications (default: the scenario's)")
    run.add_argument("--seed", type=int, help="root seed (default: the scenario's simulation.seed)")
    run.add_argument("--steps", type=int, help="quarters per run (default: the scenario's)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                     help="override a parameter, e.g. --set firms.size_median=30 (repeatable)")
    run.add_argument("--out", type=Path, help="results folder to create (must not exist; default: a new "
                                              "dated folder under results/)")
    run.add_argument("--workers", "-w", type=int, help="processes (default: all cores)")
    _add_executor_options(run)
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_max_runs(parser: Any) -> None:
    """--max-runs (sweep, sensitivity): a design larger than the default limit runs only when asked for."""
    parser.add_argument("--max-runs", type=int, metavar="N",
                        help="allow designs of up to N runs (points × replications; default limit: 1,000,000)")


def _add_executor_options(parser: Any) -> None:
    """--executor, --scheduler and --scheduler-file (run, compare, sweep, sensitivity)."""
    parser.add_argument("--executor", choices=["local", "dask"], default="local",
                        help="local process pool (default), or Dask: a LocalCluster, or a cluster given by "
                             "--scheduler / --scheduler-file")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    where.add_argument("--scheduler-file", metavar="FILE", help="Dask scheduler file (e.g. on SLURM)")
    parser.add_argument("--connect-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long to try to reach the Dask scheduler before giving up (default: 30)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", dest="timeout_s",
                        help="stop a run after this long and record it as 'timeout' (default: the file's timeout_s, "
                             "else 20 times the longest run measured, at least 120 s)")
    parser.add_argument("--memory-limit", type=float, metavar="MB", dest="memory_mb",
                        help="stop a run whose worker uses more resident memory than this and record it as "
                             "'memory' (default: the file's memory_mb, else 80%% of this machine's memory shared "
                             "by the workers)")


def _add_compare(sub: Any) -> None:
    cmp_ = sub.add_parser("compare", help="paired comparison of scenarios against a baseline (common random "
                                          "numbers: replication i of every scenario shares its seed)")
    cmp_.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files to compare")
    cmp_.add_argument("--baseline", required=True, help="the baseline scenario file")
    cmp_.add_argument("--replications", "-r", type=int, help="replications per scenario (default: the baseline's)")
    cmp_.add_argument("--seed", type=int, help="root seed (default: the baseline's simulation.seed)")
    cmp_.add_argument("--steps", type=int, help="quarters per run (default: the scenarios' common length)")
    cmp_.add_argument("--out", type=Path, help="folder to create (default: a new dated folder under results/)")
    cmp_.add_argument("--workers", "-w", type=int, help="processes (default: all cores)")
    _add_executor_options(cmp_)
    cmp_.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    cmp_.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_sweep(sub: Any) -> None:
    swp = sub.add_parser("sweep", help="run (or resume) an experiment file: a design of scenarios, replicated, "
                                       "stored as runs finish")
    swp.add_argument("experiment", help="experiment file (.yaml, .yml or .toml)")
    swp.add_argument("--out", type=Path, help="sweep folder (default: results/sweep-<name>); an existing folder "
                                              "of the same experiment is resumed")
    swp.add_argument("--workers", "-w", type=int, help="processes (default: all cores)")
    _add_executor_options(swp)
    swp.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    _add_max_runs(swp)
    swp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_sensitivity(sub: Any) -> None:
    sen = sub.add_parser("sensitivity", help="global sensitivity analysis (SALib: Sobol', Morris, FAST, RBD-FAST, "
                                             "PAWN, delta) run through the experiment engine, resumable")
    sen.add_argument("study", help="sensitivity file (.yaml, .yml or .toml)")
    sen.add_argument("--out", type=Path, help="study folder (default: results/sensitivity-<name>); an existing "
                                              "folder of the same study is resumed")
    sen.add_argument("--workers", "-w", type=int, help="processes (default: all cores)")
    _add_executor_options(sen)
    sen.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    _add_max_runs(sen)
    sen.add_argument("--no-figures", action="store_true", help="tables and report only")
    sen.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_status(sub: Any) -> None:
    sts = sub.add_parser("status", help="runs done, failed and remaining in a sweep folder")
    sts.add_argument("folder", type=Path)


def _add_validate(sub: Any) -> None:
    val = sub.add_parser("validate", help="check a scenario file without running it")
    val.add_argument("scenario")
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")


def _add_template(sub: Any) -> None:
    tpl = sub.add_parser("template", help="print a complete scenario, every parameter documented")
    tpl.add_argument("scenario", nargs="?", help="start from this scenario instead of the defaults")
    tpl.add_argument("--baseline", action="store_true",
                     help="print configs/baseline.yaml as committed (defaults, with its header)")


def _add_docking(sub: Any) -> None:
    dock = sub.add_parser("docking", help="the model configured as a published analytic model (threshold cascade, "
                                          "N-person stag hunt, collective-risk dilemma): analytic and simulated "
                                          "values side by side")
    dock.add_argument("case", help="threshold_cascade, stag_hunt or collective_risk")
    dock.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                      help="a case parameter (e.g. group_size=10, enhancement=8, thresholds=0,1,2,3,4), a setting "
                           "of the measurement (firms, starts, replicates, quarters, selection, seed, workers) or "
                           "a scenario field (e.g. learning.imitation_probability=0.5); repeatable")
    dock.add_argument("--out", type=Path, help="folder to create with the result, tables and figure (must not "
                                               "exist)")
    dock.add_argument("--json", action="store_true", help="print the result as one JSON object")
    dock.add_argument("--workers", "-w", type=int, help="processes (default: all cores; same as --set workers=N)")
    dock.add_argument("--no-figures", action="store_true", help="with --out: skip the figure")


def _add_viz(sub: Any) -> None:
    viz = sub.add_parser("viz", help="serve the interactive browser page (Mesa SolaraViz) for a scenario, offline")
    viz.add_argument("scenario", nargs="?", help="scenario file (default: configs/baseline.yaml)")
    viz.add_argument("--port", "-p", type=int, default=8765, help="port (default: 8765)")
    viz.add_argument("--host", default="127.0.0.1",
                     help="address to bind (default: 127.0.0.1, this machine only; 0.0.0.0 exposes the page to "
                          "the network)")
