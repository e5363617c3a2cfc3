"""The run summary a sweep evaluates (read from the model's arrays) equals the one `clustersim run` writes
(computed from its tables), number for number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clustersim.model import ClusterModel
from clustersim.runner import (
    _cluster_table,
    model_spending_summary,
    replication_seed,
    spending_table,
    summarise_model,
    summarise_run,
    summarise_spending,
)
from clustersim.scenario_io import load_scenario

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("name", ["baseline", "call_for_projects", "support_withdrawal"])
def test_summary_from_the_model_equals_the_summary_from_its_tables(name):
    scenario = load_scenario(CONFIGS / f"{name}.yaml", ["simulation.n_firms=120", "simulation.steps=30"])
    model = ClusterModel(scenario, rng=replication_seed(7, 1))
    model.run()
    from_tables = summarise_run(model.timeseries(), _cluster_table(model), 30)
    from_model = summarise_model(model, 30)
    assert list(from_model) == list(from_tables)
    for key, value in from_tables.items():  # exact, NaN included
        assert (np.isnan(value) and np.isnan(from_model[key])) or from_model[key] == value, key
    assert from_tables["clusters_ever"] > 0
    spending = summarise_spending(spending_table(model))
    assert model_spending_summary(model) == spending
    assert (spending["public_spending_total"] > 0) == (name != "baseline")
