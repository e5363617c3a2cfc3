"""Regenerate one representative figure per student notebook into docs/figures/ (for the README).

    .venv/bin/python experiments/notebook_figures.py [--out docs/figures]

writes ``notebook_01.png`` (trust in each cluster of the small region of 01_coopetition_basics),
``notebook_02.png`` (paired runs of the policy scenarios against no policy, 02_policy_scenarios) and
``notebook_03.png`` (Morris screening of the share of firms in clusters, 03_sensitivity), each at dpi 100.

The sizes and seeds are read from the notebooks themselves (their literal top-level assignments: ``SEED``,
``N_FIRMS``, ``QUARTERS``, ...), so the figures are those of the notebooks at their default sizes; the figures
come from the same package functions. The runs are the notebooks' small ones (a few seconds in all); the
sensitivity study's run store goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

import clustersim as cs  # noqa: E402
from clustersim.plots.explore import plot_cluster_trust, plot_paired_runs  # noqa: E402
from clustersim.studies.compare import compare_scenarios  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {
    "01": ROOT / "experiments" / "01_coopetition_basics.ipynb",
    "02": ROOT / "experiments" / "02_policy_scenarios.ipynb",
    "03": ROOT / "experiments" / "03_sensitivity.ipynb",
}
DPI = 100


def notebook_constants(path: Path) -> dict[str, Any]:
    """The notebook's top-level assignments of literal values (``SEED = 2026``, ``FACTORS = {...}``), from
    its code cells, in order (a later assignment wins). Cells with IPython magics are skipped."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    found: dict[str, Any] = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except (ValueError, TypeError):  # not a literal (a call, a name, an expression)
                    pass
    return found


def _need(constants: dict[str, Any], names: list[str], notebook: str) -> list[Any]:
    missing = [n for n in names if n not in constants]
    if missing:
        raise SystemExit(f"{notebook}: no literal assignment of {', '.join(missing)} found in the notebook")
    return [constants[n] for n in names]


def figure_01() -> Any:
    """Trust in each cluster of notebook 01's region (part 4)."""
    seed, n_firms, quarters = _need(notebook_constants(NOTEBOOKS["01"]), ["SEED", "N_FIRMS", "QUARTERS"], "01")
    scenario = cs.load_scenario(ROOT / "configs" / "baseline.yaml", [f"simulation.n_firms={n_firms}"])
    model = cs.ClusterModel(scenario, rng=cs.replication_seed(seed, 0))
    rows = []
    for _ in range(quarters):
        model.step()
        rows += [{"step": model.now, "cluster": c.row, "trust": c.trust} for c in model.cluster_agents.values()]
    return plot_cluster_trust(pd.DataFrame(rows), ts=model.timeseries(), initial=scenario.trust.initial)


def figure_02() -> Any:
    """Paired runs of notebook 02's comparison, on the share of firms in clusters."""
    seed, reps, quarters = _need(notebook_constants(NOTEBOOKS["02"]), ["SEED", "REPLICATIONS", "QUARTERS"], "02")
    load = {name: cs.load_scenario(ROOT / "configs" / f"{name}.yaml")
            for name in ("no_policy", "call_for_projects", "awareness_only")}
    comparison = compare_scenarios([load["call_for_projects"], load["awareness_only"]], load["no_policy"],
                                   replications=reps, seed=seed, steps=quarters, workers=1)
    summaries = {res.scenario.name: res.summary() for res in comparison.scenarios}
    return plot_paired_runs(comparison.baseline.summary(), summaries, "member_share_late", baseline_name="no_policy")


def figure_03() -> Any:
    """Notebook 03's Morris screening: μ* against σ for the share of firms in clusters."""
    from clustersim.experiment.sweep import LocalExecutor
    from clustersim.plots.sensitivity import plot_morris
    from clustersim.studies.sensitivity import SensitivitySpec, resolve_study, run_sensitivity

    names = ["SEED", "N_FIRMS", "QUARTERS", "MORRIS_TRAJECTORIES", "OUTPUTS", "MORRIS_FACTORS"]
    seed, n_firms, quarters, trajectories, outputs, factors = _need(notebook_constants(NOTEBOOKS["03"]), names, "03")
    spec = SensitivitySpec(name="notebook_morris", method="morris", samples=trajectories, levels=4, factors=factors,
                           base="configs/baseline.yaml", overrides={"simulation.n_firms": n_firms}, steps=quarters,
                           replications=1, seed=seed, resamples=200, outputs=outputs)
    study = resolve_study(spec, "notebook 03 (Morris)", ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        _, result = run_sensitivity(study, Path(tmp) / "morris", executor=LocalExecutor(1))
    idx = result.indices
    return plot_morris(idx[idx["output"] == "member_share_late"], "member_share_late")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures", help="folder of the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for key, make in (("01", figure_01), ("02", figure_02), ("03", figure_03)):
        t0 = time.perf_counter()
        fig = make()
        width, height = fig.get_size_inches()
        if width > 9 or height > 5:
            raise SystemExit(f"notebook_{key}.png would be {width:g} x {height:g} in; keep it within 9 x 5")
        path = args.out / f"notebook_{key}.png"
        fig.savefig(path, dpi=DPI)
        if getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure (plot_morris)
            import matplotlib.pyplot as plt

            plt.close(fig)
        print(f"{path} ({width:g} x {height:g} in, {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
