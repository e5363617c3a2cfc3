"""Links (ODD 7.23): decay and pruning of both link layers, trust forgetting, and the search for local
suppliers; the adjacency over both layers that partner searches read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.util.arrays import stable_argsort

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def adjacency(m: ClusterModel) -> tuple[np.ndarray, np.ndarray]:
    """CSR adjacency over both link layers (indptr by firm row, neighbour rows), built once a step.

    Firms search partners among it during the membership phase, which adds no links, so one build
    serves the whole phase.
    """
    cached = m.adjacency_cache
    if cached is not None and cached[0] == m.now and len(cached[1][0]) == m.firms.n + 1:
        return cached[1]
    parts_a, parts_b = [], []
    for store in (m.vertical, m.horizontal):
        src, dst = store.src, store.dst
        parts_a += [src, dst]
        parts_b += [dst, src]
    a = np.concatenate(parts_a)
    b = np.concatenate(parts_b)
    order = stable_argsort(a, m.firms.n)
    indptr = np.zeros(m.firms.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=m.firms.n), out=indptr[1:])
    nbr = b[order]
    m.adjacency_cache = (m.now, (indptr, nbr))
    return indptr, nbr


def init_links(m: ClusterModel) -> None:
    """Start with some supplier links: each firm below the top of the chain searches once."""
    alive = np.flatnonzero(m.firms.alive[: m.firms.n])
    supplier_search(m, alive[m.firms.chain[alive] > 0])


def links(m: ClusterModel) -> None:
    """Links (ODD 7.23): both layers decay and weak links are pruned, unused trust is forgotten, and some
    customers search for local suppliers."""
    lp = m.p.links
    for store in (m.vertical, m.horizontal):
        store.value *= 1 - lp.decay
        store.keep(store.value >= lp.prune_below)
    m.trust.keep(m.now - m.trust.last_used <= m.p.trust.forget_after)
    F = m.firms
    rows = m.alive_rows
    searching = rows[(F.chain[rows] > 0) & (m.rng.random(len(rows)) < lp.search_probability)]
    supplier_search(m, searching)


def supplier_search(m: ClusterModel, searching: np.ndarray) -> None:
    """Customers look for local suppliers one stage up the chain and link to the most productive seen."""
    F, lp = m.firms, m.p.links
    if not len(searching) or lp.max_suppliers == 0:
        return
    rows = m.alive_rows
    n_sup = np.bincount(m.vertical.dst, minlength=F.n)
    # upstream firms (chain 0) have no local suppliers to look for; full customers do not look
    chain = F.chain[searching]
    looking = (chain > 0) & (n_sup[searching] < lp.max_suppliers)
    searching, chain = searching[looking], chain[looking]
    # candidate pools: living firms one stage up the chain, as contiguous runs of one array
    n_chain = m.p.region.n_chain_positions
    chain_rows = F.chain[rows]
    pool = rows[stable_argsort(chain_rows, n_chain)]
    n_pool = np.bincount(chain_rows, minlength=n_chain)
    start = n_pool.cumsum() - n_pool
    up = chain - 1
    size_up = n_pool[up]
    has_pool = size_up > 0
    searching, up, size_up = searching[has_pool], up[has_pool], size_up[has_pool]
    if len(searching):
        # each customer sees search_sample random firms of its pool and links to the most productive
        # (flat arrays: customer m's sample at positions m·s … m·s + s − 1, as an (m, s) draw row-major)
        s = lp.search_sample
        draw = (m.rng.random(len(searching) * s) * size_up.repeat(s)).astype(np.int64)
        cand = pool[start[up].repeat(s) + draw]
        best = F.prod[cand].reshape(len(searching), s).argmax(axis=1)
        src = cand[np.arange(0, len(cand), s) + best]
        fresh = m.vertical.find(src, searching) < 0  # an existing supplier is not linked twice
        m.vertical.slots(src[fresh], searching[fresh], lp.initial_intensity, m.now)
    m.adjacency_cache = None  # links changed: the next search rebuilds the adjacency
