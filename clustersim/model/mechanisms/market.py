"""The environment and the market: the external frontier, demand and competitors; export revenue from
market shares; local purchases along supplier links (ODD 7.1-7.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def init_market(m: ClusterModel) -> None:
    """External demand and outside competitors at the start, sized so that the region holds
    ``initial_export_share`` of each sector's market."""
    p = m.p
    F = m.firms
    a = F.alive[: F.n]
    w = np.bincount(F.sector[: F.n][a], weights=weights(m, np.flatnonzero(a)), minlength=m.S)
    w = np.maximum(w, p.firms.size_median)  # sectors without firms still have a market
    s0 = p.region.initial_export_share
    m.demand = p.market.revenue_per_employee * w / s0  # k€/quarter
    m.competitors = w * (1 - s0) / s0  # outside competitors' capacity (frontier units)
    m.demand0 = m.demand.sum()


def weights(m: ClusterModel, rows: np.ndarray) -> np.ndarray:
    """Each firm's competitive weight on its market: ``size · (productivity / frontier)^elasticity``."""
    F = m.firms
    return F.size[rows] * (F.prod[rows] / m.frontier) ** m.p.market.market_share_elasticity


def environment(m: ClusterModel) -> None:
    """The environment of the quarter (ODD 7.1): the frontier grows, demand moves with a lognormal shock
    around its trend, outside competitors' capacity grows."""
    mk = m.p.market
    m.frontier *= 1 + mk.frontier_growth
    shock = mk.demand_volatility * m.rng.standard_normal(m.S)
    m.demand = m.demand * np.exp(mk.demand_growth + shock - 0.5 * mk.demand_volatility**2)
    m.competitors = m.competitors * (1 + mk.competitor_capacity_growth)


def market(m: ClusterModel) -> None:
    """The market (ODD 7.2-7.3): export revenue from each firm's share of its sector's market against
    outside competitors; local purchases along supplier links (which grow with use); revenue, inputs and
    value added before collective actions."""
    F = m.firms
    mk = m.p.market
    rows = m.alive_rows
    w = weights(m, rows)
    sec = F.sector[rows]
    total = np.bincount(sec, weights=w, minlength=m.S) + m.competitors
    export = m.demand[sec] * w / total[sec]
    F.export_revenue[rows] = export
    # local purchases along supplier links, split by intensity × supplier productivity
    local = np.zeros(F.n)
    purchases_by_member = 0.0
    if len(m.vertical):
        sup, cus = m.vertical.src, m.vertical.dst
        inten = m.vertical.value
        share_total = np.bincount(cus, weights=inten, minlength=F.n)
        sourcing = np.minimum(1.0, m.p.links.sourcing_per_link * share_total)
        budget = mk.input_share * F.export_revenue[: F.n] * sourcing  # per customer
        attract = inten * F.prod[sup]
        norm = np.bincount(cus, weights=attract, minlength=F.n)[cus]
        budget_cus = budget[cus]
        flow = budget_cus * attract / np.where(norm > 0, norm, 1.0)
        local = np.bincount(sup, weights=flow, minlength=F.n)
        # links grow with use (share of the customer's local purchases carried)
        used = flow / np.where(budget_cus > 0, budget_cus, 1.0)
        m.vertical.value = inten + m.p.links.use_gain * used * (1 - inten)
        if m.observing:
            member = F.n_memberships[: F.n] > 0
            purchases_by_member = float(np.add.reduce(flow[member[cus] & ~member[sup]]))
            m.step_stats.local_purchases = float(np.add.reduce(flow))
    else:
        m.step_stats.local_purchases = 0.0
    m.step_stats.member_purchases_from_nonmembers = purchases_by_member
    F.local_sales[: F.n] = np.where(F.alive[: F.n], local, 0.0)
    revenue = export + local[rows]  # living rows: their local sales
    F.revenue[rows] = revenue
    inputs = mk.input_share * revenue
    F.inputs[rows] = inputs
    # value added before collective actions: revenue less bought inputs and the services bought to meet
    # common needs alone (collective actions then add joint products and Moyens savings)
    F.value_added[rows] = (revenue - inputs - m.p.orientations.moyens.need_cost_per_employee * F.size[rows])
