"""Design points of a sweep, and the seeding rule of its runs (pure functions: no file I/O, no model runs).

A *design* is a :class:`pandas.DataFrame` with one row per design point: a ``point_id`` column (0 .. n-1,
first) and one column per *factor*, named by the factor's dotted scenario parameter path (as in
``--set``, e.g. ``"clusters.membership_fee"``), in the order the factors were given. Three generators
make designs:

- :func:`full_factorial` -- every combination of given levels, the last factor varying fastest;
- :func:`latin_hypercube` -- ``n`` points of a (scrambled) Latin hypercube over bounded factors
  (:class:`Factor`: ``float``, ``int`` or ``log`` scale), deterministic for a seed;
- :func:`explicit_points` -- points listed one by one.

The generators check the structure of a design only (names, levels, bounds); they do not look at the
schema, so that they stay usable on any table. :func:`validate_factors` checks that factor paths are leaf
parameters of :class:`clustersim.scenario.schema.Scenario` (with a did-you-mean suggestion), and
:func:`point_scenarios` turns each point into a validated scenario, refusing the whole design -- before
anything runs -- with one line per bad value naming the point and the field. Values keep their types: an
integer parameter gets a Python ``int``, a float parameter the exact ``float`` of the table (no text
round-trip). Because a table column holding both integers and floats is a float column, an integral float
given to an integer parameter (``3.0``) is read as that integer; any other float is refused for it.

Runs and seeds
--------------

Each design point is run ``replications`` times. :func:`run_table` lists the runs: ``run_id = point_id *
replications + replication``. The seed of a run depends on its replication index only
(:func:`run_seed`)::

    run_seed(root_seed, r) == numpy.random.SeedSequence(root_seed, spawn_key=(r,))

which is the ``r``-th child of ``SeedSequence(root_seed).spawn(R)`` (same entropy, same spawn key, hence
the same generated state), and the seed ``clustersim run`` gives its replication ``r`` (see
:func:`clustersim.experiment.runner.replication_seed`). Consequences:

- *Common random numbers.* Replication ``r`` of every design point uses the same random stream, so two
  points differ in their parameters only, not in their luck: differences between points are paired
  comparisons (the noise shared by both cancels), and sensitivity estimates across the design have a
  lower variance than with independent streams. Replication ``r`` of a design point also reproduces
  replication ``r`` of a plain ``clustersim run`` of the same scenario and root seed.
- *Rebuildable.* A run's seed is rebuilt from the root seed and its replication index alone: it does not
  depend on the number of points, the number of replications, the order in which runs execute, the number
  of workers, or on which runs already finished (a crashed sweep resumes with the same seeds).

The streams of different replications are independent (distinct spawn keys of one ``SeedSequence``). The
price of common random numbers is that a design point's replications are not independent *of other
points'* replications: analyses that pool points must treat the replication as a blocking factor.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from clustersim.experiment.seeds import replication_seed
from clustersim.scenario.io import ScenarioError, scenario_from_dict
from clustersim.scenario.schema import Scenario, iter_parameters

if TYPE_CHECKING:
    from scipy.stats import qmc

__all__ = [
    "POINT_ID",
    "DesignError",
    "Factor",
    "explicit_points",
    "full_factorial",
    "latin_hypercube",
    "point_scenarios",
    "run_seed",
    "run_table",
    "validate_factors",
]

POINT_ID = "point_id"
"""Name of the design-point index column (the first column of every design)."""

FactorKind = Literal["float", "int", "log"]
_KINDS: tuple[str, ...] = ("float", "int", "log")


class DesignError(ValueError):
    """A design is invalid: ``errors`` holds one line per problem, ``str()`` joins them with newlines."""

    def __init__(self, errors: str | Sequence[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)

    def __reduce__(self) -> tuple[type[DesignError], tuple[list[str]]]:
        return (type(self), (self.errors,))


# --------------------------------------------------------------------------------------------------------
# Checks shared by the generators
# --------------------------------------------------------------------------------------------------------


def _is_number(x: Any) -> bool:
    """A real number that is not a bool (Python or numpy)."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def _is_scalar(x: Any) -> bool:
    """A value a leaf parameter can take: a number, a bool or a string (Python or numpy)."""
    return isinstance(x, numbers.Real | str | bool | np.bool_)


def _same(a: Any, b: Any) -> bool:
    """Equal values for a design: numbers by value (``1 == 1.0``), others by type and value (``True != 1``)."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _plain(x: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (other values unchanged)."""
    return x.item() if isinstance(x, np.generic) else x


