"""clustersim.studies.calibration: the programme metrics measure what docs/calibration.md says, on constructed tables
and on a short real run of configs/call_for_projects.yaml."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from clustersim.experiment.runner import run_scenario  # noqa: E402
from clustersim.plots.calibration import plot_calibration  # noqa: E402
from clustersim.scenario.io import load_scenario  # noqa: E402
from clustersim.studies.calibration import GRAPPES_FACTS, compare_with_facts, programme_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _tables():
    """Two labelled clusters in replication 0: cluster 0 labelled at 2, support ended at 6, alive; cluster 1
    labelled at 2, died at 5. Cluster 2 never labelled."""
    clusters = pd.DataFrame({"replication": 0, "cluster": [0, 1, 2], "born": [1, 1, 1], "died": [-1, 5, -1],
                             "labelled_at": [2, 2, -1], "support_ended": [6, -1, -1]})
    sizes = pd.DataFrame({"replication": 0, "cluster": [0, 0, 1, 2], "step": [3, 5, 3, 3], "size": [10, 12, 8, 5]})
    spending = pd.DataFrame({"replication": 0, "step": [2, 3, 3], "funder": "state", "instrument": "facilitation",
                             "phase": "stabilisation", "cluster": [0, 1, -1], "amount": [30.0, 10.0, 99.0]})
    ts = pd.DataFrame({"replication": 0, "step": [0, 10], "applications": [0.0, 8.0], "selection_rate": [0.0, 0.25]})
    return clusters, sizes, spending, ts


def test_programme_metrics_on_constructed_tables():
    m = programme_metrics(*_tables(), steps=10, survival_lag=4, growth_from=1, growth_to=3).iloc[0]
    assert m["selection_rate"] == 0.25 and m["applications"] == 8
    assert m["labelled"] == 2
    # supported quarters: cluster 0 in 3..5 (support ended at 6), cluster 1 in 3..5 (dissolved in 5): 6 in all;
    # 40 k€ were paid to clusters (the region-wide row does not count)
    assert m["support_per_cluster_year"] == pytest.approx(40.0 / (6 / 4))
    assert m["support_years"] == pytest.approx(0.75)  # only cluster 0's support ended: 3 quarters
    # 4 quarters after labelling (quarter 6): cluster 0 alive, cluster 1 dead since 5
    assert m["survival"] == pytest.approx(0.5)
    # growth from quarter 3 to quarter 5: only cluster 0 has both sizes: 12 / 10 - 1
    assert m["membership_growth"] == pytest.approx(0.2)


def test_compare_with_facts_interval_and_band():
    metrics = pd.DataFrame({key: [f.value * 0.9, f.value * 1.1] for key, f in GRAPPES_FACTS.items()})
    table = compare_with_facts(metrics).set_index("quantity")
    for key, fact in GRAPPES_FACTS.items():
        assert table.loc[key, "model"] == pytest.approx(fact.value)
        assert table.loc[key, "model_low"] < fact.value < table.loc[key, "model_high"]
        assert table.loc[key, "in_band"]
    far = compare_with_facts(metrics * 10).set_index("quantity")
    assert not far.loc["selection_rate", "in_band"]


def test_call_for_projects_measures_on_a_short_run():
    s = load_scenario(ROOT / "configs" / "call_for_projects.yaml", ["simulation.n_firms=150", "simulation.steps=28"])
    r = run_scenario(s, replications=2, workers=1)
    metrics = programme_metrics(r.clusters(), r.cluster_sizes(), r.spending(), r.timeseries(), 28)
    assert len(metrics) == 2
    assert (metrics["labelled"] > 0).all()
    assert ((metrics["selection_rate"] > 0) & (metrics["selection_rate"] <= 1)).all()
    # no cluster gets more than the facilitation cap of 25 k€ a quarter
    assert (metrics["support_per_cluster_year"] <= 100.0 + 1e-9).all()
    table = compare_with_facts(metrics)
    fig = plot_calibration(table)
    assert len(fig.axes) == len(GRAPPES_FACTS)
    assert np.isfinite(table["model"]).sum() >= 3
