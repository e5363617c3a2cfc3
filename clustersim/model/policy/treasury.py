"""The funders' treasury: yearly budgets, co-funding shares, payments and the spending ledger (docs/ODD.md 7.25.1).

A payment is split among co-funders by the item's shares, never exceeds what a funder has left of its yearly
budget, and is recorded as (quarter, funder, item, cluster, amount). The items are the registered instruments
and the constitution modes' own costs (:data:`~clustersim.model.policy.instruments.SPENDING_ITEMS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clustersim.model.policy.instruments import INSTRUMENTS, SPENDING_ITEMS
from clustersim.scenario.schema import FUNDER_NAMES, Shares

__all__ = ["YEAR", "Treasury", "funder_shares"]

#: quarters in a budget year
YEAR = 4


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
            self.remaining = np.maximum(self.remaining - parts.sum(axis=0), 0.0)  # never below 0 by rounding
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
            self.remaining = np.maximum(self.remaining - part, 0.0)  # never below 0 by rounding
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


def funder_shares(s: Shares) -> np.ndarray:
    """Co-funding shares by funder, normalised to sum exactly to 1 (the validator accepts sums within 1e-9)."""
    v = np.array([getattr(s, name) for name in FUNDER_NAMES], dtype=np.float64)
    total = v.sum()
    return v / total if total > 0 else v
