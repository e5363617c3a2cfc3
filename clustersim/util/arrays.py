"""Array helpers the model's phases use: grouped sums and maxima, row means, sorted-key searches.

Each is a numpy idiom (``np.bincount`` by group, ``np.unique``, ``np.isin``, a stable argsort) written
out for the small arrays of a quarter, where numpy's generic wrappers cost more than the work; each
docstring names the numpy call it equals, and the results are the same bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PAIR_SHIFT", "pair_keys", "segment_sum", "segment_max", "row_mean", "isin_sorted", "unique_ints",
           "stable_argsort"]

#: an ordered pair of non-negative row numbers (i, j) is the integer key ``i · PAIR_SHIFT + j``
PAIR_SHIFT = 1 << 32


def pair_keys(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The integer key ``i · 2³² + j`` of each pair (i[k], j[k]) of non-negative int64 rows: sorting keys sorts
    pairs by i, then j; ``key >> 32`` is i and ``key & 0xFFFFFFFF`` is j."""
    return i * PAIR_SHIFT + j



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
