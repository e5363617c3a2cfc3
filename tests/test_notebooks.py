"""The students' notebooks (experiments/*.ipynb) run top to bottom in a fresh kernel, from experiments/, and
show what they say they show: their printed tables are read back from the cell outputs and checked here."""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXPERIMENTS = ROOT / "experiments"
NOTEBOOKS = {"01": "01_coopetition_basics.ipynb", "02": "02_policy_scenarios.ipynb", "03": "03_sensitivity.ipynb"}
MORRIS_FACTORS = {"firms.cooperativeness_mean", "trust.gain_rate", "trust.loss_rate", "clusters.membership_fee",
                  "competition.leakage_rate", "clusters.join_threshold"}
OUTPUTS_03 = ["capability_index_late", "mean_trust_late", "member_share_late"]
_cache: dict[str, Any] = {}


def execute(key: str):
    """The notebook executed once per test session (kernel python3, 120 s per cell, cwd experiments/).
    How long a notebook takes is a figure for the README, not an assertion (the machines are shared)."""
    if key not in _cache:
        nb = nbformat.read(EXPERIMENTS / NOTEBOOKS[key], as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                         resources={"metadata": {"path": str(EXPERIMENTS)}})
        before = _tree()
        client.execute()
        _cache[key] = nb
        assert _tree() == before, "the notebook wrote into the project's tree (use a temporary folder or results/)"
    return _cache[key]


def _tree() -> set:
    """The files of experiments/ (the notebooks' working directory) and configs/."""
    return {p for folder in ("experiments", "configs") for p in (ROOT / folder).rglob("*")
            if "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def text(nb) -> str:
    """Everything the notebook printed (standard output and plain-text results), in order. Stream pieces of a
    cell are joined as printed (the kernel may split one print's text between messages); a blank line ends
    each cell's text and each piece of text before a figure or a result."""
    parts = []
    for cell in nb.cells:
        stream = ""
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                if out["name"] == "stdout":
                    stream += out["text"]
                continue
            if stream:
                parts.append(stream.rstrip("\n") + "\n\n")
                stream = ""
            if out["output_type"] == "execute_result":
                parts.append(out["data"].get("text/plain", "").rstrip("\n") + "\n\n")
        if stream:
            parts.append(stream.rstrip("\n") + "\n\n")
    return "".join(parts)


def stderr(nb) -> str:
    """What the notebook wrote to standard error (warnings, progress bars): nothing, in a clean notebook."""
    return "".join(out["text"] for cell in nb.cells for out in cell.get("outputs", [])
                   if out["output_type"] == "stream" and out["name"] == "stderr")


def images(nb) -> int:
    return sum(1 for cell in nb.cells for out in cell.get("outputs", [])
               if out["output_type"] == "display_data" and "image/png" in out.get("data", {}))


def block(printed: str, label: str) -> str:
    """The lines printed after the line starting with ``label``, up to the next blank line."""
    lines = printed.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(label)), None)
    assert start is not None, f"no line starting with {label!r} in the notebook's output"
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(line)
    return "\n".join(rows)


def flat_table(printed: str, label: str) -> pd.DataFrame:
    """A table printed with ``to_string(index=False)`` (no spaces inside values) after ``label``."""
    return pd.read_csv(io.StringIO(block(printed, label)), sep=r"\s+")


def pivot_table(printed: str, label: str) -> pd.DataFrame:
    """A factor × output pivot printed with ``to_string()`` after ``label`` (header 'output ...', then 'factor')."""
    lines = block(printed, label).splitlines()
    header = lines[0].split()
    assert header[0] == "output" and lines[1].split() == ["factor"], lines[:2]
    rows = [line.split() for line in lines[2:]]
    return pd.DataFrame({c: [float(r[k + 1]) for r in rows] for k, c in enumerate(header[1:])},
                        index=[r[0] for r in rows])


