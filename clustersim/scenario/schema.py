"""The scenario schema: every parameter of the model, with its unit, default and allowed range.

One validated pydantic model (:class:`Scenario`) is the only way parameters reach the model. Unknown keys,
wrong types and out-of-range values are refused (see :mod:`clustersim.scenario.io` for the file loaders and
the error messages that name file, line, field, bad value and allowed range).

Units: one step is one quarter (3 months); money is in k€ (thousands of euros); flows are per quarter
unless the name says otherwise; sizes are in employees (full-time equivalents).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

__all__ = [
    "CONSTITUTION_MODES",
    "FUNDER_NAMES",
    "Policy",
    "Scenario",
    "iter_parameters",
]


def P(default: Any, *, unit: str, desc: str, ge: float | None = None, le: float | None = None,
      gt: float | None = None, lt: float | None = None) -> Any:
    """A documented parameter: default, unit, meaning and allowed range (used by the docs generator)."""
    return Field(default, ge=ge, le=le, gt=gt, lt=lt, description=desc, json_schema_extra={"unit": unit})


class Section(BaseModel):
    """Base of every scenario section: unknown keys are refused, values validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class CriticalMass(Section):
    """Critical mass of one orientation's collective actions, drawn per domain (not fixed a priori)."""

    median: float = P(4.0, ge=1.0, le=500.0, unit="cooperating firms",
                      desc="median of the lognormal from which each domain's threshold is drawn")
    dispersion: float = P(0.4, ge=0.0, le=3.0, unit="log-units",
                          desc="sigma of that lognormal: how much thresholds differ between domains")
    minimum: int = P(2, ge=1, le=500, unit="cooperating firms",
                     desc="floor of every drawn threshold (a collective action needs at least this many)")


class Simulation(Section):
    n_firms: int = P(300, ge=5, le=200_000, unit="firms", desc="regional firms at the start")
    steps: int = P(80, ge=1, le=4000, unit="quarters", desc="length of a run (80 quarters = 20 years)")
    replications: int = P(8, ge=1, le=100_000, unit="runs", desc="replications run by `clustersim run`")
    seed: int = P(20261126, ge=0, le=2**63 - 1, unit="-",
                  desc="root seed; replication i uses SeedSequence(seed).spawn(R)[i]")


class Region(Section):
    n_sectors: int = P(6, ge=1, le=100, unit="sectors", desc="activities (sectors) present in the region")
    n_chain_positions: int = P(3, ge=1, le=10, unit="stages",
                               desc="value-chain stages (0 = upstream supplier ... last = final assembler)")
    n_capabilities: int = P(8, ge=2, le=64, unit="domains", desc="capability (knowledge) domains")
    initial_export_share: float = P(0.2, ge=0.001, le=0.999, unit="share",
                                    desc="region's share of its sectors' external demand at the start")


class Market(Section):
    revenue_per_employee: float = P(50.0, ge=0.01, le=10_000.0, unit="k€/employee/quarter",
                                    desc="export revenue per employee of a firm at the frontier productivity")
    input_share: float = P(0.5, ge=0.0, lt=1.0, unit="share of revenue",
                           desc="intermediate inputs bought per unit of revenue")
    wage: float = P(20.5, ge=0.0, le=1000.0, unit="k€/employee/quarter", desc="labour cost per employee")
    fixed_cost: float = P(10.0, ge=0.0, le=100_000.0, unit="k€/firm/quarter", desc="fixed overhead of a firm")
    market_share_elasticity: float = P(2.0, ge=0.0, le=20.0, unit="-",
                                       desc="sensitivity of market share to productivity relative to the "
                                            "frontier (competition intensity on the external market)")
    frontier_growth: float = P(0.006, ge=-0.1, le=0.2, unit="1/quarter",
                               desc="growth rate of the external competitors' productivity frontier")
    demand_growth: float = P(0.005, ge=-0.2, le=0.2, unit="1/quarter", desc="trend growth of external demand")
    demand_volatility: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                                 desc="standard deviation of sector demand shocks")
    competitor_capacity_growth: float = P(0.004, ge=-0.2, le=0.2, unit="1/quarter",
                                          desc="growth of outside competitors' capacity")
    payout_share: float = P(0.5, ge=0.0, le=1.0, unit="share", desc="share of positive profit paid out")


class Firms(Section):
    size_median: float = P(20.0, ge=1.0, le=100_000.0, unit="employees", desc="median firm size")
    size_dispersion: float = P(1.0, ge=0.0, le=4.0, unit="log-units", desc="sigma of lognormal firm sizes")
    productivity_median: float = P(0.97, ge=0.01, le=3.0, unit="× frontier",
                                   desc="median initial productivity relative to the frontier")
    productivity_dispersion: float = P(0.05, ge=0.0, le=2.0, unit="log-units",
                                       desc="sigma of lognormal initial productivity")
    capability_mean: float = P(0.35, ge=0.01, le=0.99, unit="[0,1]", desc="mean initial capability level")
    capability_concentration: float = P(4.0, ge=0.1, le=1000.0, unit="-",
                                        desc="beta-distribution concentration of capability levels "
                                             "(higher = more alike)")
    specialisation: float = P(0.6, ge=0.0, le=1.0, unit="share",
                              desc="how much a firm's capabilities concentrate on its sector's core domains")
    initial_capital_per_employee: float = P(25.0, ge=0.0, le=100_000.0, unit="k€/employee",
                                            desc="starting capital")
    cooperativeness_mean: float = P(0.55, ge=0.0, le=1.0, unit="probability",
                                    desc="mean initial propensity to contribute to collective actions")
    cooperativeness_sd: float = P(0.15, ge=0.0, le=1.0, unit="probability", desc="its standard deviation")
    outside_investor_share: float = P(0.05, ge=0.0, le=1.0, unit="share",
                                      desc="share of initial firms owned by outside investors")
    exit_patience: int = P(6, ge=1, le=400, unit="quarters",
                           desc="consecutive quarters with negative capital before a firm exits")
    employment_adjustment: float = P(0.15, ge=0.0, le=5.0, unit="1/quarter",
                                     desc="speed at which employment follows profitability")
    max_growth: float = P(0.015, ge=0.0, le=1.0, unit="1/quarter", desc="largest employment change per quarter")
    max_memberships: int = P(2, ge=1, le=10, unit="clusters", desc="clusters a firm may belong to at once")


