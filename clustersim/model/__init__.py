"""The cluster-dynamics model: state (column stores and pair stores), the quarter's mechanisms, orientations,
indicators, the public policy, and the Mesa agents that view firms and clusters.

It knows nothing of files, processes or terminals: it takes a validated :class:`~clustersim.scenario.schema.Scenario`
and the model's own generator, and gives tables (pandas) and indicators.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FOUNDED_MODES", "LEAVE_REASONS", "POLICY_PHASES", "ClusterModel", "NoPolicy", "Policy"]


def __getattr__(name: str) -> Any:  # lazy: importing a submodule does not build the whole model
    if name.startswith("__"):
        raise AttributeError(name)
    model = importlib.import_module("clustersim.model.model")
    if hasattr(model, name):  # the names of clustersim.model.model (ClusterModel, its constants)
        return getattr(model, name)
    raise AttributeError(f"module 'clustersim.model' has no attribute {name!r}")