def _check_names(names: Sequence[Any], what: str) -> None:
    """Factor names must be non-empty strings, not ``point_id``, at least one."""
    if not names:
        raise DesignError(f"{what}: a design needs at least one factor")
    problems = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{what}: factor name {name!r} is not valid: expected a dotted parameter path")
        elif name == POINT_ID:
            problems.append(f"{what}: {POINT_ID!r} is reserved for the point index and cannot be a factor")
    if problems:
        raise DesignError(problems)


def _frame(columns: Mapping[str, Sequence[Any]], n: int) -> pd.DataFrame:
    """A design table: ``point_id`` (0..n-1, int64) first, then the factor columns in order."""
    data: dict[str, Any] = {POINT_ID: np.arange(n, dtype=np.int64)}
    data.update(columns)
    return pd.DataFrame(data)


# --------------------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------------------


def full_factorial(levels: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Every combination of the factors' levels, one row each.

    ``levels`` maps each factor (a dotted parameter path) to its levels, in order. Columns follow the key
    order of ``levels``, rows the order of :func:`itertools.product`: the last factor varies fastest, the
    first slowest. The table has ``prod(len(levels))`` rows and a ``point_id`` column 0..n-1 first. Each
    factor needs at least one level, levels must be scalars (numbers, booleans or strings) and distinct
    within a factor. A factor whose levels mix integers and floats becomes a float column.
    """
    names = list(levels)
    _check_names(names, "full factorial")
    lists: list[list[Any]] = []
    problems: list[str] = []
    for name in names:
        raw = levels[name]
        if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
            problems.append(f"full factorial: {name}: levels must be a list of values, got {raw!r}")
            continue
        values = [_plain(v) for v in raw]
        if not values:
            problems.append(f"full factorial: {name}: no levels (give at least one)")
            continue
        bad = [v for v in values if not _is_scalar(v)]
        if bad:
            problems.append(f"full factorial: {name}: level {bad[0]!r} is not valid: expected a number, "
                            "true/false or a string")
            continue
        seen: list[Any] = []
        for v in values:
            if any(_same(v, s) for s in seen):
                problems.append(f"full factorial: {name}: level {v!r} is repeated (levels must be distinct)")
                break
            seen.append(v)
        lists.append(values)
    if problems:
        raise DesignError(problems)
    rows = list(itertools.product(*lists))
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return _frame(columns, len(rows))


@dataclass(frozen=True)
class Factor:
    """A bounded factor of a Latin hypercube: ``low`` and ``high`` on a ``kind`` scale.

    - ``"float"``: uniform on ``[low, high]``;
    - ``"int"``: integers ``low .. high`` inclusive, each equally likely (``floor`` of a uniform on
      ``[low, high + 1)``); ``low`` and ``high`` must be integers;
    - ``"log"``: geometric (log-uniform) on ``[low, high]``, ``low > 0``.

    ``low < high`` is required. Invalid bounds raise :class:`DesignError` at construction.
    """

    low: float
    high: float
    kind: FactorKind = "float"

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise DesignError(f"factor kind {self.kind!r} is not valid (allowed: {', '.join(_KINDS)})")
        for label, value in (("low", self.low), ("high", self.high)):
            if not _is_number(value) or not math.isfinite(value):
                raise DesignError(f"factor {label} {value!r} is not valid: expected a finite number")
            if self.kind == "int" and not float(value).is_integer():
                raise DesignError(f"factor {label} {value!r} is not valid: an 'int' factor needs integer bounds")
        if not self.low < self.high:
            raise DesignError(f"factor bounds [{self.low!r}, {self.high!r}] are not valid: expected low < high")
        if self.kind == "log" and not self.low > 0:
            raise DesignError(f"factor low {self.low!r} is not valid: a 'log' factor needs low > 0")

    def scale(self, u: np.ndarray) -> np.ndarray:
        """Map uniform values ``u`` in ``[0, 1)`` to this factor's scale (stratification is preserved)."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "int":
            low, high = int(self.low), int(self.high)
            values = np.floor(low + u * (high - low + 1))
            return np.clip(values, low, high).astype(np.int64)
        if self.kind == "log":
            log_low, log_high = math.log(self.low), math.log(self.high)
            values = np.exp(log_low + u * (log_high - log_low))
        else:
            values = self.low + u * (self.high - self.low)
        return np.clip(values, float(self.low), float(self.high))


def _lhs_engine(d: int, seed: int) -> qmc.LatinHypercube:
    """scipy's LatinHypercube seeded from ``SeedSequence(seed)`` (``rng=`` where scipy has it, else ``seed=``)."""
    from scipy.stats import qmc  # on first use: scipy.stats takes 0.4 s to import

    generator = np.random.default_rng(np.random.SeedSequence(seed))
    if "rng" in inspect.signature(qmc.LatinHypercube).parameters:
        return qmc.LatinHypercube(d, rng=generator)
    return qmc.LatinHypercube(d, seed=generator)  # scipy < 1.15


def latin_hypercube(factors: Mapping[str, Factor], n: int, seed: int) -> pd.DataFrame:
    """``n`` points of a scrambled Latin hypercube, scaled to each :class:`Factor`'s bounds and kind.

    Each factor's range, cut into ``n`` equal strata (on its scale: linear for ``float``/``int``,
    logarithmic for ``log``), holds exactly one point per stratum. (For an ``int`` factor the strata are
    exact when ``n`` divides ``high - low + 1``.) The points come from
    ``scipy.stats.qmc.LatinHypercube(d, rng=numpy.random.default_rng(numpy.random.SeedSequence(seed)))``:
    the same seed gives the same table. Columns follow the key order of ``factors``; ``int`` factors are
    int64 columns, the others float64.
    """
    names = list(factors)
    _check_names(names, "latin hypercube")
    bad = [name for name in names if not isinstance(factors[name], Factor)]
    if bad:
        raise DesignError([f"latin hypercube: {name}: expected a Factor(low, high, kind), got "
                           f"{factors[name]!r}" for name in bad])
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise DesignError(f"latin hypercube: n = {n!r} is not valid: expected an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DesignError(f"latin hypercube: seed = {seed!r} is not valid: expected an integer >= 0")
    sample = _lhs_engine(len(names), int(seed)).random(int(n))
    columns = {name: factors[name].scale(sample[:, j]) for j, name in enumerate(names)}
    return _frame(columns, int(n))


def explicit_points(points: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A design of the given points, in order (``point_id`` = position in ``points``).

    Every point must set the same factors (columns follow their first appearance); a point lacking a
    factor that another point sets, a non-scalar value or a point repeating an earlier one is refused.
    """
    if isinstance(points, Mapping | str | bytes) or not isinstance(points, Iterable):
        raise DesignError(f"explicit points: expected a list of points (mappings of path to value), got "
                          f"{points!r}")
    points = list(points)
    if not points:
        raise DesignError("explicit points: no points (give at least one)")
    problems: list[str] = []
    names: list[str] = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            problems.append(f"explicit points: point {i}: expected a mapping of path to value, got {point!r}")
            continue
        for name in point:
            if name not in names:
                names.append(name)
    if problems:
        raise DesignError(problems)
    _check_names(names, "explicit points")
    first_seen: dict[tuple[Any, ...], int] = {}
    for i, point in enumerate(points):
        missing = [name for name in names if name not in point]
        if missing:
            problems.append(f"explicit points: point {i}: missing {', '.join(missing)} (every point must set "
                            f"the same parameters: {', '.join(names)})")
            continue
        bad = [name for name in names if not _is_scalar(_plain(point[name]))]
        if bad:
            problems.extend(f"explicit points: point {i}: {name}: {point[name]!r} is not valid: expected a "
                            "number, true/false or a string" for name in bad)
            continue
        key = tuple((type(v).__name__ if not _is_number(v) else "number", v)
                    for v in (_plain(point[name]) for name in names))
        if key in first_seen:
            problems.append(f"explicit points: point {i} repeats point {first_seen[key]} (to run a point more "
                            "often, raise the replications)")
        else:
            first_seen[key] = i
    if problems:
        raise DesignError(problems)
    columns = {name: [_plain(point[name]) for point in points] for name in names}
    return _frame(columns, len(points))


# --------------------------------------------------------------------------------------------------------
# Against the schema
# --------------------------------------------------------------------------------------------------------


def _leaves() -> dict[str, Any]:
    """Dotted path -> field info of every leaf parameter of the scenario schema."""
    return dict(iter_parameters(Scenario))


def validate_factors(paths: Iterable[str]) -> None:
    """Check that each path is a leaf parameter of :class:`~clustersim.scenario.schema.Scenario`, once.

    Raises :class:`DesignError` with one line per bad path, e.g. ``clusters.membership_fe: not a scenario
    parameter (did you mean 'clusters.membership_fee'?)``; a section path is named as such with its
    parameters.
    """
    leaves = _leaves()
    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        if not isinstance(path, str):
            problems.append(f"{path!r}: not a scenario parameter (expected a dotted path such as "
                            "'clusters.membership_fee')")
            continue
        if path in seen:
            problems.append(f"{path}: given more than once")
            continue
        seen.add(path)
        if path in leaves:
            continue
        below = [p for p in leaves if p.startswith(path + ".")]
        if below:
            problems.append(f"{path}: is a section, not a parameter (its parameters: "
                            f"{', '.join(below[:8])}{', ...' if len(below) > 8 else ''})")
            continue
        close = difflib.get_close_matches(path, list(leaves), n=1, cutoff=0.6)
        if not close:  # a misspelled last part under a right section, or a right name under the wrong one
            tail = path.rsplit(".", 1)[-1]
            by_tail = {p.rsplit(".", 1)[-1]: p for p in leaves}
            close = [by_tail[m] for m in difflib.get_close_matches(tail, list(by_tail), n=1, cutoff=0.8)]
        hint = f"did you mean {close[0]!r}?" if close else "see `clustersim template` for every parameter"
        problems.append(f"{path}: not a scenario parameter ({hint})")
    if problems:
        raise DesignError(problems)


def _value_for(value: Any, annotation: Any) -> Any:
    """A table value as the Python value for a parameter of type ``annotation`` (exact, no text round-trip).

    numpy scalars become Python scalars; an integral float for an ``int`` parameter becomes that ``int``
    (a column mixing ints and floats is a float column); anything else is left for the schema to judge.
    """
    value = _plain(value)
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def point_scenarios(base: Scenario, points: pd.DataFrame) -> Iterator[tuple[int, Scenario]]:
    """``(point_id, scenario)`` for each row of a design: ``base`` with the point's values, validated.

    Every column but ``point_id`` is a factor (checked with :func:`validate_factors`). ``base`` is not
    changed. The whole design is checked before the first pair is returned: any invalid value raises a
    :class:`DesignError` with one line per problem naming the point and the field, e.g.
    ``design point 3: clusters.membership_fee: -1.0 is out of range (allowed: >= 0 and <= 100000)``.
    """
    if not isinstance(base, Scenario):
        raise DesignError(f"the base must be a Scenario, got {type(base).__name__}")
    if not isinstance(points, pd.DataFrame):
        raise DesignError(f"the design must be a pandas DataFrame, got {type(points).__name__}")
    if POINT_ID not in points.columns:
        raise DesignError(f"the design has no {POINT_ID!r} column")
    ids = points[POINT_ID].tolist()
    if any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in ids):
        raise DesignError(f"the design's {POINT_ID!r} column must hold integers")
    if len(set(ids)) != len(ids):
        raise DesignError(f"the design's {POINT_ID!r} column repeats a point id")
    names = [c for c in points.columns if c != POINT_ID]
    validate_factors(names)
    leaves = _leaves()
    base_data = base.model_dump(mode="json")
    problems: list[str] = []
    scenarios: list[tuple[int, Scenario]] = []
    columns = [points[name].tolist() for name in names]
    for row, point_id in enumerate(ids):
        data = _with_values(base_data, {name: _value_for(col[row], leaves[name].annotation)
                                        for name, col in zip(names, columns, strict=True)})
        try:
            scenarios.append((int(point_id), scenario_from_dict(data, f"design point {point_id}")))
        except ScenarioError as exc:
            problems.extend(exc.errors)
    if problems:
        raise DesignError(problems)
    return iter(scenarios)


def _with_values(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the nested dict ``data`` with each dotted path of ``values`` set (sections copied on write)."""
    out = dict(data)
    for path, value in values.items():
        *sections, leaf = path.split(".")
        node = out
        for part in sections:
            node[part] = dict(node[part])
            node = node[part]
        node[leaf] = value
    return out


# --------------------------------------------------------------------------------------------------------
# Runs and seeds
# --------------------------------------------------------------------------------------------------------


def run_table(n_points: int, replications: int) -> pd.DataFrame:
    """The runs of a sweep: columns ``run_id``, ``point_id``, ``replication`` (int64), ordered by run_id.

    ``run_id = point_id * replications + replication``, for ``point_id`` in ``0 .. n_points-1`` and
    ``replication`` in ``0 .. replications-1``. Seed each run with ``run_seed(root_seed, replication)``.
    """
    for label, value in (("n_points", n_points), ("replications", replications)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise DesignError(f"run table: {label} = {value!r} is not valid: expected an integer >= 1")
    point_id = np.repeat(np.arange(int(n_points), dtype=np.int64), int(replications))
    replication = np.tile(np.arange(int(replications), dtype=np.int64), int(n_points))
    return pd.DataFrame({"run_id": point_id * int(replications) + replication,
                         "point_id": point_id, "replication": replication})


def run_seed(root_seed: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``replication`` of every design point: ``SeedSequence(root_seed, spawn_key=(r,))``.

    Equal to ``SeedSequence(root_seed).spawn(R)[replication]`` for any ``R > replication`` and to the seed
    of that replication in ``clustersim run``. All design points share it (common random numbers); see
    the module docstring.
    """
    for label, value in (("root seed", root_seed), ("replication", replication)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise DesignError(f"run seed: {label} {value!r} is not valid: expected an integer >= 0")
    return replication_seed(int(root_seed), int(replication))
