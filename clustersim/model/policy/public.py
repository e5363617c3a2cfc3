"""Public authorities: funders with budgets, registered instruments, constitution modes, evaluation.

Authorities are facilitators: every instrument acts on the model through a documented mechanism (a
probability, a cost, a noise, a capability), never on an indicator, and no instrument can put a firm into a
cluster. Only the explicitly labelled ``directive_counterfactual`` mode assigns firms to clusters, so that
researchers can test the source document's claim that directive policy fails.

- :class:`Treasury` -- the funders' budgets and the spending ledger: a payment is split among co-funders by
  the instrument's shares, never exceeds what a funder has left of its yearly budget, and is recorded as
  (quarter, funder, instrument, cluster, amount).
- :data:`INSTRUMENTS` -- the registry: each instrument's phase, cost basis and mechanism (docs/ODD.md 7.25).
- :class:`PublicPolicy` -- acts at the model's policy phases (``ClusterModel.policy.act(model, phase)``).
- :func:`build_policy` -- the policy a scenario describes (:class:`~clustersim.model.NoPolicy` when none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clustersim.model.orientations import cognitive_learning_factor
from clustersim.model.policy.base import NoPolicy, PolicyHost
from clustersim.scenario.schema import FUNDER_NAMES, Scenario, Shares

# how a cluster came into being (ClusterTable.founded_mode; names in clustersim.model.FOUNDED_MODES)
MODE_IDENTIFICATION, MODE_CALL, MODE_DIRECTIVE = 1, 2, 3

__all__ = [
    "INSTRUMENTS",
    "SPENDING_ITEMS",
    "InstrumentInfo",
    "PublicPolicy",
    "Treasury",
    "build_policy",
]

#: quarters in a budget year
YEAR = 4


@dataclass(frozen=True)
class InstrumentInfo:
    """What the registry says of an instrument: its phase, what it costs and what it does."""

    phase: str
    cost: str
    mechanism: str


INSTRUMENTS: dict[str, InstrumentInfo] = {
    "awareness": InstrumentInfo(
        "constitution", "cost_per_firm per firm reached, every period quarters",
        "reached firms' chances of hearing of a cluster (awareness_probability) and of proposing one "
        "(initiative_probability) are multiplied by 1 + boost for duration quarters"),
    "matchmaking": InstrumentInfo(
        "constitution", "cost_per_service per proposal helped (at most capacity per quarter)",
        "the intermediary adds the extra_candidates best-matching firms of the region to a proposer's candidates "
        "and removes noise_reduction of their information noise"),
    "validation": InstrumentInfo(
        "constitution", "cost_per_project per new cluster validated (at most capacity per quarter)",
        "a validated cluster's goals are clear: firms judging it to join have clarity less information noise"),
    "legal_framework": InstrumentInfo(
        "stabilisation", "cost_per_quarter",
        "joint-product and club contributions × (1 − contribution_reduction); trust lost after a defection "
        "× (1 − risk_reduction), region-wide"),
    "facilitation": InstrumentInfo(
        "stabilisation", "up to amount_per_cluster per supported cluster per quarter",
        "a supported cluster may spend up to max_coordination × its basic coordination need; the instrument "
        "pays into its fund the part of that spending that fees do not cover: coordination, hence the "
        "effectiveness of its collective actions (capped at 1), rises"),
    "training": InstrumentInfo(
        "stabilisation", "cost_per_cluster per training, every period quarters per supported cluster",
        "facilitator quality (coordination reach) closes quality_gain of its gap to max_quality"),
    "cofunding": InstrumentInfo(
        "stabilisation", "rate × members' eligible costs, at most cap_per_cluster per cluster per quarter",
        "funders pay rate of supported clusters' Moyens pooled costs and joint-product contributions; members "
        "bear the rest (also in their expected benefit of joining)"),
    "data_sharing": InstrumentInfo(
        "accompaniment", "cost_per_quarter",
        "firms' information noise in join and founding decisions × (1 − noise_reduction), region-wide"),
    "support_structures": InstrumentInfo(
        "accompaniment", "cost_per_cluster per supported cluster per quarter",
        "the structures bear pooled_cost_relief of a Moyens pooled solution's fixed cost, and club learning "
        "× (1 + learning_boost)"),
    "exchange": InstrumentInfo(
        "accompaniment", "cost_per_cluster per cluster per event, every period quarters",
        "supported clusters are paired: facilitators close quality_transfer of the gap to the partner's quality; "
        "meetings members of each learn from a member of the other (club learning rule)"),
    "monitoring": InstrumentInfo(
        "accompaniment", "cost_per_cluster per cluster evaluated",
        "measures supported clusters for the evaluation; removes precision of the evaluation noise"),
}

#: everything a payment can be recorded against: the instruments and the constitution modes' own costs
SPENDING_ITEMS = (*INSTRUMENTS, "identification", "calls", "directive")


# ------------------------------------------------------------------------------------------------ treasury
class Treasury:
    """The funders' yearly budgets and every payment made from them.

    Budgets open at quarters 1, 5, 9, ... (a funder with ``carry_over`` adds what it had left). A payment
    request names an item of :data:`SPENDING_ITEMS`, a cluster (-1 for region-wide items) and an amount;
    the item's co-funding shares split it among funders:

    - ``matched``: the request is paid as far as *every* co-funder can pay its share;
    - ``independent``: each co-funder pays its share while its budget lasts.

    A request marked ``whole`` is paid entirely or not at all. Money can also be reserved (set aside for
    payments whose amount is known later in the quarter) and settled. No funder's spending ever exceeds its
    available budget.
    """

    def __init__(self, budgets: np.ndarray, carry_over: np.ndarray, rule: str) -> None:
        self.budgets = np.asarray(budgets, dtype=np.float64)
        self.carry = np.asarray(carry_over, dtype=bool)
        self.rule = rule
        self.remaining = np.zeros(len(self.budgets))
        self.reserved = np.zeros(len(self.budgets))
        self.opened = np.zeros(len(self.budgets))  # budget available this year (after carry-over)
        self.year = -1
        self._rows: list[tuple[int, int, int, int, float]] = []
        self.step_total = 0.0
        self.total = 0.0

    def open_year(self, now: int) -> None:
        """At the first quarter of a budget year, each funder's budget opens."""
        year = (now - 1) // YEAR
        if year == self.year:
            return
        self.year = year
        self.remaining = self.budgets + np.where(self.carry, self.remaining, 0.0)
        self.opened = self.remaining.copy()
        self.reserved[:] = 0.0

    @property
    def available(self) -> np.ndarray:
        return np.maximum(self.remaining - self.reserved, 0.0)

    def capacity(self, shares: np.ndarray) -> float:
        """The largest payment the co-funders ``shares`` can make now with every one paying its full share."""
        avail = self.available
        use = shares > 0
        if not use.any():
            return 0.0
        with np.errstate(over="ignore", divide="ignore"):  # tiny shares: an infinite capacity is right
            return float(np.min(avail[use] / shares[use]))

    def _split(self, amount: float, shares: np.ndarray, avail: np.ndarray) -> np.ndarray:
        """Each funder's part of a payment of ``amount`` (before partial payment)."""
        want = shares * amount
        if self.rule == "matched":
            use = want > 0
            with np.errstate(over="ignore", divide="ignore"):  # tiny amounts: a scale above 1 is capped
                scale = min(1.0, float(np.min(avail[use] / want[use]))) if use.any() else 0.0
            return want * scale
        return np.minimum(want, avail)

    def pay(self, now: int, item: int, shares: np.ndarray, clusters: np.ndarray, amounts: np.ndarray,
            whole: bool = False, prorata: bool = False) -> np.ndarray:
        """Pay the requests; returns what each received. Recorded in the ledger.

        Requests are served in the order given, except with ``prorata``: when the budget cannot pay them
        all, every request gets the same fraction of its amount (each funder's fraction under
        ``independent``)."""
        clusters = np.asarray(clusters, dtype=np.int64)
        amounts = np.asarray(amounts, dtype=np.float64)
        paid = np.zeros(len(amounts))
        avail = self.available
        if prorata and not whole and len(amounts) > 1:
            want = np.outer(np.maximum(amounts, 0.0), shares)  # request × funder
            total = want.sum(axis=0)
            if self.rule == "matched":
                use = total > 0
                with np.errstate(over="ignore", divide="ignore"):
                    scale = min(1.0, float(np.min(avail[use] / total[use]))) if use.any() else 0.0
                parts = want * scale
            else:
                with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                    scales = np.where(total > 0, np.minimum(1.0, avail / total), 0.0)
                parts = want * scales
            over = parts.sum(axis=0)
            parts *= np.where(over > avail, avail / np.where(over > 0, over, 1.0), 1.0)  # rounding guard
            self.remaining -= parts.sum(axis=0)
            paid = parts.sum(axis=1)
            for k, f in zip(*np.nonzero(parts > 0), strict=True):
                self._rows.append((now, int(f), item, int(clusters[k]), float(parts[k, f])))
            spent = float(paid.sum())
            self.step_total += spent
            self.total += spent
            return paid
        for k in range(len(amounts)):
            a = float(amounts[k])
            if a <= 0:
                continue
            part = self._split(a, shares, avail)
            if whole and part.sum() < a * (1 - 1e-12):
                continue
            part = np.minimum(part, avail)
            avail = avail - part
            self.remaining -= part
            paid[k] = float(part.sum())
            for f in np.flatnonzero(part > 0).tolist():
                self._rows.append((now, f, item, int(clusters[k]), float(part[f])))
        spent = float(paid.sum())
        self.step_total += spent
        self.total += spent
        return paid

    def reserve(self, shares: np.ndarray, amount: float) -> tuple[float, np.ndarray]:
        """Set money aside for later settlement: (amount granted, each funder's reserved part).

        Whatever the co-funding rule, the amount granted is one every co-funder can pay its full share of
        (at most :meth:`capacity`), so that any settlement up to it is paid in full."""
        if amount <= 0:
            return 0.0, np.zeros(len(self.budgets))
        granted = min(float(amount), self.capacity(shares))
        part = np.minimum(shares * granted, self.available)
        self.reserved += part
        return float(part.sum()), part

    def release(self, part: np.ndarray) -> None:
        self.reserved = np.maximum(self.reserved - part, 0.0)

    def table(self) -> pd.DataFrame:
        """The spending ledger: one row per (quarter, funder, item, cluster) payment, amounts in k€."""
        if not self._rows:
            return pd.DataFrame({"step": pd.Series(dtype=np.int64), "funder": pd.Series(dtype=str),
                                 "instrument": pd.Series(dtype=str), "phase": pd.Series(dtype=str),
                                 "cluster": pd.Series(dtype=np.int64), "amount": pd.Series(dtype=np.float64)})
        a = np.array(self._rows, dtype=object)
        items = [SPENDING_ITEMS[i] for i in a[:, 2].astype(np.int64)]
        return pd.DataFrame({
            "step": a[:, 0].astype(np.int64),
            "funder": [FUNDER_NAMES[f] for f in a[:, 1].astype(np.int64)],
            "instrument": items,
            "phase": [INSTRUMENTS[i].phase if i in INSTRUMENTS else "constitution" for i in items],
            "cluster": a[:, 3].astype(np.int64),
            "amount": a[:, 4].astype(np.float64),
        })

    def spent_by_funder(self) -> np.ndarray:
        out = np.zeros(len(self.budgets))
        for _, f, _, _, amount in self._rows:
            out[f] += amount
        return out


