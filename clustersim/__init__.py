"""clustersim — an agent-based simulation lab for the dynamics of economic clusters, on Mesa 3.5.

Autonomous firms of a region compete and collaborate; they form, join and leave clusters oriented to
pooled means (Moyens), joint products and markets (Produits/Marchés) and knowledge exchange (Club de
travail); they build trust or lose it. See docs/ODD.md for the model and README.md for the commands.

Notebook use::

    import clustersim as cs
    scenario = cs.load_scenario("configs/baseline.yaml", ["simulation.n_firms=200"])
    model = cs.ClusterModel(scenario, rng=cs.replication_seed(scenario.simulation.seed, 0))
    model.run(20)
    model.timeseries()                      # indicators, one row per quarter
    results = cs.run_scenario(scenario, replications=4)
    results.timeseries(); results.summary()
    report = cs.sweep("experiments/my_sweep.yaml", "results/my_sweep", workers=2)   # resumable
    cs.RunStore.open("results/my_sweep").outputs()
    cs.docking.run_case("stag_hunt", {"group_size": 10, "threshold": 5}).to_dict()   # analytic vs simulated

The package is layered (docs/ARCHITECTURE.md): ``util`` < ``scenario`` < ``model`` < ``experiment`` <
``studies`` | ``plots`` < ``reports`` < ``app``; each imports only from the layers below it.
"""

from __future__ import annotations

import importlib
from typing import Any

from clustersim import _compat

__version__ = "0.2.0"

#: every public name and the module that holds it, imported on first use (``import clustersim`` loads no
#: numerical, plotting or storage library)
_EXPORTS: dict[str, str] = {
    "FAMILIES": "clustersim.model.indicators",
    "INDICATORS": "clustersim.model.indicators",
    "by_family": "clustersim.model.indicators",
    "Cluster": "clustersim.model.agents",
    "Firm": "clustersim.model.agents",
    "ClusterModel": "clustersim.model.model",
    "NoPolicy": "clustersim.model.policy.base",
    "Policy": "clustersim.model.policy.base",
    "Scenario": "clustersim.scenario.schema",
    "ScenarioError": "clustersim.scenario.errors",
    "apply_overrides": "clustersim.scenario.paths",
    "load_scenario": "clustersim.scenario.io",
    "scenario_from_dict": "clustersim.scenario.io",
    "scenario_hash": "clustersim.scenario.io",
    "scenario_to_dict": "clustersim.scenario.io",
    "replication_seed": "clustersim.experiment.seeds",
    "RunResult": "clustersim.experiment.runner",
    "ScenarioResults": "clustersim.experiment.runner",
    "run_replication": "clustersim.experiment.runner",
    "run_scenario": "clustersim.experiment.runner",
    "load_experiment": "clustersim.experiment.spec",
    "RunStore": "clustersim.experiment.store",
    "sweep": "clustersim.experiment.sweep",
    "LocalExecutor": "clustersim.experiment.executors",
    "DaskExecutor": "clustersim.experiment.executors",
    "write_results": "clustersim.reports.run",
    "compare_scenarios": "clustersim.studies.compare",
    "SensitivitySpec": "clustersim.studies.sensitivity",
    "load_sensitivity": "clustersim.studies.sensitivity",
    "resolve_study": "clustersim.studies.sensitivity",
    "run_sensitivity": "clustersim.studies.sensitivity",
    "write_sensitivity": "clustersim.reports.sensitivity",
}

#: subpackages reachable as attributes, imported on first use (``cs.docking.run_case("stag_hunt")``)
_MODULES: dict[str, str] = {"docking": "clustersim.studies.docking"}

# constants, then classes, then functions (the order ruff's RUF022 keeps)
__all__ = sorted(_EXPORTS, key=lambda n: (0 if n.isupper() else 1 if n[:1].isupper() else 2, n))

_compat.install()


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    if name in _MODULES:
        module = importlib.import_module(_MODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'clustersim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_MODULES])
