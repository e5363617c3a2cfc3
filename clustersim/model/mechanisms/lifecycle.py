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
from clustersim.util.arrays import segment_sum

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def life_cycle(m: ClusterModel) -> None:
    """The life cycle of live clusters (ODD 7.21): the vision drifts toward the members' mean capabilities,
    the sector mix and the membership trend are updated, the stage follows age, trend and the members'
    remembered benefit, and clusters too small for ``dissolve_patience`` quarters (or below 2) dissolve (drawn
    groups excepted: 7.26)."""
    C, F, mem, p = m.clusters, m.firms, m.memberships, m.p.clusters
    live = m.live_clusters
    if not len(live):
        return
    nc = C.n
    if len(mem):
        f, c = mem.firm, mem.cluster
        members = np.bincount(c, minlength=nc)
        per_member = np.maximum(members, 1)  # divisor of per-member means (empty slots: 1)
        mean_cap = segment_sum(c, F.cap.take(f, axis=0), nc) / per_member[:, None]
        has = members > 0
        d = m.p.clusters.vision_drift
        vision = C.vision[:nc]  # a view: clusters without members keep their vision
        vision[...] = np.where(has[:, None], (1 - d) * vision + d * mean_cap, vision)
        # distinct sectors of each cluster: its (cluster, sector) groups that have members
        groups = np.bincount(c * m.S + F.sector[f], minlength=nc * m.S).reshape(nc, m.S)
        C.n_sectors[:nc] = np.add.reduce(groups > 0, axis=1)
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
    # members who, on average, remember a net loss: the cluster declines whatever its size trend
    if len(mem):
        net = np.bincount(mem.cluster, weights=mem.memory, minlength=nc) / per_member
        stage = np.where((age >= p.emergence_age) & (net[live] < 0), STAGE_DECLINE, stage)
    C.stage[live] = stage
    low = size < p.min_size
    low_streak = np.where(low, C.low_streak[live] + 1, 0)
    C.low_streak[live] = low_streak
    # drawn groups (7.26) end only when the regrouping has fewer firms than groups, never by their size
    ending = live[((low_streak >= p.dissolve_patience) | (size < 2)) & (C.founded_mode[live] != MODE_DRAWN)]
    for row in ending.tolist():
        dissolve(m, row)
    m.prev_sizes = C.size[: C.n].astype(np.float64)


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
