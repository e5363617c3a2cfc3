"""Typed records of what a quarter did and what the model counted: the quarter's diagnostics, the
cumulative counters of the dynamics and of the public policy.

Each is a dataclass, so type checkers and editors see every field and a misspelt name fails at once; it
also reads and writes like a mapping of its fields (``stats["joins"]``, ``dict(counters)``), for the code
that chooses a field by name (a leave's reason, a policy outcome) and for tables. A name that is not a
field raises ``KeyError``: nothing is read back with a silent default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Counters", "PolicyCounters", "QuarterStats", "Record"]


_NAMES: dict[type, tuple[str, ...]] = {}  # each record class's field names, computed once


class Record:
    """Mapping access to a dataclass's fields (the subclasses are dataclasses)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        names = _NAMES.get(cls)
        if names is None:
            names = _NAMES[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
        return names

    def _check(self, name: str) -> None:
        if name not in self.names():
            raise KeyError(f"{type(self).__name__} has no field {name!r} (fields: {', '.join(self.names())})")

    def __getitem__(self, name: str) -> Any:
        self._check(name)
        return getattr(self, name)

    def __setitem__(self, name: str, value: Any) -> None:
        self._check(name)
        setattr(self, name, value)

    def keys(self) -> tuple[str, ...]:
        return self.names()

    def values(self) -> list[Any]:
        return [getattr(self, n) for n in self.names()]

    def items(self) -> list[tuple[str, Any]]:
        return [(n, getattr(self, n)) for n in self.names()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self.names() else default


@dataclass
class QuarterStats(Record):
    """This quarter's diagnostics, cleared at the start of every quarter. The ones only indicators read are
    computed in observed quarters only (``ClusterModel.observing``); the others every quarter."""

    local_purchases: float = 0.0  # k€ bought from local suppliers (7.3)
    member_purchases_from_nonmembers: float = 0.0  # k€ members bought from non-member suppliers (7.3)
    coordination_spending: float = 0.0  # k€ the clusters' funds paid for facilitation (7.5)
    cooperation_rate: float = 0.0  # share of memberships contributing (7.6)
    moyens_gain: float = 0.0  # net gain of Moyens actions, k€ (7.9)
    pm_gain: float = 0.0  # net gain of joint products, k€ (7.10)
    club_gain: float = 0.0  # value of club learning net of time costs, k€ (7.11)
    actions_attempted: float = 0.0  # collective actions attempted (7.9-7.11)
    actions_success: float = 0.0  # of which reached critical mass
    knowledge_leaked: float = 0.0  # capability leaked to same-sector co-members (7.12)
    spillover_nonmembers: float = 0.0  # capability non-members gained along peer links (7.16)
    conglomerate_penalty: float = 0.0  # mean rivalry removed by market coordination (7.17)
    leaves: float = 0.0  # members that left (7.18)
    joins: float = 0.0  # firms that joined (7.19)
    matchmaking_services: float = 0.0  # proposals the intermediary helped (7.25.2)
    public_spending: float = 0.0  # k€ of public money spent (7.25.1)
    exchange_pairs: float = 0.0  # pairs of clusters in an exchange of experience (7.25.2)
    call_applications: float = 0.0  # applications to a call for projects (7.25.3)
    call_selected: float = 0.0  # of which selected


@dataclass
class Counters(Record):
    """Cumulative counts of the dynamics since the start."""

    investors: int = 0  # outside investors attracted
    startups: int = 0
    exits: int = 0
    clusters_formed: int = 0
    clusters_dissolved: int = 0
    clusters_renewed: int = 0  # clusters that left decline (7.21)
    joins: int = 0  # voluntary joins (founding members not counted)
    leave_negative_benefit: int = 0  # memberships ended, by reason (LEAVE_REASONS)
    leave_firm_exit: int = 0
    leave_dissolution: int = 0


@dataclass
class PolicyCounters(Record):
    """Cumulative counts of the public policy's actions since the start."""

    applications: int = 0
    eligible: int = 0
    selected: int = 0
    labelled: int = 0
    delabelled: int = 0
    support_ended: int = 0
    evaluations: int = 0
    identified_groups: int = 0
    assigned_memberships: int = 0
    matchmaking_services: int = 0
    validated: int = 0
