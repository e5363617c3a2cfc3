"""The public-policy sections of the scenario schema (``policy`` in a scenario file): funders and co-funding
shares, instruments, constitution modes, support rules, evaluation, and :class:`Policy` with its cross-field
rules. :mod:`clustersim.scenario.schema` gathers them into :class:`~clustersim.scenario.schema.Scenario`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import Field, model_validator

from clustersim.scenario.base import P, Section

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
    "Shares",
    "Support",
    "SupportStructures",
    "Training",
    "Validation",
]

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
        problems = [problem for rule in _POLICY_RULES for problem in rule(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def active(self) -> bool:
        """Whether any public action is configured."""
        return self.constitution.mode != "none" or self.support.open_labelling or any(
            getattr(self.instruments, name).enabled for name in type(self.instruments).model_fields)



# ------------------------------------------------------------------------ the cross-field rules of a Policy


def _funded(policy: Policy) -> list[tuple[str, Shares]]:
    """What the policy pays for, with its co-funding shares: the enabled instruments, then the constitution
    mode's actions."""
    mode = policy.constitution.mode
    funded: list[tuple[str, Shares]] = [
        (f"instruments.{name}", getattr(policy.instruments, name).funding)
        for name in type(policy.instruments).model_fields if getattr(policy.instruments, name).enabled]
    if mode in ("identification", "both"):
        funded.append(("constitution.identification", policy.constitution.identification.funding))
    if mode in ("calls", "both"):
        funded.append(("constitution.calls", policy.constitution.calls.funding))
    if mode == "directive_counterfactual":
        funded.append(("constitution.directive", policy.constitution.directive.funding))
    return funded


def _funding_shares(policy: Policy) -> Iterator[str]:
    """Every funded action's shares sum to 1, and only funders with a budget have a share."""
    budgets = {name: getattr(policy.funders, name).budget_per_year for name in FUNDER_NAMES}
    for where, shares in _funded(policy):
        values = {name: getattr(shares, name) for name in FUNDER_NAMES}
        total = sum(values.values())
        if abs(total - 1.0) > 1e-9:
            yield (f"policy.{where}.funding: the shares must sum to 1 (they sum to {total:g}: "
                   + ", ".join(f"{k}={v:g}" for k, v in values.items()) + ")")
        for name, share in values.items():
            if share > 0 and budgets[name] <= 0:
                yield (f"policy.{where}.funding.{name} is {share:g} but "
                       f"policy.funders.{name}.budget_per_year is 0: give that funder a budget "
                       f"or its share to another funder")


def _instrument_windows(policy: Policy) -> Iterator[str]:
    """No instrument ends before it starts."""
    for name in type(policy.instruments).model_fields:
        ins = getattr(policy.instruments, name)
        if ins.end_step and ins.end_step < ins.start_step:
            yield (f"policy.instruments.{name}.end_step ({ins.end_step}) is before its start_step "
                   f"({ins.start_step}); use 0 for no end")


def _evaluation_needs_monitoring(policy: Policy) -> Iterator[str]:
    """Evaluation measures clusters with the monitoring tool."""
    if policy.evaluation.enabled and not policy.instruments.monitoring.enabled:
        yield ("policy.evaluation.enabled needs the evaluation and monitoring tool: set "
               "policy.instruments.monitoring.enabled: true")


def _identification_needs_awareness(policy: Policy) -> Iterator[str]:
    """Top-down identification approaches the identified firms with awareness campaigns, running at the first
    analysis."""
    mode = policy.constitution.mode
    aw = policy.instruments.awareness
    if mode in ("identification", "both") and not aw.enabled:
        yield (f"policy.constitution.mode '{mode}' runs an awareness campaign aimed at the identified "
               "firms: set policy.instruments.awareness.enabled: true")
    elif mode in ("identification", "both"):
        first = policy.constitution.identification.start_step
        if first < aw.start_step or (aw.end_step and first > aw.end_step):
            yield (f"policy.constitution.identification.start_step ({first}) falls outside the "
                   f"awareness campaigns' window (start_step {aw.start_step}, end_step {aw.end_step}): "
                   "the identified firms would never be approached")


def _awareness_target(policy: Policy) -> Iterator[str]:
    """Campaigns aimed at the identified firms need a mode that identifies firms."""
    identifies = policy.constitution.mode in ("identification", "both")
    if policy.instruments.awareness.target == "identified" and not identifies:
        yield ("policy.instruments.awareness.target 'identified' needs constitution.mode "
               "'identification' or 'both' (nothing is identified otherwise)")


def _calls_sizes(policy: Policy) -> Iterator[str]:
    """A call's eligible proposal sizes are not empty."""
    c = policy.constitution.calls
    if c.min_members > c.max_members:
        yield (f"policy.constitution.calls.min_members ({c.min_members}) exceeds max_members "
               f"({c.max_members})")


#: the rules :meth:`Policy._consistent` checks, in the order their problems are reported
_POLICY_RULES: tuple[Callable[[Policy], Iterator[str]], ...] = (
    _funding_shares, _instrument_windows, _evaluation_needs_monitoring, _identification_needs_awareness,
    _awareness_target, _calls_sizes)
