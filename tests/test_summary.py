"""The run summary a sweep evaluates (read from the model's arrays) equals the one `clustersim run` writes
(computed from its tables), number for number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clustersim.experiment.seeds import replication_seed
from clustersim.experiment.summary import model_spending_summary, summarise_model, summarise_run, summarise_spending
from clustersim.model import ClusterModel
from clustersim.model.tables import cluster_table, spending_table
from clustersim.scenario.io import load_scenario

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("name", ["baseline", "call_for_projects", "support_withdrawal"])
def test_summary_from_the_model_equals_the_summary_from_its_tables(name):
    scenario = load_scenario(CONFIGS / f"{name}.yaml", ["simulation.n_firms=120", "simulation.steps=30"])
    model = ClusterModel(scenario, rng=replication_seed(7, 1))
    model.run()
    from_tables = summarise_run(model.timeseries(), cluster_table(model), 30)
    from_model = summarise_model(model, 30)
    assert list(from_model) == list(from_tables)
    for key, value in from_tables.items():  # exact, NaN included
        assert (np.isnan(value) and np.isnan(from_model[key])) or from_model[key] == value, key
    assert from_tables["clusters_ever"] > 0
    spending = summarise_spending(spending_table(model))
    assert model_spending_summary(model) == spending
    assert (spending["public_spending_total"] > 0) == (name != "baseline")


@pytest.mark.parametrize("name", ["baseline", "full_support"])
def test_recording_only_the_late_quarters_gives_the_same_summary_and_the_same_dynamics(name):
    """Sweeps without time series record indicators only where the summary reads them: the summary, the
    final state and the late rows of the time series are those of a fully recorded run."""
    from clustersim.experiment.evaluate import clustersim_model
    from clustersim.experiment.summary import late_steps
    from clustersim.scenario.io import scenario_to_dict

    scenario = load_scenario(CONFIGS / f"{name}.yaml", ["simulation.n_firms=120", "simulation.steps=30"])
    first = int(late_steps(30)[0])
    assert first == 24 and list(late_steps(30)) == list(range(24, 31))
    full = ClusterModel(scenario, rng=replication_seed(7, 2))
    late = ClusterModel(scenario, rng=replication_seed(7, 2), record_from=first)
    full.run()
    late.run()
    ts_full, ts_late = full.timeseries(), late.timeseries()
    assert list(ts_late["step"]) == list(range(first, 31))
    assert ts_late.reset_index(drop=True).equals(ts_full[ts_full["step"] >= first].reset_index(drop=True))
    assert np.array_equal(full.firms.cap[: full.firms.n], late.firms.cap[: late.firms.n])
    a, b = summarise_model(full, 30), summarise_model(late, 30)
    assert all((np.isnan(v) and np.isnan(b[k])) or b[k] == v for k, v in a.items())
    # the sweep's evaluation records the late quarters only when it returns no time series: same numbers
    params = scenario_to_dict(scenario)
    without = clustersim_model(params, replication_seed(7, 3))
    with_ts = clustersim_model(params, replication_seed(7, 3), tables=("timeseries",))
    assert len(with_ts.pop("timeseries")) == 31
    assert all((np.isnan(v) and np.isnan(without[k])) or without[k] == v for k, v in with_ts.items())
    # recording from after the first late quarter would change the summary: refused
    too_late = ClusterModel(scenario, rng=replication_seed(7, 2), record_from=first + 1)
    too_late.run()
    with pytest.raises(ValueError, match="recorded from quarter 25"):
        summarise_model(too_late, 30)
    with pytest.raises(ValueError, match="record_from"):  # before the warm-up's first quarter
        ClusterModel(scenario, record_from=-scenario.simulation.warmup - 1)


@pytest.mark.parametrize("name", ["baseline", "full_support"])
def test_a_model_without_agent_views_has_the_same_dynamics_and_results(name):
    """Sweeps build models with agents=False (no Firm/Cluster Mesa agents): nothing in the dynamics, the
    indicators or the summary reads the views, so every number is the same."""
    from clustersim.model.agents import Cluster, Firm

    scenario = load_scenario(CONFIGS / f"{name}.yaml", ["simulation.n_firms=120", "simulation.steps=30"])
    with_views = ClusterModel(scenario, rng=replication_seed(11, 1))
    without = ClusterModel(scenario, rng=replication_seed(11, 1), agents=False)
    with_views.run()
    without.run()
    assert with_views.timeseries().equals(without.timeseries())
    assert np.array_equal(with_views.firms.cap[: with_views.firms.n], without.firms.cap[: without.firms.n])
    a, b = summarise_model(with_views, 30), summarise_model(without, 30)
    assert all((np.isnan(v) and np.isnan(b[k])) or b[k] == v for k, v in a.items())
    # the views exist (one per living firm and live cluster) only where asked for
    assert len(with_views.agents_by_type[Firm]) == len(with_views.alive_rows) > 0
    assert len(with_views.agents_by_type[Cluster]) == len(with_views.live_clusters) > 0
    assert len(without.agents) == 0
    with pytest.raises(RuntimeError, match="agents=False"):
        without.firm(int(without.alive_rows[0]))