class Learning(Section):
    process_innovation_rate: float = P(0.012, ge=0.0, le=1.0, unit="1/quarter",
                                       desc="productivity growth of a firm under full efficiency pressure")
    external_pressure_weight: float = P(0.5, ge=0.0, le=1.0, unit="share",
                                        desc="weight of the gap to the frontier in efficiency pressure "
                                             "(the rest is internal rivalry)")
    capability_elasticity: float = P(0.4, ge=0.0, le=10.0, unit="-",
                                     desc="productivity gain (log) per unit gain of capability index")
    productivity_noise: float = P(0.01, ge=0.0, le=1.0, unit="log-units/quarter",
                                  desc="idiosyncratic productivity shocks")
    cooperativeness_learning_rate: float = P(0.05, ge=0.0, le=1.0, unit="1/quarter",
                                             desc="how fast firms shift towards the behaviour (cooperate or "
                                                  "free-ride) that paid better in their clusters")
    memory_weight: float = P(0.25, ge=0.001, le=1.0, unit="1/quarter",
                             desc="weight of the newest outcome in a member's remembered net benefit of a "
                                  "cluster (EWMA)")
    frontier_gap_scale: float = P(0.1, ge=0.001, le=5.0, unit="log-units",
                                  desc="width of the logistic by which external pressure rises with the "
                                       "log-gap to the frontier (0.5 at the frontier)")
    payoff_signal_scale: float = P(1.0, ge=0.001, le=1e6, unit="k€/quarter",
                                   desc="payoff difference between cooperators and free-riders that, added "
                                        "to their payoffs' size, scales the learning signal")
    information_noise: float = P(0.3, ge=0.0, le=5.0, unit="relative",
                                 desc="noise on a firm's estimate of a cluster's benefit (bounded information)")
    valuation_horizon: float = P(4.0, ge=0.0, le=400.0, unit="quarters",
                                 desc="quarters over which a firm values a capability gain (or a loss of "
                                      "advantage to a competitor) when it weighs its memberships")
    capability_obsolescence: float = P(0.002, ge=0.0, le=0.5, unit="1/quarter",
                                       desc="depreciation of capability levels without learning")


class Competition(Section):
    rivalry_half: float = P(3.0, ge=0.01, le=1000.0, unit="rival firms",
                            desc="number of effective regional rivals at which internal rivalry is 0.5")
    market_coordination: float = P(0.3, ge=0.0, le=1.0, unit="share",
                                   desc="how far a cluster coordinates its same-sector members' market "
                                        "behaviour instead of letting them compete (1 = conglomerate)")
    regional_rivalry_weight: float = P(0.05, ge=0.0, le=1.0, unit="-",
                                       desc="weight in felt rivalry of a same-sector regional firm outside "
                                            "one's clusters, relative to a same-sector co-member (rivalry "
                                            "is felt most among firms that meet)")
    leakage_rate: float = P(0.3, ge=0.0, le=1.0, unit="share",
                            desc="share of the mean club learning of a cluster's same-sector participants "
                                 "that leaks to same-sector co-members who did not take part (a cost "
                                 "to the participants, whose competitors catch up for free)")


class Moyens(Section):
    """Moyens: pooled solutions to common needs (training, R&D, market intelligence)."""

    n_domains: int = P(3, ge=1, le=50, unit="domains", desc="kinds of common needs (training, R&D, ...)")
    need_cost_per_employee: float = P(1.0, ge=0.0, le=1000.0, unit="k€/employee/quarter",
                                      desc="cost of meeting the need alone")
    pooled_fixed_cost: float = P(10.0, ge=0.0, le=100_000.0, unit="k€/quarter",
                                 desc="fixed cost of a pooled solution (shared by contributors)")
    pooled_variable_cost: float = P(0.3, ge=0.0, le=1000.0, unit="k€/employee/quarter",
                                    desc="variable cost of the pooled solution per employee served")
    free_rider_access: float = P(0.5, ge=0.0, le=1.0, unit="share",
                                 desc="share of the benefit a non-contributing member still gets")
    critical_mass: CriticalMass = Field(default_factory=lambda: CriticalMass(median=4.0, dispersion=0.4))


