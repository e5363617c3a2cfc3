"""The policy instruments: one class each, registered in :data:`INSTRUMENTS` (docs/ODD.md 7.25.2).

An instrument is a facilitator: it acts on the model through a documented mechanism (a probability, a cost,
a noise, a capability), never on an indicator, and never puts a firm into a cluster. Each class says what the
instrument is -- its ``name`` (its parameters ``policy.instruments.<name>`` and its spending item), its
``phase`` in the source document's sense, its ``cost`` basis and ``mechanism`` -- and how it acts: the policy
phases it ``acts`` at, the model variables it ``writes``, and :meth:`Instrument.act`. Every payment goes
through the policy's treasury, which never lets a funder overspend.

Adding an instrument: its parameters in ``scenario/schema.py`` (a subclass of ``Instrument`` added to
``Instruments``), its class here, and its registration: the class in :data:`INSTRUMENTS` and its name in
:data:`SCHEDULE` at its place in each phase it acts at (docs/ARCHITECTURE.md, "A new policy instrument").
``tests/test_instruments.py`` then checks it like every other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from clustersim.model.orientations import cognitive_learning_factor
from clustersim.model.policy.base import PolicyHost
from clustersim.model.policy.evaluation import evaluate
from clustersim.model.state import MODE_DIRECTIVE
from clustersim.scenario import schema
from clustersim.scenario.schema import FUNDER_NAMES

if TYPE_CHECKING:
    from clustersim.model.policy.support import Authority

__all__ = ["INSTRUMENTS", "SCHEDULE", "SPENDING_ITEMS", "Instrument"]


class Instrument:
    """A registered policy instrument; an instance serves one policy (:class:`~.support.Authority`).

    The policy calls, at each phase of :data:`SCHEDULE` that lists the instrument, :meth:`reset` (at the first
    of its phases, every quarter) and then :meth:`act` if the instrument is active (:meth:`on`). An instance
    keeps what the instrument carries from one phase of a quarter to the next (reservations).
    """

    name: ClassVar[str]  # its parameters policy.instruments.<name> and its spending item
    phase: ClassVar[str]  # constitution, stabilisation or accompaniment (the source document's phases)
    cost: ClassVar[str]  # its cost basis
    mechanism: ClassVar[str]  # what it does
    acts: ClassVar[tuple[str, ...]]  # the policy phases (POLICY_PHASES) it acts at, in the order of a quarter
    #: the model variables it may change: "firms.<column>", "clusters.<column>", "ledger.<key>",
    #: "policy_counters.<key>", "step_stats.<key>" or "model.<attribute>" ("model.rng": it draws random numbers)
    writes: ClassVar[tuple[str, ...]]

    p: schema.Instrument  # its parameters

    def __init__(self, policy: Authority) -> None:
        self.policy = policy
        self.p = getattr(policy.cfg.instruments, self.name)

    def on(self, now: int) -> bool:
        """Whether it acts in quarter ``now``: enabled, and between its start and end steps (ODD 7.25)."""
        p = self.p
        return p.enabled and now >= p.start_step and (p.end_step == 0 or now <= p.end_step)

    def reset(self, m: PolicyHost) -> None:
        """Every quarter, active or not, before acting: what it sets for one quarter goes back to neutral."""

    def act(self, m: PolicyHost, phase: str) -> None:
        """Act at the policy phase ``phase``, one of :attr:`acts` (called only when :meth:`on`)."""
        raise NotImplementedError

    # payments against the instrument's spending item and co-funding shares
    def pay(self, m: PolicyHost, clusters, amounts, whole: bool = False, prorata: bool = False) -> np.ndarray:
        return self.policy.pay(m, self.name, clusters, amounts, whole=whole, prorata=prorata)

    def fraction(self, m: PolicyHost, cost: float) -> float:
        """The share of a region-wide ``cost`` paid this quarter (1 when it costs nothing)."""
        if cost <= 0:
            return 1.0
        return float(self.pay(m, -1, cost)[0]) / cost

    def fractions(self, m: PolicyHost, rows: np.ndarray, cost: float) -> np.ndarray:
        """The share of ``cost`` paid for each cluster of ``rows`` (pro rata; 1 when it costs nothing)."""
        if cost <= 0:
            return np.ones(len(rows))
        return self.pay(m, rows, np.full(len(rows), cost), prorata=True) / cost


# ------------------------------------------------------------------------------------------- constitution
class Awareness(Instrument):
    """Awareness campaigns: reached firms hear of clusters and propose them more readily (7.25.2)."""

    name = "awareness"
    phase = "constitution"
    cost = "cost_per_firm per firm reached, every period quarters"
    mechanism = ("reached firms' chances of hearing of a cluster (awareness_probability) and of proposing one "
                 "(initiative_probability) are multiplied by 1 + boost for duration quarters")
    acts = ("start",)
    writes = ("firms.aware_boost", "firms.aware_until", "model.rng")
    p: schema.Awareness

    def act(self, m: PolicyHost, phase: str) -> None:
        """A campaign when due: at firms outside clusters (``target = "all"``) and identified firms."""
        aw = self.p
        if (m.now - aw.start_step) % aw.period != 0:
            return
        F = m.firms
        rows = m.alive_rows
        identified = self.policy.identified
        # identified firms are addressed until they belong to a cluster
        ident = identified[F.alive[identified] & (F.n_memberships[identified] == 0)]
        targets = np.union1d(rows[F.n_memberships[rows] == 0], ident) if aw.target == "all" else ident
        self.campaign(m, targets)

    def campaign(self, m: PolicyHost, targets: np.ndarray, first_quarter: int | None = None) -> np.ndarray:
        """An awareness campaign: reaches each target with probability ``reach``, as far as money allows.

        The boost lasts ``duration`` quarters from ``first_quarter`` (default: this one)."""
        aw = self.p
        if not len(targets):
            return targets
        reached = targets[m.rng.random(len(targets)) < aw.reach]
        if aw.cost_per_firm > 0 and len(reached):
            # as many reached firms as every co-funder can pay its full share of
            capacity = self.policy.treasury.capacity(self.policy.shares[self.name])
            affordable = int(np.floor(capacity / aw.cost_per_firm + 1e-9))
            reached = reached[: max(0, min(len(reached), affordable))]
            if len(reached):
                paid = self.pay(m, -1, aw.cost_per_firm * len(reached))[0]
                reached = reached[: int(np.floor(paid / aw.cost_per_firm + 1e-9))]
        F = m.firms
        F.aware_boost[reached] = aw.boost
        F.aware_until[reached] = (m.now if first_quarter is None else first_quarter) + aw.duration - 1
        return reached


class Matchmaking(Instrument):
    """An intermediary (chamber of commerce) helps proposals find partners and define goals (7.25.2)."""

    name = "matchmaking"
    phase = "constitution"
    cost = "cost_per_service per proposal helped (at most capacity per quarter)"
    mechanism = ("the intermediary adds the extra_candidates best-matching firms of the region to a proposer's "
                 "candidates and removes noise_reduction of their information noise")
    acts = ("after_actions", "end")
    writes = ("model.matchmaking_left", "model.matchmaking_extra", "model.matchmaking_noise")
    p: schema.Matchmaking

    def __init__(self, policy: Authority) -> None:
        super().__init__(policy)
        self.reserved = np.zeros(len(FUNDER_NAMES))  # each funder's money set aside for this quarter's services
        self.services_at_start = 0.0  # the model's count of services when this quarter's were set up

    def reset(self, m: PolicyHost) -> None:
        m.matchmaking_left, m.matchmaking_extra, m.matchmaking_noise = 0, 0, 1.0

    def act(self, m: PolicyHost, phase: str) -> None:
        """``after_actions``: its capacity for this quarter's formation phase and calls; ``end``: paid."""
        if phase == "after_actions":
            self.set_up(m)
        else:
            self.settle(m)

    def set_up(self, m: PolicyHost) -> None:
        """The services it can give this quarter, their cost reserved."""
        mm = self.p
        if mm.cost_per_service > 0:
            granted, self.reserved = self.policy.treasury.reserve(self.policy.shares[self.name],
                                                                  mm.capacity * mm.cost_per_service)
            services = int(np.floor(granted / mm.cost_per_service + 1e-9))
        else:
            services = mm.capacity
        m.matchmaking_left = services
        m.matchmaking_extra = mm.extra_candidates
        m.matchmaking_noise = 1 - mm.noise_reduction
        self.services_at_start = m.policy_counters["matchmaking_services"]

    def settle(self, m: PolicyHost) -> None:
        """The intermediary is paid for the services it gave this quarter; the rest of its reserve is released."""
        if not (m.matchmaking_extra or self.reserved.any()):
            return
        used = m.policy_counters["matchmaking_services"] - self.services_at_start
        self.policy.treasury.release(self.reserved)
        self.reserved = np.zeros(len(FUNDER_NAMES))
        if used and self.p.cost_per_service > 0:
            self.pay(m, -1, used * self.p.cost_per_service)
        m.matchmaking_left, m.matchmaking_extra = 0, 0


