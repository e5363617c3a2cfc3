"""Helpers shared by the tests (importable as ``helpers``: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

from clustersim.config import Scenario

ROOT = Path(__file__).resolve().parent.parent


def small_scenario(n_firms: int = 60, steps: int = 12, replications: int = 2, **sections) -> Scenario:
    """The baseline with few firms and quarters (sections: ``clusters={"min_founders": 2}``, ...)."""
    s = Scenario()
    s.simulation.n_firms = n_firms
    s.simulation.steps = steps
    s.simulation.replications = replications
    for section, values in sections.items():
        for key, value in values.items():
            setattr(getattr(s, section), key, value)
    return s
