"""Column stores of the model's state: firms, clusters and memberships as numpy arrays.

The Mesa agents (:class:`clustersim.model.agents.Firm`, :class:`clustersim.model.agents.Cluster`) are thin views on a
row of these tables. Keeping state in columns lets every mechanism be written once, as a function of
arrays, and applied to all firms of a step at once — each firm still applies its own rule to its own
state and information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from clustersim.util.arrays import PAIR_SHIFT, isin_sorted

__all__ = [
    "FOUNDED_MODES",
    "LEAVE_REASONS",
    "MODE_BOTTOM_UP",
    "MODE_CALL",
    "MODE_DIRECTIVE",
    "MODE_DRAWN",
    "MODE_IDENTIFICATION",
    "NEVER",
    "formed_in_observation",
    "POLICY_MODES",
    "STAGE_DECLINE",
    "STAGE_DISSOLVED",
    "STAGE_EMERGENCE",
    "STAGE_GROWTH",
    "STAGE_MATURITY",
    "Col",
    "col",
    "Table",
    "FirmTable",
    "ClusterTable",
    "MembershipTable",
]


#: why a membership ended (the ``leaves_<reason>`` indicators)
LEAVE_REASONS = ("negative_benefit", "firm_exit", "dissolution")
#: life-cycle stages (``ClusterTable.stage``; names in :data:`clustersim.model.agents.LIFE_CYCLE_STAGES`)
STAGE_EMERGENCE, STAGE_GROWTH, STAGE_MATURITY, STAGE_DECLINE, STAGE_DISSOLVED = range(5)
#: how a cluster came into being (``ClusterTable.founded_mode``)
FOUNDED_MODES = ("bottom_up", "identification", "call", "directive", "drawn")
MODE_BOTTOM_UP, MODE_IDENTIFICATION, MODE_CALL, MODE_DIRECTIVE, MODE_DRAWN = range(5)
#: a quarter before any other (a lock that never held): quarters are negative during the warm-up, so -1 is not
#: "never"
NEVER = -(2**62)
def formed_in_observation(born: np.ndarray) -> np.ndarray:
    """The clusters formed during observation (quarter >= 1), not in the warm-up: the population whose survival
    and lifetimes a run's statistics describe (those from the warm-up are selected for having survived it, and
    are the same whatever the policy to come)."""
    return born > 0


#: the modes of clusters a public policy brought into being
POLICY_MODES = (MODE_IDENTIFICATION, MODE_CALL, MODE_DIRECTIVE)


@dataclass(frozen=True)
class Col:
    """A column's element type and trailing shape (a string names a size given to the table, e.g. ``"K"``)."""

    dtype: type
    shape: tuple[int | str, ...] = ()


def col(dtype: type, *shape: int | str) -> Any:
    """Declare a column of a :class:`Table`: ``name: np.ndarray = col(dtype, *trailing_shape)``."""
    return Col(dtype, shape)