class Validation(Instrument):
    """Formalised, validated projects: clearer goals for firms that consider joining (7.25.2)."""

    name = "validation"
    phase = "constitution"
    cost = "cost_per_project per new cluster validated (at most capacity per quarter)"
    mechanism = "a validated cluster's goals are clear: firms judging it to join have clarity less information noise"
    acts = ("end",)
    writes = ("clusters.validated", "clusters.clarity", "policy_counters.validated")
    p: schema.Validation

    def act(self, m: PolicyHost, phase: str) -> None:
        """The clusters formed this quarter (not by assignment), at most ``capacity``, validated if paid."""
        va, C = self.p, m.clusters
        new = np.flatnonzero((C.born[: C.n] == m.now) & C.alive[: C.n] & ~C.validated[: C.n]
                             & (C.founded_mode[: C.n] != MODE_DIRECTIVE))[: va.capacity]
        if len(new):
            paid = self.pay(m, new, np.full(len(new), va.cost_per_project), whole=True)
            done = new[(paid > 0) | (va.cost_per_project == 0)]
            C.validated[done] = True
            C.clarity[done] = va.clarity
            m.policy_counters["validated"] += len(done)


# ------------------------------------------------------------------------------------------- stabilisation
class LegalFramework(Instrument):
    """A legal framework for cooperation: cheaper contributions, smaller losses of trust, region-wide (7.25.2)."""

    name = "legal_framework"
    phase = "stabilisation"
    cost = "cost_per_quarter"
    mechanism = ("joint-product and club contributions × (1 − contribution_reduction); trust lost after a defection "
                 "× (1 − risk_reduction), region-wide")
    acts = ("start",)
    writes = ("model.contribution_factor", "model.trust_loss_factor")
    p: schema.LegalFramework

    def reset(self, m: PolicyHost) -> None:
        m.contribution_factor, m.trust_loss_factor = 1.0, 1.0

    def act(self, m: PolicyHost, phase: str) -> None:
        """The region-wide factors, in proportion to the share of its cost paid."""
        lf = self.p
        frac = self.fraction(m, lf.cost_per_quarter)
        m.contribution_factor = 1 - lf.contribution_reduction * frac
        m.trust_loss_factor = 1 - lf.risk_reduction * frac


