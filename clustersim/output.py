"""Writing a scenario run's results folder, atomically, with full provenance.

The folder is assembled under a hidden temporary name next to its destination and renamed into place
only when complete: a crash or a kill leaves no half-written results folder (only a hidden ``.tmp-*``
folder, which readers ignore). An existing folder is never overwritten.

Layout of a results folder::

    timeseries.parquet        one row per replication and step, every indicator
    summary.parquet, .csv     one row per replication: seed, status, run time, summary statistics
    clusters.parquet          one row per cluster ever formed (per replication): life cycle, mix, size
    cluster_sizes.parquet     members of each live cluster at each step
    spending.parquet          public spending ledger: replication, step, funder, instrument, phase, cluster, amount
    spending_by_instrument.csv  mean spending per replication by funder and instrument (total and per year)
    network_nodes.parquet     the firm network at the end of one replication (nodes)
    network_edges.parquet     ... and its links
    failures.json             replications that raised, with their traceback (only if any)
    metadata.json             resolved scenario, its hash, versions, git commit, seeds, timings, host
    figures/*.png             indicator families (incl. policy), cluster membership, network snapshot
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata as _md
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from clustersim.indicators import FAMILIES
from clustersim.runner import ScenarioResults, replication_seed
from clustersim.scenario_io import scenario_hash, scenario_to_dict

__all__ = ["OutputExistsError", "git_commit", "new_results_dir", "package_versions", "provenance", "publish_folder",
           "write_results"]

PACKAGES = ("clustersim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "matplotlib", "networkx", "scipy",
            "ruamel.yaml", "SALib")


class OutputExistsError(FileExistsError):
    """The requested results folder exists already (results are never overwritten)."""


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(path: Path | None = None) -> dict[str, Any]:
    """The git commit of the clustersim source tree (and whether it had uncommitted changes), if any."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": head, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance(command: list[str] | None = None) -> dict[str, Any]:
    """What every results folder records about how it was made: units, versions, git commit, host, command."""
    return {
        "units": {"step": "one quarter", "money": "k€ (flows per quarter unless stated)", "size": "employees"},
        "versions": package_versions(),
        "git": git_commit(),
        "host": {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "command": command if command is not None else sys.argv,
    }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "scenario"


def new_results_dir(base: Path, name: str, now: _dt.datetime | None = None) -> Path:
    """A folder name under ``base`` that does not exist yet: ``<name>-<YYYYmmdd-HHMMSS>[-k]``."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = base / f"{_slug(name)}-{stamp}"
    k = 1
    while candidate.exists():
        k += 1
        candidate = base / f"{_slug(name)}-{stamp}-{k}"
    return candidate


def _next_name(path: Path) -> Path:
    """``name-2``, ``name-3``, ... after ``name`` (or after ``name-k``)."""
    m = re.fullmatch(r"(.*)-(\d+)", path.name)
    stem, k = (m.group(1), int(m.group(2))) if m and len(m.group(2)) < 4 else (path.name, 1)
    return path.with_name(f"{stem}-{k + 1}")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False, engine="pyarrow", compression="snappy")


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                os.fsync(fh.fileno())


def publish_folder(out_dir: Path, write: Callable[[Path], None], *, new_name_if_taken: bool = False,
                   hint: str = "choose another folder") -> Path:
    """Create the new folder ``out_dir`` atomically: ``write(tmp)`` fills a hidden temporary folder next
    to it, which is fsynced and moved into place; return the folder's final path.

    The name is claimed with ``mkdir`` just before the move, so a folder that appeared meanwhile, even an
    empty one, is never replaced: :class:`OutputExistsError`, or with ``new_name_if_taken`` the next free
    ``-k`` name. A crash or an exception leaves no visible folder.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not new_name_if_taken:
        raise OutputExistsError(f"{out_dir}: exists already; results are never overwritten ({hint})")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out_dir.name}-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the results folder gets the usual permissions
    claimed = False
    try:
        write(tmp)
        _fsync_tree(tmp)
        while not claimed:
            try:
                os.mkdir(out_dir)  # claim the name: fails if it exists, even as an empty folder
                claimed = True
            except FileExistsError:
                if not new_name_if_taken:
                    raise OutputExistsError(f"{out_dir}: exists already; results are never overwritten") from None
                out_dir = _next_name(out_dir)
        os.replace(tmp, out_dir)  # atomic on one filesystem: replaces only the empty folder just claimed
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if claimed:
            try:
                out_dir.rmdir()  # the claimed name, only if still empty
            except OSError:
                pass
        raise
    return out_dir


