"""The model's state as tidy tables (pandas): clusters, the firm network, the public spending ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clustersim.model.model import FOUNDED_MODES
from clustersim.scenario.schema import FUNDER_NAMES

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel

__all__ = ["cluster_table", "network_snapshot", "spending_table"]


def cluster_table(model: ClusterModel) -> pd.DataFrame:
    C = model.clusters
    n = C.n
    return pd.DataFrame({
        "cluster": np.arange(n),
        "born": C.born[:n],
        "died": C.died[:n],
        "alive": C.alive[:n],
        "lifetime": np.where(C.alive[:n], model.now - C.born[:n], C.died[:n] - C.born[:n]),
        "size": C.size[:n],
        "peak_size": C.peak_size[:n],
        "joins": C.joins[:n],
        "leaves": C.leaves[:n],
        "n_sectors": C.n_sectors[:n],
        "moyens": C.orient[:n, 0],
        "products_markets": C.orient[:n, 1],
        "club": C.orient[:n, 2],
        "trust": C.trust[:n],
        "alignment": C.alignment[:n],
        "founded_mode": C.founded_mode[:n],
        "founded_by": np.asarray(FOUNDED_MODES, dtype=object)[C.founded_mode[:n]],
        "supported": C.supported[:n],
        "labelled_at": C.labelled_at[:n],
        "support_ended": C.support_ended[:n],
        "validated": C.validated[:n],
        "facilitator_quality": C.facilitator_quality[:n],
        "last_score": C.score[:n],
    })


def network_snapshot(model: ClusterModel) -> dict[str, pd.DataFrame]:
    """Firms (nodes) with their first cluster, and both link layers (edges), at the model's current step."""
    F, mem = model.firms, model.memberships
    rows = model.alive_rows
    first = np.full(F.n, -1, dtype=np.int64)
    if len(mem):
        order = np.lexsort((mem.cluster, mem.firm))[::-1]  # the smallest cluster row wins
        first[mem.firm[order]] = mem.cluster[order]
    nodes = pd.DataFrame({"firm": rows, "sector": F.sector[rows], "chain": F.chain[rows], "size": F.size[rows],
                          "cluster": first[rows], "n_memberships": F.n_memberships[rows],
                          "outside": F.outside[rows]})
    edges = [pd.DataFrame({"src": store.src, "dst": store.dst, "type": kind, "intensity": store.value})
             for kind, store in (("vertical", model.vertical), ("horizontal", model.horizontal))]
    return {"nodes": nodes, "edges": pd.concat(edges, ignore_index=True)}


def spending_table(model: ClusterModel) -> pd.DataFrame:
    """The run's public spending ledger: one row per (step, funder, instrument, cluster) payment (k€);
    cluster −1 marks region-wide spending. Empty without public policy."""
    treasury = getattr(model.policy, "treasury", None)
    if treasury is None:
        from clustersim.model.policy.treasury import Treasury

        treasury = Treasury(np.zeros(len(FUNDER_NAMES)), np.zeros(len(FUNDER_NAMES), bool), "matched")
    return treasury.table()
