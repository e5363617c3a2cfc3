"""The life cycle of clusters (ODD 7.21): vision drift, sector mix, membership trend, stage, dissolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.mechanisms.membership import remove_memberships
from clustersim.model.state import (
    MODE_DRAWN,
    STAGE_DECLINE,
    STAGE_DISSOLVED,
    STAGE_EMERGENCE,
    STAGE_GROWTH,
    STAGE_MATURITY,
)
from clustersim.util.arrays import row_mean, segment_sum

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def life_cycle(m: ClusterModel) -> None:
    """The life cycle of live clusters (ODD 7.21): the vision drifts toward the members' mean capabilities;
    the members' knowledge diversity, the sector mix and the membership trend are updated; the stage follows
    age, trend, the members' remembered benefit and lock-in (diversity below ``lock_in_diversity``); the
    orientation mix moves toward what pays (re-orientation); clusters too small for ``dissolve_patience``
    quarters (or below 2), and declining ones with chance ``decline_hazard``, dissolve (drawn groups excepted:
    7.26)."""
    C, mem, p = m.clusters, m.memberships, m.p.clusters
    live = m.live_clusters
    if not len(live):
        return
    nc = C.n
    members = knowledge_and_mix(m, nc) if len(mem) else np.zeros(nc, dtype=np.int64)
    size = C.size[live].astype(np.float64)
    prev = np.zeros(nc)
    prev[: len(m.prev_sizes)] = m.prev_sizes[:nc]
    change = (size - prev[live]) / np.maximum(size, 1.0)
    tw = p.trend_weight
    trend = (1 - tw) * C.trend[live] + tw * change
    C.trend[live] = trend
    age = m.now - C.born[live]
    stage = np.where(age < p.emergence_age, STAGE_EMERGENCE,
                     np.where(trend > p.growth_threshold, STAGE_GROWTH,
                              np.where(trend < -p.growth_threshold, STAGE_DECLINE, STAGE_MATURITY)))
    grown = age >= p.emergence_age
    if len(mem):  # members who, on average, remember a net loss: the cluster declines whatever its size trend
        net = np.bincount(mem.cluster, weights=mem.memory, minlength=nc) / np.maximum(members, 1)
        stage = np.where(grown & (net[live] < 0), STAGE_DECLINE, stage)
    if p.lock_in_diversity:  # members' knowledge has converged: lock-in (Menzel & Fornahl 2010)
        stage = np.where(grown & (members[live] > 0) & (C.diversity[live] < p.lock_in_diversity), STAGE_DECLINE,
                         stage)
    m.counters.clusters_renewed += int(np.count_nonzero((C.stage[live] == STAGE_DECLINE)
                                                        & ((stage == STAGE_GROWTH) | (stage == STAGE_MATURITY))))
    C.stage[live] = stage
    drawn = C.founded_mode[live] == MODE_DRAWN
    if p.reorientation_rate:
        reorient(m, live[~drawn & (members[live] > 0)])
    low = size < p.min_size
    low_streak = np.where(low, C.low_streak[live] + 1, 0)
    C.low_streak[live] = low_streak
    # drawn groups (7.26) end only when the regrouping has fewer firms than groups, never by their size
    ending = ((low_streak >= p.dissolve_patience) | (size < 2)) & ~drawn
    declining = np.flatnonzero((stage == STAGE_DECLINE) & ~drawn & ~ending)
    if p.decline_hazard and len(declining):  # members give up a declining cluster
        ending[declining[m.rng.random(len(declining)) < p.decline_hazard]] = True
    for row in live[ending].tolist():
        dissolve(m, row)
    m.prev_sizes = C.size[: C.n].astype(np.float64)


def knowledge_and_mix(m: ClusterModel, nc: int) -> np.ndarray:
    """Vision drift, the members' knowledge diversity (mean over members of the mean absolute deviation of their
    capabilities from the members' mean; computed only when lock-in is on) and the number of distinct sectors,
    for clusters with members; returns the member count of every cluster row."""
    C, F, mem = m.clusters, m.firms, m.memberships
    f, c = mem.firm, mem.cluster
    members = np.bincount(c, minlength=nc)
    per_member = np.maximum(members, 1)  # divisor of per-member means (empty slots: 1)
    cap = F.cap.take(f, axis=0)
    mean_cap = segment_sum(c, cap, nc) / per_member[:, None]
    has = members > 0
    if m.p.clusters.lock_in_diversity:  # diversity, which only lock-in reads
        deviation = row_mean(np.abs(cap - mean_cap.take(c, axis=0)))
        C.diversity[:nc] = np.where(has, np.bincount(c, weights=deviation, minlength=nc) / per_member,
                                    C.diversity[:nc])
    d = m.p.clusters.vision_drift
    vision = C.vision[:nc]  # a view: clusters without members keep their vision
    vision[...] = np.where(has[:, None], (1 - d) * vision + d * mean_cap, vision)
    groups = np.bincount(c * m.S + F.sector[f], minlength=nc * m.S).reshape(nc, m.S)
    C.n_sectors[:nc] = np.add.reduce(groups > 0, axis=1)
    return members


def reorient(m: ClusterModel, rows: np.ndarray) -> None:
    """Re-orientation (ODD 7.21): each pursued orientation's intensity moves by ``reorientation_rate ·
    tanh((π_o − mean π) / payoff_signal_scale)``, π the cluster's remembered net benefit per member of each
    orientation it pursues, clipped to [0, 1]; an orientation at 0 is dropped for good."""
    if not len(rows):
        return
    C = m.clusters
    orient, pay = C.orient.take(rows, axis=0), C.orient_payoff.take(rows, axis=0)
    active = orient > 0
    mean = (pay * active).sum(axis=1) / np.maximum(active.sum(axis=1), 1)
    signal = np.tanh((pay - mean[:, None]) / m.p.learning.payoff_signal_scale)
    C.orient[rows] = np.where(active, np.clip(orient + m.p.clusters.reorientation_rate * signal, 0.0, 1.0), orient)


def dissolve(m: ClusterModel, row: int) -> None:
    """Dissolve cluster ``row``: its memberships end, its support stops and its fund leaves the region."""
    C = m.clusters
    remove_memberships(m, m.memberships.cluster == row, "dissolution")
    C.alive[row] = False
    m.live_clusters_cache = None
    C.died[row] = m.now
    C.stage[row] = STAGE_DISSOLVED
    C.supported[row] = False  # public support stops with the cluster
    m.ledger["fund_lost"] += float(C.fund[row])  # the remaining fund goes back out of the region
    C.fund[row] = 0.0
    m.counters.clusters_dissolved += 1
    if m.agent_views:
        m.cluster_agents.pop(row).remove()
