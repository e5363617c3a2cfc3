"""Column stores of the model's state: firms, clusters and memberships as numpy arrays.

The Mesa agents (:class:`clustersim.agents.Firm`, :class:`clustersim.agents.Cluster`) are thin views on a
row of these tables. Keeping state in columns lets every mechanism be written once, as a function of
arrays, and applied to all firms of a step at once — each firm still applies its own rule to its own
state and information.
"""

from __future__ import annotations

import numpy as np

from clustersim.network import isin_sorted

__all__ = ["Table", "FirmTable", "ClusterTable", "MembershipTable"]


class Table:
    """A growable struct of arrays. Subclasses declare ``COLUMNS = {name: (dtype, trailing_shape)}``."""

    COLUMNS: dict[str, tuple[type, tuple[int, ...]]] = {}

    def __init__(self, capacity: int, **shapes: int) -> None:
        self.n = 0  # rows used (live or dead)
        self._shapes = shapes
        for name, (dtype, trailing) in self.COLUMNS.items():
            shape = (capacity, *(shapes[t] if isinstance(t, str) else t for t in trailing))
            setattr(self, name, np.zeros(shape, dtype=dtype))

    @property
    def capacity(self) -> int:
        return len(getattr(self, next(iter(self.COLUMNS))))

    def add_rows(self, k: int) -> np.ndarray:
        """Reserve ``k`` new rows (zero-filled) and return their indices."""
        need = self.n + k
        if need > self.capacity:
            new_cap = max(need, 2 * self.capacity)
            for name in self.COLUMNS:
                arr = getattr(self, name)
                grown = np.zeros((new_cap, *arr.shape[1:]), dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                setattr(self, name, grown)
        rows = np.arange(self.n, need)
        self.n = need
        return rows


class FirmTable(Table):
    """One row per firm ever created (dead firms keep their row with ``alive`` False)."""

    COLUMNS = {
        "alive": (bool, ()),
        "sector": (np.int64, ()),
        "chain": (np.int64, ()),
        "need": (np.int64, ()),  # Moyens domain of the firm's main common need
        "cap": (np.float64, ("K",)),  # capability profile in [0, 1]^K
        "capidx": (np.float64, ()),  # capability index = mean of cap (cached each step)
        "prod": (np.float64, ()),  # absolute productivity (frontier-relative = prod / frontier)
        "size": (np.float64, ()),  # employees
        "capital": (np.float64, ()),  # k€
        "coop": (np.float64, ()),  # cooperativeness in [0, 1]
        "outside": (bool, ()),  # owned by an outside investor
        "new_activity": (bool, ()),
        "neg_streak": (np.int64, ()),
        "born": (np.int64, ()),
        "died": (np.int64, ()),
        "cohort0": (bool, ()),  # present at the start
        "n_memberships": (np.int64, ()),
        # last quarter's accounts (k€/quarter)
        "revenue": (np.float64, ()),
        "export_revenue": (np.float64, ()),
        "local_sales": (np.float64, ()),
        "inputs": (np.float64, ()),
        "value_added": (np.float64, ()),
        "profit": (np.float64, ()),
        "cluster_net": (np.float64, ()),  # net realised benefit of all memberships
        "rivalry": (np.float64, ()),
        # public policy (see clustersim/policy.py)
        "aware_boost": (np.float64, ()),  # awareness campaign: chances of hearing/proposing × (1 + boost)
        "aware_until": (np.int64, ()),  # last quarter the boost lasts
    }


class ClusterTable(Table):
    """One row per cluster ever formed (dissolved clusters keep their row)."""

    COLUMNS = {
        "alive": (bool, ()),
        "born": (np.int64, ()),
        "died": (np.int64, ()),
        "size": (np.int64, ()),  # members now (kept incrementally; checked against memberships)
        "peak_size": (np.int64, ()),
        "orient": (np.float64, (3,)),  # intensity of Moyens, Produits/Marchés, Club de travail in [0, 1]
        "domain": (np.int64, (3,)),  # domain of each orientation's collective action
        "vision": (np.float64, ("K",)),  # common development vision (a target capability profile)
        "fund": (np.float64, ()),  # coordination fund, k€
        "coordination": (np.float64, ()),  # coordination capacity in [0, 1] last quarter
        "facilitator_quality": (np.float64, ()),  # multiplier of coordination reach (policy hook)
        "coordination_ceiling": (np.float64, ()),  # most coordination spending, × the basic need (1; more if funded)
        "reputation": (np.float64, ()),  # public signal: EWMA of gross collective benefit per member
        "trend": (np.float64, ()),  # EWMA of relative membership change per quarter
        "alignment": (np.float64, ()),  # mean member alignment with the vision
        "trust": (np.float64, ()),  # mean member trust in co-members
        "stage": (np.int64, ()),
        "low_streak": (np.int64, ()),
        "joins": (np.int64, ()),
        "leaves": (np.int64, ()),
        "n_sectors": (np.int64, ()),
        "founded_mode": (np.int64, ()),  # 0 bottom-up, 1 identification, 2 call, 3 directive (counterfactual)
        # public policy (see clustersim/policy.py)
        "supported": (bool, ()),  # labelled and receiving public support now
        "labelled_at": (np.int64, ()),  # quarter of the (last) labelling, -1 never labelled
        "support_ended": (np.int64, ()),  # quarter its support ended, -1 if it never ended
        "validated": (bool, ()),  # its project was formalised and validated
        "clarity": (np.float64, ()),  # share of joiners' information noise removed (validation)
        "cofund_rate": (np.float64, ()),  # share of pooled costs and contributions co-funded this quarter
        "cofund_allowance": (np.float64, ()),  # most co-funding available this quarter, k€
        "cofund_paid": (np.float64, ()),  # co-funding paid this quarter, k€
        "pooled_relief": (np.float64, ()),  # share of Moyens pooled fixed cost borne by support structures
        "learning_boost": (np.float64, ()),  # club learning × (1 + this)
        "funding_weight": (np.float64, ()),  # facilitation money relative to an equal split (evaluation)
        "last_training": (np.int64, ()),  # quarter of its facilitators' last training, -1 never
        "score": (np.float64, ()),  # last evaluation score (NaN never evaluated)
    }


def _extended(column: np.ndarray, k: int, values) -> np.ndarray:
    """A new array: ``column`` followed by ``k`` entries set to ``values`` (an array or one value), cast to the
    column's dtype (as concatenating ``values.astype(dtype)`` or ``np.full(k, value, dtype)`` would)."""
    n = len(column)
    out = np.empty(n + k, dtype=column.dtype)
    out[:n] = column
    out[n:] = values
    return out


class MembershipTable:
    """The flat list of (firm, cluster) memberships, compacted when members leave."""

    FIELDS = ("firm", "cluster", "joined", "memory", "trust", "locked_until")

    def __init__(self) -> None:
        self.firm = np.zeros(0, dtype=np.int64)
        self.cluster = np.zeros(0, dtype=np.int64)
        self.joined = np.zeros(0, dtype=np.int64)
        self.memory = np.zeros(0, dtype=np.float64)  # remembered net benefit (EWMA), k€/quarter
        self.trust = np.zeros(0, dtype=np.float64)  # trust in co-members (EWMA of pairwise trust)
        self.locked_until = np.zeros(0, dtype=np.int64)  # directive counterfactual: no leaving before this

    def __len__(self) -> int:
        return len(self.firm)

    def add(self, firms: np.ndarray, clusters: np.ndarray, now: int, memory: np.ndarray,
            trust: float, locked_until: int = -1) -> None:
        k = len(firms)
        self.firm = _extended(self.firm, k, firms)
        self.cluster = _extended(self.cluster, k, clusters)
        self.joined = _extended(self.joined, k, now)
        self.memory = _extended(self.memory, k, memory)
        self.trust = _extended(self.trust, k, trust)
        self.locked_until = _extended(self.locked_until, k, locked_until)

    def keep(self, mask: np.ndarray) -> None:
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name)[mask])

    def contains(self, firms: np.ndarray, clusters: np.ndarray) -> np.ndarray:
        """Whether each (firms[k], clusters[k]) pair is a membership."""
        if len(self.firm) == 0 or len(firms) == 0:
            return np.zeros(len(firms), dtype=bool)
        have = np.sort(self.firm * (1 << 32) + self.cluster)
        want = firms.astype(np.int64) * (1 << 32) + clusters.astype(np.int64)
        return isin_sorted(want, have)
