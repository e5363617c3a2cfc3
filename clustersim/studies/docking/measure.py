"""The simulated side of the docking suite: the model run in its degenerate configurations, and the measurements
compared with the analytic results (:mod:`clustersim.studies.docking.analytic`).

**The gradient of selection from the simulated dynamics.** The model's firms are dealt into random groups of
N every quarter (``clusters.grouping.kind = random``, ODD 7.26), play the collective action of their group and
revise their pure strategy (cooperate or not) by pairwise comparison (Fermi rule, ODD 7.15) with a weak
selection intensity β and every firm revising each quarter. With P firms of which a share x cooperates, the
expected quarterly change of x is ``x (1 − x) · P/(P − 1) · E[tanh(β (π_C − π_D) / 2)]`` (π the realised payoffs
of a random cooperator and a random defector), which under weak selection is ``x (1 − x) · P/(P − 1) · (β/2)
(f_C(x) − f_D(x))``. So each simulated quarter gives one estimate of the gradient f_C − f_D at the quarter's x::

    ĝ = (2 / β) · (P − 1)/P · Δx / (x (1 − x))

Runs start from a grid of initial shares x0 (each firm cooperates with probability x0) and last a few quarters,
so that the samples cover (0, 1) evenly: under weak selection x moves little in that time. The estimates are
smoothed by a local-linear regression (Gaussian kernel, bandwidth ``bandwidth``, weights x (1 − x), the inverse
of the estimates' variance) on a grid of x from a bandwidth above the first initial share to a bandwidth below
the last (the measured range), with a bootstrap band over runs (runs resampled with replacement).

**Roots.** A point of the grid is significantly positive (negative) when its band lies above (below) zero. A
root is reported between a significantly positive and the next significantly negative point (or the reverse),
where the smoothed curve crosses zero; its interval is that bracket. If the smoothed curve crosses zero more than
once in a bracket, or the bracket is wider than ``root_resolution`` (twice the docking's tolerance on roots),
where the root lies is not resolved. If somewhere else the band contains zero
(the gradient is not distinguishable from zero there, so an even number of roots could hide in it), the roots
are unresolved: ``None`` with the reason, never a guess.

**Critical values** (the smallest parameter value with interior roots) are found from the maximum of the
gradient, which is negative below the critical value and positive above it: the maximum is measured (with its
band) on the whole range until a measurement finds it significantly positive, then on runs started around
where that one found it, at parameter values chosen by regula falsi between a value where it is significantly
negative and one where it is significantly positive, until the bracket is narrower than ``critical_tolerance``
(relative) or the maximum is no longer distinguishable from zero. The critical value is the zero of the
maximum interpolated linearly between the values tried in the bracket; its interval, where the band's ends
cross zero. No analytic value enters any simulated measurement.

**Cascades** run the model deterministically: one group of every firm, each contributes (cooperativeness 1)
once at least its threshold of firms contributed the quarter before; the final number of contributors, when it
no longer changes, is the number of adopters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.model.model import ClusterModel
from clustersim.scenario.schema import Scenario

__all__ = ["CRITICAL_STARTS", "Curve", "GradientSettings", "allocate", "cascade_run", "estimate_curve",
           "find_critical", "gradient_samples", "measure_gradient", "roots_of"]

#: bootstrap resamples of the runs for the band of a gradient curve
BOOTSTRAP = 200
#: the band's coverage (two-sided)
BAND = 0.95
#: initial shares of each evaluation of the critical search (around the gradient's maximum)
CRITICAL_STARTS = 7


@dataclass(frozen=True)
class GradientSettings:
    """How a gradient of selection is measured (see the module's docstring)."""

    firms: int = 10_000  # population (rounded up to a multiple of the group size)
    starts: int = 39  # initial cooperator shares, evenly spaced in (0, 1)
    replicates: int = 6  # runs per initial share (on average: see allocate)
    quarters: int = 20  # quarters per run
    selection: float = 0.5  # β times the game's payoff range (weak selection: ≪ 1)
    bandwidth: float = 0.03  # of the local-linear smoother, in x
    seed: int = 0  # the root seed (numpy SeedSequence)
    workers: int = 1  # processes (1: in this process)
    critical_tolerance: float = 0.02  # stop the search for a critical value once the bracket is this narrow
    max_evaluations: int = 8  # parameter values the critical search may try
    root_resolution: float = 0.1  # a root whose bracket is wider than this is not resolved


@dataclass
class Curve:
    """A simulated gradient of selection: the smoothed estimate on ``x`` with its band, the raw samples and what
    the roots are (or why they are not resolved)."""

    x: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    samples: np.ndarray  # (x, ĝ) of each simulated quarter
    roots: tuple[float, ...] | None = None
    intervals: tuple[tuple[float, float], ...] = ()
    reason: str | None = None
    runs: int = 0
    firm_quarters: int = 0
    seconds: float = 0.0


# ------------------------------------------------------------------------------------ running the model


def _run_shares(scenario: Scenario, x0: float, entropy: int, key: tuple[int, ...], quarters: int) -> np.ndarray:
    """The cooperator share among living firms before each of ``quarters`` quarters and after the last, in one
    run of ``scenario`` with initial share ``x0`` (each firm a cooperator with that probability)."""
    s = scenario.model_copy(deep=True)
    s.firms.cooperativeness_mean = float(x0)
    s.simulation.steps = quarters
    m = ClusterModel(s, rng=np.random.SeedSequence(entropy, spawn_key=key), agents=False, collect=False)
    shares = np.empty(quarters + 1)
    shares[0] = float(m.firms.coop[m.alive_rows].mean())
    for t in range(quarters):
        m.step()
        shares[t + 1] = float(m.firms.coop[m.alive_rows].mean())
    return shares


def _run_task(task: tuple[Scenario, float, int, tuple[int, ...], int]) -> np.ndarray:
    return _run_shares(*task)


def _map(tasks: Sequence[tuple[Scenario, float, int, tuple[int, ...], int]], workers: int) -> list[np.ndarray]:
    """Results of the runs in the tasks' order, whatever the number of processes."""
    if workers <= 1 or len(tasks) <= 1:
        return [_run_task(t) for t in tasks]
    from clustersim.experiment.executors import pool_context

    with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
        return list(pool.map(_run_task, tasks, chunksize=max(1, len(tasks) // (8 * workers))))


def allocate(starts: Sequence[float] | np.ndarray, replicates: int) -> np.ndarray:
    """Runs per initial share: ``replicates`` on average, in proportion to (x0 (1 − x0))^−0.75 (at least 2), so
    that the shares near 0 and 1, where an estimate varies as 1/(x (1 − x)), are not measured far less precisely
    than the middle (the standard error then varies as (x (1 − x))^−0.125: 1.3 times the middle's at 0.025)."""
    x0 = np.asarray(starts, dtype=float)
    weight = (x0 * (1.0 - x0)) ** -0.75
    return np.maximum(2, np.rint(replicates * len(x0) * weight / weight.sum())).astype(int)


def gradient_samples(scenario: Scenario, starts: Sequence[float] | np.ndarray, settings: GradientSettings, beta: float,
                     stage: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Run ``settings.replicates`` runs from each initial share of ``starts``; return the samples (x, ĝ) of every
    simulated quarter and the run each belongs to. ``stage`` keeps the seeds of separate measurements apart."""
    population = scenario.simulation.n_firms
    tasks = [(scenario, float(x0), settings.seed, (stage, i, r), settings.quarters)
             for i, (x0, n) in enumerate(zip(starts, allocate(starts, settings.replicates), strict=True))
             for r in range(n)]
    results = _map(tasks, settings.workers)
    xs, gs, run = [], [], []
    for k, shares in enumerate(results):
        x, dx = shares[:-1], np.diff(shares)
        inside = (x > 0) & (x < 1)  # at 0 or 1 nothing can change: no information on the gradient
        x, dx = x[inside], dx[inside]
        xs.append(x)
        gs.append((2.0 / beta) * (population - 1) / population * dx / (x * (1 - x)))
        run.append(np.full(len(x), k))
    return np.column_stack([np.concatenate(xs), np.concatenate(gs)]), np.concatenate(run)


# ------------------------------------------------------------------------------------ the estimates


def _local_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, grid: np.ndarray, h: float) -> np.ndarray:
    """Local-linear regression of y on x (weights w × a Gaussian kernel of bandwidth h) at each grid point."""
    d = x[None, :] - grid[:, None]
    k = w[None, :] * np.exp(-0.5 * (d / h) ** 2)
    s0, s1, s2 = k.sum(axis=1), (k * d).sum(axis=1), (k * d * d).sum(axis=1)
    t0, t1 = (k * y).sum(axis=1), (k * d * y).sum(axis=1)
    det = s0 * s2 - s1 * s1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(det > 0, (s2 * t0 - s1 * t1) / det, np.nan)


def estimate_curve(samples: np.ndarray, run: np.ndarray, bandwidth: float, seed: int, grid: np.ndarray,
                   max_width: float = 1.0) -> Curve:
    """The smoothed gradient on ``grid`` with its bootstrap band (runs resampled) and its roots
    (:func:`roots_of`)."""
    x, y = samples[:, 0], samples[:, 1]
    w = x * (1 - x)
    est = _local_linear(x, y, w, grid, bandwidth)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,)))
    runs = np.unique(run)
    members = [np.flatnonzero(run == r) for r in runs]
    boot = np.empty((BOOTSTRAP, len(grid)))
    for b in range(BOOTSTRAP):
        pick = np.concatenate([members[i] for i in rng.integers(0, len(runs), len(runs))])
        boot[b] = _local_linear(x[pick], y[pick], w[pick], grid, bandwidth)
    tail = (1 - BAND) / 2
    lower, upper = np.nanquantile(boot, tail, axis=0), np.nanquantile(boot, 1 - tail, axis=0)
    curve = Curve(grid, est, lower, upper, samples)
    curve.roots, curve.intervals, curve.reason = roots_of(grid, est, lower, upper, max_width)
    return curve


def roots_of(x: np.ndarray, est: np.ndarray, lower: np.ndarray, upper: np.ndarray, max_width: float = 1.0
             ) -> tuple[tuple[float, ...] | None, tuple[tuple[float, float], ...], str | None]:
    """(roots, their brackets, reason): the zeros of a measured curve resolved by its band (module docstring);
    roots None, with the reason, where the band leaves an even number of roots possible, where the curve
    crosses zero several times in a bracket, or where a bracket is wider than ``max_width``."""
    sign = np.where(lower > 0, 1, np.where(upper < 0, -1, 0))
    known = np.flatnonzero(sign != 0)
    if not len(known):
        return None, (), f"the gradient is not distinguishable from zero anywhere on [{x[0]:.3f}, {x[-1]:.3f}]"
    roots, brackets, unresolved, ambiguous = [], [], [], []
    if known[0] > 0:
        unresolved.append((x[0], x[known[0]]))
    if known[-1] < len(x) - 1:
        unresolved.append((x[known[-1]], x[-1]))
    for a, b in zip(known[:-1], known[1:], strict=True):
        if sign[a] != sign[b]:
            seg = slice(a, b + 1)
            xs, ys = x[seg], est[seg]
            cross = np.flatnonzero(np.sign(ys[:-1]) * np.sign(ys[1:]) <= 0)
            if len(cross) > 1:  # the smoothed curve crosses zero several times: where the root is is not resolved
                ambiguous.append((x[a], x[b], len(cross)))
                continue
            i = cross[0] if len(cross) else (len(xs) - 2) // 2
            y0, y1 = ys[i], ys[i + 1]
            root = xs[i] if y0 == y1 else xs[i] + (xs[i + 1] - xs[i]) * y0 / (y0 - y1)
            roots.append(float(root))
            brackets.append((float(x[a]), float(x[b])))
        elif b > a + 1:
            unresolved.append((x[a], x[b]))
    wide = [(lo, hi) for lo, hi in brackets if hi - lo > max_width]
    if wide:
        spans = ", ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi in wide)
        return None, tuple(brackets), (f"a root lies in {spans}, where the gradient's band contains zero: it is not "
                                       f"located to within {max_width:g} (more firms or runs would narrow the band)")
    if ambiguous:
        spans = ", ".join(f"{k} times on [{lo:.3f}, {hi:.3f}]" for lo, hi, k in ambiguous)
        return None, tuple(brackets), (f"the smoothed gradient crosses zero {spans}, where its band contains zero: "
                                       f"where the root lies there is not resolved (more firms or runs would "
                                       f"narrow the band)")
    if unresolved:
        spans = ", ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi in unresolved)
        return None, tuple(brackets), (f"the gradient is not distinguishable from zero on {spans}: roots there "
                                       f"cannot be told apart from none (more firms, runs or a larger selection "
                                       f"intensity would narrow the band)")
    return tuple(roots), tuple(brackets), None


def measure_gradient(scenario: Scenario, settings: GradientSettings, beta: float, stage: int = 0,
                     starts: Sequence[float] | np.ndarray | None = None) -> Curve:
    """The simulated gradient of selection of ``scenario`` (runs, samples, smoothed curve, roots)."""
    t0 = time.perf_counter()
    x0 = (np.arange(settings.starts) + 1) / (settings.starts + 1) if starts is None else np.asarray(starts, float)
    samples, run = gradient_samples(scenario, x0, settings, beta, stage)
    # the measured range: a bandwidth inside the first and last initial shares (beyond, only runs that drifted
    # out sample it, and the smoother, one-sided there, is the least precise)
    h = settings.bandwidth
    lo, hi = x0.min() + h, x0.max() - h
    grid = np.arange(math.ceil(lo * 200) / 200, hi + 1e-12, 0.005) if hi - lo >= 0.05 else np.linspace(lo, hi, 11)
    curve = estimate_curve(samples, run, settings.bandwidth, settings.seed, grid, settings.root_resolution)
    curve.runs = int(allocate(x0, settings.replicates).sum())
    curve.firm_quarters = curve.runs * settings.quarters * scenario.simulation.n_firms
    curve.seconds = time.perf_counter() - t0
    return curve


def _maximum(curve: Curve) -> tuple[float, float, float, float]:
    """(x, estimate, lower, upper) of the curve's highest point."""
    i = int(np.nanargmax(curve.estimate))
    return float(curve.x[i]), float(curve.estimate[i]), float(curve.lower[i]), float(curve.upper[i])


def _side(e: dict[str, float]) -> int:
    """+1 (−1) when an evaluation's maximum is significantly positive (negative), else 0."""
    return 1 if e["lower"] > 0 else (-1 if e["upper"] < 0 else 0)


class _Search:
    """The evaluations of a critical search: the gradient's maximum at parameter values. Until a curve with a
    significantly positive maximum has been measured (where the maximum is informative), each is measured on the
    whole range; from then on, on runs started around where that curve had its maximum."""

    def __init__(self, make: Callable[[float], tuple[Scenario, float]], first: Curve, value: float,
                 settings: GradientSettings) -> None:
        where, top, lo_band, hi_band = _maximum(first)
        self.make, self.settings = make, settings
        self.evaluations = [{"value": value, "x": where, "maximum": top, "lower": lo_band, "upper": hi_band,
                             "runs": first.runs}]
        self.window = self._window(where) if _side(self.evaluations[0]) > 0 else None

    @staticmethod
    def _window(where: float) -> np.ndarray:
        return np.clip(where + np.linspace(-0.12, 0.12, CRITICAL_STARTS), 0.02, 0.98)

    def measure(self, v: float) -> dict[str, float]:
        scenario, beta = self.make(v)
        c = measure_gradient(scenario, self.settings, beta, len(self.evaluations), starts=self.window)
        x, t, lo_b, hi_b = _maximum(c)
        out = {"value": v, "x": x, "maximum": t, "lower": lo_b, "upper": hi_b, "runs": c.runs}
        self.evaluations.append(out)
        if self.window is None and _side(out) > 0:
            self.window = self._window(x)
        return out

    def bracket(self, low: float, high: float) -> tuple[dict[str, float] | None, dict[str, float] | None]:
        """(an evaluation with a significantly negative maximum, one with a significantly positive one), trying
        the ends of the range as needed (None where none was found)."""
        first = self.evaluations[0]
        below = first if _side(first) < 0 else None
        above = first if _side(first) > 0 else None
        for v in ([low, high] if _side(first) == 0 else ([low] if above else [high])):
            if below is not None and above is not None:
                break
            e = self.measure(v)
            if _side(e) > 0 and above is None:
                above = e
            elif _side(e) < 0 and below is None:
                below = e
        return below, above


def find_critical(make: Callable[[float], tuple[Scenario, float]], first: Curve, value: float, low: float,
                  high: float, settings: GradientSettings) -> tuple[float | None, tuple[float, float] | None,
                                                                    str | None, list[dict[str, float]]]:
    """The smallest parameter value in [low, high] at which the gradient has interior roots, measured.

    ``make(v)`` gives the scenario and selection intensity at parameter value v; ``first`` is the curve measured
    at ``value``. Returns (critical, its bracket, reason when None, the evaluations made)."""
    search = _Search(make, first, value, settings)
    below, above = search.bracket(low, high)
    if above is None:
        return None, None, (f"the gradient's maximum is not significantly positive anywhere in [{low:g}, {high:g}]: "
                            f"no interior roots were found in the range"), search.evaluations
    if below is None:
        return None, None, (f"the gradient's maximum is not significantly negative anywhere in [{low:g}, {high:g}]: "
                            f"the critical value, if any, lies below the range"), search.evaluations
    while len(search.evaluations) <= settings.max_evaluations:
        a, b = below, above
        if abs(b["value"] - a["value"]) <= settings.critical_tolerance * max(abs(a["value"]), abs(b["value"])):
            break
        guess = a["value"] + (b["value"] - a["value"]) * (-a["maximum"]) / (b["maximum"] - a["maximum"])
        # regula falsi, kept off the bracket's ends so that the bracket shrinks from both sides
        span = b["value"] - a["value"]
        e = search.measure(min(max(guess, a["value"] + 0.1 * span), b["value"] - 0.1 * span))
        if _side(e) > 0:
            above = e
        elif _side(e) < 0:
            below = e
        else:  # the maximum is not distinguishable from zero there: the bracket is as narrow as the runs allow
            break
    lo, hi = sorted((below["value"], above["value"]))
    inside = sorted((e for e in search.evaluations if lo <= e["value"] <= hi), key=lambda e: e["value"])
    interval = (_crossing(inside, "upper"), _crossing(inside, "lower"))
    return _crossing(inside, "maximum"), (min(interval), max(interval)), None, search.evaluations


def _crossing(points: list[dict[str, float]], key: str) -> float:
    """Where the piecewise-linear interpolant of ``key`` against ``value`` first crosses zero (the points go
    from a negative to a positive ``maximum``; a band's end that does not cross is held at the nearest end)."""
    values = [p["value"] for p in points]
    ys = [p[key] for p in points]
    for (v0, y0), (v1, y1) in zip(zip(values, ys, strict=True), zip(values[1:], ys[1:], strict=True), strict=True):
        if y0 <= 0 <= y1 or y1 <= 0 <= y0:
            return float(v0 if y0 == y1 else v0 + (v1 - v0) * (-y0) / (y1 - y0))
    return float(values[0] if ys[0] > 0 else values[-1])


# ------------------------------------------------------------------------------------ cascades


def cascade_run(scenario: Scenario, entropy: int, max_quarters: int) -> dict[str, Any]:
    """One threshold-cascade run: contributors each quarter until two quarters in a row give the same number
    (or ``max_quarters``); the firms' thresholds as the model drew or read them."""
    s = scenario.model_copy(deep=True)
    s.simulation.steps = max_quarters
    m = ClusterModel(s, rng=np.random.SeedSequence(entropy), agents=False, collect=False)
    thresholds = m.firms.participation[m.alive_rows].copy()
    counts: list[int] = [0]
    settled = False
    for _ in range(max_quarters):
        m.step()
        live = m.live_clusters
        counts.append(int(m.clusters.contributors[live].sum()) if len(live) else 0)
        if counts[-1] == counts[-2]:  # a fixed point of r <- #{i : threshold_i <= r}
            settled = True
            break
    return {"contributors": counts, "settled": settled, "thresholds": thresholds}