class ProductsMarkets(Section):
    """Produits/Marchés: joint products and access to markets that need a critical size."""

    n_domains: int = P(6, ge=1, le=100, unit="markets", desc="target markets of joint products")
    contribution: float = P(4.0, ge=0.0, le=100_000.0, unit="k€/firm/quarter",
                            desc="what a cooperating member puts into a joint project")
    project_revenue: float = P(5.0, ge=0.0, le=1_000_000.0, unit="k€/quarter",
                               desc="revenue of a joint project with one contributor and no complementarity")
    scale_elasticity: float = P(1.15, ge=0.0, le=3.0, unit="-",
                                desc="elasticity of joint revenue to the number of contributors")
    complementarity_gain: float = P(2.0, ge=0.0, le=50.0, unit="-",
                                    desc="revenue multiplier per unit of capability complementarity")
    complementarity_distance: float = P(0.5, ge=0.01, le=1.0, unit="[0,1]",
                                        desc="cognitive distance from a cluster's vision at which a firm's "
                                             "complementarity (its interest in joint products) is full")
    new_activity_gain: float = P(0.2, ge=0.0, le=1.0, unit="share",
                                 desc="share of the gap to full capability a new activity closes in the "
                                      "firm's weakest domain")
    innovation_probability: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                                      desc="chance per quarter that a contributor to a successful joint "
                                           "project develops a new activity (per unit complementarity)")
    critical_mass: CriticalMass = Field(default_factory=lambda: CriticalMass(median=5.0, dispersion=0.5))


class Club(Section):
    """Club de travail: exchange of experience and knowledge."""

    contribution: float = P(1.5, ge=0.0, le=100_000.0, unit="k€/firm/quarter",
                            desc="time cost of taking part in the club's exchanges")
    learning_rate: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                             desc="share of a partner's capability lead absorbed per exchange at optimal "
                                  "cognitive distance and full trust")
    optimal_distance: float = P(0.25, ge=0.01, le=1.0, unit="[0,1]",
                                desc="cognitive distance at which learning peaks (Nooteboom)")
    critical_mass: CriticalMass = Field(default_factory=lambda: CriticalMass(median=3.0, dispersion=0.3))


class Orientations(Section):
    moyens: Moyens = Field(default_factory=Moyens)
    products_markets: ProductsMarkets = Field(default_factory=ProductsMarkets)
    club: Club = Field(default_factory=Club)


class Trust(Section):
    initial: float = P(0.3, ge=0.0, le=1.0, unit="[0,1]", desc="trust towards a partner never met")
    gain_rate: float = P(0.08, ge=0.0, le=1.0, unit="share",
                         desc="share of the distance to full trust gained after a partner cooperates")
    loss_rate: float = P(0.3, ge=0.0, le=1.0, unit="share",
                         desc="share of trust lost after a partner free-rides (faster than the gain)")
    update_weight: float = P(0.25, ge=0.001, le=1.0, unit="1/quarter",
                             desc="weight of this quarter's meetings in a member's trust in its co-members (EWMA)")
    forget_after: int = P(20, ge=1, le=10_000, unit="quarters",
                          desc="a pair's trust is forgotten after this long without interaction")
    cooperation_weight: float = P(0.6, ge=0.0, le=1.0, unit="share",
                                  desc="how much a firm's willingness to contribute depends on its trust "
                                       "in co-members")
    partners_observed: int = P(2, ge=1, le=100, unit="partners/quarter",
                               desc="co-members a member works with (and observes) each quarter; club "
                                    "exchanges happen along these meetings")


class Links(Section):
    search_probability: float = P(0.15, ge=0.0, le=1.0, unit="1/quarter",
                                  desc="chance a firm looks for a local supplier in a quarter")
    search_sample: int = P(8, ge=1, le=1000, unit="firms", desc="candidates examined in one search")
    max_suppliers: int = P(3, ge=0, le=100, unit="links", desc="local suppliers a firm keeps at most")
    sourcing_per_link: float = P(0.15, ge=0.0, le=1.0, unit="share",
                                 desc="share of inputs bought locally per unit of supplier-link intensity")
    use_gain: float = P(0.15, ge=0.0, le=1.0, unit="share", desc="intensity gained by a link each time it is used")
    decay: float = P(0.15, ge=0.0, le=1.0, unit="1/quarter", desc="intensity lost per quarter")
    prune_below: float = P(0.05, ge=0.0, lt=1.0, unit="intensity", desc="links weaker than this disappear")
    initial_intensity: float = P(0.1, ge=0.001, le=1.0, unit="intensity", desc="intensity of a new link")
    contact_probability: float = P(0.25, ge=0.0, le=1.0, unit="1/quarter",
                                   desc="chance a peer link carries an exchange (and its spillover) in a quarter")
    spillover_rate: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                              desc="share of a linked partner's capability lead absorbed per exchange and "
                                   "unit of horizontal-link intensity (spillovers, also to non-members)")