def _shares(s: Shares) -> np.ndarray:
    """Co-funding shares by funder, normalised to sum exactly to 1 (the validator accepts sums within 1e-9)."""
    v = np.array([getattr(s, name) for name in FUNDER_NAMES], dtype=np.float64)
    total = v.sum()
    return v / total if total > 0 else v


# ------------------------------------------------------------------------------------------------ policy
class PublicPolicy:
    """The public authorities of a scenario's ``policy`` section, acting at the model's policy phases.

    ``start``: budgets open; support ends for clusters past their planned duration or the end of support;
    region-wide instruments (legal framework, data sharing) and awareness campaigns.
    ``before_actions``: per-cluster support of supported clusters (facilitation, support structures,
    co-funding allowances, training).
    ``after_actions``: co-funding settled; exchanges between clusters; the intermediary's capacity for the
    formation phase.
    ``end``: the intermediary's services settled; constitution (identification, calls, the directive
    counterfactual); validation of new clusters; open labelling; evaluation.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.cfg = scenario.policy
        f = self.cfg.funders
        self.treasury = Treasury(np.array([getattr(f, n).budget_per_year for n in FUNDER_NAMES]),
                                 np.array([getattr(f, n).carry_over for n in FUNDER_NAMES]), self.cfg.cofunding_rule)
        ins = self.cfg.instruments
        self.shares = {name: _shares(getattr(ins, name).funding) for name in INSTRUMENTS}
        con = self.cfg.constitution
        self.shares["identification"] = _shares(con.identification.funding)
        self.shares["calls"] = _shares(con.calls.funding)
        self.shares["directive"] = _shares(con.directive.funding)
        self.item = {name: i for i, name in enumerate(SPENDING_ITEMS)}
        self.identified = np.zeros(0, dtype=np.int64)  # firms identified by the last analysis
        self._cofund_reserve = np.zeros(len(FUNDER_NAMES))
        self._match_reserve = np.zeros(len(FUNDER_NAMES))
        self.n_identifications = 0
        self.n_calls = 0
        self.n_assignments = 0
        self.last_call_rate = np.nan

    # -------------------------------------------------------------------------------- helpers
    def _on(self, name: str, now: int) -> bool:
        ins = getattr(self.cfg.instruments, name)
        return ins.enabled and now >= ins.start_step and (ins.end_step == 0 or now <= ins.end_step)

    def _pay(self, m: PolicyHost, name: str, clusters, amounts, whole: bool = False,
             prorata: bool = False) -> np.ndarray:
        return self.treasury.pay(m.now, self.item[name], self.shares[name], np.atleast_1d(clusters),
                                 np.atleast_1d(np.asarray(amounts, dtype=np.float64)), whole=whole,
                                 prorata=prorata)

    @staticmethod
    def _due(now: int, start: int, period: int, done: int, limit: int) -> bool:
        return now >= start and (now - start) % period == 0 and (limit == 0 or done < limit)

    def supported(self, m: PolicyHost) -> np.ndarray:
        C = m.clusters
        return np.flatnonzero(C.supported[: C.n] & C.alive[: C.n])

    def label(self, m: PolicyHost, rows: np.ndarray) -> np.ndarray:
        """Label clusters (they receive support from now on), within max_supported and before support ends."""
        C, sp = m.clusters, self.cfg.support
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[C.alive[rows] & ~C.supported[rows]]
        if sp.end_step and m.now > sp.end_step:
            return rows[:0]
        room = max(0, sp.max_supported - len(self.supported(m)))
        rows = rows[:room]
        C.supported[rows] = True
        C.labelled_at[rows] = m.now
        C.support_ended[rows] = -1
        m.policy_counters["labelled"] += len(rows)
        return rows

    def unlabel(self, m: PolicyHost, rows: np.ndarray, counter: str) -> None:
        C = m.clusters
        rows = np.asarray(rows, dtype=np.int64)
        C.supported[rows] = False
        C.support_ended[rows] = m.now
        C.cofund_rate[rows] = 0.0
        C.pooled_relief[rows] = 0.0
        C.learning_boost[rows] = 0.0
        m.policy_counters[counter] += len(rows)

    # -------------------------------------------------------------------------------- phases
    def act(self, m: PolicyHost, phase: str) -> None:
        getattr(self, f"_{phase}")(m)
        m.step_stats["public_spending"] = self.treasury.step_total

    def _start(self, m: PolicyHost) -> None:
        self.treasury.step_total = 0.0
        self.treasury.open_year(m.now)
        C, sp = m.clusters, self.cfg.support
        nc = C.n
        C.supported[:nc] &= C.alive[:nc]  # a dissolved cluster's support simply stops
        sup = self.supported(m)
        if len(sup):
            expired = np.zeros(len(sup), dtype=bool)
            if sp.duration:
                expired |= m.now - C.labelled_at[sup] > sp.duration  # supported quarters t+1 ... t+duration
            if sp.end_step:
                expired |= m.now > sp.end_step
            self.unlabel(m, sup[expired], "support_ended")
        ins = self.cfg.instruments
        # region-wide instruments act in proportion to the share of their cost that was paid
        m.contribution_factor, m.trust_loss_factor, m.noise_factor = 1.0, 1.0, 1.0
        if self._on("legal_framework", m.now):
            lf = ins.legal_framework
            frac = self._fraction(m, "legal_framework", lf.cost_per_quarter)
            m.contribution_factor = 1 - lf.contribution_reduction * frac
            m.trust_loss_factor = 1 - lf.risk_reduction * frac
        if self._on("data_sharing", m.now):
            ds = ins.data_sharing
            m.noise_factor = 1 - ds.noise_reduction * self._fraction(m, "data_sharing", ds.cost_per_quarter)
        aw = ins.awareness
        if self._on("awareness", m.now) and (m.now - aw.start_step) % aw.period == 0:
            F = m.firms
            rows = m.alive_rows
            # identified firms are addressed until they belong to a cluster
            ident = self.identified[F.alive[self.identified] & (F.n_memberships[self.identified] == 0)]
            targets = np.union1d(rows[F.n_memberships[rows] == 0], ident) if aw.target == "all" else ident
            self.campaign(m, targets)

    def _fraction(self, m: PolicyHost, name: str, cost: float) -> float:
        if cost <= 0:
            return 1.0
        return float(self._pay(m, name, -1, cost)[0]) / cost

    def campaign(self, m: PolicyHost, targets: np.ndarray, first_quarter: int | None = None) -> np.ndarray:
        """An awareness campaign: reaches each target with probability ``reach``, as far as money allows.

        The boost lasts ``duration`` quarters from ``first_quarter`` (default: this one)."""
        aw = self.cfg.instruments.awareness
        if not len(targets):
            return targets
        reached = targets[m.rng.random(len(targets)) < aw.reach]
        if aw.cost_per_firm > 0 and len(reached):
            # as many reached firms as every co-funder can pay its full share of
            affordable = int(np.floor(self.treasury.capacity(self.shares["awareness"]) / aw.cost_per_firm + 1e-9))
            reached = reached[: max(0, min(len(reached), affordable))]
            if len(reached):
                paid = self._pay(m, "awareness", -1, aw.cost_per_firm * len(reached))[0]
                reached = reached[: int(np.floor(paid / aw.cost_per_firm + 1e-9))]
        F = m.firms
        F.aware_boost[reached] = aw.boost
        F.aware_until[reached] = (m.now if first_quarter is None else first_quarter) + aw.duration - 1
        return reached

    def _before_actions(self, m: PolicyHost) -> None:
        C = m.clusters
        nc = C.n
        C.cofund_rate[:nc] = 0.0
        C.cofund_allowance[:nc] = 0.0
        C.pooled_relief[:nc] = 0.0
        C.learning_boost[:nc] = 0.0
        C.coordination_ceiling[:nc] = 1.0
        sup = self.supported(m)
        if not len(sup):
            return
        ins, pc = self.cfg.instruments, m.p.clusters
        if self._on("facilitation", m.now):
            size = C.size[sup].astype(np.float64)
            ceiling = ins.facilitation.max_coordination
            C.coordination_ceiling[sup] = ceiling
            gap = np.maximum(0.0, ceiling * pc.coordination_cost * size
                             - (np.maximum(C.fund[sup], 0) + size * pc.membership_fee))
            want = np.minimum(ins.facilitation.amount_per_cluster * C.funding_weight[sup], gap)
            paid = self._pay(m, "facilitation", sup, want, prorata=True)
            C.fund[sup] += paid
            m.ledger["public_funding"] += float(paid.sum())
        if self._on("support_structures", m.now):
            ss = ins.support_structures
            frac = self._fractions(m, "support_structures", sup, ss.cost_per_cluster)
            C.pooled_relief[sup] = ss.pooled_cost_relief * frac
            C.learning_boost[sup] = ss.learning_boost * frac
        if self._on("cofunding", m.now):
            cf = ins.cofunding
            granted, part = self.treasury.reserve(self.shares["cofunding"], cf.cap_per_cluster * len(sup))
            self._cofund_reserve = part
            if granted > 0:
                C.cofund_allowance[sup] = granted / len(sup)
                C.cofund_rate[sup] = cf.rate
        if self._on("training", m.now):
            tr = ins.training
            due = sup[(C.last_training[sup] < 0) | (m.now - C.last_training[sup] >= tr.period)]
            if len(due):
                paid = self._pay(m, "training", due, np.full(len(due), tr.cost_per_cluster), whole=True)
                done = due[(paid > 0) | (tr.cost_per_cluster == 0)]
                q = C.facilitator_quality[done]
                C.facilitator_quality[done] = q + tr.quality_gain * np.maximum(0.0, tr.max_quality - q)
                C.last_training[done] = m.now

    def _fractions(self, m: PolicyHost, name: str, rows: np.ndarray, cost: float) -> np.ndarray:
        if cost <= 0:
            return np.ones(len(rows))
        return self._pay(m, name, rows, np.full(len(rows), cost), prorata=True) / cost

    def _after_actions(self, m: PolicyHost) -> None:
        C = m.clusters
        nc = C.n
        # co-funding: what the model paid out of the allowances is recorded against the funders
        if self._cofund_reserve.any() or C.cofund_paid[:nc].any():
            self.treasury.release(self._cofund_reserve)
            self._cofund_reserve = np.zeros(len(FUNDER_NAMES))
            rows = np.flatnonzero(C.cofund_paid[:nc] > 0)
            paid = self._pay(m, "cofunding", rows, C.cofund_paid[rows])
            assert np.allclose(paid, C.cofund_paid[rows], rtol=1e-9, atol=1e-9), "co-funding beyond its reserve"
        ins = self.cfg.instruments
        ex = ins.exchange
        if self._on("exchange", m.now) and (m.now - ex.start_step) % ex.period == 0:
            self.exchange(m)
        # the intermediary's capacity for this quarter's formation phase (and the calls at the end)
        m.matchmaking_left, m.matchmaking_extra, m.matchmaking_noise = 0, 0, 1.0
        if self._on("matchmaking", m.now):
            mm = ins.matchmaking
            if mm.cost_per_service > 0:
                granted, self._match_reserve = self.treasury.reserve(self.shares["matchmaking"],
                                                                     mm.capacity * mm.cost_per_service)
                services = int(np.floor(granted / mm.cost_per_service + 1e-9))
            else:
                services = mm.capacity
            m.matchmaking_left = services
            m.matchmaking_extra = mm.extra_candidates
            m.matchmaking_noise = 1 - mm.noise_reduction
            self._services_at_start = m.policy_counters["matchmaking_services"]

    def exchange(self, m: PolicyHost) -> None:
        """An exchange of experience: supported clusters in random pairs, each participation paid."""
        C, F, mem = m.clusters, m.firms, m.memberships
        ex = self.cfg.instruments.exchange
        sup = self.supported(m)
        if len(sup) < 2:
            return
        sup = m.rng.permutation(sup)
        sup = sup[: 2 * (len(sup) // 2)]
        paid = self._pay(m, "exchange", sup, np.full(len(sup), ex.cost_per_cluster), whole=True)
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

    def _end(self, m: PolicyHost) -> None:
        ins, con = self.cfg.instruments, self.cfg.constitution
        mode = con.mode
        sp = self.cfg.support
        if sp.end_step and m.now > sp.end_step:
            mode = "none"  # once support has ended for good, no more calls, identification or assignment
        if mode in ("identification", "both"):
            idc = con.identification
            if self._due(m.now, idc.start_step, idc.period, self.n_identifications, idc.n_analyses):
                self.identification(m)
        if mode in ("calls", "both"):
            cc = con.calls
            if self._due(m.now, cc.start_step, cc.period, self.n_calls, cc.n_calls):
                self.call(m)
        if mode == "directive_counterfactual":
            dc = con.directive
            if self._due(m.now, dc.start_step, dc.period, self.n_assignments, dc.n_assignments):
                self.assign(m)
        # the intermediary is paid for the services it gave this quarter; the rest of its reserve is released
        if m.matchmaking_extra or self._match_reserve.any():
            used = m.policy_counters["matchmaking_services"] - getattr(self, "_services_at_start", 0)
            self.treasury.release(self._match_reserve)
            self._match_reserve = np.zeros(len(FUNDER_NAMES))
            if used and ins.matchmaking.cost_per_service > 0:
                self._pay(m, "matchmaking", -1, used * ins.matchmaking.cost_per_service)
            m.matchmaking_left, m.matchmaking_extra = 0, 0
        C = m.clusters
        if self._on("validation", m.now):
            va = ins.validation
            new = np.flatnonzero((C.born[: C.n] == m.now) & C.alive[: C.n] & ~C.validated[: C.n]
                                 & (C.founded_mode[: C.n] != MODE_DIRECTIVE))[: va.capacity]
            if len(new):
                paid = self._pay(m, "validation", new, np.full(len(new), va.cost_per_project), whole=True)
                done = new[(paid > 0) | (va.cost_per_project == 0)]
                self.validate(m, done)
        if sp.open_labelling:
            cand = np.flatnonzero(C.alive[: C.n] & ~C.supported[: C.n] & (C.labelled_at[: C.n] < 0)
                                  & (C.size[: C.n] >= sp.label_min_size))
            self.label(m, cand)
        ev = self.cfg.evaluation
        mon = ins.monitoring
        if ev.enabled and self._on("monitoring", m.now) and (m.now - mon.start_step) % ev.period == 0:
            self.evaluate(m)

    # -------------------------------------------------------------------------------- constitution
    def validate(self, m: PolicyHost, rows: np.ndarray) -> None:
        """Formalised, validated projects: clearer goals for firms that consider joining."""
        C = m.clusters
        C.validated[rows] = True
        C.clarity[rows] = self.cfg.instruments.validation.clarity
        m.policy_counters["validated"] += len(rows)

    def identify_groups(self, m: PolicyHost, n_groups: int, group_size: int
                        ) -> list[tuple[int, int, np.ndarray]]:
        """Analysis of the productive fabric: (seed firm, purpose, group members) of potential clusters.

        Seeds are the best-connected firms (links in both layers × capability index) among firms with a free
        membership slot. Each seed's group is its link partners (value chain and peers) whose common interest
        in the seed's best purpose clears the attraction threshold, completed by the best-fitting firms of
        the region (the authority sees every firm's activities and capabilities) up to ``group_size``. The
        purpose is the orientation with the highest mean interest among those best-fitting firms.
        """
        F = m.firms
        rows = m.alive_rows
        free = rows[F.n_memberships[rows] < m.p.firms.max_memberships]
        indptr, nbr = m.adjacency()
        deg = (indptr[free + 1] - indptr[free]).astype(np.float64)
        order = free[np.argsort(-(deg * F.capidx[free]), kind="stable")]
        taken = np.zeros(F.n, dtype=bool)
        groups: list[tuple[int, int, np.ndarray]] = []
        thr = m.p.clusters.attraction_threshold
        for seed in order.tolist():
            if len(groups) >= n_groups:
                break
            if taken[seed]:
                continue
            pool = free[~taken[free] & (free != seed)]
            if len(pool) < 1:
                break
            scores = m.interest(pool, np.ones(3), np.full(len(pool), F.need[seed]), F.cap[seed])
            k = min(group_size - 1, len(pool))
            top_mean = -np.sort(-scores, axis=0)[:k].mean(axis=0)
            purpose = int(np.argmax(top_mean))
            fit = scores[:, purpose]
            linked = np.isin(pool, nbr[indptr[seed]: indptr[seed + 1]]) & (fit >= thr)
            rank = np.lexsort((-fit, ~linked))  # linked partners first, then by fit
            group = pool[rank[:k]]
            taken[seed] = True
            taken[group] = True
            groups.append((seed, purpose, group))
        return groups

    def identification(self, m: PolicyHost) -> None:
        """Top-down identification: analyse the fabric, campaign at the identified firms, seeds propose."""
        idc = self.cfg.constitution.identification
        if idc.cost_per_analysis > 0 and not self._pay(m, "identification", -1, idc.cost_per_analysis,
                                                        whole=True)[0]:
            return  # not paid: no analysis (it is tried again at the next due quarter)
        self.n_identifications += 1
        groups = self.identify_groups(m, idc.n_targets, idc.group_size)
        m.policy_counters["identified_groups"] += len(groups)
        self.identified = np.unique(np.concatenate([[s, *g] for s, _, g in groups])).astype(np.int64) \
            if groups else np.zeros(0, dtype=np.int64)
        # the campaign runs at the end of the quarter: its boost counts from the next one
        reached = (self.campaign(m, self.identified, first_quarter=m.now + 1) if self._on("awareness", m.now)
                   else self.identified[:0])
        pc = m.p.clusters
        used: set[int] = set()
        noise = m.p.learning.information_noise * m.noise_factor
        for seed, purpose, group in groups:
            cand = group[np.isin(group, reached) & ~np.isin(group, list(used))]
            if seed in used or len(cand) < pc.min_founders - 1:
                continue
            found = m.consider(seed, purpose, cand, noise, pc.min_founders, pc.max_size)
            if found is None:
                continue
            founders, sc = found
            row = m.create_cluster(seed, founders, sc, purpose, mode=MODE_IDENTIFICATION)
            self.label(m, np.array([row]))
            used.add(seed)
            used.update(founders.tolist())

    def _per_project_quarterly(self) -> np.ndarray:
        """Each funder's share of the most a supported cluster costs in a quarter (facilitation at equal
        weights, co-funding cap, support structures)."""
        ins = self.cfg.instruments
        per_funder = np.zeros(len(FUNDER_NAMES))
        for name, amount in (("facilitation", ins.facilitation.amount_per_cluster),
                             ("cofunding", ins.cofunding.cap_per_cluster),
                             ("support_structures", ins.support_structures.cost_per_cluster)):
            if getattr(ins, name).enabled:
                per_funder += self.shares[name] * amount
        return per_funder

    def call(self, m: PolicyHost) -> None:
        """A call for projects: proposals, review, eligibility, ranking, selection under budget."""
        cc = self.cfg.constitution.calls
        C, F = m.clusters, m.firms
        self.n_calls += 1
        pc = m.p.clusters
        rows = m.alive_rows
        maxm = m.p.firms.max_memberships
        # proposals of new consortia (initiators assemble partners, with the intermediary's help if any)
        can = rows[(F.n_memberships[rows] < maxm) & (F.capital[rows] > 0)]
        init = can[m.rng.random(len(can)) < cc.application_probability * F.coop[can] * m.awareness(can)]
        init = m.rng.permutation(init)
        purposes = m.draw_purposes(len(init))
        used: set[int] = set()
        # (kind, initiator or cluster, members, scores, purpose, match, n_sectors)
        proposals: list[tuple[str, int, np.ndarray, np.ndarray | None, int, float, int]] = []
        for i, purpose in zip(init.tolist(), purposes.tolist(), strict=True):
            if i in used:
                continue
            found = m.assemble(i, purpose, used, 2, min(cc.max_members, pc.max_size))
            if found is None:
                continue
            founders, sc = found
            members = np.concatenate([[i], founders])
            used.update(members.tolist())
            proposals.append(("new", i, founders, sc, purpose, float(sc[:, purpose].mean()),
                              len(np.unique(F.sector[members]))))
        # existing clusters that were never supported
        existing = np.flatnonzero(C.alive[: C.n] & ~C.supported[: C.n] & (C.labelled_at[: C.n] < 0))
        existing = existing[m.rng.random(len(existing)) < cc.existing_may_apply]
        mem = m.memberships
        for c in existing.tolist():
            members = mem.firm[mem.cluster == c]
            purpose = int(np.argmax(C.orient[c]))
            fit = m.interest(members, np.ones(3), np.full(len(members), C.domain[c, 0]), C.vision[c])[:, purpose]
            proposals.append(("existing", c, members, None, purpose, float(fit.mean()) if len(fit) else 0.0,
                              int(C.n_sectors[c])))
        n_app = len(proposals)
        m.policy_counters["applications"] += n_app
        if not n_app:
            self.last_call_rate = np.nan
            return
        reviewed = self._pay(m, "calls", np.full(n_app, -1), np.full(n_app, cc.cost_per_application), whole=True)
        ok = (reviewed > 0) | (cc.cost_per_application == 0)
        sizes = np.array([len(p[2]) + (1 if p[0] == "new" else 0) for p in proposals])
        match = np.array([p[5] for p in proposals])
        sectors = np.array([p[6] for p in proposals])
        eligible = ok & (sizes >= cc.min_members) & (sizes <= cc.max_members) & (match >= cc.min_match) \
            & (sectors >= cc.min_sectors)
        m.policy_counters["eligible"] += int(eligible.sum())
        # ranking: capability match, then size, then a random draw (INFSO-SKIN)
        tie = m.rng.random(n_app)
        rank = np.lexsort((tie, -sizes, -match))
        rank = rank[eligible[rank]]
        # selection under budget (a planning rule on yearly budgets): for every funder of per-cluster support,
        # its share of the most costly quarter of all supported clusters, the new ones included, must fit in a
        # quarter of its yearly budget
        per_funder = self._per_project_quarterly()
        limit = cc.max_selected
        pays = per_funder > 0
        if pays.any():
            n_sup = len(self.supported(m))
            room = (self.treasury.budgets[pays] / YEAR - per_funder[pays] * n_sup) / per_funder[pays]
            limit = min(limit, int(max(0.0, float(np.floor(room.min() + 1e-9)))))
        limit = min(limit, max(0, self.cfg.support.max_supported - len(self.supported(m))))
        selected = rank[:limit]
        for k in selected.tolist():
            kind, who, members, sc, purpose, _, _ = proposals[k]
            if kind == "new":
                row = m.create_cluster(who, members, sc, purpose, mode=MODE_CALL)
            else:
                row = who
            self.label(m, np.array([row]))
        m.policy_counters["selected"] += len(selected)
        self.last_call_rate = len(selected) / n_app
        m.step_stats["call_applications"] = float(n_app)
        m.step_stats["call_selected"] = float(len(selected))

    def assign(self, m: PolicyHost) -> None:
        """COUNTERFACTUAL: the authority creates clusters and assigns the identified firms to them."""
        dc = self.cfg.constitution.directive
        if dc.cost_per_cluster > 0 and self.treasury.capacity(self.shares["directive"]) < dc.cost_per_cluster:
            return  # not even one cluster can be set up: no assignment (tried again at the next due quarter)
        self.n_assignments += 1
        groups = self.identify_groups(m, dc.n_clusters, min(dc.group_size, m.p.clusters.max_size))
        for seed, purpose, group in groups:
            if not len(group):
                continue
            if dc.cost_per_cluster > 0 and not self._pay(m, "directive", -1, dc.cost_per_cluster, whole=True)[0]:
                break
            F = m.firms
            scores = m.interest(group, np.ones(3), np.full(len(group), F.need[seed]), F.cap[seed])
            row = m.create_cluster(seed, group, scores, purpose, mode=MODE_DIRECTIVE, locked_until=m.now + dc.lock_in)
            m.policy_counters["assigned_memberships"] += len(group) + 1
            self.label(m, np.array([row]))

    # -------------------------------------------------------------------------------- evaluation
    def scores(self, m: PolicyHost, rows: np.ndarray) -> np.ndarray:
        """The evaluation criterion of each cluster, as measured without error."""
        C, mem = m.clusters, m.memberships
        crit = self.cfg.evaluation.criterion
        if crit == "member_benefit":
            total = np.bincount(mem.cluster, weights=mem.memory, minlength=C.n)
            count = np.bincount(mem.cluster, minlength=C.n)
            return total[rows] / np.maximum(count[rows], 1)
        if crit == "growth":
            return C.trend[rows].copy()
        if crit == "reputation":
            return C.reputation[rows].copy()
        return C.trust[rows].copy()

    def evaluate(self, m: PolicyHost) -> None:
        """Periodic evaluation: measure, de-label the weakest, label strong newcomers, reallocate money."""
        ev, mon = self.cfg.evaluation, self.cfg.instruments.monitoring
        C = m.clusters
        alive = np.flatnonzero(C.alive[: C.n])
        sup = alive[C.supported[alive] & (m.now - C.labelled_at[alive] >= ev.min_age)]
        # candidates for labelling: clusters never labelled (a cluster whose support ended is not relabelled)
        cand = alive[~C.supported[alive] & (C.labelled_at[alive] < 0) & (m.now - C.born[alive] >= ev.min_age)] \
            if ev.label_above < 1e6 else alive[:0]
        rows = np.concatenate([sup, cand])
        if not len(rows):
            return
        paid = self._pay(m, "monitoring", rows, np.full(len(rows), mon.cost_per_cluster), whole=True)
        rows = rows[(paid > 0) | (mon.cost_per_cluster == 0)]
        if not len(rows):
            return
        true = self.scores(m, rows)
        spread = float(true.std()) if len(true) > 1 else 0.0
        measured = true + ev.noise * (1 - mon.precision) * spread * m.rng.standard_normal(len(rows))
        C.score[rows] = measured
        m.policy_counters["evaluations"] += len(rows)
        is_sup = C.supported[rows]
        self.unlabel(m, rows[is_sup & (measured < ev.delabel_below)], "delabelled")
        self.label(m, rows[~is_sup & (measured >= ev.label_above)])
        # reallocation: facilitation money follows the rank of the score among supported clusters
        sup_now = rows[C.supported[rows]]
        if len(sup_now):
            if ev.reallocation > 0 and len(sup_now) > 1:
                r = np.argsort(np.argsort(C.score[sup_now], kind="stable"), kind="stable")
                rank = (r + 0.5) / len(sup_now)
                C.funding_weight[sup_now] = (1 - ev.reallocation) + ev.reallocation * 2 * rank
            else:
                C.funding_weight[sup_now] = 1.0

    # -------------------------------------------------------------------------------- outputs
    def spending(self) -> pd.DataFrame:
        return self.treasury.table()


def build_policy(scenario: Scenario):
    """The public policy a scenario describes: :class:`PublicPolicy`, or ``NoPolicy`` when it has none."""
    if scenario.policy.active:
        return PublicPolicy(scenario)
    return NoPolicy()
