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
The model is built in its drawn initial state and then runs ``simulation.warmup`` quarters without any policy
(:meth:`ClusterModel.warm_up`, ODD section 5): quarter 0, where observation and policy start, is the warmed-up
region.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.datacollection import DataCollector

from clustersim.model.agents import Cluster, Firm
from clustersim.model.indicators import INDICATORS, compute_indicators
from clustersim.model.mechanisms import (
    actions,
    decisions,
    demography,
    formation,
    grouping,
    knowledge,
    lifecycle,
    links,
    market,
    membership,
    population,
)
from clustersim.model.orientations import draw_thresholds
from clustersim.model.pairs import PairStore
from clustersim.model.policy.base import POLICY_PHASES, NoPolicy, Policy
from clustersim.model.records import Counters, PolicyCounters, QuarterStats
from clustersim.model.state import (
    FOUNDED_MODES,
    LEAVE_REASONS,
    MODE_BOTTOM_UP,
    MODE_CALL,
    MODE_DIRECTIVE,
    MODE_DRAWN,
    MODE_IDENTIFICATION,
    STAGE_DECLINE,
    STAGE_DISSOLVED,
    STAGE_EMERGENCE,
    STAGE_GROWTH,
    STAGE_MATURITY,
    ClusterTable,
    FirmTable,
    MembershipTable,
)
from clustersim.scenario.schema import Scenario

