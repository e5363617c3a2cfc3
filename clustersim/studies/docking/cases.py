"""The docking cases: each one a scenario file of the ordinary schema under ``configs/docking/`` (the model's
degenerate configuration, commented there), the case's parameters and the fields they set, the analytic
prediction computed from the published formula, the simulated measurement and the stated tolerances.

``run_case(name, {"group_size": 10, ...})`` runs one case and returns a :class:`DockingResult`; its
:meth:`~DockingResult.to_dict` is what ``clustersim docking CASE --json`` prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from clustersim.scenario.schema import Scenario
from clustersim.studies.docking import analytic
from clustersim.studies.docking.measure import (
    Curve,
    GradientSettings,
    cascade_run,
    find_critical,
    measure_gradient,
)

__all__ = ["CASES", "CONFIGS", "Case", "DockingError", "DockingResult", "Param", "case_scenario", "run_case"]

#: the docking scenario files of the checkout
CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "docking"
#: tolerances, stated per measurement (see docs/ODD.md, "Docking", for why these)
ROOT_TOLERANCE = 0.05  # absolute, in the cooperator share x
CRITICAL_TOLERANCE = 0.10  # relative
CASCADE_LIST_TOLERANCE = 0  # adopters: the rule is deterministic, the thresholds are the list's
CASCADE_DISTRIBUTION_TOLERANCE = 0.05  # of the number of firms, plus one firm (a finite sample of thresholds)


#: the fewest and most actors of a cascade (the model's smallest region, simulation.n_firms >= 5; a cascade may
#: take as many quarters as it has actors, so 10,000 actors can cost 10^8 firm-quarters)
MIN_ACTORS, MAX_ACTORS = 5, 10_000


class DockingError(ValueError):
    """A docking case or parameter that is not valid (the message names it, its value and what is allowed)."""


@dataclass(frozen=True)
class Param:
    """A case parameter: name, type, default, allowed range, meaning."""

    name: str
    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    desc: str = ""

    def parse(self, raw: Any) -> Any:
        """The value of ``raw`` (text from the command line, or a Python value), checked against the range."""
        if self.kind is str:
            return list(raw) if isinstance(raw, list | tuple) else str(raw)
        try:
            if self.kind is int:
                if isinstance(raw, bool):
                    raise ValueError
                try:
                    value: Any = int(raw)  # exact, however large
                except ValueError:
                    number = float(raw)  # "10.0" and "1e3" are integers too; 10.5 is not
                    if not number.is_integer():
                        raise
                    value = int(number)
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError
            else:
                value = float(raw)
                if not math.isfinite(value):
                    raise ValueError
        except (TypeError, ValueError):
            kind = "an integer" if self.kind is int else "a finite number"
            raise DockingError(f"{self.name}: {raw!r} is not valid (allowed: {kind}{self.allowed()})") from None
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            kind = "an integer" if self.kind is int else "a number"
            raise DockingError(f"{self.name}: {raw!r} is out of range (allowed: {kind}{self.allowed()})")
        return value

    def allowed(self) -> str:
        def show(v: float) -> str:
            return str(int(v)) if self.kind is int else f"{v:g}"

        parts = []
        if self.low is not None:
            parts.append(f">= {show(self.low)}")
        if self.high is not None:
            parts.append(f"<= {show(self.high)}")
        return (" " + " and ".join(parts)) if parts else ""


#: the settings of the simulated measurement, accepted by every case (``GradientSettings``' fields)
SETTINGS = (
    Param("firms", int, 10_000, 100, 190_000, "population of the group games (rounded up to a multiple of "
                                               "group_size; the cascade's is its parameter actors)"),
    Param("starts", int, 39, 5, 400, "initial cooperator shares, evenly spaced in (0, 1)"),
    Param("replicates", int, 6, 2, 10_000, "runs per initial share, on average (more near 0 and 1)"),
    Param("quarters", int, 20, 1, 1000, "quarters per run"),
    Param("selection", float, 0.5, 1e-4, 2.0, "selection intensity times the game's payoff range (weak "
                                               "selection: the replicator limit needs it small)"),
    Param("bandwidth", float, 0.03, 0.005, 0.06, "bandwidth of the smoother of the gradient, in x (at most a "
                                                "quarter of the critical search's window of 0.24)"),
    Param("seed", int, 0, 0, 2**63 - 1, "root seed (numpy SeedSequence)"),
    Param("workers", int, 1, 1, 256, "processes"),
    Param("critical_tolerance", float, 0.02, 1e-4, 0.5, "relative width at which the critical search stops"),
    Param("max_evaluations", int, 8, 2, 100, "parameter values the critical search may try"),
)
#: a root is resolved only if its bracket is at most this wide: twice the tolerance on roots
ROOT_RESOLUTION = 2 * ROOT_TOLERANCE


@dataclass(frozen=True)
class Case:
    """One docking case."""

    name: str
    title: str
    reference: str
    params: tuple[Param, ...]
    measured: tuple[str, ...]  # the keys of ``analytic`` and ``simulated``
    run: Callable[[Scenario, dict[str, Any], GradientSettings], DockingResult]

    @property
    def config(self) -> Path:
        return CONFIGS / f"{self.name}.yaml"


@dataclass
class DockingResult:
    """A docking case run: its parameters, the analytic and simulated values (same keys), the tolerances, the
    deviations and whether each measurement agrees."""

    case: str
    parameters: dict[str, Any]
    analytic: dict[str, Any]
    simulated: dict[str, Any]
    tolerance: dict[str, Any]
    deviation: dict[str, Any]
    agrees: dict[str, bool | None]
    reasons: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    curve: Curve | None = None  # the simulated gradient (group games)
    # what the figures draw besides (arrays, not in the JSON): the analytic gradient at the case's parameters
    # and its maximum over x along the critical search's parameter (group games); the response curve (cascade)
    figure: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``clustersim docking --json``."""
        return {"case": self.case, "parameters": self.parameters, "analytic": self.analytic,
                "simulated": self.simulated, "tolerance": self.tolerance, "deviation": self.deviation,
                "agrees": self.agrees, "reasons": self.reasons, "details": self.details,
                "settings": self.settings, "seconds": round(self.seconds, 3)}


