"""Command line: ``clustersim run``, ``clustersim compare``, ``clustersim validate``, ``clustersim template``.

A thin layer over the library: every command is a function of the package, and :func:`main` takes its
arguments as a list, so it is tested in-process. Exit codes: 0 success; 1 some replications failed (their
tracebacks are in the results folder); 2 bad input (scenario file, override or output folder), with nothing
written; 3 the environment failed (a full disk, read-only media, an unreachable Dask cluster), with what was
stored kept (the same command resumes); 130 interrupted (Ctrl-C), likewise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clustersim.app.console import comparison_text, spending_text, summary_table
from clustersim.app.parser import build_parser
from clustersim.util.progress import make_progress

__all__ = ["main"]



BASELINE_HEADER = """\
# clustersim — baseline scenario: purely bottom-up cluster dynamics, no public support.
#
# Every parameter of the model is listed below with its meaning, unit and allowed range; the values are
# the schema's defaults. tests/test_configs.py checks that this file is exactly what
# `clustersim template --baseline > configs/baseline.yaml` writes: run that after changing the schema.
#
# Units: one step = one quarter; money in k€ (thousands of euros), flows per quarter; sizes in employees.
# A variant scenario only needs the keys it changes (see the other files in configs/).
"""
BASELINE_DESCRIPTION = ("Bottom-up cluster dynamics in a region of 300 firms over 20 years, "
                        "without public support.")


#: the exit code of a failure of the environment: a full disk, read-only media, an unreachable Dask cluster
ENVIRONMENT = 3


def environment_message(exc: OSError) -> str:
    """One line for a failure of the environment, with what to do about it."""
    import errno

    if exc.errno is None and exc.filename is None:  # raised by clustersim with its own words (a lost cluster)
        return str(exc)
    what = f"{exc.strerror} ({exc.filename})" if exc.strerror and exc.filename else str(exc)
    if exc.errno == errno.ENOSPC:
        return (f"cannot write: {what}; nothing stored is lost: free some space and run the same command again "
                "to resume")
    if exc.errno == errno.EROFS:
        return f"cannot write: {what}; choose an --out on writable media"
    return f"cannot write: {what}"


def _check_run_options(args: argparse.Namespace) -> str | None:
    """The first problem with --replications, --steps, --workers or --seed, or None."""
    for name, maximum in (("replications", 100_000), ("steps", 4000), ("workers", 4096)):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= maximum:
            return f"--{name}: {value} is out of range (allowed: >= 1 and <= {maximum})"
    if args.seed is not None and not 0 <= args.seed < 2**63:
        return f"--seed: {args.seed} is out of range (allowed: >= 0 and < 2**63)"
    return None


#: files that mark a folder as clustersim's results, and a text each begins with: a run's or a comparison's
#: folder (metadata.json), a run store (experiment.json), a sensitivity study (study.json)
_RESULT_MARKERS = {"metadata.json": ('"clustersim_results"', '"clustersim_comparison"'),
                   "experiment.json": ('"identity"',), "study.json": ('"spec"',)}


def _marks_results(file: Path, texts: tuple[str, ...]) -> bool:
    try:
        with open(file, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return any(t in head for t in texts)


def _nested(out: Path) -> str | None:
    """Why ``out`` may not be used because it lies inside another results folder, run store or study (whose
    files would be mixed with new ones), or below a file, or None."""
    for folder in Path(os.path.abspath(out)).parents:
        if folder.exists() and not folder.is_dir():
            return f"--out {out}: {folder} is a file, not a folder"
        for marker, texts in _RESULT_MARKERS.items():
            if (folder / marker).is_file() and _marks_results(folder / marker, texts):
                return (f"--out {out}: inside {folder}, which holds clustersim results ({marker}); results are "
                        "never mixed (choose a folder outside it)")
    return None


def _study_folder(args: argparse.Namespace, name: str, default: str) -> Path | None:
    """The folder of a sweep or sensitivity study: --out, else results/<default>; None (message printed)
    when it lies inside other results. Such a folder may exist already: the study resumes there."""
    out = args.out if args.out is not None else Path("results") / default
    problem = _nested(out)
    if problem:
        print(f"{name}: {problem}", file=sys.stderr)
        return None
    return out


def _check_out(out: Path, explicit: bool) -> str | None:
    """Why results cannot go to ``out`` (checked before running, so no work is lost), or None."""
    if out.exists():
        what = "--out " if explicit else ""
        return f"{what}{out}: exists already; results are never overwritten"
    problem = _nested(out)
    if problem:
        return problem
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--out {out}: cannot create its parent folder {parent}: {exc.strerror or exc}"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"--out {out}: its parent folder {parent} is not writable"
    return None


def _default_folder(name: str) -> Path:
    """results/<name>-<time stamp>, a folder that does not exist yet."""
    from clustersim.reports.run import new_results_dir

    return new_results_dir(Path("results"), name)


def _cmd_run(args: argparse.Namespace) -> int:
    from clustersim.scenario.io import ScenarioError, load_scenario

    problem = _check_run_options(args)
    if problem:
        print(f"clustersim run: {problem}", file=sys.stderr)
        return 2
    if not _check_executor_options(args, "clustersim run"):
        return 2
    # --replications/--steps/--seed are shorthands for --set simulation.*: the recorded scenario is what ran
    shorthands = [f"simulation.{name}={value}" for name, value in
                  (("replications", args.replications), ("steps", args.steps), ("seed", args.seed))
                  if value is not None]
    try:
        scenario = load_scenario(args.scenario, [*args.overrides, *shorthands])
    except ScenarioError as exc:
        print(f"clustersim run: invalid scenario\n{exc}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else _default_folder(scenario.name)
    problem = _check_out(out, explicit=args.out is not None)
    if problem:
        print(f"clustersim run: {problem}", file=sys.stderr)
        return 2
    # the heavier modules only once the input is known good: a refusal stays quick and small
    from clustersim.experiment.runner import run_scenario
    from clustersim.reports.run import OutputExistsError, write_results

    n = scenario.simulation.replications
    results = _with_executor(args, "clustersim run", n, scenario.name, lambda executor, progress: run_scenario(
        scenario, workers=args.workers, progress=progress, executor=executor, store_root=out.parent))
    if results is None:
        return ENVIRONMENT
    try:
        path = write_results(results, out, source=str(args.scenario), overrides=[*args.overrides, *shorthands],
                             figures=not args.no_figures, new_name_if_taken=args.out is None)
    except OutputExistsError as exc:
        print(f"clustersim run: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"clustersim run: {environment_message(exc)}", file=sys.stderr)
        return ENVIRONMENT
    ok = len(results.ok_runs)
    resumed = f" ({results.resumed} resumed from an interrupted run)" if results.resumed else ""
    print(f"\n{scenario.name}: {ok} of {n} replications ok{resumed}, {results.finished - results.started:.1f} s "
          f"on {results.workers} worker(s); root seed {results.root_seed}")
    if scenario.policy.constitution.mode == "directive_counterfactual":
        print("COUNTERFACTUAL: in this scenario the authority assigns firms to clusters (directive mode); it is "
              "a test of the claim that directive policy fails, not a policy option")
    if ok:
        print(f"final quarter, across replications:\n{summary_table(results)}")
        print(spending_text(results))
    if results.failed_runs:
        print(f"{len(results.failed_runs)} replication(s) failed: see {path / 'failures.json'}", file=sys.stderr)
    print(f"results: {path}")
    return 1 if results.failed_runs else 0


def _with_executor(args: argparse.Namespace, name: str, total: int, label: str, run: Callable[..., Any]) -> Any:
    """``run(executor, progress)`` for run and compare: the Dask executor the options ask for (None: the
    local pool) and, unless --quiet, a progress bar of ``total`` runs; both closed afterwards. None (with
    the reason printed) when the Dask cluster cannot be reached."""
    executor = _make_executor(args, name)
    if executor is None:
        return None
    bar = None if args.quiet else make_progress(total, label)

    def progress(*reported: Any) -> None:  # (run) for run, (scenario name, run) for compare
        if bar is not None:
            bar.update(1, failed=0 if reported[-1].ok else 1)

    try:
        return run(executor, progress)
    finally:
        if bar is not None:
            bar.close()
        if executor is not None:
            executor.close()


def _load_all(paths: list[str]) -> tuple[list, list[str]]:
    """The scenarios of ``paths`` and every problem found in them."""
    from clustersim.scenario.io import ScenarioError, load_scenario

    problems, loaded = [], []
    for path in paths:
        try:
            loaded.append(load_scenario(path))
        except ScenarioError as exc:
            problems.append(str(exc))
    return loaded, problems


def _cmd_compare(args: argparse.Namespace) -> int:
    problem = _check_run_options(args)
    if problem:
        print(f"clustersim compare: {problem}", file=sys.stderr)
        return 2
    if not _check_executor_options(args, "clustersim compare"):
        return 2
    loaded, problems = _load_all([args.baseline, *args.scenarios])
    if problems:
        print("clustersim compare: invalid scenario\n" + "\n".join(problems), file=sys.stderr)
        return 2
    baseline, scenarios = loaded[0], loaded[1:]
    replications = args.replications or baseline.simulation.replications
    seed = baseline.simulation.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else _default_folder(f"compare-{baseline.name}")
    problem = _check_out(out, explicit=args.out is not None)
    if problem:
        print(f"clustersim compare: {problem}", file=sys.stderr)
        return 2
    from clustersim.reports.compare import write_comparison  # once the input is known good
    from clustersim.reports.run import OutputExistsError
    from clustersim.studies.compare import compare_scenarios

    try:
        comparison = _with_executor(
            args, "clustersim compare", (len(scenarios) + 1) * replications, "compare",
            lambda executor, progress: compare_scenarios(scenarios, baseline, replications=replications, seed=seed,
                                                         steps=args.steps, workers=args.workers, progress=progress,
                                                         executor=executor, store_root=out.parent))
    except ValueError as exc:
        print(f"clustersim compare: {exc}", file=sys.stderr)
        return 2
    if comparison is None:
        return ENVIRONMENT
    try:
        path = write_comparison(comparison, out, figures=not args.no_figures)
    except OutputExistsError as exc:
        print(f"clustersim compare: cannot write the results to {out}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"clustersim compare: {environment_message(exc)}", file=sys.stderr)
        return ENVIRONMENT
    print(comparison_text(comparison, baseline.name, replications))
    failed = comparison.failures()
    if len(failed):
        print(f"{len(failed)} run(s) failed: see {path / 'failures.json'}", file=sys.stderr)
    print(f"results: {path}")
    return 1 if len(failed) else 0


def _make_executor(args: argparse.Namespace, name: str):
    """The executor the options ask for (local pool, or Dask); None, with the reason printed, if the Dask
    cluster cannot be reached."""
    from clustersim.experiment.contained import RunLimits
    from clustersim.experiment.sweep import LocalExecutor

    limits = RunLimits(args.timeout_s, args.memory_mb)
    if args.executor != "dask":
        return LocalExecutor(args.workers, limits=limits)
    from clustersim.experiment.sweep import DaskExecutor

    try:
        return DaskExecutor(args.scheduler, args.scheduler_file, args.workers,
                            connect_timeout=args.connect_timeout, limits=limits)
    except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
        where = args.scheduler or args.scheduler_file or "a local cluster"
        hint = ""
        if args.scheduler or args.scheduler_file:
            hint = ("; check that the scheduler is running, that its address and port are right and reachable from "
                    "this machine (a firewall, an SSH tunnel), or wait longer with --connect-timeout")
        print(f"{name}: cannot reach the Dask cluster ({where}): {exc}{hint}", file=sys.stderr)
        return None


def _check_executor_options(args: argparse.Namespace, name: str) -> bool:
    """--workers in range, --scheduler/--scheduler-file only with --executor dask (message printed if not)."""
    if args.workers is not None and not 1 <= args.workers <= 4096:
        print(f"{name}: --workers: {args.workers} is out of range (allowed: >= 1 and <= 4096)", file=sys.stderr)
        return False
    from clustersim.experiment.spec import MEMORY_MAX_MB, MEMORY_MIN_MB, TIMEOUT_MAX_S

    bad = []
    if args.timeout_s is not None and not 0 < args.timeout_s <= TIMEOUT_MAX_S:
        bad.append(f"--timeout: {args.timeout_s:g} is out of range (allowed: > 0 and <= {TIMEOUT_MAX_S:,})")
    if args.memory_mb is not None and not MEMORY_MIN_MB <= args.memory_mb <= MEMORY_MAX_MB:
        bad.append(f"--memory-limit: {args.memory_mb:g} is out of range (allowed: >= {MEMORY_MIN_MB} and "
                   f"<= {MEMORY_MAX_MB:,})")
    if bad:
        print("\n".join(f"{name}: {b}" for b in bad), file=sys.stderr)
        return False
    if not 0 < args.connect_timeout <= 3600:
        print(f"{name}: --connect-timeout: {args.connect_timeout:g} is out of range (allowed: > 0 and <= 3600 "
              "seconds)", file=sys.stderr)
        return False
    if (args.scheduler or args.scheduler_file) and args.executor != "dask":
        print(f"{name}: --scheduler/--scheduler-file need --executor dask", file=sys.stderr)
        return False
    return True


def _stored_runs(store: Path) -> int:
    """Runs already in a run store (0 when there is none yet or it cannot be read): the bar starts there."""
    from clustersim.experiment.store import RunStore, StoreMismatchError

    if not (store / "experiment.json").exists():
        return 0
    try:
        return len(RunStore.open(store, "r").index())
    except (StoreMismatchError, OSError, ValueError):
        return 0


def _execute(args: argparse.Namespace, name: str, total: int, label: str, store: Path, run):
    """``run(executor, progress)`` with the executor the options ask for and, unless --quiet, a progress bar
    starting at the runs already stored; both closed afterwards. Returns (run's value, None), or (None, 2)
    when the executor cannot be made or the folder holds something else (message printed)."""
    from clustersim.experiment.store import StoreMismatchError

    bar = None

    def progress(result) -> None:
        if bar is not None:
            bar.update(len(result.index_rows), failed=sum(r["status"] == "failed" for r in result.index_rows))

    executor = None
    try:
        executor = _make_executor(args, name)
        if executor is None:
            return None, ENVIRONMENT
        if not args.quiet:
            bar = make_progress(total, label, initial=_stored_runs(store))
        return run(executor, progress), None
    except StoreMismatchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return None, 2
    finally:
        if bar is not None:
            bar.close()
        if executor is not None and hasattr(executor, "close"):
            executor.close()


def _cmd_sweep(args: argparse.Namespace) -> int:
    from clustersim.experiment.spec import ExperimentError, load_experiment
    from clustersim.scenario.io import ScenarioError

    name = "clustersim sweep"
    if not _check_executor_options(args, name):
        return 2
    try:
        experiment = load_experiment(args.experiment, max_runs=args.max_runs)
    except (ScenarioError, ExperimentError) as exc:
        print(f"{name}: invalid experiment\n{exc}", file=sys.stderr)
        return 2
    out = _study_folder(args, name, f"sweep-{experiment.spec.name}")
    if out is None:
        return 2
    from clustersim.experiment.sweep import run_sweep

    total = len(experiment.points) * experiment.spec.replications
    report, code = _execute(args, name, total, experiment.spec.name, out, lambda executor, progress: run_sweep(
        experiment, out, executor=executor, retry_failed=args.retry_failed, progress=progress))
    if code is not None:
        return code
    print(f"{experiment.spec.name}: {report.ok} ok, {_failed(report.failed, report.causes)}"
          f"{_nonfinite(report.nonfinite)}, "
          f"{report.remaining} remaining of {report.total} runs ({report.ran_now} run now, {report.skipped} "
          f"already stored; {report.seconds:.1f} s)")
    if report.failed or report.nonfinite:
        print(f"failed runs: see `clustersim status {out}`", file=sys.stderr)
    print(f"results: {out}")
    return 1 if report.failed or report.nonfinite else 0


def _failed(n: int, causes: dict[str, int]) -> str:
    """"N failed", with the causes when a run did not just raise: "3 failed (crash 1, timeout 2)"."""
    if not n or set(causes) <= {"error"}:
        return f"{n} failed"
    return f"{n} failed ({', '.join(f'{cause} {count}' for cause, count in causes.items())})"


def _nonfinite(n: int) -> str:
    """", N non-finite" (runs that gave a NaN or infinite output), or nothing when there is none."""
    return f", {n} non-finite" if n else ""


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from clustersim.scenario.io import ScenarioError
    from clustersim.studies.sensitivity_spec import SensitivityError, read_study

    name = "clustersim sensitivity"
    if not _check_executor_options(args, name):
        return 2
    try:  # the file first, without SALib, pandas or drawing anything: a refusal stays quick; then the study
        spec = read_study(args.study, max_runs=args.max_runs)
        from clustersim.studies.sensitivity import resolve_study

        study = resolve_study(spec, str(args.study), Path(args.study).parent, max_runs=args.max_runs)
    except (ScenarioError, SensitivityError) as exc:
        print(f"{name}: invalid sensitivity study\n{exc}", file=sys.stderr)
        return 2
    from clustersim.experiment.store import StoreMismatchError
    from clustersim.reports.sensitivity import write_sensitivity
    from clustersim.studies.sensitivity import check_study_folder, run_sensitivity

    out = _study_folder(args, name, f"sensitivity-{study.spec.name}")
    if out is None:
        return 2
    try:  # before starting workers: a folder holding anything but this study is refused, left as it is
        check_study_folder(out, study.identity())
    except StoreMismatchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    total = len(study.sample) * study.spec.replications
    value, code = _execute(args, name, total, study.spec.name, out / "runs", lambda executor, progress: run_sensitivity(
        study, out, executor=executor, retry_failed=args.retry_failed, progress=progress))
    if code is not None:
        return code
    report, result = value
    write_sensitivity(result, out, figures=not args.no_figures)
    print(f"{study.spec.name}: {study.spec.method}, {len(study.sample)} design points × {study.spec.replications}: "
          f"{report.ok} ok, {report.failed} failed{_nonfinite(report.nonfinite)}, {report.remaining} remaining of "
          f"{report.total} runs ({report.ran_now} run now, {report.skipped} already stored; {report.seconds:.1f} s)")
    for note in result.notes:
        print(f"warning: {note}", file=sys.stderr)
    from clustersim.plots.sensitivity import MAIN_INDEX

    key = MAIN_INDEX.get(study.spec.method, "ST")
    idx = result.indices[result.indices["index"] == key]
    for output, sub in idx.groupby("output", sort=False):
        top = sub.sort_values("value", ascending=False).head(3)
        print(f"{output}: largest {key}: " + ", ".join(f"{r.factor} {r.value:.3g}" for r in top.itertuples()))
    print(f"report: {out / 'report.md'}")
    return 1 if report.failed or report.nonfinite else 0


def _cmd_status(args: argparse.Namespace) -> int:
    from clustersim.experiment.store import StoreMismatchError
    from clustersim.experiment.sweep import sweep_status

    if not (args.folder / "experiment.json").exists():
        print(f"clustersim status: {args.folder}: not a sweep folder (no experiment.json)", file=sys.stderr)
        return 2
    try:
        st = sweep_status(args.folder)
    except (StoreMismatchError, OSError, ValueError) as exc:
        print(f"clustersim status: {args.folder}: {exc}", file=sys.stderr)
        return 2
    print(f"{st['name']}: {st['ok']} done, {_failed(st['failed'], st['causes'])}{_nonfinite(st['nonfinite'])}, "
          f"{st['remaining']} "
          f"remaining of {st['total']} runs")
    for f in st["failures"][:50]:
        print(f"  run {f['run_id']} (point {f['point_id']}, replication {f['replication']}): {f['error']}")
    if len(st["failures"]) > 50:
        print(f"  ... and {len(st['failures']) - 50} more")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from clustersim.scenario.io import ScenarioError, load_scenario, scenario_hash

    try:
        s = load_scenario(args.scenario, args.overrides)
    except ScenarioError as exc:
        print(f"clustersim validate: invalid scenario\n{exc}", file=sys.stderr)
        return 2
    print(f"{args.scenario}: valid scenario '{s.name}' ({s.simulation.n_firms} firms, {s.simulation.steps} "
          f"quarters, {s.simulation.replications} replications; hash {scenario_hash(s)[:12]})")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from clustersim.scenario.io import ScenarioError, load_scenario
    from clustersim.scenario.schema import Scenario
    from clustersim.scenario.template import render_documented_yaml

    try:
        s = load_scenario(args.scenario) if args.scenario else None
    except ScenarioError as exc:
        print(f"clustersim template: invalid scenario\n{exc}", file=sys.stderr)
        return 2
    if args.baseline:
        s = Scenario(name="baseline", description=BASELINE_DESCRIPTION)
        sys.stdout.write(render_documented_yaml(s, header=BASELINE_HEADER))
    else:
        sys.stdout.write(render_documented_yaml(s))
    return 0


def _cmd_docking(args: argparse.Namespace) -> int:
    from clustersim.app.docking import cmd_docking

    return cmd_docking(args, check_out=_check_out, environment=ENVIRONMENT)


def _cmd_viz(args: argparse.Namespace) -> int:
    """Serve clustersim.app.viz with ``solara run`` (production mode, no browser opened) until interrupted."""
    import importlib.util
    import os
    import subprocess

    from clustersim.scenario.io import ScenarioError, load_scenario

    name = "clustersim viz"
    missing = [m for m in ("solara", "altair") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"{name}: the browser page needs the optional extra (missing: {', '.join(missing)}); "
              "install it with pip install 'clustersim[viz]'", file=sys.stderr)
        return 2
    if not 1 <= args.port <= 65535:
        print(f"{name}: --port: {args.port} is out of range (allowed: 1 to 65535)", file=sys.stderr)
        return 2
    from clustersim.app.viz import SCENARIO_ENV, default_scenario

    path = Path(args.scenario) if args.scenario else default_scenario()
    try:
        load_scenario(path)
    except ScenarioError as exc:
        print(f"{name}: invalid scenario\n{exc}", file=sys.stderr)
        return 2
    env = {**os.environ, SCENARIO_ENV: str(path.resolve())}
    cmd = [sys.executable, "-m", "solara", "run", "clustersim.app.viz", "--host", args.host, "--port", str(args.port),
           "--no-open", "--production"]
    print(f"{name}: serving {path} on http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clustersim`` command; returns the exit code."""
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")  # figures are written to files: no screen needed
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (exit code 2): return it, don't raise it
        return int(exc.code or 0)
    handler = {"run": _cmd_run, "compare": _cmd_compare, "sweep": _cmd_sweep, "sensitivity": _cmd_sensitivity,
               "status": _cmd_status, "validate": _cmd_validate, "template": _cmd_template,
               "viz": _cmd_viz, "docking": _cmd_docking}[args.command]
    try:
        return handler(args)
    except OSError as exc:  # the environment failed while writing (disk full, read-only media, ...)
        print(f"clustersim {args.command}: {environment_message(exc)}", file=sys.stderr)
        return ENVIRONMENT
    except KeyboardInterrupt:  # Ctrl-C: no traceback; what was stored is kept
        print(f"\nclustersim {args.command}: interrupted; what was stored is kept (run, compare, sweep and "
              "sensitivity resume when the same command runs again)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
