"""Bottom-up formation of clusters (ODD 7.20, SKIN-style): a firm proposes, partners with a common interest
accept voluntarily; also the founding of a cluster that every constitution mode goes through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.agents import Cluster
from clustersim.model.mechanisms.actions import alignment
from clustersim.model.mechanisms.membership import add_memberships
from clustersim.model.state import MODE_BOTTOM_UP, NEVER, STAGE_EMERGENCE
from clustersim.util.arrays import unique_ints

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def form_clusters(m: ClusterModel) -> None:
    """Bottom-up formation: a firm proposes, partners with a common interest accept (SKIN-style)."""
    F, p = m.firms, m.p.clusters
    rows = m.alive_rows
    maxm = m.p.firms.max_memberships
    can = rows[(F.n_memberships[rows] < maxm) & (F.capital[rows] > 0)]
    if not len(can):
        return
    init = can[m.rng.random(len(can)) < p.initiative_probability * F.coop[can] * m.awareness(can)]
    if not len(init):
        return
    init = m.rng.permutation(init)  # no firm gets first pick of partners by its row number
    used: set[int] = set()
    purposes = m.draw_purposes(len(init))
    for i, purpose in zip(init.tolist(), purposes.tolist(), strict=True):
        if i in used or F.n_memberships[i] >= maxm:
            continue
        found = m.assemble(i, purpose, used, p.min_founders, p.max_size)
        if found is None:
            continue
        founders, sc = found
        m.create_cluster(i, founders, sc, purpose)
        used.add(i)
        used.update(founders.tolist())


def draw_purposes(m: ClusterModel, k: int) -> np.ndarray:
    """Founding purposes (0 Moyens, 1 Produits/Marchés, 2 Club) of ``k`` proposals, by the schema weights."""
    p = m.p.clusters
    weights = np.array([p.purpose_weight_moyens, p.purpose_weight_products_markets, p.purpose_weight_club])
    total = weights.sum()
    if not total > 0:
        return m.rng.integers(0, 3, size=k)
    # = m.rng.choice(3, size=k, p=weights / total) (the schema keeps weights >= 0), written out as numpy's
    # Generator.choice computes it (normalised cumulative weights, one uniform draw per proposal), without
    # choice's argument checks, which cost more than the draw itself
    cdf = (weights / total).cumsum()
    cdf /= cdf[-1]
    return cdf.searchsorted(m.rng.random(k), side="right")


def assemble(m: ClusterModel, i: int, purpose: int, used: set[int], min_size: int, max_size: int
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """Firm ``i`` looks for partners for a project of ``purpose``; returns (founders, their interest
    scores), best first, or None when fewer than ``min_size − 1`` accept.

    Candidates are its link partners and a random sample of the region; with the intermediary's help
    (matchmaking), also the best-matching firms of the region, and the candidates judge the proposal
    with less information noise. Each candidate accepts from its own interest and expected benefit.
    """
    F, p = m.firms, m.p.clusters
    rows = m.alive_rows
    maxm = m.p.firms.max_memberships
    indptr, nbr = m.adjacency()
    partners = nbr[indptr[i]: indptr[i + 1]]
    randoms = rows[m.rng.integers(0, len(rows), p.partner_search_sample)]
    pool = [partners, randoms]
    noise = m.p.learning.information_noise * m.noise_factor
    if m.matchmaking_left > 0:
        m.matchmaking_left -= 1
        m.policy_counters.matchmaking_services += 1
        m.step_stats.matchmaking_services += 1
        free = rows[(F.n_memberships[rows] < maxm) & (rows != i)]
        free = free[~np.isin(free, np.fromiter(used, dtype=np.int64, count=len(used)))]
        if len(free) and m.matchmaking_extra > 0:
            fit = m.interest(free, np.ones(3), np.full(len(free), F.need[i]), F.cap[i])[:, purpose]
            pool.append(free[np.argsort(-fit, kind="stable")[: m.matchmaking_extra]])
        noise *= m.matchmaking_noise
    cand = unique_ints(np.concatenate(pool))
    cand = cand[(cand != i) & (F.n_memberships[cand] < maxm) & F.alive[cand]]
    if used:
        cand = np.array([j for j in cand.tolist() if j not in used], dtype=np.int64)
    if len(cand) < min_size - 1:
        return None
    return m.consider(i, purpose, cand, noise, min_size, max_size)


def consider(m: ClusterModel, i: int, purpose: int, cand: np.ndarray, noise: float, min_size: int, max_size: int
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """Candidates ``cand`` judge firm ``i``'s proposal of ``purpose``; each accepts voluntarily when its
    interest clears the attraction threshold, its noisy expected benefit clears the join threshold, and
    its cooperativeness lets it engage. Returns (accepting founders, their interest scores), best first,
    at most ``max_size − 1``, or None when fewer than ``min_size − 1`` accept."""
    F, p = m.firms, m.p.clusters
    scores = m.interest(cand, np.ones(3), np.full(len(cand), F.need[i]), F.cap[i])
    best = scores[:, purpose]  # candidates judge the proposal on its purpose
    prospect = best * p.prospect_value * (1 + noise * m.rng.standard_normal(len(cand))) - p.membership_fee
    accept = (best >= p.attraction_threshold) & (prospect > p.join_threshold)
    accept &= m.rng.random(len(cand)) < F.coop[cand]  # willingness to engage
    founders = cand[accept]
    if len(founders) + 1 < min_size:
        return None
    order = (-best[accept]).argsort(kind="stable")[: max_size - 1]
    return founders[order], scores.compress(accept, axis=0).take(order, axis=0)


def create_cluster(m: ClusterModel, initiator: int, founders: np.ndarray, scores: np.ndarray, purpose: int,
                    mode: int = MODE_BOTTOM_UP, locked_until: int = NEVER) -> int:
    """A new cluster: the founding purpose at full intensity, the other orientations at the founders'
    mean interest in them (clusters pursue several orientations, not mutually exclusive).

    ``mode`` records how it came into being (:data:`FOUNDED_MODES`); ``locked_until`` > now only in the
    directive counterfactual, where members are assigned and may not leave before that quarter."""
    F, C = m.firms, m.clusters
    row = int(C.add_rows(1)[0])
    mix = np.add.reduce(scores, axis=0) / len(scores)  # = scores.mean(axis=0), without numpy's wrapper
    mix[purpose] = 1.0
    members = np.concatenate([[initiator], founders]).astype(np.int64)
    # the founders' mean and spread (standard deviation) of each capability, computed as numpy's
    # mean(axis=0) and std(axis=0) do (sum, division by the count, mean squared deviation, square root)
    n = len(members)
    cap = F.cap.take(members, axis=0)
    cap_mean = np.add.reduce(cap, axis=0) / n
    dev = cap - cap_mean
    spread = np.sqrt(np.add.reduce(dev * dev, axis=0) / n)
    C.alive[row] = True
    m.live_clusters_cache = None
    C.born[row] = m.now
    C.died[row] = -1
    C.orient[row] = mix
    C.domain[row] = [F.need[initiator],
                     int(m.rng.integers(0, m.p.orientations.products_markets.n_domains)),
                     int(spread.argmax())]
    C.vision[row] = cap_mean
    align = alignment(m, members, np.full(n, row))
    C.alignment[row] = float(np.add.reduce(align) / n)  # = align.mean()
    C.trust[row] = m.p.trust.initial
    C.facilitator_quality[row] = 1.0
    C.coordination[row] = 1.0
    C.coordination_ceiling[row] = 1.0
    C.stage[row] = STAGE_EMERGENCE
    C.founded_mode[row] = mode
    C.labelled_at[row] = -1
    C.support_ended[row] = -1
    C.last_training[row] = -1
    C.funding_weight[row] = 1.0
    C.score[row] = np.nan
    C.n_sectors[row] = len(set(F.sector[members].tolist()))
    if m.agent_views:
        m.cluster_agents[row] = Cluster(m, row)
    add_memberships(m, members, np.full(n, row), np.zeros(n), locked_until)
    C.joins[row] = 0
    m.counters.clusters_formed += 1
    return row
