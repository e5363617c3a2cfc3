"""Mesa agents: firms and clusters, as views on their row of the model's column stores.

A :class:`Firm` is a Mesa agent whose state lives in ``model.firms`` (a :class:`~clustersim.model.state.FirmTable`)
at row ``firm.row``; a :class:`Cluster` likewise in ``model.clusters``. The model applies each firm's own
decision rules to all firms of a quarter at once (see :mod:`clustersim.model`); these classes give the
per-agent view that notebooks and tests use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel

__all__ = ["Firm", "Cluster", "LIFE_CYCLE_STAGES"]

LIFE_CYCLE_STAGES = ("emergence", "growth", "maturity", "decline", "dissolved")


class Firm(mesa.Agent):
    """An autonomous firm of the region."""

    model: ClusterModel

    def __init__(self, model: ClusterModel, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    def _col(self, name: str):
        return getattr(self.model.firms, name)[self.row]

    @property
    def alive(self) -> bool:
        return bool(self._col("alive"))

    @property
    def sector(self) -> int:
        return int(self._col("sector"))

    @property
    def chain_position(self) -> int:
        return int(self._col("chain"))

    @property
    def capabilities(self) -> np.ndarray:
        return self._col("cap").copy()

    @property
    def productivity(self) -> float:
        """Productivity relative to the external frontier."""
        return float(self._col("prod") / self.model.frontier)

    @property
    def size(self) -> float:
        return float(self._col("size"))

    @property
    def capital(self) -> float:
        return float(self._col("capital"))

    @property
    def cooperativeness(self) -> float:
        return float(self._col("coop"))

    @property
    def outside_investor(self) -> bool:
        return bool(self._col("outside"))

    @property
    def profit(self) -> float:
        return float(self._col("profit"))

    @property
    def cluster_ids(self) -> list[int]:
        """Rows of the clusters this firm belongs to (from the membership table)."""
        mem = self.model.memberships
        return sorted(mem.cluster[mem.firm == self.row].tolist())

    def expected_benefit(self, cluster_row: int, noise: bool = False) -> float:
        """This firm's estimate of the net benefit (k€/quarter) of joining a cluster (its own decision rule)."""
        return float(self.model.expected_benefit(np.array([self.row]), np.array([cluster_row]), noise=noise)[0])


class Cluster(mesa.Agent):
    """A cluster: members, orientation mix, common vision, coordination, trust, age and life-cycle stage."""

    model: ClusterModel

    def __init__(self, model: ClusterModel, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    def _col(self, name: str):
        return getattr(self.model.clusters, name)[self.row]

    @property
    def members(self) -> list[int]:
        """Firm rows of the members (from the membership table)."""
        mem = self.model.memberships
        return sorted(mem.firm[mem.cluster == self.row].tolist())

    @property
    def size(self) -> int:
        return int(self._col("size"))

    @property
    def orientation(self) -> dict[str, float]:
        w = self._col("orient")
        return {"moyens": float(w[0]), "products_markets": float(w[1]), "club": float(w[2])}

    @property
    def age(self) -> int:
        return int(self.model.now - self._col("born"))

    @property
    def stage(self) -> str:
        return LIFE_CYCLE_STAGES[int(self._col("stage"))]

    @property
    def trust(self) -> float:
        return float(self._col("trust"))

    @property
    def alignment(self) -> float:
        return float(self._col("alignment"))

    @property
    def vision(self) -> np.ndarray:
        return self._col("vision").copy()
