"""Knowledge and productivity (ODD 7.16-7.17): spillovers along peer links, club gains, obsolescence, and
productivity growth under external and internal efficiency pressure (rivalry, market coordination).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.util.arrays import PAIR_SHIFT, row_mean, segment_sum, stable_argsort, unique_ints

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def knowledge_and_productivity(m: ClusterModel) -> None:
    """Knowledge and productivity (ODD 7.16-7.17): capabilities gain the quarter's club learning and the
    spillovers along active peer links and lose to obsolescence; productivity grows with efficiency pressure
    (external: the gap to the frontier; internal: rivalry) and with the capability gained, plus noise."""
    F, p = m.firms, m.p
    rows = m.alive_rows
    gain = m.club_gain
    # spillovers along horizontal links (both directions), also to non-members
    if not len(m.horizontal):
        spill = np.zeros(gain.shape)
    else:
        active = m.rng.random(len(m.horizontal)) < p.links.contact_probability
        key = m.horizontal.key[active]
        a, b = key >> 32, key & 0xFFFFFFFF
        rate = (p.links.spillover_rate * m.horizontal.value[active])[:, None]
        diff = F.cap.take(b, axis=0) - F.cap.take(a, axis=0)
        spill = (segment_sum(a, rate * np.maximum(0.0, diff), F.n)
                 + segment_sum(b, rate * np.maximum(0.0, -diff), F.n))
    if m.observing:
        nonmember = F.n_memberships[: F.n] == 0
        spill_nonmembers = row_mean(spill[: F.n].compress(nonmember, axis=0))
        m.step_stats.spillover_nonmembers = float(np.add.reduce(spill_nonmembers))
    old_idx = F.capidx[rows]  # a copy (fancy index)
    cap = (F.cap.take(rows, axis=0) * (1 - p.learning.capability_obsolescence) + gain.take(rows, axis=0)
           + spill.take(rows, axis=0))
    cap.clip(0.0, 1.0, out=cap)
    F.cap[rows] = cap
    new_idx = row_mean(cap)
    F.capidx[rows] = new_idx
    # efficiency pressure: external (gap to the frontier) and internal rivalry
    rivalry, penalty = internal_rivalry(m, rows)
    F.rivalry[rows] = rivalry
    prod = F.prod[rows]
    gap = np.log(m.frontier / prod)
    external = 1.0 / (1.0 + np.exp(-gap / p.learning.frontier_gap_scale))
    ew = p.learning.external_pressure_weight
    pressure = ew * external + (1 - ew) * rivalry
    growth = (p.learning.process_innovation_rate * pressure
              + p.learning.capability_elasticity * (new_idx - old_idx)
              + p.learning.productivity_noise * m.rng.standard_normal(len(rows)))
    F.prod[rows] = prod * np.exp(growth)
    # penalty.mean(): the same sum and division, without numpy's wrapper
    m.step_stats.conglomerate_penalty = float(np.add.reduce(penalty) / len(penalty)) if len(penalty) else 0.0


def internal_rivalry(m: ClusterModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Internal rivalry of each firm: ``n_eff / (n_eff + rivalry_half)``.

    ``n_eff = ρ · (same-sector regional firms outside the firm's clusters)
    + (1 − q) · (distinct same-sector co-members, over all its clusters)``: rivalry is felt most among
    firms that meet
    (ρ = ``regional_rivalry_weight`` < 1), and a cluster that coordinates its members' market behaviour
    (q = ``market_coordination``) removes that share of the rivalry among them. Returns (rivalry,
    penalty), the penalty being the rivalry the coordination removed (the "conglomerate" effect).
    """
    F, _C, mem = m.firms, m.clusters, m.memberships
    comp = m.p.competition
    half = comp.rivalry_half
    sector = F.sector[rows]
    n_sector = np.bincount(sector, minlength=m.S)
    others = (n_sector[sector] - 1).astype(np.float64)
    co_rows = distinct_same_sector_comembers(m)[rows] if len(mem) else np.zeros(len(rows))
    outside = comp.regional_rivalry_weight * (others - co_rows)
    free = outside + co_rows
    eff = outside + (1 - comp.market_coordination) * co_rows
    rivalry = eff / (eff + half)
    return rivalry, free / (free + half) - rivalry


def distinct_same_sector_comembers(m: ClusterModel) -> np.ndarray:
    """Number of distinct same-sector firms each firm meets in its clusters (a rival met in two clusters
    counts once), by firm row. O(memberships + pairs of firms with several memberships)."""
    F, mem = m.firms, m.memberships
    key = mem.cluster * m.S + F.sector[mem.firm]
    group_size = np.bincount(key, minlength=m.clusters.n * m.S)
    co = np.bincount(mem.firm, weights=(group_size[key] - 1).astype(np.float64), minlength=F.n)
    multi = F.n_memberships[mem.firm] > 1
    if not multi.any():
        return co
    # firms in several clusters: list their (firm, co-member) pairs and count the distinct ones
    order = stable_argsort(key, len(group_size))
    starts = group_size.cumsum() - group_size
    rows = multi.nonzero()[0]
    key_rows = key[rows]
    size = group_size[key_rows]
    first = (starts[key_rows] - (size.cumsum() - size)).repeat(size)
    partner = mem.firm[order[first + np.arange(len(first))]]
    me = mem.firm[rows].repeat(size)
    other = partner != me
    pairs = unique_ints(me[other] * PAIR_SHIFT + partner[other])
    firms_multi = mem.firm[rows]  # with repeats: each assignment below writes the same value
    co[firms_multi] = np.bincount(pairs >> 32, minlength=F.n)[firms_multi]
    return co
