"""Per-firm participation thresholds (Granovetter 1978; docs/ODD.md 7.19), in isolation: a firm with threshold
k joins a cluster only when at least k members are in it already; the thresholds are drawn as the scenario
says, and with the rule off (the default) nothing is drawn."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import add_cluster, quiet_model

from clustersim.model.mechanisms import membership

OPEN = {"clusters.awareness_probability": 1.0, "clusters.join_threshold": -1000.0,
        "clusters.attraction_threshold": 0.0}


def _joins(params: dict, monkeypatch) -> list[tuple[int, int]]:
    """One quarter's joining in a quiet region with a 3-member and a 6-member cluster, where every firm hears
    of a cluster and would join on benefit alone: (cluster size before, firm threshold) of each join."""
    m = quiet_model(60, seed=3, params={**OPEN, **params})
    add_cluster(m, [0, 1, 2])
    add_cluster(m, [3, 4, 5, 6, 7, 8])
    seen: list[tuple[int, int]] = []
    real = membership.admit

    def record(model, firms, clusters, expected):
        seen.extend(zip(model.clusters.size[clusters].tolist(), model.firms.participation[firms].tolist(),
                        strict=True))
        return real(model, firms, clusters, expected)

    monkeypatch.setattr(membership, "admit", record)
    membership.join(m)
    return seen


def test_a_firm_with_threshold_k_joins_only_when_k_are_in(monkeypatch):
    off = _joins({}, monkeypatch)
    assert {size for size, _ in off} == {3, 6}  # without the rule both clusters get new members
    on = _joins({"clusters.participation.kind": "uniform", "clusters.participation.high": 5,
                 "clusters.participation.low": 5}, monkeypatch)
    assert on and all(size >= threshold == 5 for size, threshold in on)
    assert {size for size, _ in on} == {6}


def test_thresholds_are_drawn_as_the_scenario_says():
    m = quiet_model(400, seed=1, params={"clusters.participation.kind": "normal", "clusters.participation.mean": 4.0,
                                         "clusters.participation.sd": 2.0})
    th = m.firms.participation[: m.firms.n]
    assert th.min() >= 0 and th.mean() == pytest.approx(4.0, abs=0.4) and th.std() == pytest.approx(2.0, abs=0.4)
    u = quiet_model(400, seed=1, params={"clusters.participation.kind": "uniform", "clusters.participation.high": 4,
                                         "clusters.participation.low": 2})
    assert set(np.unique(u.firms.participation[: u.firms.n]).tolist()) == {2, 3, 4}


def test_with_the_rule_off_every_threshold_is_zero_and_nothing_is_drawn():
    a = quiet_model(50, seed=9)
    assert not a.firms.participation[: a.firms.n].any()
    b = quiet_model(50, seed=9, params={"clusters.participation.mean": 7.0})  # 'none' ignores the others
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_a_firm_with_threshold_k_contributes_only_if_k_contributed_last_quarter():
    """docs/ODD.md 7.6/7.19: with everybody fully willing, the members whose threshold exceeds the cluster's
    contributors of last quarter do not contribute; the rule off, all do; 'join' alone leaves contributing
    alone."""
    from clustersim.model.mechanisms import actions

    willing = {"firms.cooperativeness_mean": 1.0, "firms.cooperativeness_sd": 0.0,
               "trust.cooperation_weight": 0.0, "clusters.alignment_weight": 0.0}
    for applies_to, expect_rule in (("both", True), ("contribute", True), ("join", False)):
        m = quiet_model(30, seed=2, params={**willing, "clusters.participation.kind": "uniform",
                                            "clusters.participation.high": 3,
                                            "clusters.participation.applies_to": applies_to})
        cl = add_cluster(m, list(range(8)))
        m.firms.participation[:8] = [0, 1, 2, 3, 0, 1, 2, 3]
        m.clusters.contributors[cl] = 2
        f, c = m.memberships.firm, m.memberships.cluster
        coop, _ = actions.willingness(m, f, c)
        got = dict(zip(f.tolist(), coop.tolist(), strict=True))
        assert [got[i] for i in range(8)] == ([True, True, True, False] * 2 if expect_rule else [True] * 8)


def test_percentage_thresholds(monkeypatch):
    """docs/ODD.md 7.6/7.19, scale 'percent': a firm joins when the cluster's members are at least its threshold
    percent of the region's living firms (60 here: 5 % is 3 members, 10 % is 6), and contributes when at least its
    threshold percent of the cluster's members contributed last quarter."""
    from clustersim.model.mechanisms import actions

    pct = {"clusters.participation.kind": "uniform", "clusters.participation.scale": "percent",
           "clusters.participation.high": 10, "clusters.participation.low": 10}
    on = _joins(pct, monkeypatch)
    assert on and {size for size, _ in on} == {6}  # 10 % of 60 firms: the 6-member cluster only
    on = _joins({**pct, "clusters.participation.high": 5, "clusters.participation.low": 5}, monkeypatch)
    assert {size for size, _ in on} == {3, 6}
    willing = {"firms.cooperativeness_mean": 1.0, "firms.cooperativeness_sd": 0.0,
               "trust.cooperation_weight": 0.0, "clusters.alignment_weight": 0.0}
    m = quiet_model(30, seed=2, params={**willing, **pct})
    cl = add_cluster(m, list(range(8)))
    m.firms.participation[:8] = [0, 25, 26, 50, 0, 25, 26, 50]
    m.clusters.contributors[cl] = 2  # 2 of 8 members: 25 %
    f, c = m.memberships.firm, m.memberships.cluster
    coop, _ = actions.willingness(m, f, c)
    got = dict(zip(f.tolist(), coop.tolist(), strict=True))
    assert [got[i] for i in range(8)] == [True, True, False, False] * 2
