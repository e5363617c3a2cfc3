"""Writing a docking case's folder (the JSON result, the simulated gradient as a table, the figure,
provenance), atomically; and the figure of a result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clustersim.plots.docking import plot_cascade, plot_gradient
from clustersim.studies.docking.cases import CASES, DockingResult
from clustersim.util.atomic import publish_folder
from clustersim.util.provenance import provenance

__all__ = ["docking_figure", "summary_lines", "write_docking"]


def docking_figure(result: DockingResult):
    """The case's figure (:func:`~clustersim.plots.docking.plot_gradient` or
    :func:`~clustersim.plots.docking.plot_cascade`)."""
    case = CASES[result.case]
    params = ", ".join(f"{k} = {v}" for k, v in result.parameters.items() if k != "thresholds")
    if result.case == "threshold_cascade":
        fig = plot_cascade(result.details["contributors_by_quarter"], result.figure["response_r"],
                           result.figure["response"], result.analytic["final_adopters"],
                           result.simulated["final_adopters"], f"{case.title}\n{params}")
        return fig
    curve, fig_data = result.curve, result.figure
    assert curve is not None
    evaluations = result.details["critical_evaluations"]
    return plot_gradient(
        {"x": curve.x, "estimate": curve.estimate, "lower": curve.lower, "upper": curve.upper,
         "samples_x": curve.samples[:, 0], "samples_y": curve.samples[:, 1], "roots": curve.roots},
        {"x": fig_data["analytic_x"], "y": fig_data["analytic_y"], "roots": result.analytic["interior_roots"]},
        {"values": [e["value"] for e in evaluations], "maximum": [e["maximum"] for e in evaluations],
         "lower": [e["lower"] for e in evaluations], "upper": [e["upper"] for e in evaluations],
         "analytic_values": fig_data["analytic_values"], "analytic_maximum": fig_data["analytic_maximum"],
         "critical": result.simulated["critical"], "analytic_critical": result.analytic["critical"],
         "bracket": result.details["critical_bracket"]},
        f"{case.title}: {params}", fig_data["parameter"])


def _fmt(value: Any) -> str:
    if value is None:
        return "unresolved"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]" if value else "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_lines(result: DockingResult) -> list[str]:
    """What the command prints: parameters, then each measurement, analytic against simulated."""
    case = CASES[result.case]
    lines = [f"{case.title} ({case.reference})",
             "parameters: " + ", ".join(f"{k} = {v}" for k, v in result.parameters.items()
                                        if not (k == "thresholds" and len(str(v)) > 60))]
    for key in case.measured:
        verdict = {True: "agrees", False: "DISAGREES", None: "not resolved"}[result.agrees[key]]
        dev = result.deviation[key]
        tol = result.tolerance[key]
        rel = " (relative)" if key == "critical" else ""
        ana = "none" if result.analytic[key] is None else _fmt(result.analytic[key])  # None: none exists
        lines.append(f"  {key}: analytic {ana}, simulated {_fmt(result.simulated[key])}; "
                     f"deviation {_fmt(dev)}, tolerance {_fmt(tol)}{rel}: {verdict}")
        if key in result.reasons:
            lines.append(f"    ({result.reasons[key]})")
    runs = result.details.get("runs")
    extra = f", {runs} runs of {result.details['population']} firms" if runs else ""
    lines.append(f"measured in {result.seconds:.1f} s{extra}")
    return lines


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


def result_json(result: DockingResult) -> str:
    """The result as JSON text (what ``--json`` prints)."""
    return json.dumps(result.to_dict(), default=_json_default, indent=1)


def write_docking(result: DockingResult, out_dir: Path | str, *, figures: bool = True,
                  command: list[str] | None = None) -> Path:
    """Write the new folder ``out_dir``: ``result.json``, ``gradient.csv`` and ``samples.csv`` (group games:
    the smoothed simulated gradient with its band and the analytic one; every simulated quarter's estimate),
    ``cascade.csv`` (cascades: contributors by quarter), ``docking.png`` and ``provenance.json``."""
    def write(tmp: Path) -> None:
        (tmp / "result.json").write_text(result_json(result) + "\n")
        if result.curve is not None:
            c = result.curve
            analytic = np.interp(c.x, result.figure["analytic_x"], result.figure["analytic_y"])
            pd.DataFrame({"x": c.x, "simulated": c.estimate, "lower": c.lower, "upper": c.upper,
                          "analytic": analytic}).to_csv(tmp / "gradient.csv", index=False)
            pd.DataFrame({"x": c.samples[:, 0], "gradient": c.samples[:, 1]}).to_csv(tmp / "samples.csv",
                                                                                      index=False)
        else:
            counts = result.details["contributors_by_quarter"]
            pd.DataFrame({"quarter": np.arange(len(counts)), "contributors": counts}).to_csv(
                tmp / "cascade.csv", index=False)
        if figures:
            fig = docking_figure(result)
            fig.savefig(tmp / "docking.png", dpi=120)
            plt.close(fig)
        prov = provenance(command=command)
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=1, default=str) + "\n")

    return publish_folder(Path(out_dir), write)
