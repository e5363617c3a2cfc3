"""What public authorities plug into the model, and what of the model they may see.

:class:`Policy` is what the model calls (``policy.act(model, phase)`` at each of :data:`POLICY_PHASES`);
:class:`PolicyHost` is the whole of the model a policy may use: its state tables, the region-wide factors
the instruments set, its counters, and the firms' own decision rules that constitution modes call
(interest, proposals, founding a cluster). The policy package never imports the model module
(checked by an import-linter contract): :class:`~clustersim.model.model.ClusterModel` satisfies this
protocol structurally, and mypy checks that it does.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from clustersim.model.state import ClusterTable, FirmTable, MembershipTable
from clustersim.scenario.schema import Scenario

__all__ = ["POLICY_PHASES", "NoPolicy", "Policy", "PolicyHost"]

#: the points of a quarter at which the model calls ``policy.act(model, phase)``, in order
POLICY_PHASES = ("start", "before_actions", "after_actions", "end")

#: how a cluster the policy creates came into being: the ``mode`` of :meth:`PolicyHost.create_cluster`
#: (``ClusterTable.founded_mode``; 0 is bottom-up; names in ``clustersim.model.FOUNDED_MODES``)
MODE_IDENTIFICATION, MODE_CALL, MODE_DIRECTIVE = 1, 2, 3


class PolicyHost(Protocol):
    """The model as a policy sees it."""

    p: Scenario  # the validated scenario
    now: int  # the current quarter
    rng: np.random.Generator  # the model's generator (the only source of randomness)
    firms: FirmTable
    clusters: ClusterTable
    memberships: MembershipTable
    policy_counters: dict[str, float]  # cumulative counts the policy indicators read
    step_stats: dict[str, float]  # this quarter's diagnostics
    ledger: dict[str, float]  # the region's money flows (k€)
    club_gain: np.ndarray  # this quarter's capability gains from club learning (firm × capability)
    # region-wide effects of instruments (1 and 0: no effect)
    noise_factor: float
    contribution_factor: float
    trust_loss_factor: float
    matchmaking_left: int
    matchmaking_extra: int
    matchmaking_noise: float

    @property
    def alive_rows(self) -> np.ndarray: ...

    def adjacency(self) -> tuple[np.ndarray, np.ndarray]: ...

    def awareness(self, rows: np.ndarray) -> np.ndarray: ...

    def interest(self, rows: np.ndarray, orient: np.ndarray, domain0: np.ndarray, vision: np.ndarray
                 ) -> np.ndarray: ...

    def draw_purposes(self, k: int) -> np.ndarray: ...

    def assemble(self, i: int, purpose: int, used: set[int], min_size: int, max_size: int
                 ) -> tuple[np.ndarray, np.ndarray] | None: ...

    def consider(self, i: int, purpose: int, cand: np.ndarray, noise: float, min_size: int, max_size: int
                 ) -> tuple[np.ndarray, np.ndarray] | None: ...

    def create_cluster(self, initiator: int, founders: np.ndarray, scores: np.ndarray, purpose: int,
                       mode: int = ..., locked_until: int = ...) -> int: ...


class Policy(Protocol):
    """What public authorities plug into the model (filled in by the public-policy scenarios)."""

    def act(self, model: PolicyHost, phase: str) -> None: ...


class NoPolicy:
    """No public support: purely bottom-up dynamics."""

    def act(self, model: PolicyHost, phase: str) -> None:  # noqa: D102
        return None
