"""Writing a comparison's folder: tables, figures and provenance, atomically."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from clustersim.experiment.runner import ScenarioResults
from clustersim.experiment.seeds import replication_seed
from clustersim.experiment.summary import LATE_WINDOW
from clustersim.model.indicators import FAMILIES
from clustersim.plots.compare import plot_bands, plot_differences
from clustersim.reports.run import write_parquet
from clustersim.scenario.io import scenario_hash, scenario_to_dict
from clustersim.studies.compare import CI_LEVEL, SEEDING, Comparison
from clustersim.util.atomic import publish_folder
from clustersim.util.provenance import provenance

__all__ = ["write_comparison"]


def write_comparison(comparison: Comparison, out_dir: Path | str, *, figures: bool = True,
                     command: list[str] | None = None) -> Path:
    """Write the comparison into the new folder ``out_dir`` (which must not exist) and return its path.

    The folder is assembled under a hidden temporary name next to ``out_dir``, fsynced, and moved into
    place (as :func:`clustersim.reports.run.write_results`: the name is first claimed with ``mkdir``, so a folder
    that appeared meanwhile, even empty, is never replaced): a crash leaves no half-written folder.
    Contents::

        means.csv, means.parquet               Comparison.means()
        differences.csv, differences.parquet   Comparison.differences()
        leverage.csv                           Comparison.leverage()
        leverage_replications.csv             Comparison.leverage_by_replication()
        timeseries.parquet                     Comparison.timeseries()
        failures.json                          failed replications (only if any)
        metadata.json                          scenarios (resolved, hashes), seeds, versions, git, timings
        figures/bands_<family>.png             each family over time, every scenario
        figures/differences.png                paired differences ("late" statistic)

    Raises:
        OutputExistsError: ``out_dir`` exists already (results are never overwritten).
    """
    return publish_folder(Path(out_dir), lambda d: _write_all(comparison, d, figures=figures, command=command))


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat()


def _scenario_meta(res: ScenarioResults, role: str) -> dict[str, Any]:
    s = res.scenario
    return {
        "name": s.name,
        "role": role,
        "scenario_hash": scenario_hash(s),
        "scenario": scenario_to_dict(s),
        "replications": [{"replication": r.replication, "spawn_key": [r.replication],
                          "entropy": str(replication_seed(r.root_seed, r.replication).entropy),
                          "status": "ok" if r.ok else "failed", "seconds": round(r.seconds, 4)}
                         for r in res.runs],
        "workers": res.workers,
        "started": _iso(res.started),
        "finished": _iso(res.finished),
        "wall_seconds": round(res.finished - res.started, 3),
        "cpu_seconds_runs": round(sum(r.seconds for r in res.runs), 3),
    }


def _write_all(comparison: Comparison, d: Path, *, figures: bool, command: list[str] | None) -> None:
    means = comparison.means()
    write_parquet(means, d / "means.parquet")
    means.to_csv(d / "means.csv", index=False)
    diff = comparison.differences()
    write_parquet(diff, d / "differences.parquet")
    diff.to_csv(d / "differences.csv", index=False)
    comparison.leverage().to_csv(d / "leverage.csv", index=False)
    comparison.leverage_by_replication().to_csv(d / "leverage_replications.csv", index=False)
    ts = comparison.timeseries()
    write_parquet(ts, d / "timeseries.parquet")
    failures = comparison.failures()
    if len(failures):
        (d / "failures.json").write_text(json.dumps(failures.to_dict(orient="records"), indent=2))
    meta = {
        "clustersim_comparison": 1,
        "baseline": comparison.baseline_name,
        "scenarios": [_scenario_meta(comparison.baseline, "baseline"),
                      *(_scenario_meta(r, "scenario") for r in comparison.scenarios)],
        "root_seed": comparison.root_seed,
        "replications": comparison.replications,
        "steps": comparison.steps,
        "seeding": SEEDING,
        "statistics": {
            "late": f"mean of an indicator over the last {LATE_WINDOW:.0%} of the run",
            "final": "value of an indicator at the last quarter",
            "ci": f"{CI_LEVEL:.0%} Student-t interval of the mean over replications (or paired differences)",
            "variance_reduction": "1 - var_paired/var_unpaired, var_paired = var(d)/n, "
                                  "var_unpaired = var(scenario)/n + var(baseline)/n",
            "leverage": "per replication: sum over quarters 1..T of (value_added_s - value_added_b) / sum of "
                        "(public_spending_s - public_spending_b); undefined (NaN) when the extra public "
                        "spending is 0",
        },
        **provenance(command),
        "workers": comparison.workers,
        "started": _iso(comparison.started),
        "finished": _iso(comparison.finished),
        "wall_seconds": round(comparison.finished - comparison.started, 3),
        "cpu_seconds_runs": round(sum(r.seconds for res in comparison.results.values() for r in res.runs), 3),
    }
    (d / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    if figures and len(ts):
        fig_dir = d / "figures"
        fig_dir.mkdir()
        for family in FAMILIES:
            fig = plot_bands(comparison, family)
            fig.savefig(fig_dir / f"bands_{family}.png", dpi=110)
            plt.close(fig)
        fig = plot_differences(comparison, "late")
        fig.savefig(fig_dir / "differences.png", dpi=110)
        plt.close(fig)
