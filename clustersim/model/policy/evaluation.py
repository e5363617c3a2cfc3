"""Evaluation and reallocation (docs/ODD.md 7.25.5): the authority measures clusters with the monitoring tool,
de-labels the weakest supported ones, labels strong newcomers, and lets facilitation money follow the scores.

The evaluation is the monitoring instrument's action (:class:`~.instruments.Monitoring`), which pays for each
cluster measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.policy.base import PolicyHost

if TYPE_CHECKING:
    from clustersim.model.policy.support import Authority

__all__ = ["evaluate", "reallocate", "scores"]


def scores(m: PolicyHost, criterion: str, rows: np.ndarray) -> np.ndarray:
    """The evaluation criterion of each cluster of ``rows``, as measured without error."""
    C, mem = m.clusters, m.memberships
    if criterion == "member_benefit":
        total = np.bincount(mem.cluster, weights=mem.memory, minlength=C.n)
        count = np.bincount(mem.cluster, minlength=C.n)
        return total[rows] / np.maximum(count[rows], 1)
    if criterion == "growth":
        return C.trend[rows].copy()
    if criterion == "reputation":
        return C.reputation[rows].copy()
    return C.trust[rows].copy()


def evaluate(policy: Authority, m: PolicyHost) -> None:
    """Periodic evaluation: measure, de-label the weakest, label strong newcomers, reallocate money."""
    ev, mon = policy.cfg.evaluation, policy.cfg.instruments.monitoring
    C = m.clusters
    alive = np.flatnonzero(C.alive[: C.n])
    sup = alive[C.supported[alive] & (m.now - C.labelled_at[alive] >= ev.min_age)]
    # candidates for labelling: clusters never labelled (a cluster whose support ended is not relabelled)
    cand = alive[~C.supported[alive] & (C.labelled_at[alive] < 0) & (m.now - C.born[alive] >= ev.min_age)] \
        if ev.label_above < 1e6 else alive[:0]
    rows = np.concatenate([sup, cand])
    if not len(rows):
        return
    paid = policy.pay(m, "monitoring", rows, np.full(len(rows), mon.cost_per_cluster), whole=True)
    rows = rows[(paid > 0) | (mon.cost_per_cluster == 0)]
    if not len(rows):
        return
    true = scores(m, ev.criterion, rows)
    spread = float(true.std()) if len(true) > 1 else 0.0
    measured = true + ev.noise * (1 - mon.precision) * spread * m.rng.standard_normal(len(rows))
    C.score[rows] = measured
    m.policy_counters["evaluations"] += len(rows)
    is_sup = C.supported[rows]
    policy.unlabel(m, rows[is_sup & (measured < ev.delabel_below)], "delabelled")
    policy.label(m, rows[~is_sup & (measured >= ev.label_above)])
    reallocate(m, rows[C.supported[rows]], ev.reallocation)


def reallocate(m: PolicyHost, sup: np.ndarray, reallocation: float) -> None:
    """Facilitation money follows the rank of the score among the measured supported clusters ``sup``."""
    C = m.clusters
    if not len(sup):
        return
    if reallocation > 0 and len(sup) > 1:
        r = np.argsort(np.argsort(C.score[sup], kind="stable"), kind="stable")
        rank = (r + 0.5) / len(sup)
        C.funding_weight[sup] = (1 - reallocation) + reallocation * 2 * rank
    else:
        C.funding_weight[sup] = 1.0
