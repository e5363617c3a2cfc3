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
"""

from clustersim.agents import Cluster, Firm
from clustersim.config import Scenario
from clustersim.engine.spec import load_experiment
from clustersim.engine.store import RunStore
from clustersim.engine.sweep import sweep
from clustersim.indicators import FAMILIES, INDICATORS, by_family
from clustersim.model import ClusterModel, NoPolicy, Policy
from clustersim.output import write_results
from clustersim.runner import RunResult, ScenarioResults, replication_seed, run_replication, run_scenario
from clustersim.scenario_io import (
    ScenarioError,
    apply_overrides,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
    scenario_to_dict,
)

__version__ = "0.1.0"

__all__ = [  # names in _LAZY below are imported on first use (SALib and the comparison code are not needed
    # by every command)
    "FAMILIES",
    "INDICATORS",
    "Cluster",
    "ClusterModel",
    "DaskExecutor",
    "Firm",
    "LocalExecutor",
    "NoPolicy",
    "Policy",
    "RunResult",
    "RunStore",
    "Scenario",
    "ScenarioError",
    "ScenarioResults",
    "SensitivitySpec",
    "apply_overrides",
    "by_family",
    "compare_scenarios",
    "load_experiment",
    "load_scenario",
    "load_sensitivity",
    "replication_seed",
    "resolve_study",
    "run_replication",
    "run_scenario",
    "run_sensitivity",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_dict",
    "sweep",
    "write_results",
    "write_sensitivity",
]

_LAZY = {
    "compare_scenarios": "clustersim.compare",
    "SensitivitySpec": "clustersim.sensitivity",
    "load_sensitivity": "clustersim.sensitivity",
    "resolve_study": "clustersim.sensitivity",
    "run_sensitivity": "clustersim.sensitivity",
    "write_sensitivity": "clustersim.sensitivity",
    "LocalExecutor": "clustersim.engine.sweep",
    "DaskExecutor": "clustersim.engine.sweep",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'clustersim' has no attribute {name!r}")
