"""The public authority's common ground: its funders' treasury, the co-funding shares of every spending item,
its registered instruments, and support itself -- labelling, phase-out, open labelling (docs/ODD.md 7.25.4).

:class:`Authority` is the base of :class:`~.public.PublicPolicy`; instruments, constitution modes and the
evaluation pay through :meth:`Authority.pay` and label clusters through :meth:`Authority.label`.
"""

from __future__ import annotations

import numpy as np

from clustersim.model.policy.base import PolicyHost
from clustersim.model.policy.instruments import INSTRUMENTS, SPENDING_ITEMS, Instrument
from clustersim.model.policy.treasury import Treasury, funder_shares
from clustersim.scenario.schema import FUNDER_NAMES, Scenario

__all__ = ["Authority"]


class Authority:
    """The public authorities of a scenario's ``policy`` section: funders, instruments and support."""

    def __init__(self, scenario: Scenario) -> None:
        self.cfg = scenario.policy
        f = self.cfg.funders
        self.treasury = Treasury(np.array([getattr(f, n).budget_per_year for n in FUNDER_NAMES]),
                                 np.array([getattr(f, n).carry_over for n in FUNDER_NAMES]), self.cfg.cofunding_rule)
        ins = self.cfg.instruments
        self.shares = {name: funder_shares(getattr(ins, name).funding) for name in INSTRUMENTS}
        con = self.cfg.constitution
        self.shares["identification"] = funder_shares(con.identification.funding)
        self.shares["calls"] = funder_shares(con.calls.funding)
        self.shares["directive"] = funder_shares(con.directive.funding)
        self.item = {name: i for i, name in enumerate(SPENDING_ITEMS)}
        self.identified = np.zeros(0, dtype=np.int64)  # firms identified by the last analysis
        #: the registered instruments, one instance each for this policy
        self.instruments: dict[str, Instrument] = {name: cls(self) for name, cls in INSTRUMENTS.items()}

    def pay(self, m: PolicyHost, name: str, clusters, amounts, whole: bool = False,
            prorata: bool = False) -> np.ndarray:
        """Pay ``amounts`` for spending item ``name`` (per cluster of ``clusters``, -1: region-wide) from the
        treasury, by the item's co-funding shares; what each request received (:meth:`.Treasury.pay`)."""
        return self.treasury.pay(m.now, self.item[name], self.shares[name], np.atleast_1d(clusters),
                                 np.atleast_1d(np.asarray(amounts, dtype=np.float64)), whole=whole,
                                 prorata=prorata)

    # -------------------------------------------------------------------------------- support (7.25.4)
    def supported(self, m: PolicyHost) -> np.ndarray:
        """The live clusters supported now."""
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
        """Support ends for clusters ``rows``; ``counter`` (a policy counter) counts them."""
        C = m.clusters
        rows = np.asarray(rows, dtype=np.int64)
        C.supported[rows] = False
        C.support_ended[rows] = m.now
        C.cofund_rate[rows] = 0.0
        C.pooled_relief[rows] = 0.0
        C.learning_boost[rows] = 0.0
        m.policy_counters[counter] += len(rows)

    def end_support(self, m: PolicyHost) -> None:
        """Support stops for clusters that dissolved, and ends for those past the planned phase-out."""
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

    def open_labelling(self, m: PolicyHost) -> None:
        """With ``open_labelling``, every live cluster never labelled and large enough is labelled."""
        C, sp = m.clusters, self.cfg.support
        if sp.open_labelling:
            cand = np.flatnonzero(C.alive[: C.n] & ~C.supported[: C.n] & (C.labelled_at[: C.n] < 0)
                                  & (C.size[: C.n] >= sp.label_min_size))
            self.label(m, cand)