# ------------------------------------------------------------------------------------------------ storage
@pytest.mark.parametrize("key", sorted(NOTEBOOKS))
def test_notebooks_are_stored_clean(key):
    nb = nbformat.read(EXPERIMENTS / NOTEBOOKS[key], as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(markdown) >= len(code) / 2  # prose next to the code
    source = "\n".join(c.source for c in code)
    assert "ROOT" in code[0].source and '"configs"' in code[0].source  # finds the project root itself
    assert "plt." not in source and "pyplot" not in source  # figures come from the package's functions
    assert "SEED = " in source


def test_the_figure_script_reads_each_notebooks_sizes(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no __pycache__ in experiments/
    spec = importlib.util.spec_from_file_location("notebook_figures", EXPERIMENTS / "notebook_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    c1 = module.notebook_constants(EXPERIMENTS / NOTEBOOKS["01"])
    assert {"SEED", "N_FIRMS", "QUARTERS", "REPLICATIONS"} <= set(c1) and c1["SEED"] == 2026
    c2 = module.notebook_constants(EXPERIMENTS / NOTEBOOKS["02"])
    assert {"SEED", "REPLICATIONS", "QUARTERS"} <= set(c2)
    c3 = module.notebook_constants(EXPERIMENTS / NOTEBOOKS["03"])
    assert set(c3["MORRIS_FACTORS"]) == MORRIS_FACTORS and sorted(c3["OUTPUTS"]) == OUTPUTS_03
    for key in ("01", "02", "03"):
        assert (ROOT / "docs" / "figures" / f"notebook_{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------------ 01
def test_01_coopetition_basics():
    nb = execute("01")
    printed = text(nb)
    assert stderr(nb) == ""
    assert images(nb) >= 6
    assert "same history as the model stepped above: True" in printed
    # critical mass: thresholds drawn per domain, and collective actions that reached them
    for name in ("Moyens", "Produits/Marchés", "Club de travail"):
        m = re.search(rf"critical mass \({name}[^)]*\): \[([\d, ]+)\] contributors", printed)
        assert m and all(int(v) >= 2 for v in m.group(1).split(","))
    m = re.search(r"quarters with a collective action at critical mass: (\d+) of (\d+) \(first: quarter (\d+)\)",
                  printed)
    assert m, "notebook 01 shows no collective action reaching critical mass"
    reached, quarters, first = map(int, m.groups())
    assert quarters == 40 and 0 < reached <= quarters and 1 <= first <= quarters
    m = re.search(r"after 40 quarters: \d+ firms, (\d+) clusters formed, (\d+) still active", printed)
    assert m and int(m.group(1)) >= 3
    # the orientation table: one row per cluster formed, each founded for one of the three orientations
    rows = block(printed, next(line for line in printed.splitlines() if line.split()[:2] == ["cluster", "born"]))
    purposes = [re.search(r"(Moyens|Produits/Marchés|Club de travail)$", line) for line in rows.splitlines()]
    assert len(purposes) == int(m.group(1)) and all(purposes)
    # trust rises with cooperation: the cooperativeness experiment, low < medium < high
    table = flat_table(printed, "cooperativeness experiment").set_index("scenario")
    assert list(table.index) == ["low_cooperativeness", "medium_cooperativeness", "high_cooperativeness"]
    for column in ("cooperativeness_mean", "cooperation_rate", "mean_trust"):
        assert table[column].is_monotonic_increasing and table[column].iloc[-1] > table[column].iloc[0], column
    assert table.loc["high_cooperativeness", "mean_trust"] > 0.3  # above a new member's trust: trust was built
    assert table.loc["high_cooperativeness", "critical_mass_rate"] > table.loc["low_cooperativeness",
                                                                                "critical_mass_rate"]
    m = re.search(r"12 quarters after forming \(Kaplan-Meier\): (\{.*\})", printed)
    survival = ast.literal_eval(m.group(1))
    assert set(survival) == set(table.index) and all(0 <= v <= 1 for v in survival.values())
    assert survival["high_cooperativeness"] > survival["low_cooperativeness"]


# ------------------------------------------------------------------------------------------------ 02
def test_02_policy_scenarios():
    nb = execute("02")
    printed = text(nb)
    assert stderr(nb) == ""
    assert images(nb) >= 3
    for name in ("no_policy:", "call_for_projects:", "awareness_only:"):
        assert name in printed and "Question:" in printed
    diff = flat_table(printed, "paired differences to no_policy")
    assert set(diff["scenario"]) == {"call_for_projects", "awareness_only"}
    row = diff[(diff["scenario"] == "call_for_projects") & (diff["indicator"] == "member_share")].iloc[0]
    assert row["n"] == 6
    assert np.isfinite([row["low"], row["difference"], row["high"]]).all()
    assert row["low"] < row["difference"] < row["high"]  # a paired difference with its confidence interval
    money = diff[(diff["scenario"] == "call_for_projects") & (diff["indicator"] == "public_spending_cumulative")]
    assert money["mean_baseline"].iloc[0] == 0 and money["low"].iloc[0] > 0  # the policy spends, the baseline not
    assert bool(money["significant"].iloc[0])
    lev = flat_table(printed, "leverage (k€ of extra value added")
    assert list(lev["scenario"]) == ["call_for_projects", "awareness_only"]
    assert (lev["extra_public_spending"] > 0).all() and (lev["n"] == 6).all()
    assert "'differences.csv'" in printed and "'metadata.json'" in printed


# ------------------------------------------------------------------------------------------------ 03
def test_03_sensitivity():
    nb = execute("03")
    printed = text(nb)
    assert stderr(nb) == ""
    assert images(nb) >= 3
    m = re.search(r"Morris: (\d+) design points x 1 replication = (\d+) runs", printed)
    assert m and int(m.group(1)) == 6 * (6 + 1)
    assert re.search(r"42 runs ok, 0 failed", printed)
    mu_star = pivot_table(printed, "Morris mu_star")
    assert set(mu_star.index) == MORRIS_FACTORS and sorted(mu_star.columns) == OUTPUTS_03
    assert np.isfinite(mu_star.to_numpy()).all() and (mu_star.to_numpy() >= 0).all()
    assert (mu_star.max() > 0).all()
    sigma = pivot_table(printed, "Morris sigma")
    assert set(sigma.index) == MORRIS_FACTORS
    kept = ast.literal_eval(re.search(r"kept for Sobol': (\[.*\])", printed).group(1))
    assert len(kept) == 3 and set(kept) <= MORRIS_FACTORS
    st = pivot_table(printed, "Sobol ST")
    s1 = pivot_table(printed, "Sobol S1")
    assert set(st.index) == set(kept) == set(s1.index) and sorted(st.columns) == OUTPUTS_03
    assert np.isfinite(st.to_numpy()).all() and (st.to_numpy() > -0.5).all()
    assert re.search(r"Sobol': 80 runs, 80 ok, 0 failed", printed)
