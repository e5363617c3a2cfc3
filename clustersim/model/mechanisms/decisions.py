"""The firms' own estimates that their decisions read (ODD 7.19-7.20): common interest with a cluster or a
partner, the expected net benefit of joining under bounded information, awareness campaigns' effect, and
the money value of capability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.orientations import cognitive_learning_factor
from clustersim.model.state import STAGE_DECLINE
from clustersim.util.arrays import row_mean

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def capability_value(m: ClusterModel, rows: np.ndarray) -> np.ndarray:
    """Money value (k€ over the valuation horizon) of one unit of capability index for each firm."""
    p = m.p
    return (p.learning.valuation_horizon * p.learning.capability_elasticity
            * p.market.market_share_elasticity * m.firms.revenue[rows])


def interest(m: ClusterModel, rows: np.ndarray, orient: np.ndarray, domain0: np.ndarray, vision: np.ndarray
             ) -> np.ndarray:
    """Common interest of firms with clusters (or prospective partners), per orientation, in [0, 1].

    Moyens: the firm shares the cluster's common need. Produits/Marchés: complementarity, the firm
    brings capabilities the cluster lacks (``min(1, d / complementarity_distance)``). Club de travail:
    Nooteboom's learning factor at the firm's cognitive distance ``d`` from the vision, times the share
    of that distance the firm can learn (where the vision is ahead of it:
    ``mean max(0, v − c) / mean |v − c|``).
    Returns an (n, 3) array, each column scaled by the orientation's intensity.
    """
    F = m.firms
    # rows of 2-D columns are read with take(rows, axis=0) throughout: the same copy as cap[rows], several
    # times faster on a step's small arrays (numpy's general multi-dimensional indexing is slow there)
    gap = vision - F.cap.take(rows, axis=0)  # v − c; |c − v| is its magnitude (IEEE subtraction is antisymmetric)
    dist = row_mean(np.abs(gap))
    o = m.p.orientations
    ahead = row_mean(np.maximum(0.0, gap))
    learnable = np.divide(ahead, dist, out=np.zeros(len(dist)), where=dist > 0)
    scores = np.empty((len(dist), 3))  # the columns Moyens, Produits/Marchés, Club (as np.stack would)
    scores[:, 0] = F.need[rows] == domain0
    np.minimum(1.0, dist / o.products_markets.complementarity_distance, out=scores[:, 1])
    scores[:, 2] = cognitive_learning_factor(dist, o.club.optimal_distance) * learnable
    return orient * scores


def expected_net_benefit(m: ClusterModel, rows: np.ndarray, clusters: np.ndarray, noise: bool = True
              ) -> tuple[np.ndarray, np.ndarray]:
    """Firms' estimates of the net benefit (k€/quarter) of joining clusters, under bounded information.

    ``E = interest · ((1 − ε) · prospect_value + ε · reputation) · (1 + σ·z) − fee − contributions``,
    where ε = the cluster's age over the emergence age (capped at 1): young clusters are judged on
    prospects, older ones on their observed results (reputation, the gross benefit per member), a declining
    one's gross estimate discounted by ``clusters.decline_discount``; σ is
    the information noise; contributions are the joint-product and club contributions the cluster's
    orientation mix asks of a contributing member. Returns (interest, E).
    """
    C = m.clusters
    p = m.p.clusters
    orient = C.orient.take(clusters, axis=0)
    fit = np.maximum.reduce(m.interest(rows, orient, C.domain[:, 0].take(clusters),
                                          C.vision.take(clusters, axis=0)), axis=1)
    age = m.now - C.born[clusters]
    ev = np.minimum(1.0, age / max(1, p.emergence_age))
    gross = fit * ((1 - ev) * p.prospect_value + ev * C.reputation[clusters])
    if p.decline_discount:  # a declining cluster is judged on the signs of its decline (7.21)
        gross = gross * np.where(C.stage[clusters] == STAGE_DECLINE, 1 - p.decline_discount, 1.0)
    if noise:
        sd = m.p.learning.information_noise * m.noise_factor * (1 - C.clarity[clusters])
        gross = gross * (1 + sd * m.rng.standard_normal(len(rows)))
    o = m.p.orientations
    contributions = m.contribution_factor * (
        orient[:, 1] * o.products_markets.contribution * (1 - C.cofund_rate[clusters])
        + orient[:, 2] * o.club.contribution)
    return fit, gross - p.membership_fee - contributions


def awareness(m: ClusterModel, rows: np.ndarray) -> np.ndarray:
    """Awareness campaigns: each firm's chances of hearing of a cluster or proposing one, × (1 + boost)."""
    F = m.firms
    return 1 + F.aware_boost[rows] * (F.aware_until[rows] >= m.now)