class Clusters(Section):
    """Formation, membership, coordination and life cycle of clusters."""

    initiative_probability: float = P(0.006, ge=0.0, le=1.0, unit="1/quarter",
                                      desc="chance a fully cooperative firm proposes a cluster in a quarter "
                                           "(scaled by its cooperativeness)")
    purpose_weight_moyens: float = P(1.0, ge=0.0, le=1000.0, unit="relative weight",
                                     desc="how often an initiator's founding purpose is Moyens (pooled "
                                          "solutions to common needs); weights are normalised over the three")
    purpose_weight_products_markets: float = P(1.0, ge=0.0, le=1000.0, unit="relative weight",
                                               desc="how often the founding purpose is Produits/Marchés "
                                                    "(joint products, wider markets)")
    purpose_weight_club: float = P(1.0, ge=0.0, le=1000.0, unit="relative weight",
                                   desc="how often the founding purpose is Club de travail (exchange of "
                                        "knowledge); all three at 0 means uniform")
    partner_search_sample: int = P(12, ge=1, le=10_000, unit="firms",
                                   desc="random firms a proposer examines besides its own partners")
    attraction_threshold: float = P(0.25, ge=0.0, le=1.0, unit="[0,1]",
                                    desc="common interest a candidate needs to accept (SKIN-style attractiveness)")
    min_founders: int = P(3, ge=2, le=1000, unit="firms", desc="founders needed to create a cluster")
    max_size: int = P(150, ge=2, le=100_000, unit="firms", desc="members a cluster admits at most")
    min_size: int = P(3, ge=1, le=1000, unit="firms",
                      desc="members below which a cluster counts down to dissolution")
    dissolve_patience: int = P(4, ge=1, le=400, unit="quarters",
                               desc="consecutive quarters below min_size before a cluster dissolves")
    membership_fee: float = P(2.0, ge=0.0, le=100_000.0, unit="k€/firm/quarter",
                              desc="fee a member pays to the cluster's coordination fund")
    coordination_cost: float = P(2.5, ge=0.0, le=100_000.0, unit="k€/member/quarter",
                                 desc="cost of coordinating one member (facilitator time)")
    coordination_half_size: float = P(40.0, ge=1.0, le=100_000.0, unit="firms",
                                      desc="size at which a fully funded cluster's coordination "
                                           "effectiveness halves (times its facilitator quality)")
    vision_drift: float = P(0.05, ge=0.0, le=1.0, unit="1/quarter",
                            desc="speed at which the common vision follows its members' profile")
    alignment_distance: float = P(0.5, ge=0.01, le=1.0, unit="[0,1]",
                                  desc="cognitive distance from the vision at which a member's alignment "
                                       "falls to 0 (alignment = 1 − distance / this)")
    neutral_alignment: float = P(0.5, ge=0.0, le=1.0, unit="[0,1]",
                                 desc="alignment at which the vision neither raises nor lowers willingness "
                                      "to contribute")
    alignment_weight: float = P(0.5, ge=0.0, le=1.0, unit="share",
                                desc="how much alignment with the vision raises willingness to contribute")
    awareness_probability: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                                     desc="chance a firm hears of a random cluster in a quarter (besides "
                                          "clusters its link partners belong to)")
    prospect_value: float = P(12.0, ge=0.0, le=100_000.0, unit="k€/quarter",
                              desc="gross benefit a firm expects from a cluster of perfect fit before it "
                                   "has any evidence of the cluster's results")
    review_probability: float = P(0.1, ge=0.0, le=1.0, unit="1/quarter",
                                  desc="chance a firm with a free membership slot asks one of its link "
                                       "partners about the partner's clusters in a quarter")
    join_threshold: float = P(1.0, ge=-1000.0, le=100_000.0, unit="k€/quarter",
                              desc="expected net benefit a firm needs before joining")
    leave_threshold: float = P(-1.0, ge=-100_000.0, le=1000.0, unit="k€/quarter",
                               desc="remembered net benefit below which a member leaves")
    min_stay: int = P(4, ge=0, le=400, unit="quarters", desc="quarters a new member stays before re-deciding")
    reputation_weight: float = P(0.25, ge=0.001, le=1.0, unit="1/quarter",
                                 desc="weight of this quarter's results in a cluster's public reputation (EWMA)")
    trend_weight: float = P(0.2, ge=0.001, le=1.0, unit="share",
                            desc="weight of the newest quarter in a cluster's membership trend (EWMA)")
    emergence_age: int = P(8, ge=0, le=400, unit="quarters", desc="clusters younger than this are emerging")
    growth_threshold: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                                desc="membership trend above which a cluster is growing, below minus which "
                                     "declining")


class Demography(Section):
    startup_rate: float = P(0.004, ge=0.0, le=1.0, unit="1/quarter/firm", desc="start-ups per firm per quarter")
    startup_size: float = P(4.0, ge=1.0, le=10_000.0, unit="employees", desc="size of a start-up")
    imitation_quantile: float = P(0.75, ge=0.0, lt=1.0, unit="quantile",
                                  desc="start-ups imitate firms above this quantile of profit per employee")
    startup_productivity: float = P(0.95, ge=0.01, le=3.0, unit="× imitated firm's",
                                    desc="start-up productivity relative to the firm it imitates")
    startup_capability_noise: float = P(0.1, ge=0.0, le=2.0, unit="relative sd",
                                        desc="relative noise on the capabilities a start-up copies")
    investor_rate: float = P(0.05, ge=0.0, le=10.0, unit="1/quarter",
                             desc="outside investors arriving per quarter when cluster synergies equal "
                                  "investor_synergy_reference")
    investor_synergy_reference: float = P(10.0, ge=0.01, le=1e6, unit="k€/member/quarter",
                                          desc="mean collective gain per member that attracts investor_rate")
    investor_size: float = P(60.0, ge=1.0, le=100_000.0, unit="employees", desc="size of an outside investor's plant")
    investor_capability_noise: float = P(0.1, ge=0.0, le=1.0, unit="sd",
                                         desc="noise of an outside investor's capabilities around the "
                                              "vision of the cluster that attracted it")
    investor_productivity: float = P(1.0, ge=0.01, le=3.0, unit="× frontier",
                                     desc="productivity of an outside investor's plant")


