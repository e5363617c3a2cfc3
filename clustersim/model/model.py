"""The cluster-dynamics model: firms that compete and collaborate, form clusters, build trust or lose it.

One step is one quarter. The schedule of a step (see docs/ODD.md, "Process overview and scheduling"):

1. environment: the external productivity frontier, demand and outside competitors move;
2. market: export revenue from market shares against outside competitors; local purchases along vertical
   (supplier–customer) links;
3. clusters' coordination funds pay their facilitation; each member decides to contribute or free-ride;
4. members meet co-members (trust, horizontal links); the three orientations' collective actions run,
   each yielding nothing below its domain's critical mass;
5. accounts: profit, capital, employment; remembered benefit of each membership; cooperativeness learning;
6. knowledge: club learning, spillovers along horizontal links, obsolescence; productivity under efficiency
   pressure (external frontier and internal rivalry, which a cluster's market coordination dampens);
7. membership decisions: members whose remembered net benefit is below the leave threshold leave; firms
   that hear of a cluster join when their expected net benefit clears the join threshold; firms propose
   new clusters bottom-up;
8. clusters' life cycle: vision drift, sector mix, membership trend, stage, dissolution (clusters' mean
   alignment and trust are updated in phase 3-5, where members meet);
9. demography: exits after sustained losses, start-ups, outside investors attracted by cluster synergies;
10. links decay and firms search for local suppliers;
11. indicators are recorded.

Public policies act through :attr:`ClusterModel.policy` at documented points (``policy.act(model, phase)``).
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.datacollection import DataCollector

from clustersim.model.agents import Cluster, Firm
from clustersim.model.indicators import INDICATORS, compute_indicators
from clustersim.model.orientations import (
    ActionContext,
    club_action,
    cognitive_learning_factor,
    draw_thresholds,
    moyens_action,
    products_markets_action,
)
from clustersim.model.pairs import PairStore
from clustersim.model.policy.base import POLICY_PHASES, NoPolicy, Policy
from clustersim.model.state import ClusterTable, FirmTable, MembershipTable
from clustersim.scenario.schema import Scenario
from clustersim.util.arrays import PAIR_SHIFT, isin_sorted, row_mean, segment_sum, stable_argsort, unique_ints

__all__ = ["ClusterModel", "Policy", "NoPolicy", "POLICY_PHASES", "LEAVE_REASONS", "FOUNDED_MODES"]

LEAVE_REASONS = ("negative_benefit", "firm_exit", "dissolution")
STAGE_EMERGENCE, STAGE_GROWTH, STAGE_MATURITY, STAGE_DECLINE, STAGE_DISSOLVED = range(5)
#: how a cluster came into being (``ClusterTable.founded_mode``)
FOUNDED_MODES = ("bottom_up", "identification", "call", "directive")
MODE_BOTTOM_UP, MODE_IDENTIFICATION, MODE_CALL, MODE_DIRECTIVE = range(4)


def _segment_pick(rng: np.random.Generator, group: np.ndarray, n_groups: int, draws: int
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


def _quantile(values: np.ndarray, q: float) -> float:
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


class IndicatorCollector(DataCollector):
    """Mesa's DataCollector with one model reporter per indicator of :data:`INDICATORS`.

    Indicators are plain floats, so each step appends them directly (no per-reporter type checks and deep
    copies, which cost as much as computing the indicators); everything else, including
    ``get_model_vars_dataframe``, is Mesa's.
    """

    def __init__(self) -> None:
        super().__init__(model_reporters={name: (lambda m, k=name: m.indicators[k]) for name in INDICATORS})
        self._columns = [(name, self.model_vars[name]) for name in INDICATORS]
        self._validated = True  # the reporters above are known to be valid

    def collect(self, model: ClusterModel) -> None:  # noqa: D102
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        values = model.indicators
        for name, column in self._columns:
            column.append(float(values[name]))


class ClusterModel(mesa.Model):
    """Firms of a region that compete and collaborate in clusters.

    Args:
        scenario: a validated :class:`~clustersim.scenario.schema.Scenario` (defaults to the baseline values).
        rng: seed, ``numpy.random.SeedSequence`` or generator; all randomness comes from ``self.rng``.
        policy: public authorities' behaviour (default: none).
        collect: record indicators every step with Mesa's DataCollector.
        record_from: compute and record indicators only from this quarter on (0, the default: from the
            initial state). Indicators only describe the region (nothing in the dynamics reads them), so
            runs whose summary reads only the last quarters (sweeps without time series) skip the others;
            the dynamics and the random stream are the same whatever this is. The quarter's diagnostics
            (``step_stats``) that only indicators read are computed only in recorded quarters (``observing``).
        agents: create the Mesa agents :class:`~clustersim.model.agents.Firm` and
            :class:`~clustersim.model.agents.Cluster`
            (the default). They are views on rows of the column stores and hold no state of their own: the
            dynamics, the indicators and the run summary never read them, so sweeps and sensitivity runs,
            which keep only summaries, pass False and skip their creation and removal (~300 Mesa agents a
            200-firm run, 2–3 % of its cost); the results are bit-identical either way.
    """

    def __init__(self, scenario: Scenario | None = None, rng: Any = None, policy: Policy | None = None,
                 collect: bool = True, record_from: int = 0, agents: bool = True) -> None:
        if int(record_from) < 0:
            raise ValueError(f"record_from must be >= 0, not {record_from}")
        self.record_from = int(record_from)
        self.observing = True  # whether this quarter's diagnostics are recorded (step 0, the initial state, is)
        self.agent_views = bool(agents)
        super().__init__(rng=rng)
        self.scenario_config = scenario if scenario is not None else Scenario()
        self.p = self.scenario_config
        if policy is None:
            from clustersim.model.policy.public import build_policy

            policy = build_policy(self.p)
        self.policy: Policy = policy
        # region-wide effects of public instruments, neutral without them (set by the policy each quarter)
        self.noise_factor = 1.0  # data sharing: firms' information noise × this
        self.contribution_factor = 1.0  # legal framework: joint-product and club contributions × this
        self.trust_loss_factor = 1.0  # legal framework: trust lost after a defection × this
        self.matchmaking_left = 0  # intermediary: proposals it can still help this quarter
        self.matchmaking_extra = 0  # best-matching firms it introduces to a proposer
        self.matchmaking_noise = 1.0  # candidates' information noise × this when helped
        self.policy_counters: dict[str, float] = {k: 0 for k in (
            "applications", "eligible", "selected", "labelled", "delabelled", "support_ended", "evaluations",
            "identified_groups", "assigned_memberships", "matchmaking_services", "validated")}
        p = self.p
        n = p.simulation.n_firms
        self.K = p.region.n_capabilities
        self.S = p.region.n_sectors
        self.now = 0
        self.frontier = 1.0
        self._alive_rows: np.ndarray | None = None  # caches of alive_rows and live_clusters
        self._live_clusters: np.ndarray | None = None
        self.firms = FirmTable(max(16, 2 * n), K=self.K)
        self.clusters = ClusterTable(max(16, n // 4), K=self.K)
        self.memberships = MembershipTable()
        self.vertical = PairStore(directed=True)  # supplier -> customer (market links)
        self.horizontal = PairStore(directed=False)  # peers (non-market links)
        self.trust = PairStore(directed=True)  # trust of src in dst
        self._adj: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
        self.firm_agents: dict[int, Firm] = {}
        self.cluster_agents: dict[int, Cluster] = {}
        o = p.orientations
        self.thresholds = [
            draw_thresholds(self.rng, o.moyens.critical_mass, o.moyens.n_domains),
            draw_thresholds(self.rng, o.products_markets.critical_mass, o.products_markets.n_domains),
            draw_thresholds(self.rng, o.club.critical_mass, self.K),
        ]
        # sector "core" capability profiles: sectors differ in which domains they rely on
        self.sector_profile = self.rng.dirichlet(np.ones(self.K), size=self.S)
        self.ledger: dict[str, float] = {k: 0.0 for k in (
            "initial_capital", "entrant_capital", "exit_capital", "revenue", "inputs", "wages", "fixed_costs",
            "need_costs", "moyens_saving", "moyens_cost", "pm_revenue", "pm_cost", "club_cost", "fees",
            "coordination_spending", "payout", "public_funding", "fund_lost", "public_cofunding")}
        self.counters: dict[str, float] = {k: 0 for k in (
            "investors", "startups", "exits", "clusters_formed", "clusters_dissolved", "joins",
            *(f"leave_{r}" for r in LEAVE_REASONS))}
        self.step_stats: dict[str, float] = {}
        self._prev_sizes = np.zeros(0)  # cluster sizes one quarter ago (membership trend)
        self.club_gain = np.zeros((0, self.K))
        self._left_now = np.zeros(0, dtype=np.int64)  # (firm, cluster) keys of this quarter's leavers
        self._init_firms(n)
        self._init_market()
        self._init_links()
        self._market()  # initial accounts, so that indicators at step 0 describe the starting region
        self.indicators: dict[str, float] = {}
        self.va0: float | None = None  # value added at step 0 (value_added_growth's base)
        self._refresh_indicators()  # always at step 0: value-added growth is measured from it
        self.datacollector = None
        if collect:
            self.datacollector = IndicatorCollector()
            if self.record_from == 0:
                self.datacollector.collect(self)

    # ------------------------------------------------------------------ initialisation
    def _new_firm_rows(self, k: int, sector, chain, size, prod, cap, coop, outside, capital, cohort0=False):
        F = self.firms
        rows = F.add_rows(k)
        F.alive[rows] = True
        self._alive_rows = None
        F.sector[rows] = sector
        F.chain[rows] = chain
        F.need[rows] = self.rng.integers(0, self.p.orientations.moyens.n_domains, size=k)
        F.cap[rows] = cap
        F.capidx[rows] = row_mean(cap)
        F.prod[rows] = prod
        F.size[rows] = size
        F.capital[rows] = capital
        F.coop[rows] = coop
        F.outside[rows] = outside
        F.born[rows] = self.now
        F.died[rows] = -1
        F.cohort0[rows] = cohort0
        if self.agent_views:
            for r in rows.tolist():
                self.firm_agents[r] = Firm(self, r)
        return rows

    def _draw_capabilities(self, sectors: np.ndarray) -> np.ndarray:
        f = self.p.firms
        k = len(sectors)
        conc = f.capability_concentration
        base = self.rng.beta(f.capability_mean * conc, (1 - f.capability_mean) * conc, size=(k, self.K))
        prof = self.sector_profile[sectors] * self.K  # mean 1 per domain
        tilt = (1 - f.specialisation) + f.specialisation * prof
        return np.clip(base * tilt, 0.0, 1.0)

    def _init_firms(self, n: int) -> None:
        p = self.p
        f = p.firms
        sectors = self.rng.integers(0, self.S, size=n)
        chain = self.rng.integers(0, p.region.n_chain_positions, size=n)
        size = np.maximum(1.0, f.size_median * np.exp(f.size_dispersion * self.rng.standard_normal(n)))
        prod = f.productivity_median * np.exp(f.productivity_dispersion * self.rng.standard_normal(n))
        cap = self._draw_capabilities(sectors)
        coop = np.clip(f.cooperativeness_mean + f.cooperativeness_sd * self.rng.standard_normal(n), 0, 1)
        outside = self.rng.random(n) < f.outside_investor_share
        capital = f.initial_capital_per_employee * size
        self._new_firm_rows(n, sectors, chain, size, prod, cap, coop, outside, capital, cohort0=True)
        self.ledger["initial_capital"] += float(capital.sum())

    def _init_market(self) -> None:
        p = self.p
        F = self.firms
        a = F.alive[: F.n]
        w = np.bincount(F.sector[: F.n][a], weights=self._weights(np.flatnonzero(a)), minlength=self.S)
        w = np.maximum(w, p.firms.size_median)  # sectors without firms still have a market
        s0 = p.region.initial_export_share
        self.demand = p.market.revenue_per_employee * w / s0  # k€/quarter
        self.competitors = w * (1 - s0) / s0  # outside competitors' capacity (frontier units)
        self.demand0 = self.demand.sum()

    def _weights(self, rows: np.ndarray) -> np.ndarray:
        F = self.firms
        return F.size[rows] * (F.prod[rows] / self.frontier) ** self.p.market.market_share_elasticity

    def _init_links(self) -> None:
        """Start with some supplier links: each firm below the top of the chain searches once."""
        alive = np.flatnonzero(self.firms.alive[: self.firms.n])
        self._supplier_search(alive[self.firms.chain[alive] > 0])

    # ------------------------------------------------------------------ helpers
    @property
    def alive_rows(self) -> np.ndarray:
        """Rows of living firms (read-only; recomputed only after entries and exits)."""
        if self._alive_rows is None:
            self._alive_rows = self.firms.alive[: self.firms.n].nonzero()[0]  # = np.flatnonzero
            self._alive_rows.flags.writeable = False
        return self._alive_rows

    @property
    def live_clusters(self) -> np.ndarray:
        """Rows of active clusters (read-only; recomputed only after foundings and dissolutions)."""
        if self._live_clusters is None:
            self._live_clusters = self.clusters.alive[: self.clusters.n].nonzero()[0]  # = np.flatnonzero
            self._live_clusters.flags.writeable = False
        return self._live_clusters

    def firm(self, row: int) -> Firm:
        self._need_views()
        return self.firm_agents[row]

    def cluster(self, row: int) -> Cluster:
        self._need_views()
        return self.cluster_agents[row]

    def _need_views(self) -> None:
        if not self.agent_views:
            raise RuntimeError("this model was built with agents=False: no Firm or Cluster agents exist "
                               "(read the column stores model.firms and model.clusters)")

    def adjacency(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR adjacency over both link layers (indptr by firm row, neighbour rows), built once a step.

        Firms search partners among it during the membership phase, which adds no links, so one build
        serves the whole phase.
        """
        if self._adj is not None and self._adj[0] == self.now and len(self._adj[1][0]) == self.firms.n + 1:
            return self._adj[1]
        parts_a, parts_b = [], []
        for store in (self.vertical, self.horizontal):
            src, dst = store.src, store.dst
            parts_a += [src, dst]
            parts_b += [dst, src]
        a = np.concatenate(parts_a)
        b = np.concatenate(parts_b)
        order = stable_argsort(a, self.firms.n)
        indptr = np.zeros(self.firms.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=self.firms.n), out=indptr[1:])
        nbr = b[order]
        self._adj = (self.now, (indptr, nbr))
        return indptr, nbr

    def capability_value(self, rows: np.ndarray) -> np.ndarray:
        """Money value (k€ over the valuation horizon) of one unit of capability index for each firm."""
        p = self.p
        return (p.learning.valuation_horizon * p.learning.capability_elasticity
                * p.market.market_share_elasticity * self.firms.revenue[rows])

    def interest(self, rows: np.ndarray, orient: np.ndarray, domain0: np.ndarray, vision: np.ndarray
                 ) -> np.ndarray:
        """Common interest of firms with clusters (or prospective partners), per orientation, in [0, 1].

        Moyens: the firm shares the cluster's common need. Produits/Marchés: complementarity, the firm
        brings capabilities the cluster lacks (``min(1, d / complementarity_distance)``). Club de travail:
        Nooteboom's learning factor at the firm's cognitive distance ``d`` from the vision, times the share
        of that distance the firm can learn (where the vision is ahead of it:
        ``mean max(0, v − c) / mean |v − c|``).
        Returns an (n, 3) array, each column scaled by the orientation's intensity.
        """
        F = self.firms
        # rows of 2-D columns are read with take(rows, axis=0) throughout: the same copy as cap[rows], several
        # times faster on a step's small arrays (numpy's general multi-dimensional indexing is slow there)
        gap = vision - F.cap.take(rows, axis=0)  # v − c; |c − v| is its magnitude (IEEE subtraction is antisymmetric)
        dist = row_mean(np.abs(gap))
        o = self.p.orientations
        ahead = row_mean(np.maximum(0.0, gap))
        learnable = np.divide(ahead, dist, out=np.zeros(len(dist)), where=dist > 0)
        scores = np.empty((len(dist), 3))  # the columns Moyens, Produits/Marchés, Club (as np.stack would)
        scores[:, 0] = F.need[rows] == domain0
        np.minimum(1.0, dist / o.products_markets.complementarity_distance, out=scores[:, 1])
        scores[:, 2] = cognitive_learning_factor(dist, o.club.optimal_distance) * learnable
        return orient * scores

    def expected_benefit(self, rows: np.ndarray, clusters: np.ndarray, noise: bool = True) -> np.ndarray:
        """Firms' estimates of the net benefit (k€/quarter) of joining clusters (see :meth:`_expected`)."""
        return self._expected(rows, clusters, noise)[1]

    def _expected(self, rows: np.ndarray, clusters: np.ndarray, noise: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Firms' estimates of the net benefit (k€/quarter) of joining clusters, under bounded information.

        ``E = interest · ((1 − ε) · prospect_value + ε · reputation) · (1 + σ·z) − fee − contributions``,
        where ε = the cluster's age over the emergence age (capped at 1): young clusters are judged on
        prospects, older ones on their observed results (reputation, the gross benefit per member); σ is
        the information noise; contributions are the joint-product and club contributions the cluster's
        orientation mix asks of a contributing member. Returns (interest, E).
        """
        C = self.clusters
        p = self.p.clusters
        orient = C.orient.take(clusters, axis=0)
        fit = np.maximum.reduce(self.interest(rows, orient, C.domain[:, 0].take(clusters),
                                              C.vision.take(clusters, axis=0)), axis=1)
        age = self.now - C.born[clusters]
        ev = np.minimum(1.0, age / max(1, p.emergence_age))
        gross = fit * ((1 - ev) * p.prospect_value + ev * C.reputation[clusters])
        if noise:
            sd = self.p.learning.information_noise * self.noise_factor * (1 - C.clarity[clusters])
            gross = gross * (1 + sd * self.rng.standard_normal(len(rows)))
        o = self.p.orientations
        contributions = self.contribution_factor * (
            orient[:, 1] * o.products_markets.contribution * (1 - C.cofund_rate[clusters])
            + orient[:, 2] * o.club.contribution)
        return fit, gross - p.membership_fee - contributions

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        self.now += 1
        p = self.p
        self.step_stats = {}
        # diagnostics read only by the indicators (step_stats) are computed only in quarters that record them
        self.observing = self.now >= self.record_from
        self.policy.act(self, "start")
        self._environment()
        self._market()
        self.policy.act(self, "before_actions")
        self._collective_actions()
        self.policy.act(self, "after_actions")
        self._knowledge_and_productivity()
        self._leave()
        self._join()
        self._form_clusters()
        self._life_cycle()
        self._demography()
        self._links()
        self.policy.act(self, "end")
        if self.observing:
            self._refresh_indicators()
            if self.datacollector is not None:
                self.datacollector.collect(self)
        if self.now >= p.simulation.steps:
            self.running = False

    # 1. environment
    def _environment(self) -> None:
        m = self.p.market
        self.frontier *= 1 + m.frontier_growth
        shock = m.demand_volatility * self.rng.standard_normal(self.S)
        self.demand = self.demand * np.exp(m.demand_growth + shock - 0.5 * m.demand_volatility**2)
        self.competitors = self.competitors * (1 + m.competitor_capacity_growth)

    # 2. market
    def _market(self) -> None:
        F = self.firms
        m = self.p.market
        rows = self.alive_rows
        w = self._weights(rows)
        sec = F.sector[rows]
        total = np.bincount(sec, weights=w, minlength=self.S) + self.competitors
        export = self.demand[sec] * w / total[sec]
        F.export_revenue[rows] = export
        # local purchases along supplier links, split by intensity × supplier productivity
        local = np.zeros(F.n)
        purchases_by_member = 0.0
        if len(self.vertical):
            sup, cus = self.vertical.src, self.vertical.dst
            inten = self.vertical.value
            share_total = np.bincount(cus, weights=inten, minlength=F.n)
            sourcing = np.minimum(1.0, self.p.links.sourcing_per_link * share_total)
            budget = m.input_share * F.export_revenue[: F.n] * sourcing  # per customer
            attract = inten * F.prod[sup]
            norm = np.bincount(cus, weights=attract, minlength=F.n)[cus]
            budget_cus = budget[cus]
            flow = budget_cus * attract / np.where(norm > 0, norm, 1.0)
            local = np.bincount(sup, weights=flow, minlength=F.n)
            # links grow with use (share of the customer's local purchases carried)
            used = flow / np.where(budget_cus > 0, budget_cus, 1.0)
            self.vertical.value = inten + self.p.links.use_gain * used * (1 - inten)
            if self.observing:
                member = F.n_memberships[: F.n] > 0
                purchases_by_member = float(np.add.reduce(flow[member[cus] & ~member[sup]]))
                self.step_stats["local_purchases"] = float(np.add.reduce(flow))
        else:
            self.step_stats["local_purchases"] = 0.0
        self.step_stats["member_purchases_from_nonmembers"] = purchases_by_member
        F.local_sales[: F.n] = np.where(F.alive[: F.n], local, 0.0)
        revenue = export + local[rows]  # living rows: their local sales
        F.revenue[rows] = revenue
        inputs = m.input_share * revenue
        F.inputs[rows] = inputs
        # value added before collective actions: revenue less bought inputs and the services bought to meet
        # common needs alone (collective actions then add joint products and Moyens savings)
        F.value_added[rows] = (revenue - inputs - self.p.orientations.moyens.need_cost_per_employee * F.size[rows])

    # 3-5. collective actions and accounts
    def _collective_actions(self) -> None:
        F, C, mem, p = self.firms, self.clusters, self.memberships, self.p
        rows = self.alive_rows
        nc = C.n
        stats = self.step_stats
        led = self.ledger
        stats.update(moyens_gain=0.0, pm_gain=0.0, club_gain=0.0, actions_attempted=0.0, actions_success=0.0,
                     cooperation_rate=0.0, coordination_spending=0.0)
        # firms' columns at the living rows, read once (each fancy index is a copy)
        size_r = F.size[rows]
        revenue_r = F.revenue[rows]
        inputs_r = F.inputs[rows]
        wages_r = p.market.wage * size_r
        labour_r = wages_r + p.market.fixed_cost  # wages and fixed cost: the scale of employment decisions
        need_r = p.orientations.moyens.need_cost_per_employee * size_r
        base_cost = labour_r + need_r
        if len(mem):
            f, c = mem.firm, mem.cluster
            size_c = np.bincount(c, minlength=nc).astype(np.float64)
            per_member = np.maximum(size_c, 1)  # divisor of per-member means (empty slots: 1)
            # coordination: fees into the fund, facilitation paid from it
            fee = p.clusters.membership_fee
            fees = np.bincount(f, minlength=F.n) * fee
            C.fund[:nc] += size_c * fee
            need = p.clusters.coordination_cost * size_c
            spend = np.minimum(np.maximum(C.fund[:nc], 0.0), need * C.coordination_ceiling[:nc])
            C.fund[:nc] -= spend
            coordination = np.divide(spend, need, out=np.ones(nc), where=need > 0)
            C.coordination[:nc] = coordination
            reach = p.clusters.coordination_half_size * np.maximum(C.facilitator_quality[:nc], 1e-9)
            eff = np.minimum(1.0, coordination / (1 + size_c / reach))
            spent = float(np.add.reduce(spend))
            led["coordination_spending"] += spent
            stats["coordination_spending"] = spent
            # willingness to contribute: own cooperativeness, trust in co-members, alignment with vision
            align = self._alignment(f, c)
            will = (F.coop[f] + p.trust.cooperation_weight * (mem.trust - p.trust.initial)
                    + p.clusters.alignment_weight * (align - p.clusters.neutral_alignment))
            coop = self.rng.random(len(f)) < will.clip(0.0, 1.0)
            if self.observing:
                stats["cooperation_rate"] = np.count_nonzero(coop) / len(coop)  # = coop.mean()
            # meetings: each member works with a few co-members; trust before the meeting conditions learning
            li, lj = _segment_pick(self.rng, c, nc, p.trust.partners_observed)
            f_li, f_lj = f[li], f[lj]
            tslots, _ = self.trust.slots(f_li, f_lj, p.trust.initial, self.now)
            t_before = self.trust.value[tslots]  # a copy (fancy index); the actions below do not change trust
            ctx = ActionContext(f=f, c=c, coop=coop, n_clusters=nc, orient=C.orient[:nc], domain=C.domain[:nc],
                                effectiveness=eff, size=F.size, need=F.need, cap=F.cap, thresholds=self.thresholds,
                                rng=self.rng, contribution_factor=self.contribution_factor,
                                pooled_relief=C.pooled_relief[:nc], learning_boost=C.learning_boost[:nc])
            o = p.orientations
            mo = moyens_action(ctx, o.moyens)
            pm = products_markets_action(ctx, o.products_markets)
            cv = self.capability_value(np.arange(F.n))
            cl = club_action(ctx, o.club, (li, lj, t_before), cv)
            # trust: up after a partner cooperated, down (faster) after it free-rode
            tp = p.trust
            tv = t_before
            loss = tp.loss_rate * self.trust_loss_factor
            coop_lj = coop[lj]
            self.trust.value[tslots] = np.where(coop_lj, tv + tp.gain_rate * (1 - tv), tv - loss * tv)
            seen = np.bincount(li, minlength=len(f))
            # re-read: a pair met in two clusters appears twice in tslots and keeps the last value written
            tsum = np.bincount(li, weights=self.trust.value[tslots], minlength=len(f))
            tw = p.trust.update_weight
            mem.trust = np.where(seen > 0, (1 - tw) * mem.trust + tw * tsum / np.maximum(seen, 1), mem.trust)
            # horizontal (peer, non-market) links grow with joint work: pairs where both contributed
            joint = coop[li] & coop_lj
            hs, created = self.horizontal.slots(f_li[joint], f_lj[joint], p.links.initial_intensity, self.now)
            hv = self.horizontal.value[hs]
            self.horizontal.value[hs] = np.where(created, hv, hv + p.links.use_gain * (1 - hv))
            # knowledge leaks to same-sector co-members who did not take part (non-excludable knowledge)
            gain = cl.extra["capability_gain"]
            part_club = cl.extra["participant"]
            leak_gain, leak_cost = self._leakage(f, c, nc, gain, part_club, cv)
            gain = gain + leak_gain
            club_gain = segment_sum(f, gain, F.n)
            # per-membership realised net benefit and cash flows
            cash_b = mo.benefit + pm.benefit
            benefit = cash_b + cl.benefit + row_mean(leak_gain) * cv[f]
            eligible = mo.cost + pm.cost
            cost = eligible + cl.cost
            public = self._cofunding(c, nc, eligible)
            cost = cost - public
            net = benefit - cost - fee - leak_cost
            lw = p.learning.memory_weight
            mem.memory = (1 - lw) * mem.memory + lw * net
            mo_net = mo.benefit - mo.cost
            fee_r = fees[rows]
            cash_r = np.bincount(f, weights=cash_b, minlength=F.n)[rows]
            pm_revenue_r = np.bincount(f, weights=pm.benefit, minlength=F.n)[rows]
            pm_cost_r = np.bincount(f, weights=pm.cost, minlength=F.n)[rows]
            moyens_net_r = np.bincount(f, weights=mo_net, minlength=F.n)[rows]
            costs_r = np.bincount(f, weights=cost, minlength=F.n)[rows]
            F.cluster_net[: F.n] = np.bincount(f, weights=net, minlength=F.n)
            # new activities from joint products
            na = pm.extra["new_activity_firms"]
            if len(na):
                F.new_activity[na] = True
                weakest = np.argmin(F.cap.take(na, axis=0), axis=1)
                F.cap[na, weakest] += p.orientations.products_markets.new_activity_gain * (1 - F.cap[na, weakest])
            # reputation (public signal of results) and cooperativeness learning
            gross = np.bincount(c, weights=benefit, minlength=nc) / per_member
            rw = p.clusters.reputation_weight
            C.reputation[:nc] = np.where(size_c > 0, (1 - rw) * C.reputation[:nc] + rw * gross, C.reputation[:nc])
            self._learn_cooperativeness(f, c, nc, coop, benefit - cost - leak_cost)
            # statistics (np.add.reduce is what ndarray.sum calls, without its Python wrapper)
            total = np.add.reduce
            if self.observing:
                stats["moyens_gain"] = float(total(mo_net))
                stats["pm_gain"] = float(total(pm.benefit - pm.cost))
                stats["club_gain"] = float(total(cl.benefit - cl.cost))
                nz = np.count_nonzero
                stats["actions_attempted"] = float(nz(mo.attempted) + nz(pm.attempted) + nz(cl.attempted))
                stats["actions_success"] = float(nz(mo.success) + nz(pm.success) + nz(cl.success))
            led["moyens_saving"] += float(total(mo.benefit))
            led["moyens_cost"] += float(total(mo.cost))
            led["pm_revenue"] += float(total(pm.benefit))
            led["pm_cost"] += float(total(pm.cost))
            led["club_cost"] += float(total(cl.cost))
            led["fees"] += float(total(fees))
            C.alignment[:nc] = np.bincount(c, weights=align, minlength=nc) / per_member
            C.trust[:nc] = np.bincount(c, weights=mem.trust, minlength=nc) / per_member
        else:
            F.cluster_net[: F.n] = 0.0
            club_gain = np.zeros((F.n, self.K))
            cash_r = costs_r = fee_r = pm_revenue_r = moyens_net_r = pm_cost_r = np.zeros(len(rows))
        self.club_gain = club_gain
        # accounts
        profit = (revenue_r - inputs_r - base_cost + cash_r - costs_r - fee_r)
        F.profit[rows] = profit
        # value added: market revenue and joint-product revenue less bought inputs and services (common
        # needs met alone, pooled solutions, joint-product contributions); club time and fees are not bought
        total = np.add.reduce
        led["revenue"] += float(total(revenue_r))  # market revenue; joint products are led["pm_revenue"]
        F.revenue[rows] = revenue_r + pm_revenue_r
        F.value_added[rows] += pm_revenue_r + moyens_net_r - pm_cost_r
        payout = self.p.market.payout_share * np.maximum(profit, 0.0)
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
        F.size[rows] = np.maximum(1.0, size_r * (1 + (fm.employment_adjustment * rel).clip(-fm.max_growth,
                                                                                           fm.max_growth)))
        F.neg_streak[rows] = np.where(capital_r < 0, F.neg_streak[rows] + 1, 0)

    def _cofunding(self, c: np.ndarray, nc: int, eligible: np.ndarray) -> np.ndarray:
        """Public co-funding of collaborative projects, per membership (k€ this quarter).

        A supported cluster's funders pay ``cofund_rate`` of its members' eligible costs (Moyens pooled costs
        and joint-product contributions), at most its ``cofund_allowance`` (money the funders set aside for it
        this quarter); each member's share follows its own eligible cost.
        """
        C = self.clusters
        C.cofund_paid[:nc] = 0.0
        rate = C.cofund_rate[:nc]
        if not rate.any():
            return np.zeros(len(c))
        total = np.bincount(c, weights=eligible, minlength=nc)
        paid = np.minimum(rate * total, np.maximum(C.cofund_allowance[:nc], 0.0))
        C.cofund_paid[:nc] = paid
        self.ledger["public_cofunding"] += float(paid.sum())
        return np.divide(paid[c] * eligible, total[c], out=np.zeros(len(c)), where=total[c] > 0)

    def _alignment(self, f: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Alignment of members with their cluster's vision: 1 − mean|c_i − v| / alignment_distance, ≥ 0."""
        d = row_mean(np.abs(self.firms.cap.take(f, axis=0) - self.clusters.vision.take(c, axis=0)))
        return (1.0 - d / self.p.clusters.alignment_distance).clip(0.0, 1.0)

    def _leakage(self, f, c, nc, gain, participant, cv):
        """Knowledge leaking to same-sector co-members that did not take part in the exchanges.

        Each non-participant gets ``leakage_rate`` × the mean gain of same-sector participants of its
        cluster; each such participant bears the money value of its rivals' gain, shared equally.
        """
        F = self.firms
        rate = self.p.competition.leakage_rate
        leak_cost = np.zeros(len(f))
        if rate <= 0 or not participant.any():
            return np.zeros(gain.shape), leak_cost
        key = c * self.S + F.sector[f]
        nk = nc * self.S
        key_part = key[participant]
        n_part = np.bincount(key_part, minlength=nk)  # participants per (cluster, sector) group
        mean_gain = segment_sum(key_part, gain.compress(participant, axis=0), nk)
        mean_gain /= np.maximum(n_part, 1)[:, None]
        receiver = (~participant) & (n_part[key] > 0)
        leak_gain = np.where(receiver[:, None], rate * mean_gain.take(key, axis=0), 0.0)
        leaked = row_mean(leak_gain)
        received_value = np.bincount(key, weights=leaked * cv[f], minlength=nk)
        leak_cost[participant] = received_value[key_part] / np.maximum(n_part[key_part], 1)
        if self.observing:
            self.step_stats["knowledge_leaked"] = float(np.add.reduce(leaked))
        return leak_gain, leak_cost

    def _learn_cooperativeness(self, f, c, nc, coop, payoff) -> None:
        """Members shift towards the behaviour that paid better in their cluster this quarter."""
        defect = ~coop
        n_c = np.bincount(c, weights=coop.astype(np.float64), minlength=nc)
        n_d = np.bincount(c, weights=defect.astype(np.float64), minlength=nc)
        u_c = np.bincount(c, weights=payoff * coop, minlength=nc) / np.maximum(n_c, 1)
        u_d = np.bincount(c, weights=payoff * defect, minlength=nc) / np.maximum(n_d, 1)
        both = (n_c > 0) & (n_d > 0)
        scale = np.abs(u_c) + np.abs(u_d) + self.p.learning.payoff_signal_scale
        delta = np.where(both, self.p.learning.cooperativeness_learning_rate * np.tanh((u_c - u_d) / scale), 0.0)
        F = self.firms
        coop_all = F.coop[: F.n]  # a view: updated in place
        coop_all += np.bincount(f, weights=delta[c], minlength=F.n)
        coop_all.clip(0.0, 1.0, out=coop_all)

    # 6. knowledge and productivity
    def _knowledge_and_productivity(self) -> None:
        F, p = self.firms, self.p
        rows = self.alive_rows
        gain = self.club_gain
        # spillovers along horizontal links (both directions), also to non-members
        if not len(self.horizontal):
            spill = np.zeros(gain.shape)
        else:
            active = self.rng.random(len(self.horizontal)) < p.links.contact_probability
            key = self.horizontal.key[active]
            a, b = key >> 32, key & 0xFFFFFFFF
            rate = (p.links.spillover_rate * self.horizontal.value[active])[:, None]
            diff = F.cap.take(b, axis=0) - F.cap.take(a, axis=0)
            spill = (segment_sum(a, rate * np.maximum(0.0, diff), F.n)
                     + segment_sum(b, rate * np.maximum(0.0, -diff), F.n))
        if self.observing:
            nonmember = F.n_memberships[: F.n] == 0
            spill_nonmembers = row_mean(spill[: F.n].compress(nonmember, axis=0))
            self.step_stats["spillover_nonmembers"] = float(np.add.reduce(spill_nonmembers))
        old_idx = F.capidx[rows]  # a copy (fancy index)
        cap = (F.cap.take(rows, axis=0) * (1 - p.learning.capability_obsolescence) + gain.take(rows, axis=0)
               + spill.take(rows, axis=0))
        cap.clip(0.0, 1.0, out=cap)
        F.cap[rows] = cap
        new_idx = row_mean(cap)
        F.capidx[rows] = new_idx
        # efficiency pressure: external (gap to the frontier) and internal rivalry
        rivalry, penalty = self._rivalry(rows)
        F.rivalry[rows] = rivalry
        prod = F.prod[rows]
        gap = np.log(self.frontier / prod)
        external = 1.0 / (1.0 + np.exp(-gap / p.learning.frontier_gap_scale))
        ew = p.learning.external_pressure_weight
        pressure = ew * external + (1 - ew) * rivalry
        growth = (p.learning.process_innovation_rate * pressure
                  + p.learning.capability_elasticity * (new_idx - old_idx)
                  + p.learning.productivity_noise * self.rng.standard_normal(len(rows)))
        F.prod[rows] = prod * np.exp(growth)
        # penalty.mean(): the same sum and division, without numpy's wrapper
        self.step_stats["conglomerate_penalty"] = float(np.add.reduce(penalty) / len(penalty)) if len(penalty) else 0.0

    def _rivalry(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Internal rivalry of each firm: ``n_eff / (n_eff + rivalry_half)``.

        ``n_eff = ρ · (same-sector regional firms outside the firm's clusters)
        + (1 − q) · (distinct same-sector co-members, over all its clusters)``: rivalry is felt most among
        firms that meet
        (ρ = ``regional_rivalry_weight`` < 1), and a cluster that coordinates its members' market behaviour
        (q = ``market_coordination``) removes that share of the rivalry among them. Returns (rivalry,
        penalty), the penalty being the rivalry the coordination removed (the "conglomerate" effect).
        """
        F, _C, mem = self.firms, self.clusters, self.memberships
        comp = self.p.competition
        half = comp.rivalry_half
        sector = F.sector[rows]
        n_sector = np.bincount(sector, minlength=self.S)
        others = (n_sector[sector] - 1).astype(np.float64)
        co_rows = self._distinct_same_sector_comembers()[rows] if len(mem) else np.zeros(len(rows))
        outside = comp.regional_rivalry_weight * (others - co_rows)
        free = outside + co_rows
        eff = outside + (1 - comp.market_coordination) * co_rows
        rivalry = eff / (eff + half)
        return rivalry, free / (free + half) - rivalry

    def _distinct_same_sector_comembers(self) -> np.ndarray:
        """Number of distinct same-sector firms each firm meets in its clusters (a rival met in two clusters
        counts once), by firm row. O(memberships + pairs of firms with several memberships)."""
        F, mem = self.firms, self.memberships
        key = mem.cluster * self.S + F.sector[mem.firm]
        group_size = np.bincount(key, minlength=self.clusters.n * self.S)
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

    # 7. membership decisions
    def _remove_memberships(self, mask: np.ndarray, reason: str) -> None:
        mem, F, C = self.memberships, self.firms, self.clusters
        if not mask.any():
            return
        f, c = mem.firm[mask], mem.cluster[mask]
        F.n_memberships[: F.n] -= np.bincount(f, minlength=F.n)
        per_cluster = np.bincount(c, minlength=C.n)
        C.size[: C.n] -= per_cluster
        C.leaves[: C.n] += per_cluster
        self.counters[f"leave_{reason}"] += len(f)
        mem.keep(~mask)

    def _add_memberships(self, f: np.ndarray, c: np.ndarray, memory: np.ndarray, locked_until: int = -1) -> None:
        F, C = self.firms, self.clusters
        self.memberships.add(f, c, self.now, memory, self.p.trust.initial, locked_until)
        F.n_memberships[: F.n] += np.bincount(f, minlength=F.n)
        per_cluster = np.bincount(c, minlength=C.n)
        size = C.size[: C.n]  # a view: updated in place
        size += per_cluster
        C.joins[: C.n] += per_cluster
        np.maximum(C.peak_size[: C.n], size, out=C.peak_size[: C.n])

    def _leave(self) -> None:
        mem, p = self.memberships, self.p.clusters
        self._left_now = np.zeros(0, dtype=np.int64)
        if not len(mem):
            return
        tenure = self.now - mem.joined
        leave = (tenure >= p.min_stay) & (mem.memory < p.leave_threshold) & (mem.locked_until < self.now)
        self.step_stats["leaves"] = float(np.count_nonzero(leave))
        self._left_now = np.sort(mem.firm[leave] * PAIR_SHIFT + mem.cluster[leave])
        self._remove_memberships(leave, "negative_benefit")

    def _join(self) -> None:
        F, C, p = self.firms, self.clusters, self.p.clusters
        live = self.live_clusters
        rows = self.alive_rows
        free = rows[F.n_memberships[rows] < self.p.firms.max_memberships]
        self.step_stats["joins"] = 0.0
        if not len(live) or not len(free):
            return
        cand_f, cand_c = [], []  # candidate (firm, cluster) pairs, as arrays
        # hearing from link partners about their clusters
        mem = self.memberships
        asks = free[self.rng.random(len(free)) < p.review_probability]
        if len(asks) and len(mem):
            indptr, nbr = self.adjacency()
            deg = indptr[asks + 1] - indptr[asks]
            linked = deg > 0
            asks = asks[linked]
            if len(asks):
                deg = deg[linked]
                # the draws are >= 0: truncation is np.floor
                partner = nbr[indptr[asks] + (self.rng.random(len(asks)) * deg).astype(np.int64)]
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
        aware = free[self.rng.random(len(free)) < p.awareness_probability * self.awareness(free)]
        if len(aware):
            cand_f.append(aware)
            cand_c.append(live[self.rng.integers(0, len(live), len(aware))])
        if not cand_f:
            return
        cf, cc = np.concatenate(cand_f), np.concatenate(cand_c)
        # not a member already, and no rejoining at once: one search among current and just-ended memberships
        known = np.sort(np.concatenate([mem.firm * PAIR_SHIFT + mem.cluster, self._left_now]))
        ok = ~isin_sorted(cf * PAIR_SHIFT + cc, known)
        cf, cc = cf[ok], cc[ok]
        if not len(cf):
            return
        fit, expected = self._expected(cf, cc, noise=True)
        want = (expected > p.join_threshold) & (fit >= p.attraction_threshold)
        cf, cc, expected = cf[want], cc[want], expected[want]
        # one join per firm per quarter, capacity respected, in random order (a loop over Python lists: it
        # is sequential, and a numpy scalar read per iteration would cost more than the decisions)
        order = self.rng.permutation(len(cf))
        taken: set[int] = set()
        room = (p.max_size - C.size[: C.n]).tolist()
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
            self._add_memberships(np.array(jf, dtype=np.int64), np.array(jc, dtype=np.int64), np.array(je))
            self.counters["joins"] += len(jf)
            self.step_stats["joins"] = float(len(jf))

    def awareness(self, rows: np.ndarray) -> np.ndarray:
        """Awareness campaigns: each firm's chances of hearing of a cluster or proposing one, × (1 + boost)."""
        F = self.firms
        return 1 + F.aware_boost[rows] * (F.aware_until[rows] >= self.now)

    def _form_clusters(self) -> None:
        """Bottom-up formation: a firm proposes, partners with a common interest accept (SKIN-style)."""
        F, p = self.firms, self.p.clusters
        rows = self.alive_rows
        maxm = self.p.firms.max_memberships
        can = rows[(F.n_memberships[rows] < maxm) & (F.capital[rows] > 0)]
        if not len(can):
            return
        init = can[self.rng.random(len(can)) < p.initiative_probability * F.coop[can] * self.awareness(can)]
        if not len(init):
            return
        init = self.rng.permutation(init)  # no firm gets first pick of partners by its row number
        used: set[int] = set()
        purposes = self.draw_purposes(len(init))
        for i, purpose in zip(init.tolist(), purposes.tolist(), strict=True):
            if i in used or F.n_memberships[i] >= maxm:
                continue
            found = self.assemble(i, purpose, used, p.min_founders, p.max_size)
            if found is None:
                continue
            founders, sc = found
            self.create_cluster(i, founders, sc, purpose)
            used.add(i)
            used.update(founders.tolist())

    def draw_purposes(self, k: int) -> np.ndarray:
        """Founding purposes (0 Moyens, 1 Produits/Marchés, 2 Club) of ``k`` proposals, by the schema weights."""
        p = self.p.clusters
        weights = np.array([p.purpose_weight_moyens, p.purpose_weight_products_markets, p.purpose_weight_club])
        total = weights.sum()
        if not total > 0:
            return self.rng.integers(0, 3, size=k)
        # = self.rng.choice(3, size=k, p=weights / total) (the schema keeps weights >= 0), written out as numpy's
        # Generator.choice computes it (normalised cumulative weights, one uniform draw per proposal), without
        # choice's argument checks, which cost more than the draw itself
        cdf = (weights / total).cumsum()
        cdf /= cdf[-1]
        return cdf.searchsorted(self.rng.random(k), side="right")

    def assemble(self, i: int, purpose: int, used: set[int], min_size: int, max_size: int
                 ) -> tuple[np.ndarray, np.ndarray] | None:
        """Firm ``i`` looks for partners for a project of ``purpose``; returns (founders, their interest
        scores), best first, or None when fewer than ``min_size − 1`` accept.

        Candidates are its link partners and a random sample of the region; with the intermediary's help
        (matchmaking), also the best-matching firms of the region, and the candidates judge the proposal
        with less information noise. Each candidate accepts from its own interest and expected benefit.
        """
        F, p = self.firms, self.p.clusters
        rows = self.alive_rows
        maxm = self.p.firms.max_memberships
        indptr, nbr = self.adjacency()
        partners = nbr[indptr[i]: indptr[i + 1]]
        randoms = rows[self.rng.integers(0, len(rows), p.partner_search_sample)]
        pool = [partners, randoms]
        noise = self.p.learning.information_noise * self.noise_factor
        if self.matchmaking_left > 0:
            self.matchmaking_left -= 1
            self.policy_counters["matchmaking_services"] += 1
            self.step_stats["matchmaking_services"] = self.step_stats.get("matchmaking_services", 0.0) + 1
            free = rows[(F.n_memberships[rows] < maxm) & (rows != i)]
            free = free[~np.isin(free, np.fromiter(used, dtype=np.int64, count=len(used)))]
            if len(free) and self.matchmaking_extra > 0:
                fit = self.interest(free, np.ones(3), np.full(len(free), F.need[i]), F.cap[i])[:, purpose]
                pool.append(free[np.argsort(-fit, kind="stable")[: self.matchmaking_extra]])
            noise *= self.matchmaking_noise
        cand = unique_ints(np.concatenate(pool))
        cand = cand[(cand != i) & (F.n_memberships[cand] < maxm) & F.alive[cand]]
        if used:
            cand = np.array([j for j in cand.tolist() if j not in used], dtype=np.int64)
        if len(cand) < min_size - 1:
            return None
        return self.consider(i, purpose, cand, noise, min_size, max_size)

    def consider(self, i: int, purpose: int, cand: np.ndarray, noise: float, min_size: int, max_size: int
                 ) -> tuple[np.ndarray, np.ndarray] | None:
        """Candidates ``cand`` judge firm ``i``'s proposal of ``purpose``; each accepts voluntarily when its
        interest clears the attraction threshold, its noisy expected benefit clears the join threshold, and
        its cooperativeness lets it engage. Returns (accepting founders, their interest scores), best first,
        at most ``max_size − 1``, or None when fewer than ``min_size − 1`` accept."""
        F, p = self.firms, self.p.clusters
        scores = self.interest(cand, np.ones(3), np.full(len(cand), F.need[i]), F.cap[i])
        best = scores[:, purpose]  # candidates judge the proposal on its purpose
        prospect = best * p.prospect_value * (1 + noise * self.rng.standard_normal(len(cand))) - p.membership_fee
        accept = (best >= p.attraction_threshold) & (prospect > p.join_threshold)
        accept &= self.rng.random(len(cand)) < F.coop[cand]  # willingness to engage
        founders = cand[accept]
        if len(founders) + 1 < min_size:
            return None
        order = (-best[accept]).argsort(kind="stable")[: max_size - 1]
        return founders[order], scores.compress(accept, axis=0).take(order, axis=0)

    def create_cluster(self, initiator: int, founders: np.ndarray, scores: np.ndarray, purpose: int,
                        mode: int = MODE_BOTTOM_UP, locked_until: int = -1) -> int:
        """A new cluster: the founding purpose at full intensity, the other orientations at the founders'
        mean interest in them (clusters pursue several orientations, not mutually exclusive).

        ``mode`` records how it came into being (:data:`FOUNDED_MODES`); ``locked_until`` > now only in the
        directive counterfactual, where members are assigned and may not leave before that quarter."""
        F, C = self.firms, self.clusters
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
        self._live_clusters = None
        C.born[row] = self.now
        C.died[row] = -1
        C.orient[row] = mix
        C.domain[row] = [F.need[initiator],
                         int(self.rng.integers(0, self.p.orientations.products_markets.n_domains)),
                         int(spread.argmax())]
        C.vision[row] = cap_mean
        align = self._alignment(members, np.full(n, row))
        C.alignment[row] = float(np.add.reduce(align) / n)  # = align.mean()
        C.trust[row] = self.p.trust.initial
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
        if self.agent_views:
            self.cluster_agents[row] = Cluster(self, row)
        self._add_memberships(members, np.full(n, row), np.zeros(n), locked_until)
        C.joins[row] = 0
        self.counters["clusters_formed"] += 1
        return row

    # 8. life cycle
    def _life_cycle(self) -> None:
        C, F, mem, p = self.clusters, self.firms, self.memberships, self.p.clusters
        live = self.live_clusters
        if not len(live):
            return
        nc = C.n
        if len(mem):
            f, c = mem.firm, mem.cluster
            members = np.bincount(c, minlength=nc)
            per_member = np.maximum(members, 1)  # divisor of per-member means (empty slots: 1)
            mean_cap = segment_sum(c, F.cap.take(f, axis=0), nc) / per_member[:, None]
            has = members > 0
            d = self.p.clusters.vision_drift
            vision = C.vision[:nc]  # a view: clusters without members keep their vision
            vision[...] = np.where(has[:, None], (1 - d) * vision + d * mean_cap, vision)
            # distinct sectors of each cluster: its (cluster, sector) groups that have members
            groups = np.bincount(c * self.S + F.sector[f], minlength=nc * self.S).reshape(nc, self.S)
            C.n_sectors[:nc] = np.add.reduce(groups > 0, axis=1)
        size = C.size[live].astype(np.float64)
        prev = np.zeros(nc)
        prev[: len(self._prev_sizes)] = self._prev_sizes[:nc]
        change = (size - prev[live]) / np.maximum(size, 1.0)
        tw = p.trend_weight
        trend = (1 - tw) * C.trend[live] + tw * change
        C.trend[live] = trend
        age = self.now - C.born[live]
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
        dissolve = live[(low_streak >= p.dissolve_patience) | (size < 2)]
        for row in dissolve.tolist():
            self._dissolve(row)
        self._prev_sizes = C.size[: C.n].astype(np.float64)

    def _dissolve(self, row: int) -> None:
        C = self.clusters
        self._remove_memberships(self.memberships.cluster == row, "dissolution")
        C.alive[row] = False
        self._live_clusters = None
        C.died[row] = self.now
        C.stage[row] = STAGE_DISSOLVED
        C.supported[row] = False  # public support stops with the cluster
        self.ledger["fund_lost"] += float(C.fund[row])  # the remaining fund goes back out of the region
        C.fund[row] = 0.0
        self.counters["clusters_dissolved"] += 1
        if self.agent_views:
            self.cluster_agents.pop(row).remove()

    # 9. demography
    def _demography(self) -> None:
        F, p = self.firms, self.p
        rows = self.alive_rows
        exiting = rows[F.neg_streak[rows] >= p.firms.exit_patience]
        if len(exiting):
            dead = np.zeros(F.n, dtype=bool)
            dead[exiting] = True
            self._remove_memberships(dead[self.memberships.firm], "firm_exit")
            for store in (self.vertical, self.horizontal, self.trust):
                store.remove_firms(dead)
            F.alive[exiting] = False
            self._alive_rows = None
            F.died[exiting] = self.now
            self.ledger["exit_capital"] += float(np.add.reduce(F.capital[exiting]))
            self.counters["exits"] += len(exiting)
            if self.agent_views:
                for r in exiting.tolist():
                    self.firm_agents.pop(r).remove()
        rows = self.alive_rows
        if not len(rows):
            return
        d = p.demography
        fm = p.firms
        # start-ups imitate a successful firm (top quartile by profit per employee)
        n_start = int(self.rng.poisson(d.startup_rate * len(rows)))
        if n_start:
            perf = F.profit[rows] / F.size[rows]
            top = rows[perf >= _quantile(perf, d.imitation_quantile)]
            parent = top[self.rng.integers(0, len(top), n_start)]
            noise = d.startup_capability_noise * self.rng.standard_normal((n_start, self.K))
            cap = (F.cap.take(parent, axis=0) * (1 + noise)).clip(0, 1)
            coop = (fm.cooperativeness_mean + fm.cooperativeness_sd * self.rng.standard_normal(n_start)).clip(0, 1)
            capital = np.full(n_start, d.startup_size * fm.initial_capital_per_employee)
            new = self._new_firm_rows(n_start, F.sector[parent], F.chain[parent], np.full(n_start, d.startup_size),
                                      d.startup_productivity * F.prod[parent], cap, coop, np.zeros(n_start, bool),
                                      capital)
            F.need[new] = F.need[parent]
            self.ledger["entrant_capital"] += float(capital.sum())
            self.counters["startups"] += n_start
        # outside investors attracted by cluster synergies
        live = self.live_clusters
        synergy = 0.0
        if len(live) and len(self.memberships):
            # the size-weighted mean reputation, computed as np.average does (same products, sums, division)
            weight = np.maximum(self.clusters.size[live], 1)
            synergy = max(0.0, float(np.add.reduce(np.multiply(self.clusters.reputation[live], weight,
                                                               dtype=np.float64))
                                     / np.add.reduce(weight, dtype=np.float64)))
        n_inv = int(self.rng.poisson(d.investor_rate * synergy / d.investor_synergy_reference)) if synergy > 0 else 0
        for _ in range(n_inv):
            target = int(live[np.argmax(self.clusters.reputation[live])])
            mem_rows = self.memberships.firm[self.memberships.cluster == target]
            sector = int(F.sector[mem_rows[self.rng.integers(0, len(mem_rows))]]) if len(mem_rows) else 0
            cap = np.clip(self.clusters.vision[target]
                          + d.investor_capability_noise * self.rng.standard_normal(self.K), 0, 1)[None, :]
            capital = np.array([d.investor_size * fm.initial_capital_per_employee])
            coop = np.clip(fm.cooperativeness_mean + fm.cooperativeness_sd * self.rng.standard_normal(1), 0, 1)
            new = self._new_firm_rows(1, sector, int(self.rng.integers(0, p.region.n_chain_positions)),
                                      np.array([d.investor_size]), np.array([d.investor_productivity * self.frontier]),
                                      cap, coop, np.array([True]), capital)
            self.ledger["entrant_capital"] += float(capital.sum())
            self.counters["investors"] += 1
            # the investor came for the cluster's synergies, but joins it on the same rule as any firm
            fit, expected = self._expected(new, np.array([target]), noise=True)
            if (self.clusters.size[target] < p.clusters.max_size and fit[0] >= p.clusters.attraction_threshold
                    and expected[0] > p.clusters.join_threshold):
                self._add_memberships(new, np.array([target]), expected)
                self.counters["joins"] += 1

    # 10. links
    def _links(self) -> None:
        lp = self.p.links
        for store in (self.vertical, self.horizontal):
            store.value *= 1 - lp.decay
            store.keep(store.value >= lp.prune_below)
        self.trust.keep(self.now - self.trust.last_used <= self.p.trust.forget_after)
        F = self.firms
        rows = self.alive_rows
        searching = rows[(F.chain[rows] > 0) & (self.rng.random(len(rows)) < lp.search_probability)]
        self._supplier_search(searching)

    def _supplier_search(self, searching: np.ndarray) -> None:
        """Customers look for local suppliers one stage up the chain and link to the most productive seen."""
        F, lp = self.firms, self.p.links
        if not len(searching) or lp.max_suppliers == 0:
            return
        rows = self.alive_rows
        n_sup = np.bincount(self.vertical.dst, minlength=F.n)
        # upstream firms (chain 0) have no local suppliers to look for; full customers do not look
        chain = F.chain[searching]
        looking = (chain > 0) & (n_sup[searching] < lp.max_suppliers)
        searching, chain = searching[looking], chain[looking]
        # candidate pools: living firms one stage up the chain, as contiguous runs of one array
        n_chain = self.p.region.n_chain_positions
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
            draw = (self.rng.random(len(searching) * s) * size_up.repeat(s)).astype(np.int64)
            cand = pool[start[up].repeat(s) + draw]
            best = F.prod[cand].reshape(len(searching), s).argmax(axis=1)
            src = cand[np.arange(0, len(cand), s) + best]
            fresh = self.vertical.find(src, searching) < 0  # an existing supplier is not linked twice
            self.vertical.slots(src[fresh], searching[fresh], lp.initial_intensity, self.now)
        self._adj = None  # links changed: the next search rebuilds the adjacency

    # 11. indicators
    def _refresh_indicators(self) -> None:
        self.indicators = compute_indicators(self)

    # ------------------------------------------------------------------ API
    def run(self, steps: int | None = None) -> None:
        """Run ``steps`` quarters (default: the scenario's length)."""
        n = self.p.simulation.steps - self.now if steps is None else steps
        for _ in range(max(0, n)):
            self.step()

    def timeseries(self):
        """The indicators recorded so far, one row per step (step 0 = initial state)."""
        if self.datacollector is None:
            raise RuntimeError("this model was built with collect=False: no indicators were recorded "
                               "(read model.indicators for the current quarter)")
        # = get_model_vars_dataframe() with a "step" column inserted first, built as one frame
        columns = self.datacollector.model_vars
        n = len(next(iter(columns.values()))) if columns else 0
        return pd.DataFrame({"step": np.arange(self.record_from, self.record_from + n), **columns})
