"""The scenario schema: every parameter of the model, with its unit, default and allowed range.

One validated pydantic model (:class:`Scenario`) is the only way parameters reach the model. Unknown keys,
wrong types and out-of-range values are refused (see :mod:`clustersim.scenario.io` for the file loaders and
:mod:`clustersim.scenario.errors` for the error messages that name file, line, field, bad value and allowed
range). The public-policy sections are defined in :mod:`clustersim.scenario.policy_schema` and are names of
this module too.

Units: one step is one quarter (3 months); money is in k€ (thousands of euros); flows are per quarter
unless the name says otherwise; sizes are in employees (full-time equivalents).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo

from clustersim.scenario.base import P, Section
from clustersim.scenario.policy_schema import (
    CONSTITUTION_MODES,
    EVALUATION_CRITERIA,
    FUNDER_NAMES,
    Awareness,
    Calls,
    Cofunding,
    Constitution,
    DataSharing,
    Directive,
    Evaluation,
    Exchange,
    Facilitation,
    Funder,
    Funders,
    Identification,
    Instrument,
    Instruments,
    LegalFramework,
    Matchmaking,
    Monitoring,
    Policy,
    Shares,
    Support,
    SupportStructures,
    Training,
    Validation,
)

__all__ = [
    "CONSTITUTION_MODES",
    "EVALUATION_CRITERIA",
    "FUNDER_NAMES",
    "Awareness",
    "Calls",
    "Cofunding",
    "Constitution",
    "DataSharing",
    "Directive",
    "Evaluation",
    "Exchange",
    "Facilitation",
    "Funder",
    "Funders",
    "Identification",
    "Instrument",
    "Instruments",
    "LegalFramework",
    "Matchmaking",
    "Monitoring",
    "Policy",
    "Scenario",
    "Shares",
    "Support",
    "SupportStructures",
    "Training",
    "Validation",
    "iter_parameters",
]


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
    warmup: int = P(40, ge=0, le=4000, unit="quarters",
                    desc="quarters run before quarter 0 of observation, without any public policy, so that "
                         "the region starts from its stationary state")
    record_warmup: bool = P(False, unit="-",
                            desc="also record the warm-up quarters' indicators (steps -warmup .. -1)")
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
                                    desc="export revenue per employee of a firm of median size at the frontier "
                                         "productivity, at the start")
    input_share: float = P(0.5, ge=0.0, lt=1.0, unit="share of revenue",
                           desc="intermediate inputs bought per unit of revenue")
    wage: float = P(20.5, ge=0.0, le=1000.0, unit="k€/employee/quarter",
                    desc="labour cost per employee at the start (the wage curve then moves it: ODD 7.1)")
    fixed_cost: float = P(10.0, ge=0.0, le=100_000.0, unit="k€/firm/quarter", desc="fixed overhead of a firm")
    market_share_elasticity: float = P(2.0, ge=0.0, le=20.0, unit="-",
                                       desc="sensitivity of market share to productivity relative to the "
                                            "frontier (competition intensity on the external market)")
    returns_to_scale: float = P(0.85, ge=0.1, le=1.0, unit="-",
                                desc="exponent of employment in a firm's market weight (span of control: below 1 a "
                                     "firm's profitable size is finite; 1: constant returns)")
    frontier_growth: float = P(0.006, ge=-0.1, le=0.2, unit="1/quarter",
                               desc="growth rate of the external competitors' productivity frontier")
    demand_growth: float = P(0.0, ge=-0.2, le=0.2, unit="1/quarter", desc="trend growth of external demand")
    demand_volatility: float = P(0.02, ge=0.0, le=1.0, unit="1/quarter",
                                 desc="standard deviation of sector demand shocks")
    demand_persistence: float = P(0.95, ge=0.0, le=1.0, unit="-",
                                  desc="quarterly autocorrelation of a sector's log-demand deviation from its trend "
                                       "(1: a random walk, shocks never fade)")
    competitor_capacity_growth: float = P(0.0, ge=-0.2, le=0.2, unit="1/quarter",
                                          desc="trend growth of outside competitors' capacity")
    competitor_response: float = P(0.05, ge=0.0, le=1.0, unit="-",
                                   desc="elasticity of outside competitors' capacity, per quarter, to the market's "
                                        "revenue per unit of competitive weight over revenue_per_employee (0: they "
                                        "ignore it)")
    wage_curve_elasticity: float = P(0.1, ge=0.0, le=2.0, unit="-",
                                     desc="elasticity of the wage to the unemployment rate relative to its natural "
                                          "rate (the wage curve)")
    wage_flexibility: float = P(0.1, ge=0.0, le=5.0, unit="1/quarter",
                                desc="fall of the wage curve's log level per quarter per unit of unemployment above "
                                     "its natural rate (wage Phillips curve; with this and the elasticity 0, a fixed "
                                     "wage)")
    unemployment_rate: float = P(0.08, ge=0.01, le=0.5, unit="share",
                                 desc="the region's natural unemployment rate, also its rate at the start (the "
                                      "labour force is the initial employment over 1 minus this)")
    payout_share: float = P(0.5, ge=0.0, le=1.0, unit="share", desc="share of positive profit paid out")


class Firms(Section):
    size_median: float = P(20.0, ge=1.0, le=100_000.0, unit="employees", desc="median firm size")
    size_dispersion: float = P(1.0, ge=0.0, le=4.0, unit="log-units", desc="sigma of lognormal firm sizes")
    productivity_median: float = P(1.08, ge=0.01, le=3.0, unit="× frontier",
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
    cooperativeness_kind: Literal["continuous", "binary"] = P(
        "continuous", unit="-",
        desc="'continuous': a propensity drawn around cooperativeness_mean (sd cooperativeness_sd); 'binary': "
             "pure strategies, 1 with probability cooperativeness_mean and 0 otherwise (as in evolutionary "
             "game theory; imitation's exploration then draws 0 or 1)")
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
    cooperativeness_rule: Literal["cluster_comparison", "imitation"] = P(
        "cluster_comparison", unit="-",
        desc="how cooperativeness is learnt: 'cluster_comparison', members move together towards what paid "
             "better in their cluster; 'imitation', each member firm copies another member firm (of any "
             "cluster) by the pairwise-comparison (Fermi) rule, with exploration")
    selection_intensity: float = P(1.0, ge=0.0, le=1000.0, unit="1/(k€/quarter)",
                                   desc="'imitation': beta of the Fermi rule (0: imitation at random, large: "
                                        "copy whoever earned more)")
    imitation_probability: float = P(1.0, ge=0.0, le=1.0, unit="1/quarter",
                                     desc="'imitation': chance that a member firm revises its cooperativeness "
                                          "in a quarter")
    exploration: float = P(0.01, ge=0.0, le=1.0, unit="1/revision",
                           desc="'imitation': chance that a revising firm instead draws a new cooperativeness "
                                "uniformly in [0, 1] (mutation)")
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
    benefit_form: Literal["saving", "pot"] = P(
        "saving", unit="-",
        desc="'saving': each user avoids a share of its own need cost (free riders get free_rider_access of "
             "it); 'pot': the contributions, multiplied by enhancement, form a pot shared by the users "
             "(free riders weighted by 1 - excludability), as in public goods games")
    enhancement: float = P(2.0, ge=0.0, le=1000.0, unit="-",
                           desc="'pot' form: how many times the contributions the pot is worth")
    excludability: float = P(1.0, ge=0.0, le=1.0, unit="share",
                             desc="'pot' form: 1, only contributors share the pot; 0, free-riding users get the "
                                  "same share as contributors")
    risk: float = P(0.0, ge=0.0, le=1.0, unit="probability",
                    desc="collective risk: chance that the users of a cluster whose attempt fails critical mass "
                         "lose endowment_at_risk (one draw per such cluster and quarter; 0: no risk, no draw)")
    endowment_at_risk: float = P(0.0, ge=0.0, le=100_000.0, unit="k€/employee",
                                 desc="what each user loses, per employee, when the collective risk strikes")
    critical_mass: CriticalMass = Field(default_factory=lambda: CriticalMass(median=4.0, dispersion=0.4))
    contribution_timing: Literal["refunded", "sunk"] = P(
        "refunded", unit="-",
        desc="when contributors pay: 'refunded', only if critical mass is reached (nothing is risked); 'sunk', "
             "committed before the outcome and lost when critical mass fails (threshold public goods games)")


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
    contribution_timing: Literal["refunded", "sunk"] = P(
        "refunded", unit="-",
        desc="when contributors pay: 'refunded', only if critical mass is reached (nothing is risked); 'sunk', "
             "committed before the outcome and lost when critical mass fails (threshold public goods games)")


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
    contribution_timing: Literal["refunded", "sunk"] = P(
        "refunded", unit="-",
        desc="when contributors pay: 'refunded', only if critical mass is reached (nothing is risked); 'sunk', "
             "committed before the outcome and lost when critical mass fails (threshold public goods games)")


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


class Participation(Section):
    """Per-firm participation thresholds (Granovetter 1978): a firm joins a cluster only if at least its own
    threshold of members are in it already, and contributes only if at least that many contributed last
    quarter (a number of firms, or a percentage); drawn or listed for each firm when it is created."""

    kind: Literal["none", "normal", "uniform", "list"] = P(
        "none", unit="-", desc="how thresholds are set: 'none' (every threshold 0: the rule is off, nothing is "
                               "drawn), 'normal' (rounded, floored at 0), 'uniform' (integers low..high), or "
                               "'list' (given in values, nothing is drawn)")
    mean: float = P(0.0, ge=0.0, le=200_000.0, unit="members", desc="'normal': mean threshold")
    sd: float = P(0.0, ge=0.0, le=200_000.0, unit="members", desc="'normal': standard deviation of thresholds")
    low: int = P(0, ge=0, le=200_000, unit="members", desc="'uniform': smallest threshold")
    high: int = P(0, ge=0, le=200_000, unit="members", desc="'uniform': largest threshold (>= low)")
    values: list[Annotated[int, Field(ge=0, le=200_000)]] = Field(
        default_factory=list, max_length=1_000_000,
        description="'list': the thresholds, each an integer >= 0 and <= 200000, given to the firms in the order "
                    "they are created (the initial firms first; firm k gets values[k mod length])",
        json_schema_extra={"unit": "members"})
    scale: Literal["members", "percent"] = P(
        "members", unit="-", desc="what a threshold counts: 'members' (a number of firms) or 'percent' (a "
                                  "percentage: of the region's living firms that are members, for joining; of the "
                                  "cluster's members that contributed last quarter, for contributing)")
    applies_to: Literal["both", "join", "contribute"] = P(
        "both", unit="-", desc="the decisions the threshold enters: joining (members already in the cluster), "
                               "contributing (contributors in the cluster last quarter), or both")

    @model_validator(mode="after")
    def _low_below_high(self) -> Participation:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        if self.kind == "list" and not self.values:
            raise ValueError("kind 'list' needs the thresholds in values (a non-empty list of integers)")
        return self


class Grouping(Section):
    """How firms come together in clusters: formed by their own decisions (founding, joining, leaving,
    dissolution: the model's rule), or drawn at random each quarter into groups of a fixed size (the well-mixed
    groups of evolutionary game theory, for docking: ODD 7.26)."""

    kind: Literal["formed", "random"] = P(
        "formed", unit="-", desc="'formed': clusters are founded, joined, left and dissolved by the firms' "
                                 "decisions; 'random': at the start of every quarter every membership ends and the "
                                 "living firms are drawn at random into groups of group_size (the firms left "
                                 "over, fewer than group_size, stay out that quarter)")
    group_size: int = P(20, ge=2, le=1_000_000, unit="firms", desc="'random': members of each group")
    orientation: Literal["moyens", "products_markets", "club"] = P(
        "moyens", unit="-", desc="'random': the one orientation every group pursues (intensity 1, the others 0)")


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
    lock_in_diversity: float = P(0.0, ge=0.0, le=1.0, unit="capability units",
                                 desc="members' knowledge diversity (mean absolute deviation of their capabilities "
                                      "from the cluster's mean) below which a cluster past emergence is locked in "
                                      "and declines (0: never)")
    decline_hazard: float = P(0.0, ge=0.0, le=1.0, unit="1/quarter",
                              desc="chance that a declining cluster dissolves in a quarter (its members give up; "
                                   "0: dissolution by size only)")
    decline_discount: float = P(0.0, ge=0.0, le=1.0, unit="share",
                                desc="share of a declining cluster's expected benefit that prospective members "
                                     "discount (they read the decline)")
    reorientation_rate: float = P(0.0, ge=0.0, le=1.0, unit="1/quarter",
                                  desc="how fast a cluster's orientation intensities move toward the orientations "
                                       "that paid its members more than the others (0: a fixed mix)")
    participation: Participation = Field(default_factory=Participation)
    grouping: Grouping = Field(default_factory=Grouping)


class Demography(Section):
    startup_rate: float = P(0.004, ge=0.0, le=1.0, unit="1/quarter/firm",
                            desc="start-ups per quarter per firm the region had at the start (simulation.n_firms)")
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