class Table:
    """A growable struct of arrays. Subclasses declare each column as a typed attribute,
    ``name: np.ndarray = col(dtype, *trailing_shape)``, so that type checkers and editors see it; the
    declarations become :attr:`COLUMNS` and each instance holds its own arrays."""

    COLUMNS: ClassVar[dict[str, Col]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.COLUMNS = {**cls.COLUMNS, **{k: v for k, v in vars(cls).items() if isinstance(v, Col)}}
        for name in cls.COLUMNS:
            if name in vars(cls):
                delattr(cls, name)  # instances set their own arrays

    def __init__(self, capacity: int, **shapes: int) -> None:
        self.n = 0  # rows used (live or dead)
        self._shapes = shapes
        for name, col in self.COLUMNS.items():
            shape = (capacity, *(shapes[t] if isinstance(t, str) else t for t in col.shape))
            setattr(self, name, np.zeros(shape, dtype=col.dtype))

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

    alive: np.ndarray = col(bool)
    sector: np.ndarray = col(np.int64)
    chain: np.ndarray = col(np.int64)
    need: np.ndarray = col(np.int64)  # Moyens domain of the firm's main common need
    cap: np.ndarray = col(np.float64, "K")  # capability profile in [0, 1]^K
    capidx: np.ndarray = col(np.float64)  # capability index = mean of cap (cached each step)
    prod: np.ndarray = col(np.float64)  # absolute productivity (frontier-relative = prod / frontier)
    size: np.ndarray = col(np.float64)  # employees
    capital: np.ndarray = col(np.float64)  # k€
    coop: np.ndarray = col(np.float64)  # cooperativeness in [0, 1]
    outside: np.ndarray = col(bool)  # owned by an outside investor
    new_activity: np.ndarray = col(bool)
    neg_streak: np.ndarray = col(np.int64)
    born: np.ndarray = col(np.int64)
    died: np.ndarray = col(np.int64)
    cohort0: np.ndarray = col(bool)  # present at the start
    n_memberships: np.ndarray = col(np.int64)
    participation: np.ndarray = col(np.int64)  # members a cluster must have before this firm joins it (7.19)
    # last quarter's accounts (k€/quarter)
    revenue: np.ndarray = col(np.float64)
    export_revenue: np.ndarray = col(np.float64)
    local_sales: np.ndarray = col(np.float64)
    inputs: np.ndarray = col(np.float64)
    value_added: np.ndarray = col(np.float64)
    profit: np.ndarray = col(np.float64)
    cluster_net: np.ndarray = col(np.float64)  # net realised benefit of all memberships
    rivalry: np.ndarray = col(np.float64)
    # public policy (see clustersim/model/policy/)
    aware_boost: np.ndarray = col(np.float64)  # awareness campaign: chances of hearing/proposing × (1 + boost)
    aware_until: np.ndarray = col(np.int64)  # last quarter the boost lasts


class ClusterTable(Table):
    """One row per cluster ever formed (dissolved clusters keep their row)."""

    alive: np.ndarray = col(bool)
    born: np.ndarray = col(np.int64)
    died: np.ndarray = col(np.int64)
    size: np.ndarray = col(np.int64)  # members now (kept incrementally; checked against memberships)
    contributors: np.ndarray = col(np.int64)  # members who contributed last quarter (7.6)
    peak_size: np.ndarray = col(np.int64)
    orient: np.ndarray = col(np.float64, 3)  # intensity of Moyens, Produits/Marchés, Club de travail in [0, 1]
    domain: np.ndarray = col(np.int64, 3)  # domain of each orientation's collective action
    vision: np.ndarray = col(np.float64, "K")  # common development vision (a target capability profile)
    fund: np.ndarray = col(np.float64)  # coordination fund, k€
    coordination: np.ndarray = col(np.float64)  # coordination capacity in [0, 1] last quarter
    facilitator_quality: np.ndarray = col(np.float64)  # multiplier of coordination reach (policy hook)
    coordination_ceiling: np.ndarray = col(np.float64)  # most coordination spending × basic need
    reputation: np.ndarray = col(np.float64)  # public signal: EWMA of gross collective benefit per member
    trend: np.ndarray = col(np.float64)  # EWMA of relative membership change per quarter
    alignment: np.ndarray = col(np.float64)  # mean member alignment with the vision
    trust: np.ndarray = col(np.float64)  # mean member trust in co-members
    stage: np.ndarray = col(np.int64)
    low_streak: np.ndarray = col(np.int64)
    joins: np.ndarray = col(np.int64)
    leaves: np.ndarray = col(np.int64)
    n_sectors: np.ndarray = col(np.int64)
    diversity: np.ndarray = col(np.float64)  # members' knowledge diversity (7.21)
    orient_payoff: np.ndarray = col(np.float64, 3)  # EWMA of each orientation's net benefit per member (7.21)
    founded_mode: np.ndarray = col(np.int64)  # 0 bottom-up, 1 identification, 2 call, 3 directive (counterfactual)
    # public policy (see clustersim/model/policy/)
    supported: np.ndarray = col(bool)  # labelled and receiving public support now
    labelled_at: np.ndarray = col(np.int64)  # quarter of the (last) labelling, -1 never labelled
    support_ended: np.ndarray = col(np.int64)  # quarter its support ended, -1 if it never ended
    validated: np.ndarray = col(bool)  # its project was formalised and validated
    clarity: np.ndarray = col(np.float64)  # share of joiners' information noise removed (validation)
    cofund_rate: np.ndarray = col(np.float64)  # share of pooled costs and contributions co-funded this quarter
    cofund_allowance: np.ndarray = col(np.float64)  # most co-funding available this quarter, k€
    cofund_paid: np.ndarray = col(np.float64)  # co-funding paid this quarter, k€
    pooled_relief: np.ndarray = col(np.float64)  # share of Moyens pooled fixed cost borne by support structures
    learning_boost: np.ndarray = col(np.float64)  # club learning × (1 + this)
    funding_weight: np.ndarray = col(np.float64)  # facilitation money relative to an equal split (evaluation)
    last_training: np.ndarray = col(np.int64)  # quarter of its facilitators' last training, -1 never
    score: np.ndarray = col(np.float64)  # last evaluation score (NaN never evaluated)


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
            trust: float, locked_until: int = NEVER) -> None:
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
        have = np.sort(self.firm * PAIR_SHIFT + self.cluster)
        want = firms.astype(np.int64) * PAIR_SHIFT + clusters.astype(np.int64)
        return isin_sorted(want, have)
