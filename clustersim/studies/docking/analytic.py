"""The analytic results the docking suite compares the model with, computed from the published formulas.

Nothing here is a typed-in number: each prediction is computed from the model's definition in the paper.

- **Threshold cascade** (Granovetter 1978, *Am. J. Sociology* 83:1420). Actor *i* joins once at least θ_i
  others have joined; joining is irreversible and starts from nobody. The final number of adopters is the
  smallest fixed point of r ← #{i : θ_i ≤ r} reached from r = 0 (:func:`cascade_adopters`; for thresholds
  drawn from a distribution, r ← N·F(r), :func:`cascade_adopters_expected`).
- **N-person stag hunt** (Pacheco, Santos, Souza & Skyrms 2009, *Proc. R. Soc. B* 276:315). Groups of N drawn
  at random from an infinite, well-mixed population with a share x of cooperators. A cooperator pays c; a
  group of k cooperators produces F·c·k / N for each member if k ≥ M, nothing otherwise. Under the replicator
  dynamics ẋ = x (1 − x) [f_C(x) − f_D(x)] the interior fixed points are the roots of the gradient
  f_C − f_D in (0, 1) (:func:`stag_hunt_gradient`, from the payoffs; :func:`stag_hunt_gradient_closed`,
  the paper's closed form, c [(F/N)(Σ_{k=M−1}^{N−1} B_k(x) + (M − 1) B_{M−1}(x)) − 1] with
  B_k(x) = C(N−1, k) x^k (1 − x)^{N−1−k}). Below the critical F* = N / max_x S(x) (S the bracketed sum)
  defection is the only stable state; between F* and N an unstable x_L and a stable x_R appear; above N,
  only x_L remains (the paper's table 2).
- **Collective-risk dilemma** (Santos & Pacheco 2011, *PNAS* 108:10421). Each member has an endowment b; a
  cooperator gives c·b; if fewer than M of the N cooperate, everyone loses what is left with probability r.
  The gradient is b [r Γ(x) − c] with Γ(x) = C(N−1, M−1) x^{M−1} (1 − x)^{N−M}; interior fixed points exist
  iff r > r* = c / Γ((M − 1)/(N − 1)).

The gradients are computed from the payoff functions (:func:`group_gradient`): any payoff rule of a
threshold game can be docked the same way, and the closed forms are checked against them in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Roots",
    "binomial_weights",
    "cascade_adopters",
    "cascade_adopters_expected",
    "collective_risk_critical",
    "collective_risk_gradient",
    "collective_risk_gradient_closed",
    "collective_risk_payoffs",
    "collective_risk_roots",
    "group_gradient",
    "interior_roots",
    "stag_hunt_critical",
    "stag_hunt_gradient",
    "stag_hunt_gradient_closed",
    "stag_hunt_payoffs",
    "stag_hunt_roots",
]

#: points of the grid on which sign changes of a gradient are looked for before each root is refined
GRID = 4001


# ----------------------------------------------------------------------------------------- threshold cascade


def cascade_adopters(thresholds: Sequence[float] | np.ndarray) -> int:
    """Granovetter's outcome: the number of actors who end up joining when actor *i* joins once at least
    ``thresholds[i]`` others have (the smallest fixed point of r ← #{i : θ_i ≤ r} from r = 0)."""
    theta = np.sort(np.asarray(thresholds, dtype=float))
    r = 0
    while True:
        joined = int(np.searchsorted(theta, r, side="right"))  # #{i : θ_i ≤ r}
        if joined == r:
            return r
        r = joined


def cascade_adopters_expected(n: int, cdf: Callable[[float], float], *, tol: float = 1e-9,
                              max_iter: int = 100_000) -> float:
    """The smallest fixed point of r = n·F(r) reached from r = 0, for n actors whose thresholds (in numbers of
    others) are drawn from the distribution with CDF ``F``: Granovetter's equilibrium for a large population."""
    r = 0.0
    for _ in range(max_iter):
        nxt = n * float(cdf(r))
        if abs(nxt - r) <= tol:
            return nxt
        r = nxt
    return r


# ------------------------------------------------------------------------------------------ group games


def binomial_weights(n: int, x: float | np.ndarray) -> np.ndarray:
    """B_k(x) = C(n, k) x^k (1 − x)^{n−k} for k = 0..n (rows), at each x (columns when x is an array)."""
    x = np.asarray(x, dtype=float)
    k = np.arange(n + 1).reshape((-1,) + (1,) * x.ndim)
    log_comb = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(n + 1)])
    log_comb = log_comb.reshape(k.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(log_comb + k * np.log(x) + (n - k) * np.log1p(-x))
    # the limits at x = 0 and x = 1 (0·log 0 = 0)
    out = np.where((x == 0) & (k == 0), 1.0, out)
    out = np.where((x == 0) & (k > 0), 0.0, out)
    out = np.where((x == 1) & (k == n), 1.0, out)
    out = np.where((x == 1) & (k < n), 0.0, out)
    return out


def group_gradient(x: float | np.ndarray, n: int, payoff_c: Callable[[np.ndarray], np.ndarray],
                   payoff_d: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """f_C(x) − f_D(x) for groups of ``n`` drawn at random from an infinite population with a share x of
    cooperators: a focal cooperator meets k cooperators among its n − 1 co-players with probability B_k(x) and
    earns ``payoff_c(k + 1)`` (k + 1 cooperators in the group); a focal defector earns ``payoff_d(k)``."""
    k = np.arange(n)
    weights = binomial_weights(n - 1, x)
    diff = (np.asarray(payoff_c(k + 1), dtype=float) - np.asarray(payoff_d(k), dtype=float))
    return np.tensordot(diff, weights, axes=(0, 0))


@dataclass(frozen=True)
class Roots:
    """Interior roots of a gradient (sorted), and the critical parameter value (None where there is none in
    the range looked at)."""

    roots: tuple[float, ...]
    critical: float | None


def interior_roots(gradient: Callable[[np.ndarray], np.ndarray], *, grid: int = GRID) -> tuple[float, ...]:
    """The zeros of ``gradient`` in (0, 1), where it changes sign, each refined by bisection to 1e-12, and the
    grid points where it is exactly zero (a double root where the gradient only touches zero between grid points
    is not a change of sign and is not returned)."""
    xs = np.linspace(0.0, 1.0, grid)[1:-1]
    ys = np.asarray(gradient(xs), dtype=float)
    roots = []
    for i in np.nonzero(np.sign(ys[:-1]) * np.sign(ys[1:]) < 0)[0]:
        lo, hi = float(xs[i]), float(xs[i + 1])
        glo = float(ys[i])
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            gm = float(np.asarray(gradient(np.array([mid])))[0])
            if (gm < 0) == (glo < 0):
                lo, glo = mid, gm
            else:
                hi = mid
            if hi - lo < 1e-12:
                break
        roots.append(0.5 * (lo + hi))
    roots += [float(x) for x, y in zip(xs, ys, strict=True) if y == 0.0]
    return tuple(sorted(roots))


def _check_group(n: int, m: int) -> None:
    if not (isinstance(n, int) and n >= 2):
        raise ValueError(f"group_size: {n!r} is not valid (allowed: an integer >= 2)")
    if not (isinstance(m, int) and 1 <= m <= n):
        raise ValueError(f"threshold: {m!r} is not valid (allowed: an integer >= 1 and <= group_size {n})")


# ------------------------------------------------------------------------------------------ stag hunt


def stag_hunt_payoffs(n: int, m: int, f: float, c: float) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                                    Callable[[np.ndarray], np.ndarray]]:
    """(payoff of a cooperator, of a defector) in a group of ``n`` with k cooperators: F·c·k/N each if k ≥ M,
    minus c for a cooperator."""
    def defector(k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=float)
        return np.where(k >= m, f * c * k / n, 0.0)

    def cooperator(k: np.ndarray) -> np.ndarray:
        return defector(k) - c

    return cooperator, defector


def stag_hunt_gradient(x: float | np.ndarray, n: int, m: int, f: float, c: float = 1.0) -> np.ndarray:
    """f_C − f_D of the N-person stag hunt, from its payoffs (:func:`group_gradient`)."""
    _check_group(n, m)
    return group_gradient(x, n, *stag_hunt_payoffs(n, m, f, c))


def _stag_hunt_sum(x: float | np.ndarray, n: int, m: int) -> np.ndarray:
    """S(x) = Σ_{k=M−1}^{N−1} B_k(x) + (M − 1) B_{M−1}(x), B over N − 1 co-players."""
    b = binomial_weights(n - 1, x)
    return b[m - 1:].sum(axis=0) + (m - 1) * b[m - 1]


def stag_hunt_gradient_closed(x: float | np.ndarray, n: int, m: int, f: float, c: float = 1.0) -> np.ndarray:
    """The closed form of Pacheco et al. (2009): c [(F/N) S(x) − 1]."""
    _check_group(n, m)
    return c * ((f / n) * _stag_hunt_sum(x, n, m) - 1.0)


def stag_hunt_critical(n: int, m: int) -> float:
    """F*: the smallest enhancement with interior fixed points, N / max_{x ∈ [0, 1]} S(x) (the gradient is
    positive somewhere iff (F/N) max S > 1). With M = 1 (no threshold) S ≡ 1 and F* = N: the N-person
    prisoner's dilemma, where cooperation needs F > N."""
    _check_group(n, m)
    xs = np.linspace(0.0, 1.0, GRID)
    s = _stag_hunt_sum(xs, n, m)
    i = int(np.argmax(s))
    lo, hi = float(xs[max(i - 1, 0)]), float(xs[min(i + 1, GRID - 1)])
    for _ in range(200):  # golden-section search for the maximum near the best grid point
        a, b = lo + 0.382 * (hi - lo), lo + 0.618 * (hi - lo)
        if float(_stag_hunt_sum(np.array([a]), n, m)[0]) < float(_stag_hunt_sum(np.array([b]), n, m)[0]):
            lo = a
        else:
            hi = b
    best = max(float(s[i]), float(_stag_hunt_sum(np.array([0.5 * (lo + hi)]), n, m)[0]))
    return n / best


def stag_hunt_roots(n: int, m: int, f: float, c: float = 1.0) -> Roots:
    """The interior fixed points of the N-person stag hunt (from the payoffs) and F*."""
    return Roots(interior_roots(lambda x: stag_hunt_gradient(x, n, m, f, c)), stag_hunt_critical(n, m))


# ------------------------------------------------------------------------------------------ collective risk


def collective_risk_payoffs(n: int, m: int, cost: float, risk: float, endowment: float = 1.0
                            ) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """(expected payoff of a cooperator, of a defector) in a group of ``n`` with k cooperators: the endowment
    b, kept if k ≥ M and otherwise lost with probability r; a cooperator has given c·b of it."""
    def defector(k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=float)
        return endowment * np.where(k >= m, 1.0, 1.0 - risk)

    def cooperator(k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=float)
        return endowment * (np.where(k >= m, 1.0, 1.0 - risk) - cost)

    return cooperator, defector


def collective_risk_gradient(x: float | np.ndarray, n: int, m: int, cost: float, risk: float,
                             endowment: float = 1.0) -> np.ndarray:
    """f_C − f_D of the collective-risk dilemma, from its payoffs (:func:`group_gradient`)."""
    _check_group(n, m)
    return group_gradient(x, n, *collective_risk_payoffs(n, m, cost, risk, endowment))


def _gamma(x: float | np.ndarray, n: int, m: int) -> np.ndarray:
    """Γ(x) = C(N−1, M−1) x^{M−1} (1 − x)^{N−M}: the chance that a focal player is pivotal."""
    return binomial_weights(n - 1, x)[m - 1]


def collective_risk_gradient_closed(x: float | np.ndarray, n: int, m: int, cost: float, risk: float,
                                    endowment: float = 1.0) -> np.ndarray:
    """The closed form of Santos & Pacheco (2011): b [r Γ(x) − c]."""
    _check_group(n, m)
    return endowment * (risk * _gamma(x, n, m) - cost)


def collective_risk_critical(n: int, m: int, cost: float) -> float | None:
    """r*: the smallest risk with interior fixed points, c / Γ((M − 1)/(N − 1)) (Γ is largest there); None
    when it exceeds 1 (no risk is enough)."""
    _check_group(n, m)
    peak = float(_gamma(np.array([(m - 1) / (n - 1)]), n, m)[0])
    r = cost / peak
    return r if r <= 1.0 else None


def collective_risk_roots(n: int, m: int, cost: float, risk: float) -> Roots:
    """The interior fixed points of the collective-risk dilemma (from the payoffs) and r*."""
    return Roots(interior_roots(lambda x: collective_risk_gradient(x, n, m, cost, risk)),
                 collective_risk_critical(n, m, cost))
