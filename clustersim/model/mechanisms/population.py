"""Firms entering the region: the initial population, start-ups and outside investors share one constructor.

ODD sections 5 (initialisation) and 7.22 (entrants).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.agents import Firm
from clustersim.util.arrays import row_mean

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def new_firm_rows(m: ClusterModel, k: int, sector, chain, size, prod, cap, coop, outside, capital, cohort0=False):
    """Add ``k`` living firms with the given attributes (and, with agent views, their Mesa agents); returns
    their rows."""
    F = m.firms
    rows = F.add_rows(k)
    F.alive[rows] = True
    m.alive_rows_cache = None
    F.sector[rows] = sector
    F.chain[rows] = chain
    F.need[rows] = m.rng.integers(0, m.p.orientations.moyens.n_domains, size=k)
    F.cap[rows] = cap
    F.capidx[rows] = row_mean(cap)
    F.prod[rows] = prod
    F.size[rows] = size
    F.capital[rows] = capital
    F.coop[rows] = coop
    F.outside[rows] = outside
    F.born[rows] = m.now
    F.died[rows] = -1
    F.cohort0[rows] = cohort0
    F.participation[rows] = participation_thresholds(m, k)
    if m.agent_views:
        for r in rows.tolist():
            m.firm_agents[r] = Firm(m, r)
    return rows


def draw_cooperativeness(m: ClusterModel, k: int) -> np.ndarray:
    """Cooperativeness of ``k`` new firms (``firms.cooperativeness_*``): ``clip(mean + sd · z, 0, 1)``, or, for
    pure strategies (``binary``), 1 with probability ``mean`` and 0 otherwise."""
    f = m.p.firms
    if f.cooperativeness_kind == "binary":
        return (m.rng.random(k) < f.cooperativeness_mean).astype(np.float64)
    return np.clip(f.cooperativeness_mean + f.cooperativeness_sd * m.rng.standard_normal(k), 0, 1)


def participation_thresholds(m: ClusterModel, k: int) -> np.ndarray:
    """Participation thresholds of ``k`` new firms (``clusters.participation``; ODD 7.19): 0 without drawing
    when the rule is off, else drawn from the model's generator."""
    spec = m.p.clusters.participation
    if spec.kind == "normal":
        return np.maximum(0, np.rint(spec.mean + spec.sd * m.rng.standard_normal(k))).astype(np.int64)
    if spec.kind == "uniform":
        return m.rng.integers(spec.low, spec.high + 1, size=k)
    if spec.kind == "list":  # the k firms created next (firm rows are created in order), cycling through the list
        values = np.asarray(spec.values, dtype=np.int64)
        return values[np.arange(m.firms.n - k, m.firms.n) % len(values)]
    return np.zeros(k, dtype=np.int64)


def draw_capabilities(m: ClusterModel, sectors: np.ndarray) -> np.ndarray:
    """Capability profiles of new firms of ``sectors``: beta draws around ``capability_mean``, tilted toward
    each sector's core profile by ``specialisation``, clipped to [0, 1]."""
    f = m.p.firms
    k = len(sectors)
    conc = f.capability_concentration
    base = m.rng.beta(f.capability_mean * conc, (1 - f.capability_mean) * conc, size=(k, m.K))
    prof = m.sector_profile[sectors] * m.K  # mean 1 per domain
    tilt = (1 - f.specialisation) + f.specialisation * prof
    return np.clip(base * tilt, 0.0, 1.0)


def init_firms(m: ClusterModel, n: int) -> None:
    """The initial population of ``n`` firms (ODD 5): sectors, chain positions, lognormal sizes and
    productivities, capabilities, cooperativeness, outside ownership, capital."""
    p = m.p
    f = p.firms
    sectors = m.rng.integers(0, m.S, size=n)
    chain = m.rng.integers(0, p.region.n_chain_positions, size=n)
    size = np.maximum(1.0, f.size_median * np.exp(f.size_dispersion * m.rng.standard_normal(n)))
    prod = f.productivity_median * np.exp(f.productivity_dispersion * m.rng.standard_normal(n))
    cap = draw_capabilities(m, sectors)
    coop = draw_cooperativeness(m, n)
    outside = m.rng.random(n) < f.outside_investor_share
    capital = f.initial_capital_per_employee * size
    new_firm_rows(m, n, sectors, chain, size, prod, cap, coop, outside, capital, cohort0=True)
    m.ledger["initial_capital"] += float(capital.sum())
