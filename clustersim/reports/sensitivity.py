"""Writing a sensitivity study's tables, figures and report into its folder, file by file atomically."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clustersim.plots.sensitivity import plot_heatmap, plot_indices, plot_morris
from clustersim.reports.run import write_parquet
from clustersim.studies.sensitivity import SensitivityResult
from clustersim.util.atomic import atomic_write, atomic_write_text
from clustersim.util.provenance import provenance

__all__ = ["write_sensitivity"]


def write_sensitivity(result: SensitivityResult, out: Path, *, figures: bool = True) -> list[Path]:
    """Write the index tables (Parquet and CSV), figures and the Markdown report into ``out``.

    Each file is written under a temporary name and renamed: an interrupted write leaves the previous
    version or none, never half a file.
    """
    out = Path(out)
    written = []
    for name, df in (("indices", result.indices), ("outputs", result.outputs), ("convergence", result.convergence)):
        write_parquet(df, out / f"{name}.parquet")
        atomic_write(out / f"{name}.csv", partial(_csv, df))
        written += [out / f"{name}.parquet", out / f"{name}.csv"]
    figs: list[tuple[str, Path]] = []
    if figures and len(result.indices):
        fig_dir = out / "figures"
        fig_dir.mkdir(exist_ok=True)
        for output in result.indices["output"].unique():
            sub = result.indices[result.indices["output"] == output]
            fig = plot_morris(sub, output) if result.study["method"] == "morris" else plot_indices(sub, output)
            path = fig_dir / f"indices_{_safe(output)}.png"
            _save(fig, path)
            plt.close(fig)
            figs.append((output, path))
        fig = plot_heatmap(result.indices, result.study["method"])
        if fig is not None:
            _save(fig, fig_dir / "heatmap.png")
            plt.close(fig)
            figs.append(("heatmap", fig_dir / "heatmap.png"))
    report = _report(result, figs, out, provenance(None))
    atomic_write_text(out / "report.md", report)
    written.append(out / "report.md")
    return written


def _csv(df: pd.DataFrame, fh: BinaryIO) -> None:
    df.to_csv(fh, index=False)


def _save(fig, path: Path) -> None:
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _report(result: SensitivityResult, figs: list[tuple[str, Path]], out: Path, prov: dict[str, Any]) -> str:
    s = result.study
    lines = [f"# Sensitivity analysis: {s['name']}", "",
             f"Method **{s['method']}**, base sample N = {s['samples']}, {s['points']} design points × "
             f"{s['replications']} replication(s); factors: {', '.join(f'`{f}`' for f in s['factors'])}. "
             f"Root seed {s['seed']} (runs: `SeedSequence(seed, spawn_key=(replication,))`, common random numbers "
             f"across points); SALib analysis seed {s['analysis_seed']}.", ""]
    if result.notes:
        lines += ["## Warnings", ""] + [f"- {n}" for n in result.notes] + [""]
    lines += ["## Outputs", "", "| output | points missing | handling | seed variance share | of which common "
              "shift | converged | note |", "|---|---|---|---|---|---|---|"]
    for r in result.outputs.itertuples():
        share = "n/a" if not np.isfinite(r.seed_variance_share) else f"{r.seed_variance_share:.1%}"
        common = "n/a" if not np.isfinite(r.replication_variance_share) else f"{r.replication_variance_share:.1%}"
        conv = {True: "yes", False: "**no**", None: "not checked"}.get(r.converged, "not checked")
        lines.append(f"| `{r.output}` | {r.points_missing} of {r.points} | {r.handling} | {share} | {common} | "
                     f"{conv} | {r.note} |")
    lines += ["", "The seed variance share is the variance between the replications of a design point (averaged "
              "over points) over the total variance of one run: the part of an output's variation the random "
              "seed alone produces. Replication r uses the same seed at every point (common random numbers), so "
              "part of it can be a shift common to all points of a replication: that part (the common shift "
              "column: the variance of the replication means over replications) cancels out of the indices, "
              "which are computed on replication means; the rest does not, and shrinks with more replications. "
              "The total variance is estimated from these components (the plain variance of all runs would "
              "understate a common shift, having seen only as many draws of it as there are replications). "
              "Neither share is capped: a seed variance share above 100 % is estimator noise on an output that "
              "hardly varies between points. n/a: fewer than 2 replications.", ""]
    key = {"morris": "mu_star", "pawn": "pawn_median", "delta": "delta", "rbd_fast": "S1"}.get(s["method"], "ST")
    if len(result.indices):
        lines += [f"## Main index ({key}) by factor and output", ""]
        piv = result.indices[result.indices["index"] == key].pivot(index="factor", columns="output", values="value")
        lines.append("| factor | " + " | ".join(f"`{c}`" for c in piv.columns) + " |")
        lines.append("|---" * (len(piv.columns) + 1) + "|")
        for f, row in piv.iterrows():
            lines.append(f"| `{f}` | " + " | ".join(f"{v:.3g}" for v in row.to_numpy()) + " |")
        lines.append("")
    if figs:
        lines += ["## Figures", ""] + [f"![{name}]({p.relative_to(out)})" for name, p in figs] + [""]
    lines += ["## Files", "", "`indices.parquet`/`.csv` (output, factor, index, value, conf, low, high), "
              "`outputs.parquet`/`.csv` (per output: missing points, handling, seed variance share and its common "
              "shift part, convergence), "
              "`convergence.parquet`/`.csv` (indices at N/2 and N), `runs/` (the experiment store: every run, "
              "its seed and status), `study.json` (the resolved study).", "",
              "## Provenance", "", "```", json.dumps({k: prov[k] for k in sorted(prov)}, indent=2, default=str),
              "```", ""]
    return "\n".join(lines)