# ---------------------------------------------------------------------------------------------- public policy
FUNDER_NAMES = ("local", "region", "state", "europe")
CONSTITUTION_MODES = ("none", "identification", "calls", "both", "directive_counterfactual")
EVALUATION_CRITERIA = ("member_benefit", "growth", "reputation", "cooperation")


class Funder(Section):
    """A public funder (one level of government) with a yearly budget."""

    budget_per_year: float = P(0.0, ge=0.0, le=1e9, unit="k€/year",
                               desc="money this funder may spend in a year (quarters 1-4, 5-8, ...); 0 = "
                                    "this level takes no part")
    carry_over: bool = P(False, unit="-", desc="unspent budget is added to the next year's")


class Funders(Section):
    """The levels of government that fund support; each instrument says how it splits its cost among them."""

    local: Funder = Field(default_factory=Funder, description="a municipality or inter-municipal body")
    region: Funder = Field(default_factory=Funder, description="the regional council")
    state: Funder = Field(default_factory=Funder, description="the national state")
    europe: Funder = Field(default_factory=Funder, description="European funds")


class Shares(Section):
    """Co-funding: the share of an instrument's cost each funder pays (the shares sum to 1)."""

    local: float = P(0.0, ge=0.0, le=1.0, unit="share", desc="share paid by the local funder")
    region: float = P(1.0, ge=0.0, le=1.0, unit="share", desc="share paid by the region")
    state: float = P(0.0, ge=0.0, le=1.0, unit="share", desc="share paid by the state")
    europe: float = P(0.0, ge=0.0, le=1.0, unit="share", desc="share paid by European funds")


class Instrument(Section):
    """Fields every instrument has: switch, active window and co-funding shares."""

    enabled: bool = P(False, unit="-", desc="the instrument is used")
    start_step: int = P(1, ge=1, le=100_000, unit="quarter", desc="first quarter the instrument acts")
    end_step: int = P(0, ge=0, le=100_000, unit="quarter",
                      desc="last quarter it acts (planned phase-out); 0 = never ends")
    funding: Shares = Field(default_factory=Shares)


class Awareness(Instrument):
    """Constitution: awareness campaigns and information about clusters."""

    period: int = P(4, ge=1, le=400, unit="quarters", desc="quarters between two campaigns")
    target: Literal["all", "identified"] = P(
        "all", unit="-", desc="who a campaign addresses: 'all' firms outside clusters, or only 'identified' firms "
                              "(top-down identification)")
    reach: float = P(0.5, ge=0.0, le=1.0, unit="share", desc="share of targeted firms a campaign reaches")
    cost_per_firm: float = P(0.5, ge=0.0, le=1e6, unit="k€/firm reached", desc="cost of reaching one firm")
    boost: float = P(2.0, ge=0.0, le=100.0, unit="relative",
                     desc="a reached firm's chances of hearing of a cluster and of proposing one are multiplied "
                          "by 1 + boost")
    duration: int = P(4, ge=1, le=400, unit="quarters", desc="quarters the boost lasts")


class Matchmaking(Instrument):
    """Constitution: an intermediary (chamber of commerce) helps firms find partners and define goals."""

    capacity: int = P(10, ge=0, le=100_000, unit="services/quarter", desc="proposals the intermediary can help")
    cost_per_service: float = P(3.0, ge=0.0, le=1e6, unit="k€/service", desc="cost of helping one proposal")
    extra_candidates: int = P(6, ge=0, le=10_000, unit="firms",
                              desc="best-matching firms of the region the intermediary introduces to a proposer")
    noise_reduction: float = P(0.5, ge=0.0, le=1.0, unit="share",
                               desc="share of the candidates' information noise removed (goals made clear)")


class Validation(Instrument):
    """Constitution: formalising and validating new clusters' projects."""

    capacity: int = P(10, ge=0, le=100_000, unit="projects/quarter", desc="projects validated at most per quarter")
    cost_per_project: float = P(5.0, ge=0.0, le=1e6, unit="k€/project", desc="cost of validating one project")
    clarity: float = P(0.5, ge=0.0, le=1.0, unit="share",
                       desc="share of information noise removed for firms judging a validated cluster")


class LegalFramework(Instrument):
    """Stabilisation: a legal and administrative framework for collaboration agreements (region-wide)."""

    cost_per_quarter: float = P(10.0, ge=0.0, le=1e6, unit="k€/quarter", desc="cost of running the framework")
    contribution_reduction: float = P(0.2, ge=0.0, le=1.0, unit="share",
                                      desc="share of joint-product and club contributions saved (cheaper agreements)")
    risk_reduction: float = P(0.3, ge=0.0, le=1.0, unit="share",
                              desc="share of the trust lost after a partner's defection that contracts prevent")


class Facilitation(Instrument):
    """Stabilisation: funding of supported clusters' management and coordination (facilitator staff)."""

    amount_per_cluster: float = P(25.0, ge=0.0, le=1e6, unit="k€/cluster/quarter",
                                  desc="most paid to one supported cluster per quarter (times its funding weight "
                                       "when evaluation reallocates money); it pays the part of the coordination "
                                       "spending (up to max_coordination) that fees do not cover")
    max_coordination: float = P(2.0, ge=1.0, le=10.0, unit="× basic need",
                                desc="a supported cluster may spend up to this multiple of its basic coordination "
                                     "need (more facilitator time per member offsets the loss of effectiveness "
                                     "with size)")


