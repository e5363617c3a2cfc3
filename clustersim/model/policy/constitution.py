"""Constitution modes (docs/ODD.md 7.25.3): top-down identification, calls for projects, and the directive
counterfactual, run in the policy's ``end`` phase when due.

Identification and calls go through the firms' own decision rules (the model's ``consider`` and ``assemble``):
no firm is put into a cluster it did not accept. Only the explicitly labelled ``directive_counterfactual`` mode
assigns firms to clusters, so that researchers can test the source document's claim that directive policy
fails.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np

from clustersim.model.policy.base import PolicyHost
from clustersim.model.policy.instruments import Awareness
from clustersim.model.policy.support import Authority
from clustersim.model.policy.treasury import YEAR
from clustersim.model.state import MODE_CALL, MODE_DIRECTIVE, MODE_IDENTIFICATION
from clustersim.scenario.schema import FUNDER_NAMES, Calls, Scenario

__all__ = ["ConstitutionModes", "Proposal", "due"]


def due(now: int, start: int, period: int, done: int, limit: int) -> bool:
    """Whether an analysis, call or assignment is due: from ``start`` every ``period`` quarters, while fewer
    than ``limit`` (0: no limit) were run."""
    return now >= start and (now - start) % period == 0 and (limit == 0 or done < limit)


class Proposal(NamedTuple):
    """An application to a call: a new consortium, or an existing cluster that was never supported."""

    kind: str  # "new" or "existing"
    who: int  # the initiator of a new consortium, or the existing cluster's row
    members: np.ndarray  # the initiator's partners, or the cluster's members
    scores: np.ndarray | None  # the partners' interest in each orientation (a new consortium)
    purpose: int
    match: float  # the members' mean interest in the purpose
    n_sectors: int  # distinct sectors among the members

    @property
    def size(self) -> int:
        return len(self.members) + (1 if self.kind == "new" else 0)


class ConstitutionModes(Authority):
    """The constitution modes of the public authorities (a base of :class:`~.public.PublicPolicy`)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.n_identifications = 0
        self.n_calls = 0
        self.n_assignments = 0

    def constitute(self, m: PolicyHost) -> None:
        """Identification, a call or an assignment, each when due in the scenario's mode (none once support
        has ended for good)."""
        con, sp = self.cfg.constitution, self.cfg.support
        mode = con.mode
        if sp.end_step and m.now > sp.end_step:
            mode = "none"  # once support has ended for good, no more calls, identification or assignment
        if mode in ("identification", "both"):
            idc = con.identification
            if due(m.now, idc.start_step, idc.period, self.n_identifications, idc.n_analyses):
                self.identification(m)
        if mode in ("calls", "both"):
            cc = con.calls
            if due(m.now, cc.start_step, cc.period, self.n_calls, cc.n_calls):
                self.call(m)
        if mode == "directive_counterfactual":
            dc = con.directive
            if due(m.now, dc.start_step, dc.period, self.n_assignments, dc.n_assignments):
                self.assign(m)

    # -------------------------------------------------------------------------------- analysis of the fabric
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

    # -------------------------------------------------------------------------------- identification
    def identification(self, m: PolicyHost) -> None:
        """Top-down identification: analyse the fabric, campaign at the identified firms, seeds propose."""
        idc = self.cfg.constitution.identification
        if idc.cost_per_analysis > 0 and not self.pay(m, "identification", -1, idc.cost_per_analysis,
                                                       whole=True)[0]:
            return  # not paid: no analysis (it is tried again at the next due quarter)
        self.n_identifications += 1
        groups = self.identify_groups(m, idc.n_targets, idc.group_size)
        m.policy_counters["identified_groups"] += len(groups)
        self.identified = np.unique(np.concatenate([[s, *g] for s, _, g in groups])).astype(np.int64) \
            if groups else np.zeros(0, dtype=np.int64)
        # the campaign runs at the end of the quarter: its boost counts from the next one
        awareness = cast(Awareness, self.instruments["awareness"])
        reached = (awareness.campaign(m, self.identified, first_quarter=m.now + 1) if awareness.on(m.now)
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

    # -------------------------------------------------------------------------------- calls for projects
    def call(self, m: PolicyHost) -> None:
        """A call for projects: proposals, review, eligibility, ranking, selection under budget."""
        cc = self.cfg.constitution.calls
        self.n_calls += 1
        proposals = self.new_consortia(m, cc) + self.existing_applicants(m, cc)
        n_app = len(proposals)
        m.policy_counters["applications"] += n_app
        if not n_app:
                return
        rank = self.ranking(m, cc, proposals)
        selected = rank[: self.selection_limit(m, cc)]
        for k in selected.tolist():
            p = proposals[k]
            row = m.create_cluster(p.who, p.members, p.scores, p.purpose, mode=MODE_CALL) if p.kind == "new" \
                else p.who
            self.label(m, np.array([row]))
        m.policy_counters["selected"] += len(selected)
        m.step_stats["call_applications"] = float(n_app)
        m.step_stats["call_selected"] = float(len(selected))

    def new_consortia(self, m: PolicyHost, cc: Calls) -> list[Proposal]:
        """Proposals of new consortia: initiators assemble partners (with the intermediary's help if any); a
        firm takes part in one proposal per call."""
        F, pc = m.firms, m.p.clusters
        rows = m.alive_rows
        can = rows[(F.n_memberships[rows] < m.p.firms.max_memberships) & (F.capital[rows] > 0)]
        init = can[m.rng.random(len(can)) < cc.application_probability * F.coop[can] * m.awareness(can)]
        init = m.rng.permutation(init)
        purposes = m.draw_purposes(len(init))
        used: set[int] = set()
        proposals: list[Proposal] = []
        for i, purpose in zip(init.tolist(), purposes.tolist(), strict=True):
            if i in used:
                continue
            found = m.assemble(i, purpose, used, 2, min(cc.max_members, pc.max_size))
            if found is None:
                continue
            founders, sc = found
            members = np.concatenate([[i], founders])
            used.update(members.tolist())
            proposals.append(Proposal("new", i, founders, sc, purpose, float(sc[:, purpose].mean()),
                                      len(np.unique(F.sector[members]))))
        return proposals

    def existing_applicants(self, m: PolicyHost, cc: Calls) -> list[Proposal]:
        """Applications of existing clusters that were never supported, each with ``existing_may_apply``."""
        C, mem = m.clusters, m.memberships
        existing = np.flatnonzero(C.alive[: C.n] & ~C.supported[: C.n] & (C.labelled_at[: C.n] < 0))
        existing = existing[m.rng.random(len(existing)) < cc.existing_may_apply]
        proposals: list[Proposal] = []
        for c in existing.tolist():
            members = mem.firm[mem.cluster == c]
            purpose = int(np.argmax(C.orient[c]))
            fit = m.interest(members, np.ones(3), np.full(len(members), C.domain[c, 0]), C.vision[c])[:, purpose]
            proposals.append(Proposal("existing", c, members, None, purpose, float(fit.mean()) if len(fit) else 0.0,
                                      int(C.n_sectors[c])))
        return proposals

    def ranking(self, m: PolicyHost, cc: Calls, proposals: list[Proposal]) -> np.ndarray:
        """The eligible applications, best first. Each review is paid (an unpaid one is not eligible); size,
        match and sectors must meet the call's rules; ranking by match, then size, then a random draw
        (INFSO-SKIN)."""
        n_app = len(proposals)
        reviewed = self.pay(m, "calls", np.full(n_app, -1), np.full(n_app, cc.cost_per_application), whole=True)
        ok = (reviewed > 0) | (cc.cost_per_application == 0)
        sizes = np.array([p.size for p in proposals])
        match = np.array([p.match for p in proposals])
        sectors = np.array([p.n_sectors for p in proposals])
        eligible = ok & (sizes >= cc.min_members) & (sizes <= cc.max_members) & (match >= cc.min_match) \
            & (sectors >= cc.min_sectors)
        m.policy_counters["eligible"] += int(eligible.sum())
        tie = m.rng.random(n_app)
        rank = np.lexsort((tie, -sizes, -match))
        return rank[eligible[rank]]

    def selection_limit(self, m: PolicyHost, cc: Calls) -> int:
        """How many projects a call selects: at most ``max_selected``, as many as ``max_supported`` leaves room
        for, and (a planning rule on yearly budgets) as many as keep every funder's share of the most costly
        quarter of all supported clusters, the new ones included, within a quarter of its yearly budget."""
        per_funder = self._per_project_quarterly()
        limit = cc.max_selected
        pays = per_funder > 0
        if pays.any():
            n_sup = len(self.supported(m))
            room = (self.treasury.budgets[pays] / YEAR - per_funder[pays] * n_sup) / per_funder[pays]
            limit = min(limit, int(max(0.0, float(np.floor(room.min() + 1e-9)))))
        return min(limit, max(0, self.cfg.support.max_supported - len(self.supported(m))))

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

    # -------------------------------------------------------------------------------- directive counterfactual
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
            if dc.cost_per_cluster > 0 and not self.pay(m, "directive", -1, dc.cost_per_cluster, whole=True)[0]:
                break
            F = m.firms
            scores = m.interest(group, np.ones(3), np.full(len(group), F.need[seed]), F.cap[seed])
            row = m.create_cluster(seed, group, scores, purpose, mode=MODE_DIRECTIVE, locked_until=m.now + dc.lock_in)
            m.policy_counters["assigned_memberships"] += len(group) + 1
            self.label(m, np.array([row]))
