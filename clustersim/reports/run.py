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
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from clustersim.experiment.seeds import replication_seed
from clustersim.model.indicators import FAMILIES
from clustersim.scenario.io import scenario_hash, scenario_to_dict
from clustersim.util.atomic import OutputExistsError, atomic_write, publish_folder
from clustersim.util.provenance import provenance

if TYPE_CHECKING:
    from clustersim.experiment.runner import ScenarioResults

__all__ = ["OutputExistsError", "new_results_dir", "write_parquet", "write_results"]


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


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """``df`` as a Parquet file (pyarrow, snappy), written atomically."""
    atomic_write(path, lambda fh: df.to_parquet(fh, index=False, engine="pyarrow", compression="snappy"))


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
        _write_figures(d / "figures", ts, results, network, replication=ok[0].replication, name=s.name)


def _write_figures(fig_dir: Path, ts: pd.DataFrame, results: ScenarioResults, network: dict[str, pd.DataFrame] | None,
                   *, replication: int, name: str) -> None:
    """The run's figures: each indicator family over time, membership, and the network at the end."""
    import matplotlib.pyplot as plt

    from clustersim.plots.indicators import plot_family, plot_membership, plot_network

    fig_dir.mkdir()
    for family in FAMILIES:
        fig = plot_family(ts, family)
        fig.savefig(fig_dir / f"{family}.png", dpi=110)
        plt.close(fig)
    fig = plot_membership(ts, results.cluster_sizes(), replication=replication)
    fig.savefig(fig_dir / "membership.png", dpi=110)
    plt.close(fig)
    if network is not None:
        fig = plot_network(network["nodes"], network["edges"], title=f"{name}, end of replication {replication}")
        fig.savefig(fig_dir / "network.png", dpi=110)
        plt.close(fig)