class Training(Instrument):
    """Stabilisation: training of supported clusters' facilitators (governance quality)."""

    period: int = P(8, ge=1, le=400, unit="quarters", desc="quarters between two trainings of a cluster's team")
    cost_per_cluster: float = P(8.0, ge=0.0, le=1e6, unit="k€/training", desc="cost of one training")
    quality_gain: float = P(0.25, ge=0.0, le=1.0, unit="share",
                            desc="share of the gap to max_quality a training closes")
    max_quality: float = P(2.0, ge=1.0, le=10.0, unit="×", desc="best facilitator quality (coordination reach ×)")


class Cofunding(Instrument):
    """Stabilisation: access to funding for collaborative projects (co-funding of supported clusters' actions)."""

    rate: float = P(0.4, ge=0.0, le=1.0, unit="share",
                    desc="share of members' Moyens pooled costs and joint-product contributions paid by funders")
    cap_per_cluster: float = P(20.0, ge=0.0, le=1e6, unit="k€/cluster/quarter",
                               desc="most co-funded for one cluster in a quarter")


class DataSharing(Instrument):
    """Accompaniment: collection and sharing of data about clusters and firms (region-wide)."""

    cost_per_quarter: float = P(8.0, ge=0.0, le=1e6, unit="k€/quarter", desc="cost of the data service")
    noise_reduction: float = P(0.4, ge=0.0, le=1.0, unit="share",
                               desc="share of firms' information noise removed in join and founding decisions")


class SupportStructures(Instrument):
    """Accompaniment: consolidated support structures (training, R&D, project support, finance)."""

    cost_per_cluster: float = P(4.0, ge=0.0, le=1e6, unit="k€/cluster/quarter",
                                desc="cost of serving one supported cluster for a quarter")
    pooled_cost_relief: float = P(0.5, ge=0.0, le=1.0, unit="share",
                                  desc="share of a Moyens pooled solution's fixed cost the structures provide")
    learning_boost: float = P(0.5, ge=0.0, le=10.0, unit="relative",
                              desc="club learning of supported clusters' members is multiplied by 1 + this")


class Exchange(Instrument):
    """Accompaniment: exchanges of experience between supported clusters."""

    period: int = P(4, ge=1, le=400, unit="quarters", desc="quarters between two exchange events")
    cost_per_cluster: float = P(2.0, ge=0.0, le=1e6, unit="k€/cluster/event",
                                desc="cost of one cluster's participation in an event")
    meetings: int = P(3, ge=0, le=1000, unit="meetings/cluster/event",
                      desc="members of each cluster who meet a member of the partner cluster")
    quality_transfer: float = P(0.3, ge=0.0, le=1.0, unit="share",
                                desc="share of the gap to the partner's facilitator quality a team closes")


class Monitoring(Instrument):
    """Accompaniment: the evaluation and monitoring tool (needed by evaluation-driven policy)."""

    cost_per_cluster: float = P(1.0, ge=0.0, le=1e6, unit="k€/cluster/evaluation",
                                desc="cost of measuring one cluster (supported, or candidate for labelling) at an "
                                     "evaluation")
    precision: float = P(0.8, ge=0.0, le=1.0, unit="share", desc="share of evaluation.noise the tool removes")


class Instruments(Section):
    """The registered instruments, by phase: constitution, stabilisation, accompaniment."""

    awareness: Awareness = Field(default_factory=Awareness)
    matchmaking: Matchmaking = Field(default_factory=Matchmaking)
    validation: Validation = Field(default_factory=Validation)
    legal_framework: LegalFramework = Field(default_factory=LegalFramework)
    facilitation: Facilitation = Field(default_factory=Facilitation)
    training: Training = Field(default_factory=Training)
    cofunding: Cofunding = Field(default_factory=Cofunding)
    data_sharing: DataSharing = Field(default_factory=DataSharing)
    support_structures: SupportStructures = Field(default_factory=SupportStructures)
    exchange: Exchange = Field(default_factory=Exchange)
    monitoring: Monitoring = Field(default_factory=Monitoring)


class Identification(Section):
    """Top-down identification: the authority analyses the productive fabric to find potential clusters."""

    start_step: int = P(4, ge=1, le=100_000, unit="quarter", desc="quarter of the first analysis")
    period: int = P(16, ge=1, le=100_000, unit="quarters", desc="quarters between two analyses")
    n_analyses: int = P(1, ge=0, le=10_000, unit="analyses", desc="analyses run at most (0 = no limit)")
    n_targets: int = P(4, ge=1, le=10_000, unit="groups", desc="potential clusters identified per analysis")
    group_size: int = P(15, ge=2, le=10_000, unit="firms", desc="firms in one identified group")
    cost_per_analysis: float = P(30.0, ge=0.0, le=1e6, unit="k€/analysis", desc="cost of one analysis")
    funding: Shares = Field(default_factory=Shares)


