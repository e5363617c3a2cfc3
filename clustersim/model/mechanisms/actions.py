"""Collective actions and the accounts of a quarter (ODD 7.4-7.15): coordination funds, willingness to
contribute, meetings and trust, the three orientations' actions, knowledge leakage, remembered benefit,
reputation, cooperativeness learning, profit, capital and employment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.mechanisms.market import ration_hiring
from clustersim.model.orientations import ORIENTATIONS, ActionContext, ActionResult
from clustersim.util.arrays import row_mean, segment_sum, stable_argsort

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel


def segment_pick(rng: np.random.Generator, group: np.ndarray, n_groups: int, draws: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """For each element, ``draws`` random other elements of the same group (self-picks dropped).

    Returns (element index, partner index) arrays.
    """
    order = stable_argsort(group, n_groups)
    counts = np.bincount(group, minlength=n_groups)
    starts = counts.cumsum() - counts
    n = len(order)
    g_sorted = group[order]
    start = starts[g_sorted]
    cnt = counts[g_sorted]
    # element m's draws sit at flat positions m·draws … m·draws + draws − 1, in drawing order (the same
    # numbers as an (n, draws) draw, row-major); flat arrays avoid numpy's slower 2-D broadcasting
    pick = start.repeat(draws) + (rng.random(n * draws) * cnt.repeat(draws)).astype(np.int64)
    keep = pick != np.arange(n).repeat(draws)
    # meeting the same partner twice in a quarter is one meeting: keep the first draw of each partner
    if draws > 1:
        by_row, keep_by_row = pick.reshape(n, draws), keep.reshape(n, draws)  # views
        for k in range(1, draws):
            for j in range(k):
                keep_by_row[:, k] &= by_row[:, k] != by_row[:, j]
    kept = keep.nonzero()[0]  # flat positions of the kept draws, in order: position // draws is the drawer
    return order[kept // draws], order[pick[kept]]


@dataclass
class MemberFlows:
    """What the members' collective actions of a quarter bring each living firm (arrays by living row,
    k€ this quarter): the accounts (:func:`accounts`) turn them into profit, value added and capital."""

    cash: np.ndarray  # money benefits: Moyens savings and joint-product revenue
    costs: np.ndarray  # costs borne: pooled costs, contributions, club time (net of public co-funding)
    fees: np.ndarray  # membership fees paid into the clusters' funds
    pm_revenue: np.ndarray  # joint-product revenue (part of ``cash``)
    pm_cost: np.ndarray  # joint-product contributions
    moyens_net: np.ndarray  # Moyens savings less pooled costs

    @classmethod
    def none(cls, n: int) -> MemberFlows:
        zero = np.zeros(n)
        return cls(zero, zero, zero, zero, zero, zero)


def collective_actions(m: ClusterModel) -> None:
    """Phases 3-5 of a quarter (ODD 7.4-7.15): the members' collective actions, then every firm's accounts.

    Sets ``m.club_gain`` (this quarter's capability gains from club learning and leakage, by firm row), the
    clusters' alignment, trust and reputation, the members' remembered benefit and trust, and records the
    quarter's statistics and ledger entries."""
    F, mem = m.firms, m.memberships
    rows = m.alive_rows
    if len(mem):
        flows = member_actions(m)
    else:
        F.cluster_net[: F.n] = 0.0
        m.club_gain = np.zeros((F.n, m.K))
        flows = MemberFlows.none(len(rows))
    accounts(m, flows)


def coordination(m: ClusterModel, size_c: np.ndarray) -> np.ndarray:
    """Coordination (ODD 7.5): fees go into each cluster's fund, which pays its facilitation up to its need
    (× its ceiling); returns each cluster's effectiveness ``min(1, coordination / (1 + size / reach))``."""
    C, p = m.clusters, m.p.clusters
    nc = C.n
    C.fund[:nc] += size_c * p.membership_fee
    need = p.coordination_cost * size_c
    spend = np.minimum(np.maximum(C.fund[:nc], 0.0), need * C.coordination_ceiling[:nc])
    C.fund[:nc] -= spend
    level = np.divide(spend, need, out=np.ones(nc), where=need > 0)
    C.coordination[:nc] = level
    reach = p.coordination_half_size * np.maximum(C.facilitator_quality[:nc], 1e-9)
    spent = float(np.add.reduce(spend))
    m.ledger["coordination_spending"] += spent
    m.step_stats.coordination_spending = spent
    return np.minimum(1.0, level / (1 + size_c / reach))


def willingness(m: ClusterModel, f: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who contributes this quarter (ODD 7.6): own cooperativeness, trust in co-members and alignment with the
    vision set each member's probability; a participation threshold (7.19), where the scenario draws them, also
    asks that at least that many members of the cluster contributed last quarter. Returns (contributes,
    alignment) per membership."""
    p, mem = m.p, m.memberships
    align = alignment(m, f, c)
    will = (m.firms.coop[f] + p.trust.cooperation_weight * (mem.trust - p.trust.initial)
            + p.clusters.alignment_weight * (align - p.clusters.neutral_alignment))
    coop = m.rng.random(len(f)) < will.clip(0.0, 1.0)
    rule = p.clusters.participation
    if rule.kind != "none" and rule.applies_to != "join":  # Granovetter's term: enough contributed last quarter
        if rule.scale == "percent":  # of the cluster's members
            coop &= 100 * m.clusters.contributors[c] >= m.firms.participation[f] * m.clusters.size[c]
        else:
            coop &= m.clusters.contributors[c] >= m.firms.participation[f]
    if m.observing:
        m.step_stats.cooperation_rate = np.count_nonzero(coop) / len(coop)  # = coop.mean()
    return coop, align


def update_trust_and_links(m: ClusterModel, coop: np.ndarray, meetings: tuple[np.ndarray, ...],
                           tslots: np.ndarray, t_before: np.ndarray) -> None:
    """After the meetings (ODD 7.7-7.8): pairwise trust rises after a partner cooperated and falls (faster)
    after it free-rode; members' trust in co-members follows; peer links grow where both contributed.

    ``meetings``: (learner membership, source membership, learner firm, source firm) of each meeting."""
    p, mem = m.p, m.memberships
    li, lj, f_li, f_lj = meetings
    tp = p.trust
    loss = tp.loss_rate * m.trust_loss_factor
    coop_lj = coop[lj]
    m.trust.value[tslots] = np.where(coop_lj, t_before + tp.gain_rate * (1 - t_before), t_before - loss * t_before)
    seen = np.bincount(li, minlength=len(mem))
    # re-read: a pair met in two clusters appears twice in tslots and keeps the last value written
    tsum = np.bincount(li, weights=m.trust.value[tslots], minlength=len(mem))
    tw = tp.update_weight
    mem.trust = np.where(seen > 0, (1 - tw) * mem.trust + tw * tsum / np.maximum(seen, 1), mem.trust)
    joint = coop[li] & coop_lj
    hs, created = m.horizontal.slots(f_li[joint], f_lj[joint], p.links.initial_intensity, m.now)
    hv = m.horizontal.value[hs]
    m.horizontal.value[hs] = np.where(created, hv, hv + p.links.use_gain * (1 - hv))


def member_actions(m: ClusterModel) -> MemberFlows:
    """The members' part of a quarter (ODD 7.5-7.15): coordination, who contributes, meetings and trust, the
    three orientations' collective actions, leakage, remembered benefit, new activities, reputation and
    cooperativeness learning. Returns what it brings each living firm."""
    F, C, mem, p = m.firms, m.clusters, m.memberships, m.p
    nc = C.n
    f, c = mem.firm, mem.cluster
    size_c = np.bincount(c, minlength=nc).astype(np.float64)
    per_member = np.maximum(size_c, 1)  # divisor of per-member means (empty slots: 1)
    fee = p.clusters.membership_fee
    fees = np.bincount(f, minlength=F.n) * fee
    eff = coordination(m, size_c)
    coop, align = willingness(m, f, c)
    C.contributors[:nc] = np.bincount(c, weights=coop, minlength=nc)  # what next quarter's thresholds read
    # meetings: each member works with a few co-members; trust before the meeting conditions learning
    li, lj = segment_pick(m.rng, c, nc, p.trust.partners_observed)
    f_li, f_lj = f[li], f[lj]
    tslots, _ = m.trust.slots(f_li, f_lj, p.trust.initial, m.now)
    t_before = m.trust.value[tslots]  # a copy (fancy index); the actions below do not change trust
    cv = m.capability_value(np.arange(F.n))
    ctx = ActionContext(f=f, c=c, coop=coop, n_clusters=nc, orient=C.orient[:nc], domain=C.domain[:nc],
                        effectiveness=eff, size=F.size, need=F.need, cap=F.cap, thresholds=m.thresholds,
                        rng=m.rng, contribution_factor=m.contribution_factor,
                        pooled_relief=C.pooled_relief[:nc], learning_boost=C.learning_boost[:nc],
                        meetings=(li, lj, t_before), capability_value=cv)
    results = {name: o.act(ctx, getattr(p.orientations, name)) for name, o in ORIENTATIONS.items()}
    mo, pm, cl = results["moyens"], results["products_markets"], results["club"]
    update_trust_and_links(m, coop, (li, lj, f_li, f_lj), tslots, t_before)
    # knowledge leaks to same-sector co-members who did not take part (non-excludable knowledge)
    leak_gain, leak_cost = leakage(m, f, c, nc, cl.extra["capability_gain"], cl.extra["participant"], cv)
    m.club_gain = segment_sum(f, cl.extra["capability_gain"] + leak_gain, F.n)
    # per-membership realised net benefit and cash flows
    cash_b = mo.benefit + pm.benefit
    benefit = cash_b + cl.benefit + row_mean(leak_gain) * cv[f]
    eligible = mo.cost + pm.cost
    cost = eligible + cl.cost - cofunding(m, c, nc, eligible)
    net = benefit - cost - fee - leak_cost
    lw = p.learning.memory_weight
    mem.memory = (1 - lw) * mem.memory + lw * net
    F.cluster_net[: F.n] = np.bincount(f, weights=net, minlength=F.n)
    new_activities(m, pm.extra["new_activity_firms"])
    # reputation (public signal of results) and cooperativeness learning
    gross = np.bincount(c, weights=benefit, minlength=nc) / per_member
    rw = p.clusters.reputation_weight
    C.reputation[:nc] = np.where(size_c > 0, (1 - rw) * C.reputation[:nc] + rw * gross, C.reputation[:nc])
    learn_cooperativeness(m, f, c, nc, coop, benefit - cost - leak_cost)
    record_actions(m, (mo, pm, cl), fees)
    if p.clusters.reorientation_rate:  # what each orientation paid, which only re-orientation reads (7.21)
        orientation_payoffs(m, c, nc, size_c, (mo.benefit - mo.cost, pm.benefit - pm.cost, cl.benefit - cl.cost))
    C.alignment[:nc] = np.bincount(c, weights=align, minlength=nc) / per_member
    C.trust[:nc] = np.bincount(c, weights=mem.trust, minlength=nc) / per_member
    rows = m.alive_rows
    return MemberFlows(cash=np.bincount(f, weights=cash_b, minlength=F.n)[rows],
                       costs=np.bincount(f, weights=cost, minlength=F.n)[rows],
                       fees=fees[rows],
                       pm_revenue=np.bincount(f, weights=pm.benefit, minlength=F.n)[rows],
                       pm_cost=np.bincount(f, weights=pm.cost, minlength=F.n)[rows],
                       moyens_net=np.bincount(f, weights=mo.benefit - mo.cost, minlength=F.n)[rows])


def orientation_payoffs(m: ClusterModel, c: np.ndarray, nc: int, size_c: np.ndarray,
                        nets: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Each cluster's remembered net benefit per member of each orientation (EWMA with ``memory_weight``), which
    re-orientation reads (ODD 7.21); clusters without members keep theirs."""
    C, lw = m.clusters, m.p.learning.memory_weight
    has = size_c > 0
    per_member = np.maximum(size_c, 1)
    for o, net in enumerate(nets):
        mean = np.bincount(c, weights=net, minlength=nc) / per_member
        C.orient_payoff[:nc, o] = np.where(has, (1 - lw) * C.orient_payoff[:nc, o] + lw * mean, C.orient_payoff[:nc, o])


def new_activities(m: ClusterModel, firms: np.ndarray) -> None:
    """Joint products' new activities (ODD 7.10): each such firm's weakest capability closes
    ``new_activity_gain`` of its gap to 1."""
    if len(firms):
        F = m.firms
        F.new_activity[firms] = True
        weakest = np.argmin(F.cap.take(firms, axis=0), axis=1)
        gain = m.p.orientations.products_markets.new_activity_gain
        F.cap[firms, weakest] += gain * (1 - F.cap[firms, weakest])


def record_actions(m: ClusterModel, results: tuple[ActionResult, ActionResult, ActionResult],
                   fees: np.ndarray) -> None:
    """The quarter's statistics of the three orientations (observed quarters only) and their ledger entries."""
    mo, pm, cl = results
    total = np.add.reduce  # what ndarray.sum calls, without its Python wrapper
    led, stats = m.ledger, m.step_stats
    if m.observing:
        stats.moyens_gain = float(total(mo.benefit - mo.cost))
        stats.pm_gain = float(total(pm.benefit - pm.cost))
        stats.club_gain = float(total(cl.benefit - cl.cost))
        nz = np.count_nonzero
        stats.actions_attempted = float(nz(mo.attempted) + nz(pm.attempted) + nz(cl.attempted))
        stats.actions_success = float(nz(mo.success) + nz(pm.success) + nz(cl.success))
    led["moyens_saving"] += float(total(mo.benefit))
    led["moyens_cost"] += float(total(mo.cost))
    led["pm_revenue"] += float(total(pm.benefit))
    led["pm_cost"] += float(total(pm.cost))
    led["club_cost"] += float(total(cl.cost))
    led["fees"] += float(total(fees))


def accounts(m: ClusterModel, flows: MemberFlows) -> None:
    """Every living firm's accounts (ODD 7.4): profit, value added, payout, capital, employment and the
    streak of quarters with negative capital."""
    F, p, led = m.firms, m.p, m.ledger
    rows = m.alive_rows
    # firms' columns at the living rows, read once (each fancy index is a copy)
    size_r = F.size[rows]
    revenue_r = F.revenue[rows]
    inputs_r = F.inputs[rows]
    wages_r = m.wage * size_r  # the regional wage of the quarter (wage curve, ODD 7.1)
    labour_r = wages_r + p.market.fixed_cost  # wages and fixed cost: the scale of employment decisions
    need_r = p.orientations.moyens.need_cost_per_employee * size_r
    profit = (revenue_r - inputs_r - (labour_r + need_r) + flows.cash - flows.costs - flows.fees)
    F.profit[rows] = profit
    # value added: market revenue and joint-product revenue less bought inputs and services (common
    # needs met alone, pooled solutions, joint-product contributions); club time and fees are not bought
    total = np.add.reduce
    led["revenue"] += float(total(revenue_r))  # market revenue; joint products are led["pm_revenue"]
    F.revenue[rows] = revenue_r + flows.pm_revenue
    F.value_added[rows] += flows.pm_revenue + flows.moyens_net - flows.pm_cost
    payout = p.market.payout_share * np.maximum(profit, 0.0)
    capital_r = F.capital[rows] + (profit - payout)
    F.capital[rows] = capital_r
    led["inputs"] += float(total(inputs_r))
    led["wages"] += float(total(wages_r))
    led["fixed_costs"] += p.market.fixed_cost * len(rows)
    led["need_costs"] += float(total(need_r))
    led["payout"] += float(total(payout))
    # employment follows profitability
    fm = p.firms
    rel = profit / np.maximum(labour_r, 1e-9)
    wanted = np.maximum(1.0, size_r * (1 + (fm.employment_adjustment * rel).clip(-fm.max_growth, fm.max_growth)))
    F.size[rows] = ration_hiring(m, size_r, wanted)
    F.neg_streak[rows] = np.where(capital_r < 0, F.neg_streak[rows] + 1, 0)


def cofunding(m: ClusterModel, c: np.ndarray, nc: int, eligible: np.ndarray) -> np.ndarray:
    """Public co-funding of collaborative projects, per membership (k€ this quarter).

    A supported cluster's funders pay ``cofund_rate`` of its members' eligible costs (Moyens pooled costs
    and joint-product contributions), at most its ``cofund_allowance`` (money the funders set aside for it
    this quarter); each member's share follows its own eligible cost.
    """
    C = m.clusters
    C.cofund_paid[:nc] = 0.0
    rate = C.cofund_rate[:nc]
    if not rate.any():
        return np.zeros(len(c))
    total = np.bincount(c, weights=eligible, minlength=nc)
    paid = np.minimum(rate * total, np.maximum(C.cofund_allowance[:nc], 0.0))
    C.cofund_paid[:nc] = paid
    m.ledger["public_cofunding"] += float(paid.sum())
    return np.divide(paid[c] * eligible, total[c], out=np.zeros(len(c)), where=total[c] > 0)


def alignment(m: ClusterModel, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Alignment of members with their cluster's vision: 1 − mean|c_i − v| / alignment_distance, ≥ 0."""
    d = row_mean(np.abs(m.firms.cap.take(f, axis=0) - m.clusters.vision.take(c, axis=0)))
    return (1.0 - d / m.p.clusters.alignment_distance).clip(0.0, 1.0)


def leakage(m: ClusterModel, f, c, nc, gain, participant, cv):
    """Knowledge leaking to same-sector co-members that did not take part in the exchanges.

    Each non-participant gets ``leakage_rate`` × the mean gain of same-sector participants of its
    cluster; each such participant bears the money value of its rivals' gain, shared equally.
    """
    F = m.firms
    rate = m.p.competition.leakage_rate
    leak_cost = np.zeros(len(f))
    if rate <= 0 or not participant.any():
        return np.zeros(gain.shape), leak_cost
    key = c * m.S + F.sector[f]
    nk = nc * m.S
    key_part = key[participant]
    n_part = np.bincount(key_part, minlength=nk)  # participants per (cluster, sector) group
    mean_gain = segment_sum(key_part, gain.compress(participant, axis=0), nk)
    mean_gain /= np.maximum(n_part, 1)[:, None]
    receiver = (~participant) & (n_part[key] > 0)
    leak_gain = np.where(receiver[:, None], rate * mean_gain.take(key, axis=0), 0.0)
    leaked = row_mean(leak_gain)
    received_value = np.bincount(key, weights=leaked * cv[f], minlength=nk)
    leak_cost[participant] = received_value[key_part] / np.maximum(n_part[key_part], 1)
    if m.observing:
        m.step_stats.knowledge_leaked = float(np.add.reduce(leaked))
    return leak_gain, leak_cost


def fermi_imitation(rng: np.random.Generator, strategy: np.ndarray, payoff: np.ndarray, beta: float,
                    revise: float, explore: float, binary: bool = False) -> np.ndarray:
    """One round of pairwise-comparison learning (Traulsen, Nowak & Pacheco 2006) among ``len(strategy)``
    players: each revises with probability ``revise``; a reviser explores with probability ``explore`` (a new
    strategy drawn uniformly in [0, 1]) or else picks another player j uniformly and adopts j's strategy with
    probability ``1 / (1 + exp(−beta · (payoff_j − payoff_i)))``. Returns the new strategies (a copy). Its
    large-population, weak-selection limit is the replicator dynamics. With ``binary`` strategies (0 or 1)
    exploration draws 0 or 1 with equal chances (the same one draw per reviser)."""
    n = len(strategy)
    out = strategy.copy()
    if n < 2:
        return out
    who = (rng.random(n) < revise).nonzero()[0]
    other = rng.integers(0, n - 1, len(who))
    other += other >= who  # uniform over the others
    gain = payoff[other] - payoff[who]
    adopt = rng.random(len(who)) < 0.5 * (1.0 + np.tanh(0.5 * beta * gain))  # = the logistic, overflow-free
    explores = rng.random(len(who)) < explore
    fresh = rng.random(len(who))
    if binary:
        fresh = (fresh < 0.5).astype(np.float64)
    out[who] = np.where(explores, fresh, np.where(adopt, strategy[other], strategy[who]))
    return out


def learn_cooperativeness(m: ClusterModel, f, c, nc, coop, payoff) -> None:
    """Members shift towards the behaviour that paid better in their cluster this quarter (or, with
    ``learning.cooperativeness_rule = imitation``, imitate other member firms: :func:`fermi_imitation`)."""
    lp = m.p.learning
    if lp.cooperativeness_rule == "imitation":
        # member firms (sorted, = np.unique(f), without its sort); a firm's payoff is the sum over its memberships
        firms = np.bincount(f, minlength=m.firms.n).nonzero()[0]
        total = np.bincount(f, weights=payoff, minlength=m.firms.n)[firms]
        m.firms.coop[firms] = fermi_imitation(m.rng, m.firms.coop[firms], total, lp.selection_intensity,
                                              lp.imitation_probability, lp.exploration,
                                              binary=m.p.firms.cooperativeness_kind == "binary")
        return
    defect = ~coop
    n_c = np.bincount(c, weights=coop.astype(np.float64), minlength=nc)
    n_d = np.bincount(c, weights=defect.astype(np.float64), minlength=nc)
    u_c = np.bincount(c, weights=payoff * coop, minlength=nc) / np.maximum(n_c, 1)
    u_d = np.bincount(c, weights=payoff * defect, minlength=nc) / np.maximum(n_d, 1)
    both = (n_c > 0) & (n_d > 0)
    scale = np.abs(u_c) + np.abs(u_d) + m.p.learning.payoff_signal_scale
    delta = np.where(both, m.p.learning.cooperativeness_learning_rate * np.tanh((u_c - u_d) / scale), 0.0)
    F = m.firms
    coop_all = F.coop[: F.n]  # a view: updated in place
    coop_all += np.bincount(f, weights=delta[c], minlength=F.n)
    coop_all.clip(0.0, 1.0, out=coop_all)