__all__ = ["FOUNDED_MODES", "LEAVE_REASONS", "MODE_BOTTOM_UP", "MODE_CALL", "MODE_DIRECTIVE", "MODE_DRAWN",
           "MODE_IDENTIFICATION",
           "POLICY_PHASES", "STAGE_DECLINE", "STAGE_DISSOLVED", "STAGE_EMERGENCE", "STAGE_GROWTH", "STAGE_MATURITY",
           "ClusterModel", "NoPolicy", "Policy"]


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
        record_from: compute and record indicators only from this quarter on (0, the default: from quarter 0,
            the state after the warm-up; negative, down to ``-simulation.warmup``: warm-up quarters too, which
            ``simulation.record_warmup`` asks for). Indicators only describe the region (nothing in the dynamics
            reads them), so runs whose summary reads only the last quarters (sweeps without time series) skip
            the others;
            the dynamics and the random stream are the same whatever this is. The quarter's diagnostics
            (``step_stats``) that only indicators read are computed only in recorded quarters (``observing``).
        agents: create the Mesa agents :class:`~clustersim.model.agents.Firm` and
            :class:`~clustersim.model.agents.Cluster`
            (the default). They are views on rows of the column stores and hold no state of their own: the
            dynamics, the indicators and the run summary never read them, so sweeps and sensitivity runs,
            which keep only summaries, pass False and skip their creation and removal (~300 Mesa agents a
            200-firm run, 2–3 % of its cost); the results are bit-identical either way.
    """

    # the model's state (ODD section 2); set in __init__ and by the mechanisms of model/mechanisms/
    p: Scenario  # the validated scenario (also ``scenario_config``)
    policy: Policy
    now: int  # the current quarter (0: the start of observation, after the warm-up; negative during it)
    K: int  # capability domains
    S: int  # sectors
    frontier: float  # the external productivity frontier
    demand: np.ndarray  # external demand of each sector's market, k€/quarter
    demand0: float  # total external demand at the start
    demand_trend: np.ndarray  # each sector's demand trend, k€/quarter
    demand_deviation: np.ndarray  # each sector's log-deviation of demand from its trend (AR(1))
    competitors: np.ndarray  # outside competitors' capacity per sector (frontier units)
    price: np.ndarray  # each sector's export revenue per unit of competitive weight last market (k€/quarter)
    labour_force: float  # the region's labour force (employees)
    wage: float  # the regional wage this quarter (k€/employee/quarter, wage curve)
    wage_level: float  # the wage curve's level at the natural unemployment rate (moved by the Phillips curve)
    firms: FirmTable
    clusters: ClusterTable
    memberships: MembershipTable
    vertical: PairStore  # supplier -> customer links (market)
    horizontal: PairStore  # peer links (non-market)
    trust: PairStore  # trust of src in dst
    thresholds: list[np.ndarray]  # critical mass per domain of each orientation
    sector_profile: np.ndarray  # sectors' core capability profiles (sector × capability)
    ledger: dict[str, float]  # the region's money flows since the start (k€)
    counters: Counters  # cumulative counts (joins, leaves by reason, entries, exits, foundings)
    policy_counters: PolicyCounters  # cumulative counts of the policy's actions
    step_stats: QuarterStats  # this quarter's diagnostics (those only indicators read: observed quarters)
    club_gain: np.ndarray  # this quarter's capability gains from club learning and leakage (firm × capability)
    prev_sizes: np.ndarray  # cluster sizes one quarter ago (membership trend)
    left_now: np.ndarray  # (firm, cluster) keys of this quarter's leavers (no rejoining at once)
    alive_rows_cache: np.ndarray | None  # caches of alive_rows and live_clusters (None: recompute)
    live_clusters_cache: np.ndarray | None
    adjacency_cache: tuple[int, tuple[np.ndarray, np.ndarray]] | None  # (quarter, CSR adjacency)
    # region-wide effects of public instruments, neutral without them (set by the policy each quarter)
    noise_factor: float  # data sharing: firms' information noise × this
    contribution_factor: float  # legal framework: joint-product and club contributions × this
    trust_loss_factor: float  # legal framework: trust lost after a defection × this
    matchmaking_left: int  # intermediary: proposals it can still help this quarter
    matchmaking_extra: int  # best-matching firms it introduces to a proposer
    matchmaking_noise: float  # candidates' information noise × this when helped
    indicators: dict[str, float]  # the indicators of the last observed quarter
    va0: float | None  # value added at step 0 (value_added_growth's base)

    def __init__(self, scenario: Scenario | None = None, rng: Any = None, policy: Policy | None = None,
                 collect: bool = True, record_from: int = 0, agents: bool = True) -> None:
        super().__init__(rng=rng)
        self.scenario_config = scenario if scenario is not None else Scenario()
        self.p = self.scenario_config
        warmup = self.p.simulation.warmup
        if self.p.simulation.record_warmup and int(record_from) <= 0:
            record_from = -warmup
        if int(record_from) < -warmup:
            raise ValueError(f"record_from must be >= -simulation.warmup ({-warmup}), not {record_from}")
        self.record_from = int(record_from)
        self.observing = self.record_from <= -warmup  # whether this quarter's diagnostics are recorded
        self.agent_views = bool(agents)
        if policy is None:
            from clustersim.model.policy.public import build_policy

            policy = build_policy(self.p)
        self.policy = policy
        self.noise_factor, self.contribution_factor, self.trust_loss_factor = 1.0, 1.0, 1.0
        self.matchmaking_left, self.matchmaking_extra, self.matchmaking_noise = 0, 0, 1.0
        self.policy_counters = PolicyCounters()
        self._build_state()
        population.init_firms(self, self.p.simulation.n_firms)
        market.init_market(self)
        links.init_links(self)
        market.market(self)  # initial accounts, so that indicators describe the starting region
        self.indicators = {}
        self.va0 = None
        self.datacollector: IndicatorCollector | None = IndicatorCollector() if collect else None
        if warmup:
            if self.observing:  # the drawn initial state, quarter -warmup, when the warm-up is recorded
                self.record()
            self.warm_up(warmup)
        self.observing = self.record_from <= 0
        self.record(collect=self.observing)  # indicators always at quarter 0: value-added growth is measured from it

    def _build_state(self) -> None:
        """Empty tables and stores sized for the scenario, the domains' critical masses and the sectors'
        profiles (drawn from the model's generator, in this order), zeroed ledger and counters."""
        p = self.p
        n = p.simulation.n_firms
        self.K = p.region.n_capabilities
        self.S = p.region.n_sectors
        self.now = -p.simulation.warmup  # quarter 0 is the start of observation, after the warm-up
        self.frontier = 1.0
        self.alive_rows_cache = None
        self.live_clusters_cache = None
        self.firms = FirmTable(max(16, 2 * n), K=self.K)
        self.clusters = ClusterTable(max(16, n // 4), K=self.K)
        self.memberships = MembershipTable()
        self.vertical = PairStore(directed=True)
        self.horizontal = PairStore(directed=False)
        self.trust = PairStore(directed=True)
        self.adjacency_cache = None
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
        self.ledger = {k: 0.0 for k in (
            "initial_capital", "initial_funds", "entrant_capital", "exit_capital", "revenue", "inputs", "wages",
            "fixed_costs", "need_costs", "moyens_saving", "moyens_cost", "pm_revenue", "pm_cost", "club_cost", "fees",
            "coordination_spending", "payout", "public_funding", "fund_lost", "public_cofunding")}
        self.counters = Counters()
        self.step_stats = QuarterStats()
        self.prev_sizes = np.zeros(0)
        self.club_gain = np.zeros((0, self.K))
        self.left_now = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ state
    @property
    def alive_rows(self) -> np.ndarray:
        """Rows of living firms (read-only; recomputed only after entries and exits)."""
        if self.alive_rows_cache is None:
            self.alive_rows_cache = self.firms.alive[: self.firms.n].nonzero()[0]  # = np.flatnonzero
            self.alive_rows_cache.flags.writeable = False
        return self.alive_rows_cache

    @property
    def live_clusters(self) -> np.ndarray:
        """Rows of active clusters (read-only; recomputed only after foundings and dissolutions)."""
        if self.live_clusters_cache is None:
            self.live_clusters_cache = self.clusters.alive[: self.clusters.n].nonzero()[0]  # = np.flatnonzero
            self.live_clusters_cache.flags.writeable = False
        return self.live_clusters_cache

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

    # ------------------------------------------------------------------ the firms' decision rules
    # used by the mechanisms and, through PolicyHost, by the policy: the functions of mechanisms/ as methods
    # (``model.interest(rows, ...)`` is ``decisions.interest(model, rows, ...)``), so that a subclass or a
    # test can replace a rule everywhere it is used, at no cost of a second call
    adjacency = links.adjacency
    capability_value = decisions.capability_value
    interest = decisions.interest
    awareness = decisions.awareness
    draw_purposes = formation.draw_purposes
    assemble = formation.assemble
    consider = formation.consider
    create_cluster = formation.create_cluster

    def expected_benefit(self, rows: np.ndarray, clusters: np.ndarray, noise: bool = True) -> np.ndarray:
        """Firms' estimates of the net benefit (k€/quarter) of joining clusters
        (:func:`.mechanisms.decisions.expected_net_benefit`)."""
        return decisions.expected_net_benefit(self, rows, clusters, noise)[1]

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One observed quarter: the dynamics (:meth:`advance`), then its indicators are recorded."""
        self.advance()
        if self.observing:
            self.record()
        if self.now >= self.p.simulation.steps:
            self.running = False

    def advance(self) -> None:
        """The dynamics of one quarter (ODD "Process overview and scheduling"), without recording."""
        self.now += 1
        self.step_stats = QuarterStats()
        # diagnostics read only by the indicators (step_stats) are computed only in quarters that record them
        self.observing = self.now >= self.record_from
        grouping.regroup(self)  # random groups of a fixed size, drawn each quarter (only where the scenario asks)
        self.policy.act(self, "start")
        market.environment(self)
        market.market(self)
        self.policy.act(self, "before_actions")
        actions.collective_actions(self)
        self.policy.act(self, "after_actions")
        knowledge.knowledge_and_productivity(self)
        membership.leave(self)
        membership.join(self)
        formation.form_clusters(self)
        lifecycle.life_cycle(self)
        demography.demography(self)
        links.links(self)
        self.policy.act(self, "end")

    def warm_up(self, quarters: int) -> None:
        """Run ``quarters`` quarters before quarter 0 of observation (``simulation.warmup``; ODD 5): the dynamics
        without any public policy, recorded only when ``record_from`` is negative. Then observation starts: the
        clock reads 0, the counters, the ledger and the initial cohort start afresh, and quarter 0's
        indicators describe the warmed-up region."""
        policy, self.policy = self.policy, NoPolicy()
        for _ in range(quarters):
            self.advance()
            if self.observing and self.now < 0:
                self.record()
        self.policy = policy
        # observation starts: the region's stocks at quarter 0 open the ledger, the counts start afresh
        F, C = self.firms, self.clusters
        self.counters = Counters()
        self.ledger = dict.fromkeys(self.ledger, 0.0)
        self.ledger["initial_capital"] = float(np.add.reduce(F.capital[self.alive_rows]))
        self.ledger["initial_funds"] = float(np.add.reduce(C.fund[self.live_clusters]))
        F.cohort0[: F.n] = F.alive[: F.n]
        self.va0 = None

    def record(self, collect: bool = True) -> None:
        """Compute this quarter's indicators and, with ``collect``, append them to the data collector (if any)."""
        self.refresh_indicators()
        if collect and self.datacollector is not None:
            self.datacollector.collect(self)

    def refresh_indicators(self) -> None:
        """Compute :attr:`indicators` for the current state (:func:`.indicators.compute_indicators`)."""
        self.indicators = compute_indicators(self)

    # ------------------------------------------------------------------ API
    def run(self, steps: int | None = None) -> None:
        """Run ``steps`` quarters (default: the scenario's length)."""
        n = self.p.simulation.steps - self.now if steps is None else steps
        for _ in range(max(0, n)):
            self.step()

    def timeseries(self):
        """The indicators recorded so far, one row per step (step 0: the region after the warm-up; negative
        steps: the warm-up, when recorded)."""
        if self.datacollector is None:
            raise RuntimeError("this model was built with collect=False: no indicators were recorded "
                               "(read model.indicators for the current quarter)")
        # = get_model_vars_dataframe() with a "step" column inserted first, built as one frame
        columns = self.datacollector.model_vars
        n = len(next(iter(columns.values()))) if columns else 0
        return pd.DataFrame({"step": np.arange(self.record_from, self.record_from + n), **columns})
