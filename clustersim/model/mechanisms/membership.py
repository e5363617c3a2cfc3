"""Membership decisions (ODD 7.18-7.19): members leave when their remembered net benefit is negative;
firms that hear of a cluster join when their expected net benefit clears the join threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.mechanisms.decisions import expected_net_benefit
from clustersim.model.state import NEVER
from clustersim.util.arrays import PAIR_SHIFT, isin_sorted, stable_argsort

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def remove_memberships(m: ClusterModel, mask: np.ndarray, reason: str) -> None:
    """End the memberships where ``mask`` is True, for ``reason`` (one of ``LEAVE_REASONS``)."""
    mem, F, C = m.memberships, m.firms, m.clusters
    if not mask.any():
        return
    f, c = mem.firm[mask], mem.cluster[mask]
    F.n_memberships[: F.n] -= np.bincount(f, minlength=F.n)
    per_cluster = np.bincount(c, minlength=C.n)
    C.size[: C.n] -= per_cluster
    C.leaves[: C.n] += per_cluster
    m.counters[f"leave_{reason}"] += len(f)
    mem.keep(~mask)


def add_memberships(m: ClusterModel, f: np.ndarray, c: np.ndarray, memory: np.ndarray,
                    locked_until: int = NEVER) -> None:
    """New memberships (firm ``f[k]`` in cluster ``c[k]``), remembering ``memory[k]``; members may not leave
    before ``locked_until`` (directive counterfactual only)."""
    F, C = m.firms, m.clusters
    m.memberships.add(f, c, m.now, memory, m.p.trust.initial, locked_until)
    F.n_memberships[: F.n] += np.bincount(f, minlength=F.n)
    per_cluster = np.bincount(c, minlength=C.n)
    size = C.size[: C.n]  # a view: updated in place
    size += per_cluster
    C.joins[: C.n] += per_cluster
    np.maximum(C.peak_size[: C.n], size, out=C.peak_size[: C.n])


def leave(m: ClusterModel) -> None:
    """Leaving (ODD 7.18): members past ``min_stay`` whose remembered net benefit is below the leave
    threshold leave (not before the end of a directive lock-in)."""
    mem, p = m.memberships, m.p.clusters
    m.left_now = np.zeros(0, dtype=np.int64)
    if not len(mem):
        return
    tenure = m.now - mem.joined
    leaving = (tenure >= p.min_stay) & (mem.memory < p.leave_threshold) & (mem.locked_until < m.now)
    m.step_stats.leaves = float(np.count_nonzero(leaving))
    m.left_now = np.sort(mem.firm[leaving] * PAIR_SHIFT + mem.cluster[leaving])
    remove_memberships(m, leaving, "negative_benefit")


def join(m: ClusterModel) -> None:
    """Joining (ODD 7.19): firms with a free membership slot hear of clusters from their link partners and
    through awareness; each judges a cluster it is not (and was not just) a member of, and joins when its
    noisy expected net benefit clears the join threshold, its interest the attraction threshold and the
    cluster's members its participation threshold (0 unless ``clusters.participation`` draws them); at most
    one join per firm and quarter, within each cluster's capacity, in random order."""
    F = m.firms
    live = m.live_clusters
    rows = m.alive_rows
    free = rows[F.n_memberships[rows] < m.p.firms.max_memberships]
    m.step_stats.joins = 0.0
    if not len(live) or not len(free):
        return
    found = candidates(m, free, live)
    if found is None:
        return
    cf, cc = found
    p = m.p.clusters
    fit, expected = expected_net_benefit(m, cf, cc, noise=True)
    # Granovetter's rule, one term of the decision: at least the firm's own threshold of members are in already
    rule = p.participation
    if rule.applies_to == "contribute":
        enough: np.ndarray | bool = True
    elif rule.scale == "percent":  # members of the cluster, as a percentage of the region's living firms
        enough = 100 * m.clusters.size[cc] >= F.participation[cf] * len(rows)
    else:
        enough = m.clusters.size[cc] >= F.participation[cf]
    want = (expected > p.join_threshold) & (fit >= p.attraction_threshold) & enough
    admit(m, cf[want], cc[want], expected[want])


def candidates(m: ClusterModel, free: np.ndarray, live: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The (firm, cluster) pairs the free firms consider this quarter: the clusters of a link partner (with
    probability ``review_probability``) and a random live cluster (awareness), without current memberships
    and the ones that just ended; None when there are none."""
    F, p, mem = m.firms, m.p.clusters, m.memberships
    cand_f, cand_c = [], []  # candidate (firm, cluster) pairs, as arrays
    # hearing from link partners about their clusters
    asks = free[m.rng.random(len(free)) < p.review_probability]
    if len(asks) and len(mem):
        indptr, nbr = m.adjacency()
        deg = indptr[asks + 1] - indptr[asks]
        linked = deg > 0
        asks = asks[linked]
        if len(asks):
            deg = deg[linked]
            # the draws are >= 0: truncation is np.floor
            partner = nbr[indptr[asks] + (m.rng.random(len(asks)) * deg).astype(np.int64)]
            order = stable_argsort(mem.firm, F.n)
            mf = mem.firm[order]
            lo = mf.searchsorted(partner, "left")
            hi = mf.searchsorted(partner, "right")
            counts = hi - lo  # the partner's memberships
            first = (lo - (counts.cumsum() - counts)).repeat(counts)
            k = first + np.arange(len(first))
            cand_f.append(asks.repeat(counts))
            cand_c.append(mem.cluster[order[k]])
    # awareness of a random cluster
    aware = free[m.rng.random(len(free)) < p.awareness_probability * m.awareness(free)]
    if len(aware):
        cand_f.append(aware)
        cand_c.append(live[m.rng.integers(0, len(live), len(aware))])
    if not cand_f:
        return None
    cf, cc = np.concatenate(cand_f), np.concatenate(cand_c)
    # not a member already, and no rejoining at once: one search among current and just-ended memberships
    known = np.sort(np.concatenate([mem.firm * PAIR_SHIFT + mem.cluster, m.left_now]))
    ok = ~isin_sorted(cf * PAIR_SHIFT + cc, known)
    return (cf[ok], cc[ok]) if ok.any() else None


def admit(m: ClusterModel, cf: np.ndarray, cc: np.ndarray, expected: np.ndarray) -> None:
    """The joins of the willing candidates (firm ``cf[k]`` to cluster ``cc[k]``, remembering ``expected[k]``):
    one per firm per quarter, capacity respected, in random order."""
    # a loop over Python lists: it is sequential, and a numpy scalar read per iteration would cost more than
    # the decisions
    order = m.rng.permutation(len(cf))
    taken: set[int] = set()
    room = (m.p.clusters.max_size - m.clusters.size[: m.clusters.n]).tolist()
    firms, clusters, values = cf.tolist(), cc.tolist(), expected.tolist()
    jf, jc, je = [], [], []
    for k in order.tolist():
        a, b = firms[k], clusters[k]
        if a in taken or room[b] <= 0:
            continue
        taken.add(a)
        room[b] -= 1
        jf.append(a)
        jc.append(b)
        je.append(values[k])
    if jf:
        add_memberships(m, np.array(jf, dtype=np.int64), np.array(jc, dtype=np.int64), np.array(je))
        m.counters.joins += len(jf)
        m.step_stats.joins = float(len(jf))