def case_scenario(case: Case, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """The case's scenario file, loaded and validated, with ``overrides`` (dotted scenario paths) applied."""
    from clustersim.scenario.io import load_scenario

    return load_scenario(case.config, overrides=[f"{k}={v}" for k, v in (overrides or {}).items()])


def _effectiveness(s: Scenario) -> float:
    """Coordination effectiveness of a fully funded group (ODD 7.5): the factor on the Moyens pot."""
    c = s.clusters
    if c.coordination_cost > 0 and c.membership_fee < c.coordination_cost:
        raise DockingError("the docking scenario must fund coordination fully (coordination_cost 0, or a fee "
                           "at least as large)")
    return min(1.0, 1.0 / (1.0 + c.grouping.group_size / c.coordination_half_size))


def _population(s: Scenario, firms: int) -> None:
    n = s.clusters.grouping.group_size
    s.simulation.n_firms = n * max(2, math.ceil(firms / n))


def _roots_agreement(sim: tuple[float, ...] | None, ana: tuple[float, ...], measured: tuple[float, float]
                     ) -> tuple[float | None, bool | None]:
    if sim is None or any(not measured[0] <= a <= measured[1] for a in ana):
        return None, None  # not resolved, or an analytic root lies where no measurement reaches
    if len(sim) != len(ana):
        return None, False
    dev = max((abs(a - b) for a, b in zip(sim, ana, strict=True)), default=0.0)
    return dev, dev <= ROOT_TOLERANCE


def _critical_agreement(sim: float | None, ana: float | None, excluded: bool, peak: float | None,
                        measured: tuple[float, float]) -> tuple[float | None, bool | None, str | None]:
    """(relative deviation, agrees, why not judged): with no analytic critical value in the range, the simulation
    agrees only if it showed the gradient's maximum significantly negative at the range's top (``excluded``);
    a simulated value where the analytic model has none disagrees; a search that ended without a value, or an
    analytic maximum (at the critical value) outside the measured range of x, is not judged."""
    if ana is None:
        if sim is not None:
            return None, False, None
        return (None, True, None) if excluded else (None, None, "the simulation did not show the gradient's "
                                                    "maximum significantly negative at the top of the range")
    if sim is None:
        return None, None, None
    if peak is not None and not measured[0] <= peak <= measured[1]:
        return None, None, (f"at the analytic critical value the gradient is highest at x = {peak:.3f}, outside "
                            f"the measured range [{measured[0]:.3f}, {measured[1]:.3f}]: the simulated search "
                            f"sees only the maximum inside it")
    dev = abs(sim - ana) / ana
    return dev, dev <= CRITICAL_TOLERANCE, None


def _game(case: str, s: Scenario, p: dict[str, Any], st: GradientSettings, *, parameter: str, low: float,
          high: float, apply: Callable[[Scenario, float], tuple[Scenario, float]],
          gradient: Callable[[np.ndarray, float], np.ndarray], critical: float | None) -> DockingResult:
    """A group game: the simulated gradient at the case's parameters, its roots, and the critical value of
    ``parameter`` searched in [low, high]; the analytic ``gradient(x, value)`` and ``critical``."""
    t0 = time.perf_counter()
    value = float(p[parameter])
    scenario, beta = apply(s, value)
    curve = measure_gradient(scenario, st, beta)
    crit, bracket, crit_reason, evaluations = find_critical(lambda v: apply(s, v), curve, value, low, high, st)
    runs = sum(int(e["runs"]) for e in evaluations)  # the first is the curve's own
    ana_roots = analytic.interior_roots(lambda x: gradient(x, value))
    sim_roots = None if curve.roots is None else tuple(round(r, 6) for r in curve.roots)
    measured = (float(curve.x[0]), float(curve.x[-1]))
    dev_r, ok_r = _roots_agreement(sim_roots, ana_roots, measured)
    grid = np.linspace(0.0, 1.0, 1001)
    peak = None if critical is None else float(grid[int(np.argmax(gradient(grid, critical)))])
    excluded = any(e["value"] == high and e["upper"] < 0 for e in evaluations)
    dev_c, ok_c, why_c = _critical_agreement(crit, critical, excluded, peak, measured)
    reasons = {}
    if curve.reason:
        reasons["interior_roots"] = curve.reason
    elif ok_r is None:
        reasons["interior_roots"] = (f"an analytic root lies outside the measured range [{measured[0]:.3f}, "
                                     f"{measured[1]:.3f}] (more initial shares reach closer to 0 and 1)")
    if crit_reason or why_c:
        reasons["critical"] = "; ".join(r for r in (crit_reason, why_c) if r)
    xs = np.linspace(0.0, 1.0, 401)
    tried = [e["value"] for e in evaluations]
    along = np.linspace(min(tried), max(tried), 81)
    figure = {"analytic_x": xs, "analytic_y": gradient(xs, value), "parameter": parameter,
              "analytic_values": along, "analytic_maximum": np.array([float(np.max(gradient(grid, v))) for v in along])}
    return DockingResult(
        case=case, parameters={k: p[k] for k in ("group_size", "threshold", "enhancement", "cost", "risk") if k in p},
        analytic={"interior_roots": list(ana_roots), "critical": critical},
        simulated={"interior_roots": None if sim_roots is None else list(sim_roots), "critical": crit},
        tolerance={"interior_roots": ROOT_TOLERANCE, "critical": CRITICAL_TOLERANCE},
        deviation={"interior_roots": dev_r, "critical": dev_c},
        agrees={"interior_roots": ok_r, "critical": ok_c},
        reasons=reasons,
        details={"measured_range": list(measured), "root_brackets": [list(b) for b in curve.intervals],
                 "critical_bracket": bracket,
                 "critical_evaluations": evaluations, "selection_intensity": beta,
                 "population": scenario.simulation.n_firms, "runs": runs,
                 "firm_quarters": runs * st.quarters * scenario.simulation.n_firms},
        settings={f.name: getattr(st, f.name) for f in fields(st)},
        seconds=time.perf_counter() - t0, curve=curve, figure=figure)


def _settings(p: dict[str, Any]) -> GradientSettings:
    return GradientSettings(**{k.name: p[k.name] for k in SETTINGS}, root_resolution=ROOT_RESOLUTION)


def _threshold_groups(s: Scenario, p: dict[str, Any], st: GradientSettings) -> tuple[int, int, float]:
    """The group games' common part: groups of N (the population rounded to a multiple of N), a Moyens critical
    mass of exactly M; returns (N, M, c)."""
    n, m, c = int(p["group_size"]), int(p["threshold"]), float(p["cost"])
    s.clusters.grouping.group_size = n
    _population(s, st.firms)
    cm = s.orientations.moyens.critical_mass
    cm.minimum = min(cm.minimum, m)
    cm.median = float(m)
    return n, m, c


def _stag_hunt(s: Scenario, p: dict[str, Any], st: GradientSettings) -> DockingResult:
    n, m, c = _threshold_groups(s, p, st)
    mo = s.orientations.moyens
    mo.pooled_variable_cost = c / s.firms.size_median
    e = _effectiveness(s)

    def apply(base: Scenario, f: float) -> tuple[Scenario, float]:
        out = base.model_copy(deep=True)
        out.orientations.moyens.enhancement = f
        out.learning.selection_intensity = st.selection / ((e * f + 1.0) * c)  # payoffs span [-c, e·F·c]
        return out, out.learning.selection_intensity

    # the model's pot is e·F times the contributions (e: coordination effectiveness, 1 − 1e-4 here): the
    # analytic model is evaluated at that enhancement, and its critical F* divided by e
    return _game("stag_hunt", s, p, st, parameter="enhancement", low=0.5, high=2.0 * n, apply=apply,
                 gradient=lambda x, f: analytic.stag_hunt_gradient(x, n, m, e * f, c),
                 critical=analytic.stag_hunt_critical(n, m) / e)


def _collective_risk(s: Scenario, p: dict[str, Any], st: GradientSettings) -> DockingResult:
    n, m, c = _threshold_groups(s, p, st)
    mo = s.orientations.moyens
    b = mo.endowment_at_risk * s.firms.size_median  # the endowment at risk of a firm
    if b <= 0:
        raise DockingError(f"orientations.moyens.endowment_at_risk: {mo.endowment_at_risk:g} is not valid here "
                           f"(the collective-risk dilemma needs an endowment at risk: a value > 0)")
    mo.pooled_variable_cost = c * mo.endowment_at_risk  # a contribution of c·b (size × cost per employee)
    mo.enhancement = 0.0

    def apply(base: Scenario, r: float) -> tuple[Scenario, float]:
        out = base.model_copy(deep=True)
        out.orientations.moyens.risk = r
        out.learning.selection_intensity = st.selection / (b * (1.0 + c))  # payoffs span [-(b + c·b), 0]
        return out, out.learning.selection_intensity

    return _game("collective_risk", s, p, st, parameter="risk", low=0.0, high=1.0, apply=apply,
                 gradient=lambda x, r: analytic.collective_risk_gradient(x, n, m, c, r, b),
                 critical=analytic.collective_risk_critical(n, m, c))


def _parse_thresholds(given: Any) -> tuple[str, list[float]]:
    """``0,1,2`` (a list; from Python also a list or tuple of integers), ``normal:MEAN,SD`` or
    ``uniform:LOW,HIGH``."""
    text = ",".join(str(v) for v in given) if isinstance(given, list | tuple) else str(given)
    kind, _, rest = text.partition(":") if ":" in text else ("list", "", text)
    kind = kind.strip()
    try:
        values = [float(v) for v in rest.replace(" ", "").split(",") if v != ""]
    except ValueError:
        values = []
    ok = {"list": MIN_ACTORS <= len(values) <= MAX_ACTORS
          and all(v >= 0 and float(v).is_integer() and v <= 200_000 for v in values),
          "normal": len(values) == 2 and values[0] >= 0 and values[1] >= 0,
          "uniform": len(values) == 2 and all(float(v).is_integer() and 0 <= v <= 200_000 for v in values)
          and values[0] <= values[1]}
    if not ok.get(kind, False):
        shown = text if len(text) <= 80 else text[:60] + "…" + text[-15:]
        raise DockingError(f"thresholds: {shown!r} is not valid (allowed: a list of {MIN_ACTORS} to {MAX_ACTORS} "
                           f"integers >= 0 and <= 200000 such as 0,1,2,3,4; "
                           f"normal:MEAN,SD; or uniform:LOW,HIGH with integers 0 <= LOW <= HIGH)")
    return kind, values


def _cascade(s: Scenario, p: dict[str, Any], st: GradientSettings) -> DockingResult:
    t0 = time.perf_counter()
    kind, values = _parse_thresholds(p["thresholds"])
    part = s.clusters.participation
    if kind == "list":
        n = len(values)
        part.values = [int(v) for v in values]
    else:
        n = int(p["actors"])
        if kind == "normal":
            part.mean, part.sd = values
        else:
            part.high = int(values[1])
            part.low = int(values[0])
    part.kind = kind  # type: ignore[assignment]
    part.applies_to = "contribute"
    s.simulation.n_firms = n
    s.clusters.grouping.group_size = n
    s.clusters.max_size = max(s.clusters.max_size, n)
    run = cascade_run(s, st.seed, max_quarters=n + 2)
    final = run["contributors"][-1] if run["settled"] else None
    realised = analytic.cascade_adopters(run["thresholds"])
    r = np.arange(n + 1)
    if kind == "list":
        thetas = np.sort(np.asarray(values)[np.arange(n) % len(values)])
        ana: float = analytic.cascade_adopters(thetas)
        tol: float = CASCADE_LIST_TOLERANCE
        response = np.searchsorted(thetas, r, side="right").astype(float)
    else:
        cdf = _threshold_cdf(kind, values)
        ana = analytic.cascade_adopters_expected(n, cdf)
        tol = CASCADE_DISTRIBUTION_TOLERANCE * n + 1
        response = n * np.array([cdf(float(v)) for v in r])
    dev = None if final is None else abs(final - ana)
    return DockingResult(
        case="threshold_cascade", parameters={"thresholds": p["thresholds"], "actors": n},
        analytic={"final_adopters": ana}, simulated={"final_adopters": final},
        tolerance={"final_adopters": tol}, deviation={"final_adopters": dev},
        agrees={"final_adopters": None if dev is None else bool(dev <= tol)},
        reasons={} if final is not None else {"final_adopters": f"the cascade had not settled after {n + 2} quarters"},
        details={"contributors_by_quarter": run["contributors"], "fixed_point_of_drawn_thresholds": realised,
                 "thresholds": kind},
        settings={"seed": st.seed}, seconds=time.perf_counter() - t0,
        figure={"response_r": r, "response": response})


def _threshold_cdf(kind: str, values: list[float]) -> Callable[[float], float]:
    """P(threshold <= r) of the model's draws (ODD 7.19): rounded normal floored at 0, or uniform integers."""
    if kind == "normal":
        mean, sd = values

        def normal(r: float) -> float:
            if r < 0:
                return 0.0
            edge = math.floor(r) + 0.5  # rint(mean + sd·z) <= floor(r)  <=>  mean + sd·z < floor(r) + 0.5
            if sd == 0:
                return 1.0 if mean < edge else 0.0
            return 0.5 * (1.0 + math.erf((edge - mean) / (sd * math.sqrt(2.0))))
        return normal
    low, high = values

    def uniform(r: float) -> float:
        return min(1.0, max(0.0, (math.floor(r) - low + 1) / (high - low + 1)))
    return uniform


_GROUP = (Param("group_size", int, 10, 2, 500, "N: members of each group"),
          Param("threshold", int, 5, 1, 500, "M: cooperators a group needs (<= group_size)"))

#: the docking cases, by name
CASES: dict[str, Case] = {
    "threshold_cascade": Case(
        "threshold_cascade", "Threshold cascade", "Granovetter 1978, Am. J. Sociology 83:1420",
        (Param("thresholds", str, ",".join(str(i) for i in range(100)),
               desc="the actors' thresholds: a list (0,1,2,...), normal:MEAN,SD or uniform:LOW,HIGH"),
         Param("actors", int, 100, MIN_ACTORS, MAX_ACTORS,
               "actors (firms) when thresholds are drawn from a distribution; a list gives one actor per threshold")),
        ("final_adopters",), _cascade),
    "stag_hunt": Case(
        "stag_hunt", "N-person stag hunt", "Pacheco, Santos, Souza & Skyrms 2009, "
        "Proc. R. Soc. B 276:315",
        (*_GROUP, Param("enhancement", float, 8.0, 0.0, 1000.0, "F: the pot is F times the contributions"),
         Param("cost", float, 1.0, 0.01, 1000.0, "c: a contribution (k€)")),
        ("interior_roots", "critical"), _stag_hunt),
    "collective_risk": Case(
        "collective_risk", "Collective-risk dilemma", "Santos & Pacheco 2011, "
        "PNAS 108:10421",
        (Param("group_size", int, 6, 2, 500, "N: members of each group"),
         Param("threshold", int, 3, 1, 500, "M: cooperators a group needs (<= group_size)"),
         Param("cost", float, 0.1, 0.001, 1.0, "c: the fraction of the endowment a cooperator gives"),
         Param("risk", float, 0.6, 0.0, 1.0, "r: the probability that a group below M loses its endowment")),
        ("interior_roots", "critical"), _collective_risk),
}


def parameters(case: Case, given: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(case parameters and settings, scenario overrides) from ``given``: names of the case's parameters and
    settings, or dotted scenario paths (``learning.exploration``)."""
    known = {p.name: p for p in (*case.params, *SETTINGS)}
    values = {p.name: p.default for p in known.values()}
    overrides: dict[str, Any] = {}
    for name, raw in given.items():
        if "." in name:
            overrides[name] = raw
        elif name in known:
            values[name] = known[name].parse(raw)
        else:
            import difflib

            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DockingError(f"{name}: not a parameter of {case.name}{hint}; its parameters: "
                               f"{', '.join(p.name for p in case.params)}; settings: "
                               f"{', '.join(p.name for p in SETTINGS)}; or a dotted scenario path")
    if "group_size" in values and "threshold" in values and values["threshold"] > values["group_size"]:
        raise DockingError(f"threshold: {values['threshold']} is out of range (allowed: an integer >= 1 and <= "
                           f"group_size {values['group_size']})")
    return values, overrides


def run_case(name: str, given: Mapping[str, Any] | None = None) -> DockingResult:
    """Run the docking case ``name`` with ``given`` parameters (names as in :data:`CASES` and the settings, or
    dotted scenario paths); returns its :class:`DockingResult`."""
    if name not in CASES:
        raise DockingError(f"{name!r} is not a docking case (allowed: {', '.join(CASES)})")
    case = CASES[name]
    values, overrides = parameters(case, dict(given or {}))
    scenario = case_scenario(case, overrides)
    try:
        result = case.run(scenario, values, _settings(values))
    except ValidationError as exc:  # a value the case derives (e.g. the selection intensity) out of its range
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise DockingError(f"these parameters make the scenario invalid ({problems}); choose values that keep "
                           f"it in range") from None
    if overrides:
        result.details["scenario_overrides"] = dict(overrides)
    return result
