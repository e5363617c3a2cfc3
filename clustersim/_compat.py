"""The module paths of clustersim 0.1, kept importable for one release with a DeprecationWarning.

clustersim 0.2 moved its modules into layered packages (docs/ARCHITECTURE.md). An import of an old path
(``clustersim.runner``, ``clustersim.engine.sweep``, ...) gives a module whose attributes are looked up in the
new modules listed below, in order, and warns once, naming where the names went. Plug-in model paths written
in experiment files (``model: clustersim.analytic:ishigami``) keep working the same way.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED", "install"]

#: old module -> the modules that now hold its names (searched in this order)
MOVED: dict[str, tuple[str, ...]] = {
    "clustersim.agents": ("clustersim.model.agents",),
    "clustersim.analytic": ("clustersim.studies.analytic",),
    "clustersim.calibration": ("clustersim.studies.calibration", "clustersim.plots.calibration"),
    "clustersim.cli": ("clustersim.app.cli",),
    "clustersim.compare": ("clustersim.studies.compare", "clustersim.plots.compare",
                           "clustersim.reports.compare"),
    "clustersim.config": ("clustersim.scenario.schema", "clustersim.scenario.policy_schema",
                          "clustersim.scenario.base"),
    "clustersim.engine": ("clustersim.experiment",),
    "clustersim.engine.designs": ("clustersim.experiment.designs",),
    "clustersim.engine.evaluate": ("clustersim.experiment.evaluate",),
    "clustersim.engine.spec": ("clustersim.experiment.spec",),
    "clustersim.engine.store": ("clustersim.experiment.store",),
    "clustersim.engine.sweep": ("clustersim.experiment.sweep", "clustersim.experiment.executors"),
    "clustersim.indicators": ("clustersim.model.indicators",),
    "clustersim.network": ("clustersim.util.arrays", "clustersim.model.pairs"),
    "clustersim.orientations": ("clustersim.model.orientations",),
    "clustersim.output": ("clustersim.reports.run", "clustersim.util.provenance", "clustersim.util.atomic"),
    "clustersim.plots_explore": ("clustersim.plots.explore",),
    "clustersim.plots_live": ("clustersim.plots.live",),
    "clustersim.plots_sensitivity": ("clustersim.plots.sensitivity",),
    "clustersim.policy": ("clustersim.model.policy.public", "clustersim.model.policy.base",
                          "clustersim.model.policy.treasury", "clustersim.model.policy.instruments",
                          "clustersim.model.policy.support", "clustersim.model.policy.constitution",
                          "clustersim.model.policy.evaluation"),
    "clustersim.progress": ("clustersim.util.progress",),
    "clustersim.runner": ("clustersim.experiment.runner", "clustersim.experiment.seeds",
                          "clustersim.experiment.summary", "clustersim.experiment.executors",
                          "clustersim.model.tables"),
    "clustersim.scenario_io": ("clustersim.scenario.io", "clustersim.scenario.errors", "clustersim.scenario.paths",
                               "clustersim.scenario.parse", "clustersim.scenario.template"),
    "clustersim.sensitivity": ("clustersim.studies.sensitivity", "clustersim.studies.sensitivity_spec",
                               "clustersim.studies.sensitivity_sampling", "clustersim.studies.sensitivity_analysis",
                               "clustersim.reports.sensitivity"),
    "clustersim.state": ("clustersim.model.state",),
    "clustersim.viz": ("clustersim.app.viz",),
}


class _Moved(types.ModuleType):
    """An old module path: attribute lookups go to the new modules."""

    __targets__: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for target in self.__targets__:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} (moved to {', '.join(self.__targets__)}) has no "
                             f"attribute {name!r}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == "clustersim.engine")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        targets = MOVED[spec.name]
        warnings.warn(f"{spec.name} is deprecated: its names moved to {', '.join(targets)} (clustersim 0.2; "
                      "the old path goes in 0.3)", DeprecationWarning, stacklevel=2)
        module = _Moved(spec.name)
        module.__targets__ = targets
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ == "clustersim.engine":
            module.__path__ = []  # a package, so that clustersim.experiment.<name> resolves (through MOVED)


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
