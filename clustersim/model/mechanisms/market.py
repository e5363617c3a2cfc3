"""The environment and the market: the external frontier, demand and competitors; export revenue from
market shares; local purchases along supplier links (ODD 7.1-7.3).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def init_market(m: ClusterModel) -> None:
    """External demand and outside competitors at the start, sized so that the region holds
    ``initial_export_share`` of each sector's market at a revenue of ``revenue_per_employee`` per unit of
    competitive weight (the outside competitors' break-even); the labour force, from the initial employment
    and ``unemployment_rate``."""
    p = m.p
    F = m.firms
    a = F.alive[: F.n]
    w = np.bincount(F.sector[: F.n][a], weights=weights(m, np.flatnonzero(a)), minlength=m.S)
    w = np.maximum(w, p.firms.size_median)  # sectors without firms still have a market
    s0 = p.region.initial_export_share
    m.demand = p.market.revenue_per_employee * w / s0  # k€/quarter
    m.demand_trend = m.demand.copy()
    m.demand_deviation = np.zeros(m.S)  # log-deviation of each sector's demand from its trend
    m.competitors = w * (1 - s0) / s0  # outside competitors' capacity (frontier units)
    m.price = np.full(m.S, p.market.revenue_per_employee)  # revenue per unit of competitive weight
    m.demand0 = m.demand.sum()
    m.labour_force = float(F.size[: F.n][a].sum()) / (1 - p.market.unemployment_rate)
    m.wage = m.wage_level = p.market.wage


def weights(m: ClusterModel, rows: np.ndarray) -> np.ndarray:
    """Each firm's competitive weight on its market: ``s_ref · (size / s_ref)^α · (productivity / frontier)^ε``
    (``s_ref`` = ``firms.size_median``, α = ``returns_to_scale``, ε = ``market_share_elasticity``)."""
    F, mk = m.firms, m.p.market
    ref = m.p.firms.size_median
    scale = F.size[rows] if mk.returns_to_scale == 1.0 else ref * (F.size[rows] / ref) ** mk.returns_to_scale
    return scale * (F.prod[rows] / m.frontier) ** mk.market_share_elasticity


def environment(m: ClusterModel) -> None:
    """The environment of the quarter (ODD 7.1): the frontier grows; each sector's demand is its trend times
    a lognormal AR(1) deviation; outside competitors' capacity follows its trend and responds to last
    quarter's revenue per unit of weight; the regional wage follows last quarter's unemployment (wage curve)."""
    mk = m.p.market
    m.frontier *= 1 + mk.frontier_growth
    m.demand_trend = m.demand_trend * np.exp(mk.demand_growth)
    shock = mk.demand_volatility * m.rng.standard_normal(m.S)
    m.demand_deviation = mk.demand_persistence * m.demand_deviation + shock
    m.demand = m.demand_trend * np.exp(m.demand_deviation)
    response = (m.price / mk.revenue_per_employee) ** mk.competitor_response if mk.competitor_response else 1.0
    m.competitors = m.competitors * (1 + mk.competitor_capacity_growth) * response
    m.wage = regional_wage(m)


#: floor of the unemployment rate in the wage curve (frictional unemployment: the wage stays finite)
MIN_UNEMPLOYMENT = 0.005


def unemployed(m: ClusterModel) -> float:
    """The region's unemployed: its labour force less the employees of its living firms (ODD 7.1)."""
    return m.labour_force - float(np.add.reduce(m.firms.size[m.alive_rows]))


def regional_wage(m: ClusterModel) -> float:
    """The regional wage (ODD 7.1): a wage curve around a level that a wage Phillips curve moves,
    ``w = ŵ · (u / u0)^(−η)`` with ``ŵ ← ŵ · exp(−λ · (u − u0))``: ``u`` = max(1 − employment / labour force,
    0.5 %) last quarter, ``u0`` = ``unemployment_rate`` (the natural rate), η = ``wage_curve_elasticity``,
    λ = ``wage_flexibility``. The wage is higher the scarcer labour is, and its level drifts until
    unemployment is back at its natural rate."""
    mk = m.p.market
    employed = float(np.add.reduce(m.firms.size[m.alive_rows]))
    u = max(1.0 - employed / m.labour_force, MIN_UNEMPLOYMENT)
    m.wage_level *= math.exp(-mk.wage_flexibility * (u - mk.unemployment_rate))
    return m.wage_level * (u / mk.unemployment_rate) ** -mk.wage_curve_elasticity


def ration_hiring(m: ClusterModel, size: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The region's labour market (ODD 7.4): firms hire from the unemployed (the labour force less the employed,
    plus the jobs shed this quarter); when the hires wanted exceed them, every hiring firm gets the same share
    of its wish. Returns the new sizes."""
    change = wanted - size
    hires = np.maximum(change, 0.0)
    wanted_hires = float(np.add.reduce(hires))
    if not wanted_hires:
        return wanted
    shed = wanted_hires - float(np.add.reduce(change))
    pool = m.labour_force - float(np.add.reduce(size)) + shed
    if wanted_hires <= pool:
        return wanted
    return size + np.minimum(change, 0.0) + hires * (max(pool, 0.0) / wanted_hires)


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
    m.price = m.demand / total  # revenue per unit of competitive weight, by sector
    export = m.price[sec] * w
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