class Facilitation(Instrument):
    """Funding of supported clusters' management and coordination (7.25.2)."""

    name = "facilitation"
    phase = "stabilisation"
    cost = "up to amount_per_cluster per supported cluster per quarter"
    mechanism = ("a supported cluster may spend up to max_coordination × its basic coordination need; the instrument "
                 "pays into its fund the part of that spending that fees do not cover: coordination, hence the "
                 "effectiveness of its collective actions (capped at 1), rises")
    acts = ("before_actions",)
    writes = ("clusters.coordination_ceiling", "clusters.fund", "ledger.public_funding")
    p: schema.Facilitation

    def reset(self, m: PolicyHost) -> None:
        C = m.clusters
        C.coordination_ceiling[: C.n] = 1.0

    def act(self, m: PolicyHost, phase: str) -> None:
        """Each supported cluster's coordination gap, paid into its fund (pro rata when the budget binds)."""
        sup = self.policy.supported(m)
        if not len(sup):
            return
        C, pc = m.clusters, m.p.clusters
        size = C.size[sup].astype(np.float64)
        ceiling = self.p.max_coordination
        C.coordination_ceiling[sup] = ceiling
        gap = np.maximum(0.0, ceiling * pc.coordination_cost * size
                         - (np.maximum(C.fund[sup], 0) + size * pc.membership_fee))
        want = np.minimum(self.p.amount_per_cluster * C.funding_weight[sup], gap)
        paid = self.pay(m, sup, want, prorata=True)
        C.fund[sup] += paid
        m.ledger["public_funding"] += float(paid.sum())