class Calls(Section):
    """Calls for projects: firms assemble proposals; eligibility, ranking and selection under budget."""

    start_step: int = P(6, ge=1, le=100_000, unit="quarter",
                        desc="quarter of the first call (6: early in the second budget year, when money is fresh)")
    period: int = P(8, ge=1, le=100_000, unit="quarters", desc="quarters between two calls")
    n_calls: int = P(2, ge=0, le=10_000, unit="calls", desc="calls run at most (0 = no limit)")
    application_probability: float = P(0.03, ge=0.0, le=1.0, unit="1/call",
                                       desc="chance a fully cooperative firm with a free membership slot "
                                            "(members included) initiates a proposal in a call (× its "
                                            "cooperativeness and awareness)")
    existing_may_apply: float = P(0.5, ge=0.0, le=1.0, unit="1/call",
                                  desc="chance an unsupported existing cluster applies to a call")
    min_members: int = P(5, ge=2, le=10_000, unit="firms", desc="eligibility: fewest members of a proposal")
    max_members: int = P(150, ge=2, le=100_000, unit="firms", desc="eligibility: most members of a proposal")
    min_match: float = P(0.35, ge=0.0, le=1.0, unit="[0,1]",
                         desc="eligibility: members' mean common interest in the project's purpose")
    min_sectors: int = P(1, ge=1, le=100, unit="sectors", desc="eligibility: fewest sectors among members")
    max_selected: int = P(5, ge=0, le=10_000, unit="projects/call", desc="projects selected per call at most")
    cost_per_application: float = P(1.0, ge=0.0, le=1e6, unit="k€/application",
                                    desc="cost of reviewing one application")
    funding: Shares = Field(default_factory=Shares)


class Directive(Section):
    """COUNTERFACTUAL: the authority assigns firms to clusters (used only to test the claim that it fails)."""

    start_step: int = P(4, ge=1, le=100_000, unit="quarter", desc="quarter of the first assignment")
    period: int = P(16, ge=1, le=100_000, unit="quarters", desc="quarters between two assignments")
    n_assignments: int = P(1, ge=0, le=10_000, unit="assignments", desc="assignments run at most (0 = no limit)")
    n_clusters: int = P(4, ge=1, le=10_000, unit="clusters", desc="clusters created per assignment")
    group_size: int = P(15, ge=2, le=10_000, unit="firms", desc="firms assigned to one cluster")
    lock_in: int = P(12, ge=0, le=100_000, unit="quarters", desc="quarters an assigned firm may not leave")
    cost_per_cluster: float = P(10.0, ge=0.0, le=1e6, unit="k€/cluster", desc="cost of setting up one cluster")
    funding: Shares = Field(default_factory=Shares)


class Constitution(Section):
    """How public authorities help clusters come into being."""

    mode: Literal["none", "identification", "calls", "both", "directive_counterfactual"] = P(
        "none", unit="-",
                  desc="'none' (purely bottom-up), 'identification' (top-down identification and a campaign), "
                       "'calls' (calls for projects), 'both', or 'directive_counterfactual' (firms assigned to "
                       "clusters: a counterfactual, not a policy the model recommends)")
    identification: Identification = Field(default_factory=Identification)
    calls: Calls = Field(default_factory=Calls)
    directive: Directive = Field(default_factory=Directive)


class Support(Section):
    """Which clusters are supported (labelled), and for how long."""

    duration: int = P(0, ge=0, le=100_000, unit="quarters",
                      desc="quarters a cluster is supported after its labelling (planned phase-out); 0 = no limit")
    end_step: int = P(0, ge=0, le=100_000, unit="quarter",
                      desc="quarter after which no cluster is supported any more; 0 = never")
    max_supported: int = P(50, ge=0, le=100_000, unit="clusters", desc="clusters supported at once at most")
    open_labelling: bool = P(False, unit="-",
                             desc="any cluster that reaches label_min_size is labelled, whatever its origin")
    label_min_size: int = P(5, ge=1, le=100_000, unit="firms", desc="members needed for open labelling")


class Evaluation(Section):
    """Policy that evolves with results: periodic evaluation, reallocation, labelling and de-labelling."""

    enabled: bool = P(False, unit="-", desc="supported clusters are evaluated (needs the monitoring instrument)")
    period: int = P(8, ge=1, le=100_000, unit="quarters",
                    desc="quarters between two evaluations (the first at the monitoring tool's start_step)")
    min_age: int = P(8, ge=0, le=100_000, unit="quarters",
                     desc="quarters since labelling (supported clusters), or since founding (candidates for "
                          "labelling), before a cluster is evaluated")
    criterion: Literal["member_benefit", "growth", "reputation", "cooperation"] = P(
        "member_benefit", unit="-",
                       desc="what is measured: 'member_benefit' (members' mean remembered net benefit, "
                            "k€/quarter), 'growth' (membership trend, 1/quarter), 'reputation' (gross benefit "
                            "per member, k€/quarter) or 'cooperation' (members' mean trust, [0,1])")
    noise: float = P(0.3, ge=0.0, le=10.0, unit="relative",
                     desc="measurement error of a score (sd relative to the spread of scores), less what the "
                          "monitoring tool removes")
    delabel_below: float = P(0.0, ge=-1e6, le=1e6, unit="criterion units",
                             desc="clusters scoring below this lose their label (and support)")
    label_above: float = P(1e6, ge=-1e6, le=1e6, unit="criterion units",
                           desc="clusters never labelled that score at least this are labelled (1e6 = never)")
    reallocation: float = P(0.0, ge=0.0, le=1.0, unit="share",
                            desc="how strongly facilitation money follows scores (0 = equal amounts; 1 = "
                                 "in proportion to the score's rank)")


