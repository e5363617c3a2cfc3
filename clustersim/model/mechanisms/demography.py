"""Demography (ODD 7.22): exits after sustained losses, start-ups imitating successful firms, outside
investors attracted by cluster synergies.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.mechanisms.decisions import expected_net_benefit
from clustersim.model.mechanisms.market import unemployed
from clustersim.model.mechanisms.membership import add_memberships, remove_memberships
from clustersim.model.mechanisms.population import draw_cooperativeness, new_firm_rows

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (default "linear" method) of a 1-D float array without NaN, for a scalar
    ``q`` in [0, 1], computed as numpy does (same order statistics, same interpolation arithmetic), without the
    overhead of its general machinery (tens of µs, more than the sort itself on the arrays of a step). Only the
    sign of a zero may differ (when the values hold both +0 and −0), which no comparison sees."""
    s = np.sort(values)
    n = len(s)
    virtual = (n - 1) * q
    if virtual >= n - 1:  # numpy takes the last value, with weight virtual − (−1)
        lo = hi = -1
        gamma = virtual + 1
    else:
        lo = math.floor(virtual)
        hi = lo + 1
        gamma = virtual - lo
    a, b = s[lo], s[hi]
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


def demography(m: ClusterModel) -> None:
    """Demography (ODD 7.22): firms with negative capital for ``exit_patience`` quarters exit; start-ups
    imitate successful firms; outside investors come for the clusters' synergies."""
    exits(m)
    if len(m.alive_rows):
        startups(m)
        investors(m)


def exits(m: ClusterModel) -> None:
    """Firms whose capital has been negative for ``firms.exit_patience`` quarters leave the region: their
    memberships, links and trust go with them."""
    F = m.firms
    rows = m.alive_rows
    exiting = rows[F.neg_streak[rows] >= m.p.firms.exit_patience]
    if not len(exiting):
        return
    dead = np.zeros(F.n, dtype=bool)
    dead[exiting] = True
    remove_memberships(m, dead[m.memberships.firm], "firm_exit")
    for store in (m.vertical, m.horizontal, m.trust):
        store.remove_firms(dead)
    F.alive[exiting] = False
    m.alive_rows_cache = None
    F.died[exiting] = m.now
    m.ledger["exit_capital"] += float(np.add.reduce(F.capital[exiting]))
    m.counters.exits += len(exiting)
    if m.agent_views:
        for r in exiting.tolist():
            m.firm_agents.pop(r).remove()


def startups(m: ClusterModel) -> None:
    """Start-ups (Poisson, ``startup_rate`` × ``simulation.n_firms``, as many as the unemployed can staff)
    imitate a successful firm (at or above the ``imitation_quantile`` of profit per employee): its sector, chain
    position and need, its capabilities with noise, a share of its productivity."""
    F, d, fm = m.firms, m.p.demography, m.p.firms
    rows = m.alive_rows
    n_start = int(m.rng.poisson(d.startup_rate * m.p.simulation.n_firms))
    n_start = min(n_start, int(unemployed(m) // d.startup_size))  # founders hire from the unemployed
    if n_start <= 0:
        return
    perf = F.profit[rows] / F.size[rows]
    top = rows[perf >= quantile(perf, d.imitation_quantile)]
    parent = top[m.rng.integers(0, len(top), n_start)]
    noise = d.startup_capability_noise * m.rng.standard_normal((n_start, m.K))
    cap = (F.cap.take(parent, axis=0) * (1 + noise)).clip(0, 1)
    coop = draw_cooperativeness(m, n_start)
    capital = np.full(n_start, d.startup_size * fm.initial_capital_per_employee)
    new = new_firm_rows(m, n_start, F.sector[parent], F.chain[parent], np.full(n_start, d.startup_size),
                        d.startup_productivity * F.prod[parent], cap, coop, np.zeros(n_start, bool), capital)
    F.need[new] = F.need[parent]
    m.ledger["entrant_capital"] += float(capital.sum())
    m.counters.startups += n_start


def investors(m: ClusterModel) -> None:
    """Outside investors (Poisson, ``investor_rate`` × the size-weighted mean reputation of live clusters
    over ``investor_synergy_reference``) settle next to the best-reputed cluster, near its vision, at the
    frontier's productivity × ``investor_productivity``, and join it on the same rule as any firm."""
    F, p, d, fm = m.firms, m.p, m.p.demography, m.p.firms
    live = m.live_clusters
    synergy = 0.0
    if len(live) and len(m.memberships):
        # the size-weighted mean reputation, computed as np.average does (same products, sums, division)
        weight = np.maximum(m.clusters.size[live], 1)
        synergy = max(0.0, float(np.add.reduce(np.multiply(m.clusters.reputation[live], weight,
                                                           dtype=np.float64))
                                 / np.add.reduce(weight, dtype=np.float64)))
    n_inv = int(m.rng.poisson(d.investor_rate * synergy / d.investor_synergy_reference)) if synergy > 0 else 0
    for _ in range(n_inv):
        if unemployed(m) < d.investor_size:  # it hires from the unemployed
            break
        target = int(live[np.argmax(m.clusters.reputation[live])])
        mem_rows = m.memberships.firm[m.memberships.cluster == target]
        sector = int(F.sector[mem_rows[m.rng.integers(0, len(mem_rows))]]) if len(mem_rows) else 0
        cap = np.clip(m.clusters.vision[target]
                      + d.investor_capability_noise * m.rng.standard_normal(m.K), 0, 1)[None, :]
        capital = np.array([d.investor_size * fm.initial_capital_per_employee])
        coop = draw_cooperativeness(m, 1)
        new = new_firm_rows(m, 1, sector, int(m.rng.integers(0, p.region.n_chain_positions)),
                            np.array([d.investor_size]), np.array([d.investor_productivity * m.frontier]),
                            cap, coop, np.array([True]), capital)
        m.ledger["entrant_capital"] += float(capital.sum())
        m.counters.investors += 1
        # the investor came for the cluster's synergies, but joins it on the same rule as any firm
        fit, expected = expected_net_benefit(m, new, np.array([target]), noise=True)
        if (m.clusters.size[target] < p.clusters.max_size and fit[0] >= p.clusters.attraction_threshold
                and expected[0] > p.clusters.join_threshold):
            add_memberships(m, new, np.array([target]), expected)
            m.counters.joins += 1