class Training(Instrument):
    """Facilitator training: supported clusters' facilitators close part of their gap to the best (7.25.2)."""

    name = "training"
    phase = "stabilisation"
    cost = "cost_per_cluster per training, every period quarters per supported cluster"
    mechanism = "facilitator quality (coordination reach) closes quality_gain of its gap to max_quality"
    acts = ("before_actions",)
    writes = ("clusters.facilitator_quality", "clusters.last_training")
    p: schema.Training

    def act(self, m: PolicyHost, phase: str) -> None:
        """Supported clusters never trained, or trained ``period`` quarters ago or more, trained if paid."""
        sup = self.policy.supported(m)
        if not len(sup):
            return
        tr, C = self.p, m.clusters
        due = sup[(C.last_training[sup] < 0) | (m.now - C.last_training[sup] >= tr.period)]
        if len(due):
            paid = self.pay(m, due, np.full(len(due), tr.cost_per_cluster), whole=True)
            done = due[(paid > 0) | (tr.cost_per_cluster == 0)]
            q = C.facilitator_quality[done]
            C.facilitator_quality[done] = q + tr.quality_gain * np.maximum(0.0, tr.max_quality - q)
            C.last_training[done] = m.now


class Cofunding(Instrument):
    """Co-funding of collaborative projects: funders pay a share of members' eligible costs (7.25.2)."""

    name = "cofunding"
    phase = "stabilisation"
    cost = "rate × members' eligible costs, at most cap_per_cluster per cluster per quarter"
    mechanism = ("funders pay rate of supported clusters' Moyens pooled costs and joint-product contributions; members "
                 "bear the rest (also in their expected benefit of joining)")
    acts = ("before_actions", "after_actions")
    writes = ("clusters.cofund_rate", "clusters.cofund_allowance")
    p: schema.Cofunding

    def __init__(self, policy: Authority) -> None:
        super().__init__(policy)
        self.reserved = np.zeros(len(FUNDER_NAMES))  # each funder's money set aside for this quarter

    def reset(self, m: PolicyHost) -> None:
        C = m.clusters
        C.cofund_rate[: C.n] = 0.0
        C.cofund_allowance[: C.n] = 0.0

    def act(self, m: PolicyHost, phase: str) -> None:
        """``before_actions``: allowances reserved; ``after_actions``: what the model paid out of them."""
        if phase == "before_actions":
            self.allow(m)
        else:
            self.settle(m)

    def allow(self, m: PolicyHost) -> None:
        """``cap_per_cluster`` per supported cluster reserved; each gets an equal part of what was granted."""
        sup = self.policy.supported(m)
        if not len(sup):
            return
        C = m.clusters
        granted, self.reserved = self.policy.treasury.reserve(self.policy.shares[self.name],
                                                              self.p.cap_per_cluster * len(sup))
        if granted > 0:
            C.cofund_allowance[sup] = granted / len(sup)
            C.cofund_rate[sup] = self.p.rate

    def settle(self, m: PolicyHost) -> None:
        """What the model paid during the collective actions is recorded against the funders."""
        C = m.clusters
        nc = C.n
        if self.reserved.any() or C.cofund_paid[:nc].any():
            self.policy.treasury.release(self.reserved)
            self.reserved = np.zeros(len(FUNDER_NAMES))
            rows = np.flatnonzero(C.cofund_paid[:nc] > 0)
            paid = self.pay(m, rows, C.cofund_paid[rows])
            assert np.allclose(paid, C.cofund_paid[rows], rtol=1e-9, atol=1e-9), "co-funding beyond its reserve"