class Policy(Section):
    """Public authorities: funders, constitution mode, support rules, evaluation and instruments.

    With no instrument enabled and mode 'none' (the default) there is no public action at all.
    """

    cofunding_rule: Literal["matched", "independent"] = P(
        "matched", unit="-",
                            desc="'matched': a payment is made only as far as every co-funder can pay its "
                                 "share; 'independent': each funder pays its share while its budget lasts")
    funders: Funders = Field(default_factory=Funders)
    constitution: Constitution = Field(default_factory=Constitution)
    support: Support = Field(default_factory=Support)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    instruments: Instruments = Field(default_factory=Instruments)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = []
        budgets = {name: getattr(self.funders, name).budget_per_year for name in FUNDER_NAMES}
        mode = self.constitution.mode
        funded: list[tuple[str, Shares]] = [
            (f"instruments.{name}", getattr(self.instruments, name).funding)
            for name in type(self.instruments).model_fields if getattr(self.instruments, name).enabled]
        if mode in ("identification", "both"):
            funded.append(("constitution.identification", self.constitution.identification.funding))
        if mode in ("calls", "both"):
            funded.append(("constitution.calls", self.constitution.calls.funding))
        if mode == "directive_counterfactual":
            funded.append(("constitution.directive", self.constitution.directive.funding))
        for where, shares in funded:
            values = {name: getattr(shares, name) for name in FUNDER_NAMES}
            total = sum(values.values())
            if abs(total - 1.0) > 1e-9:
                problems.append(f"policy.{where}.funding: the shares must sum to 1 (they sum to {total:g}: "
                                + ", ".join(f"{k}={v:g}" for k, v in values.items()) + ")")
            for name, share in values.items():
                if share > 0 and budgets[name] <= 0:
                    problems.append(f"policy.{where}.funding.{name} is {share:g} but "
                                    f"policy.funders.{name}.budget_per_year is 0: give that funder a budget "
                                    f"or its share to another funder")
        for name in type(self.instruments).model_fields:
            ins = getattr(self.instruments, name)
            if ins.end_step and ins.end_step < ins.start_step:
                problems.append(f"policy.instruments.{name}.end_step ({ins.end_step}) is before its start_step "
                                f"({ins.start_step}); use 0 for no end")
        if self.evaluation.enabled and not self.instruments.monitoring.enabled:
            problems.append("policy.evaluation.enabled needs the evaluation and monitoring tool: set "
                            "policy.instruments.monitoring.enabled: true")
        aw = self.instruments.awareness
        if mode in ("identification", "both") and not aw.enabled:
            problems.append(f"policy.constitution.mode '{mode}' runs an awareness campaign aimed at the identified "
                            "firms: set policy.instruments.awareness.enabled: true")
        elif mode in ("identification", "both"):
            first = self.constitution.identification.start_step
            if first < aw.start_step or (aw.end_step and first > aw.end_step):
                problems.append(f"policy.constitution.identification.start_step ({first}) falls outside the "
                                f"awareness campaigns' window (start_step {aw.start_step}, end_step {aw.end_step}): "
                                "the identified firms would never be approached")
        if self.instruments.awareness.target == "identified" and mode not in ("identification", "both"):
            problems.append("policy.instruments.awareness.target 'identified' needs constitution.mode "
                            "'identification' or 'both' (nothing is identified otherwise)")
        c = self.constitution.calls
        if c.min_members > c.max_members:
            problems.append(f"policy.constitution.calls.min_members ({c.min_members}) exceeds max_members "
                            f"({c.max_members})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def active(self) -> bool:
        """Whether any public action is configured."""
        return self.constitution.mode != "none" or self.support.open_labelling or any(
            getattr(self.instruments, name).enabled for name in type(self.instruments).model_fields)


class Scenario(Section):
    """A whole scenario: every parameter of the model, grouped by mechanism.

    Cross-field rules are checked when a whole scenario is validated (files, dictionaries, ``--set``);
    assigning a single nested field in code does not re-check them.
    """

    name: str = Field("baseline", min_length=1, max_length=200, description="scenario name")
    description: str = Field("", max_length=10_000, description="what the scenario is for")
    simulation: Simulation = Field(default_factory=Simulation)
    region: Region = Field(default_factory=Region)
    market: Market = Field(default_factory=Market)
    firms: Firms = Field(default_factory=Firms)
    learning: Learning = Field(default_factory=Learning)
    competition: Competition = Field(default_factory=Competition)
    orientations: Orientations = Field(default_factory=Orientations)
    trust: Trust = Field(default_factory=Trust)
    links: Links = Field(default_factory=Links)
    clusters: Clusters = Field(default_factory=Clusters)
    demography: Demography = Field(default_factory=Demography)
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        c = self.clusters
        problems = []
        if c.min_founders > c.max_size:
            problems.append(f"clusters.min_founders ({c.min_founders}) must not exceed clusters.max_size "
                            f"({c.max_size}): no cluster could ever form")
        if c.min_size > c.max_size:
            problems.append(f"clusters.min_size ({c.min_size}) must not exceed clusters.max_size ({c.max_size})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

def iter_parameters(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Yield (dotted path, field info) for every leaf parameter of the schema, depth first.

    Defaults are not given here: some sections' defaults come from factories (read them from an
    instantiated ``Scenario()``).
    """
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_parameters(ann, path + ".")
        else:
            yield path, info