def write_results(results: ScenarioResults, out_dir: Path, *, source: str | None = None,
                  overrides: list[str] | None = None, command: list[str] | None = None,
                  figures: bool = True, new_name_if_taken: bool = False) -> Path:
    """Write ``results`` into the new folder ``out_dir`` (which must not exist) and return its path.

    With ``new_name_if_taken``, a folder that appeared under that name meanwhile (another run started in
    the same second) makes the results go to the next free ``-k`` name instead of failing.
    """
    return publish_folder(
        Path(out_dir),
        lambda d: _write_all(results, d, source=source, overrides=overrides, command=command, figures=figures),
        new_name_if_taken=new_name_if_taken,
        hint="choose another --out, or leave --out out for a new dated folder")


def _write_all(results: ScenarioResults, d: Path, *, source, overrides, command, figures) -> None:
    ok = results.ok_runs
    summary = results.summary()
    write_parquet(summary, d / "summary.parquet")
    summary.to_csv(d / "summary.csv", index=False)
    network = next((r.network for r in ok if r.network is not None), None)
    ts = results.timeseries() if ok else None
    if ts is not None:
        write_parquet(ts, d / "timeseries.parquet")
        write_parquet(results.clusters(), d / "clusters.parquet")
        write_parquet(results.cluster_sizes(), d / "cluster_sizes.parquet")
        write_parquet(results.spending(), d / "spending.parquet")
        results.spending_by_instrument().to_csv(d / "spending_by_instrument.csv", index=False)
        if network is not None:
            write_parquet(network["nodes"], d / "network_nodes.parquet")
            write_parquet(network["edges"], d / "network_edges.parquet")
    failures = [{"replication": r.replication, "error": r.error} for r in results.failed_runs]
    if failures:
        (d / "failures.json").write_text(json.dumps(failures, indent=2))
    s = results.scenario
    meta = {
        "clustersim_results": 1,
        "scenario_name": s.name,
        "scenario_source": source,
        "overrides": list(overrides or []),
        "scenario_hash": scenario_hash(s),
        "scenario": scenario_to_dict(s),
        "root_seed": results.root_seed,
        "seeding": "replication i uses numpy.random.SeedSequence(root_seed, spawn_key=(i,)) "
                   "== SeedSequence(root_seed).spawn(R)[i]",
        "replications": [{"replication": r.replication, "spawn_key": [r.replication],
                          "entropy": str(replication_seed(r.root_seed, r.replication).entropy),
                          "status": "ok" if r.ok else "failed", "seconds": round(r.seconds, 4)}
                         for r in results.runs],
        "steps": int(ts["step"].max()) if ts is not None else None,
        **provenance(command),
        "workers": results.workers,
        "started": _dt.datetime.fromtimestamp(results.started, _dt.UTC).isoformat(),
        "finished": _dt.datetime.fromtimestamp(results.finished, _dt.UTC).isoformat(),
        "wall_seconds": round(results.finished - results.started, 3),
        "cpu_seconds_runs": round(sum(r.seconds for r in results.runs), 3),
    }
    (d / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    if figures and ts is not None:
        from clustersim.plots import plot_family, plot_membership, plot_network

        fig_dir = d / "figures"
        fig_dir.mkdir()
        for family in FAMILIES:
            fig = plot_family(ts, family)
            fig.savefig(fig_dir / f"{family}.png", dpi=110)
            plt.close(fig)
        fig = plot_membership(ts, results.cluster_sizes(), replication=ok[0].replication)
        fig.savefig(fig_dir / "membership.png", dpi=110)
        plt.close(fig)
        if network is not None:
            fig = plot_network(network["nodes"], network["edges"],
                               title=f"{s.name}, end of replication {ok[0].replication}")
            fig.savefig(fig_dir / "network.png", dpi=110)
            plt.close(fig)
