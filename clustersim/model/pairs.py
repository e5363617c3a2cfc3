"""Sparse pair stores: the multiplex relation network (vertical and horizontal links) and pairwise trust.

Everything here is O(number of pairs), never O(N²): pairs exist only between firms that actually trade or
interact. A :class:`PairStore` keeps its pairs sorted by an integer key ``i·2³² + j`` in numpy arrays, so
lookups (``searchsorted``), insertions (a merge), decay and pruning are all vectorised.

Positions returned by :meth:`PairStore.slots` index the store's arrays and stay valid until the next
insertion or removal.
"""

from __future__ import annotations

import numpy as np

from clustersim.util.arrays import PAIR_SHIFT, unique_ints

__all__ = ["PairStore"]

_SHIFT = np.int64(PAIR_SHIFT)


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
