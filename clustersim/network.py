"""Sparse pair stores: the multiplex relation network (vertical and horizontal links) and pairwise trust.

Everything here is O(number of pairs), never O(N²): pairs exist only between firms that actually trade or
interact. A :class:`PairStore` keeps its pairs sorted by an integer key ``i·2³² + j`` in numpy arrays, so
lookups (``searchsorted``), insertions (a merge), decay and pruning are all vectorised.

Positions returned by :meth:`PairStore.slots` index the store's arrays and stay valid until the next
insertion or removal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PairStore", "segment_sum", "segment_max", "row_mean", "isin_sorted"]

_SHIFT = np.int64(1 << 32)


def segment_sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Row sums of ``values`` (m, K) grouped by ``index`` (m,) into an (n, K) array.

    One bincount over the flattened (row, column) bins: each bin adds its values in row order, exactly as a
    bincount per column would.
    """
    m, k = values.shape
    flat = (np.asarray(index, dtype=np.int64)[:, None] * k + np.arange(k)).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=n * k).reshape(n, k)


def row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each row of a 2-D array: ``values.mean(axis=1)`` (same sums, same division), without the
    overhead of numpy's generic ``mean`` on the small arrays of a step."""
    return values.sum(axis=1) / values.shape[1]


def isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_keys)`` for a sorted ``sorted_keys``: a binary search per value, without the
    concatenation and sort ``np.isin`` does for wide integer keys."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def segment_max(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Column-wise maxima of ``values`` grouped by ``index`` (0 for empty groups; values are >= 0)."""
    out = np.zeros((n, values.shape[1]))
    if len(index) == 0:
        return out
    order = np.argsort(index, kind="stable")
    idx = index[order]
    starts = np.flatnonzero(np.concatenate([[True], idx[1:] != idx[:-1]]))
    out[idx[starts]] = np.maximum.reduceat(values[order], starts, axis=0)
    return out


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
        return self.key // _SHIFT

    @property
    def dst(self) -> np.ndarray:
        return self.key % _SHIFT

    def _keys(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        if not self.directed:
            i, j = np.minimum(i, j), np.maximum(i, j)
        return i * _SHIFT + j

    def find(self, i, j) -> np.ndarray:
        """Positions of the pairs (i[k], j[k]), or -1 where a pair does not exist."""
        keys = self._keys(np.atleast_1d(i), np.atleast_1d(j))
        pos = np.searchsorted(self.key, keys)
        ok = pos < len(self.key)
        ok[ok] = self.key[pos[ok]] == keys[ok]
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
        pos = np.searchsorted(self.key, keys)
        exists = pos < len(self.key)
        exists[exists] = self.key[pos[exists]] == keys[exists]
        if not exists.all():
            new = np.unique(keys[~exists])
            # merge two sorted arrays: O(n), no sort; the new pairs land at their final positions
            at = np.searchsorted(self.key, new) + np.arange(len(new))
            size = len(self.key) + len(new)
            old = np.ones(size, dtype=bool)
            old[at] = False
            self.key = _merged(self.key, new, at, old, size)
            self.value = _merged(self.value, initial, at, old, size)
            self.last_used = _merged(self.last_used, now, at, old, size)
            pos = np.searchsorted(self.key, keys)
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
            self.keep(~(dead[self.src] | dead[self.dst]))