# ------------------------------------------------------------------------------------------- accompaniment
class DataSharing(Instrument):
    """Shared data on the region's firms: less information noise in firms' decisions, region-wide (7.25.2)."""

    name = "data_sharing"
    phase = "accompaniment"
    cost = "cost_per_quarter"
    mechanism = "firms' information noise in join and founding decisions × (1 − noise_reduction), region-wide"
    acts = ("start",)
    writes = ("model.noise_factor",)
    p: schema.DataSharing

    def reset(self, m: PolicyHost) -> None:
        m.noise_factor = 1.0

    def act(self, m: PolicyHost, phase: str) -> None:
        """The noise factor, in proportion to the share of its cost paid."""
        ds = self.p
        m.noise_factor = 1 - ds.noise_reduction * self.fraction(m, ds.cost_per_quarter)


class SupportStructures(Instrument):
    """Support structures: pooled solutions' fixed costs relieved, club learning raised (7.25.2)."""

    name = "support_structures"
    phase = "accompaniment"
    cost = "cost_per_cluster per supported cluster per quarter"
    mechanism = ("the structures bear pooled_cost_relief of a Moyens pooled solution's fixed cost, and club learning "
                 "× (1 + learning_boost)")
    acts = ("before_actions",)
    writes = ("clusters.pooled_relief", "clusters.learning_boost")
    p: schema.SupportStructures

    def reset(self, m: PolicyHost) -> None:
        C = m.clusters
        C.pooled_relief[: C.n] = 0.0
        C.learning_boost[: C.n] = 0.0

    def act(self, m: PolicyHost, phase: str) -> None:
        """Each supported cluster served in proportion to the share of its cost paid (pro rata)."""
        sup = self.policy.supported(m)
        if not len(sup):
            return
        ss, C = self.p, m.clusters
        frac = self.fractions(m, sup, ss.cost_per_cluster)
        C.pooled_relief[sup] = ss.pooled_cost_relief * frac
        C.learning_boost[sup] = ss.learning_boost * frac


