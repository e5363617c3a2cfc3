"""Sparse pair stores: the multiplex relation network (vertical and horizontal links) and pairwise trust.

Everything here is O(number of pairs), never O(N²): pairs exist only between firms that actually trade or
interact. A :class:`PairStore` keeps its pairs sorted by an integer key ``i·2³² + j`` in numpy arrays, so
lookups (``searchsorted``), insertions (a merge), decay and pruning are all vectorised.

Positions returned by :meth:`PairStore.slots` index the store's arrays and stay valid until the next
insertion or removal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PairStore", "segment_sum", "segment_max", "row_mean", "isin_sorted", "unique_ints",
           "stable_argsort"]

_SHIFT = np.int64(1 << 32)


_COLUMN_OF: dict[int, np.ndarray] = {}  # k -> [0, 1, …, k−1, 0, 1, …]: the column of each flat position


def _flat_bins(index: np.ndarray, k: int) -> np.ndarray:
    """``(index[:, None] * k + np.arange(k)).ravel()``: the flat (row, column) bin of each element of an (m, k)
    array whose row m goes to bin row ``index[m]``. Built from 1-D operations (a repeat and a cached column
    pattern), which numpy runs several times faster than the broadcast on a step's small arrays."""
    m = len(index)
    cols = _COLUMN_OF.get(k)
    if cols is None or len(cols) < m * k:
        cols = np.tile(np.arange(k), max(m, 1024))
        _COLUMN_OF[k] = cols
    flat = np.asarray(index, dtype=np.int64).repeat(k)
    flat *= k
    flat += cols[: m * k]
    return flat


def segment_sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Row sums of ``values`` (m, K) grouped by ``index`` (m,) into an (n, K) array.

    One bincount over the flattened (row, column) bins: each bin adds its values in row order, exactly as a
    bincount per column would.
    """
    return np.bincount(_flat_bins(index, values.shape[1]), weights=values.ravel(),
                       minlength=n * values.shape[1]).reshape(n, values.shape[1])


def row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each row of a 2-D array: ``values.mean(axis=1)`` (same sums, same division), without the
    overhead of numpy's generic ``mean`` on the small arrays of a step."""
    # np.add.reduce is what ndarray.sum calls (same pairwise sums), minus the Python-level wrapper
    return np.add.reduce(values, axis=1) / values.shape[1]


def unique_ints(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for a 1-D integer array (sorted distinct values): a sort and a comparison of
    neighbours, without the overhead of ``np.unique``'s general machinery on the small arrays of a step."""
    s = values.copy()  # = np.sort(values), without its wrapper
    s.sort()
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_keys)`` for a sorted ``sorted_keys``: a binary search per value, without the
    concatenation and sort ``np.isin`` does for wide integer keys."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(sorted_keys.searchsorted(values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def stable_argsort(keys: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, bound)``.

    A stable sort order is unique, so sorting a 16-bit copy of small keys gives the same permutation; numpy
    sorts 16-bit keys by radix sort, several times faster than its merge sort of 64-bit keys.
    """
    if bound <= 1 << 16:
        return keys.astype(np.uint16).argsort(kind="stable")
    return keys.argsort(kind="stable")


def segment_max(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Column-wise maxima of ``values`` grouped by ``index`` (0 for empty groups; values are >= 0).

    One unbuffered ``np.maximum.at`` over the flattened (row, column) bins, starting from 0: the maximum of
    a group does not depend on the order its values are met in.
    """
    m, k = values.shape
    out = np.zeros(n * k)
    if m:
        np.maximum.at(out, _flat_bins(index, k), values.ravel())
    return out.reshape(n, k)


def _merged(current: np.ndarray, new, at: np.ndarray, old: np.ndarray, size: int) -> np.ndarray:
    """``current`` with ``new`` inserted at final positions ``at`` (``old`` marks the other positions)."""
    out = np.empty(size, dtype=current.dtype)
    out[old] = current
    out[at] = new
    return out


class PairStore:
    """Values attached to firm pairs, directed or not, kept sorted by key.

    Args:
        directed: if False, (i, j) and (j, i) are the same pair (stored with i < j).
    """

    def __init__(self, directed: bool) -> None:
        self.directed = directed
        self.key = np.zeros(0, dtype=np.int64)
        self.value = np.zeros(0, dtype=np.float64)
        self.last_used = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.key)

    @property
    def src(self) -> np.ndarray:
        return self.key >> 32  # keys are non-negative: same as key // 2³², cheaper

    @property
    def dst(self) -> np.ndarray:
        return self.key & 0xFFFFFFFF  # same as key % 2³²

    def _keys(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        if not self.directed:
            i, j = np.minimum(i, j), np.maximum(i, j)
        return i * _SHIFT + j

    def find(self, i, j) -> np.ndarray:
        """Positions of the pairs (i[k], j[k]), or -1 where a pair does not exist."""
        keys = self._keys(np.atleast_1d(i), np.atleast_1d(j))
        n = len(self.key)
        pos = self.key.searchsorted(keys)
        # a key exists where the sorted keys hold it at its insertion point (clamped: past the end it cannot)
        ok = self.key[np.minimum(pos, n - 1)] == keys if n else np.zeros(len(keys), dtype=bool)
        return np.where(ok, pos, -1)

    def get(self, i: int, j: int, default: float | None = None) -> float | None:
        pos = int(self.find(i, j)[0])
        return default if pos < 0 else float(self.value[pos])

    def __contains__(self, pair: tuple[int, int]) -> bool:
        return bool(self.find(*pair)[0] >= 0)

    def slots(self, i: np.ndarray, j: np.ndarray, initial: float, now: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the pairs (i[k], j[k]), creating missing ones with value ``initial``.

        Returns (positions, created): created marks pairs that did not exist before this call.
        """
        keys = self._keys(i, j)
        n = len(self.key)
        pos = self.key.searchsorted(keys)
        # a key exists where the sorted keys hold it at its insertion point (clamped: past the end it cannot)
        exists = self.key[np.minimum(pos, n - 1)] == keys if n else np.zeros(len(keys), dtype=bool)
        if not exists.all():
            new = unique_ints(keys[~exists])
            # merge two sorted arrays: O(n), no sort; the new pairs land at their final positions
            at = self.key.searchsorted(new) + np.arange(len(new))
            size = n + len(new)
            old = np.ones(size, dtype=bool)
            old[at] = False
            self.key = _merged(self.key, new, at, old, size)
            self.value = _merged(self.value, initial, at, old, size)
            self.last_used = _merged(self.last_used, now, at, old, size)
            # each key's position moves up by the number of new keys below it (for a new key, that is its
            # index in ``new``: pos + index = at): the positions of the keys in the merged array
            pos = pos + new.searchsorted(keys)
        self.last_used[pos] = now
        return pos, ~exists

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the pairs where ``mask`` is True."""
        if mask.all():
            return
        self.key = self.key[mask]
        self.value = self.value[mask]
        self.last_used = self.last_used[mask]

    def remove_firms(self, dead: np.ndarray) -> None:
        """Remove every pair with an endpoint marked in the boolean firm array ``dead``."""
        if len(self.key):
            self.keep(~(dead[self.key >> 32] | dead[self.key & 0xFFFFFFFF]))