class Exchange(Instrument):
    """Exchanges of experience between supported clusters: facilitators and members learn (7.25.2)."""

    name = "exchange"
    phase = "accompaniment"
    cost = "cost_per_cluster per cluster per event, every period quarters"
    mechanism = ("supported clusters are paired: facilitators close quality_transfer of the gap to the partner's "
                 "quality; meetings members of each learn from a member of the other (club learning rule)")
    acts = ("after_actions",)
    writes = ("clusters.facilitator_quality", "model.club_gain", "step_stats.exchange_pairs", "model.rng")
    p: schema.Exchange

    def act(self, m: PolicyHost, phase: str) -> None:
        if (m.now - self.p.start_step) % self.p.period == 0:
            self.exchange(m)

    def exchange(self, m: PolicyHost) -> None:
        """An exchange of experience: supported clusters in random pairs, each participation paid."""
        C, F, mem = m.clusters, m.firms, m.memberships
        ex = self.p
        sup = self.policy.supported(m)
        if len(sup) < 2:
            return
        sup = m.rng.permutation(sup)
        sup = sup[: 2 * (len(sup) // 2)]
        paid = self.pay(m, sup, np.full(len(sup), ex.cost_per_cluster), whole=True)
        ok = (paid > 0) | (ex.cost_per_cluster == 0)
        pairs = sup.reshape(-1, 2)[ok.reshape(-1, 2).all(axis=1)]
        if not len(pairs):
            return
        club = m.p.orientations.club
        for a, b in pairs.tolist():
            qa, qb = C.facilitator_quality[a], C.facilitator_quality[b]
            C.facilitator_quality[a] = qa + ex.quality_transfer * max(0.0, qb - qa)
            C.facilitator_quality[b] = qb + ex.quality_transfer * max(0.0, qa - qb)
            ma, mb = mem.firm[mem.cluster == a], mem.firm[mem.cluster == b]
            if not len(ma) or not len(mb) or ex.meetings == 0:
                continue
            for learners, sources in ((ma, mb), (mb, ma)):
                li = learners[m.rng.integers(0, len(learners), ex.meetings)]
                sj = sources[m.rng.integers(0, len(sources), ex.meetings)]
                ci, cj = F.cap.take(li, axis=0), F.cap.take(sj, axis=0)
                d = np.abs(ci - cj).mean(axis=1)
                factor = club.learning_rate * m.p.trust.initial * cognitive_learning_factor(d, club.optimal_distance)
                delta = factor[:, None] * np.maximum(0.0, cj - ci)
                np.add.at(m.club_gain, li, delta)
        m.step_stats["exchange_pairs"] = float(len(pairs))


class Monitoring(Instrument):
    """A monitoring tool: measures clusters for the evaluation, with less noise (7.25.2, 7.25.5)."""

    name = "monitoring"
    phase = "accompaniment"
    cost = "cost_per_cluster per cluster evaluated"
    mechanism = "measures supported clusters for the evaluation; removes precision of the evaluation noise"
    acts = ("end",)
    writes = ("clusters.score", "clusters.funding_weight", "clusters.supported", "clusters.labelled_at",
              "clusters.support_ended", "clusters.cofund_rate", "clusters.pooled_relief", "clusters.learning_boost",
              "policy_counters.evaluations", "policy_counters.labelled", "policy_counters.delabelled", "model.rng")
    p: schema.Monitoring

    def act(self, m: PolicyHost, phase: str) -> None:
        """The evaluation, every ``policy.evaluation.period`` quarters from the tool's start (if enabled)."""
        ev = self.policy.cfg.evaluation
        if ev.enabled and (m.now - self.p.start_step) % ev.period == 0:
            evaluate(self.policy, m)


# ------------------------------------------------------------------------------------------- registry
#: the registry: every instrument by its name, in the order of the scenario schema's ``Instruments``
INSTRUMENTS: dict[str, type[Instrument]] = {cls.name: cls for cls in (
    Awareness, Matchmaking, Validation, LegalFramework, Facilitation, Training, Cofunding, DataSharing,
    SupportStructures, Exchange, Monitoring)}

#: the order in which the instruments act within each policy phase (docs/ODD.md 7.25, the phase table): the
#: order of their payments and random draws
SCHEDULE: dict[str, tuple[str, ...]] = {
    "start": ("legal_framework", "data_sharing", "awareness"),
    "before_actions": ("facilitation", "support_structures", "cofunding", "training"),
    "after_actions": ("cofunding", "exchange", "matchmaking"),
    "end": ("matchmaking", "validation", "monitoring"),
}

#: everything a payment can be recorded against: the instruments and the constitution modes' own costs
SPENDING_ITEMS = (*INSTRUMENTS, "identification", "calls", "directive")
