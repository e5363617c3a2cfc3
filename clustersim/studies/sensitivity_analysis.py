"""The analysis of a sensitivity study's runs (:func:`analyse`): SALib's indices of every output, with what was
done about noise, missing runs and convergence.

The analysis:

- averages each design point's replications (indices on replication means) and reports, per output, the
  share of variance due to the random seed and the part of it that is a common shift of a whole
  replication (see :func:`_seed_shares`: estimated from variance components, so that common random numbers
  do not inflate it; never capped, a value above 1 is estimator noise and is said so in the note);
- handles failed or missing runs openly: a point with no successful replication is missing; the whole
  Saltelli block (Sobol') or trajectory (Morris) holding it is dropped, Latin-hypercube methods drop the
  point, and FAST (whose sample cannot be thinned) is not analysed for that output; the report says how
  many points were missing and what was dropped;
- gives bootstrap confidence intervals (SALib's, with a fixed non-zero seed) and a convergence check:
  indices on the first half of the sample against the whole, flagged when intervals are wide or the
  estimates moved (only when the first half holds enough independent blocks or points for the method:
  :data:`MIN_HALF_BLOCKS` Saltelli blocks or trajectories, :data:`MIN_HALF_ROWS` Latin-hypercube points);
- calls SALib's analysers in isolation: their warnings are recorded (in the notes) rather than shown, and
  neither the warning filters nor numpy's global random state (which the delta analyser seeds) change.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clustersim.studies.sensitivity_sampling import _blocks
from clustersim.studies.sensitivity_spec import SensitivitySpec, SensitivityStudy

__all__ = ["ANALYSIS_SEED_OFFSET", "MIN_HALF_BLOCKS", "MIN_HALF_ROWS", "MOVED", "WIDE_INTERVAL", "SensitivityResult",
           "analyse"]

#: SALib analysers get this seed (plus the study's) so that bootstrap intervals are reproducible
ANALYSIS_SEED_OFFSET = 7919
#: convergence flags: a confidence half-width above this, or a move between N/2 and N above this
WIDE_INTERVAL = 0.1
MOVED = 0.05
#: the N/2 convergence check needs this many independent blocks in the first half (Sobol': base samples,
#: Morris: trajectories; with one, Morris' sigma divides by zero and nothing can be compared) ...
MIN_HALF_BLOCKS = 2
#: ... or, for the Latin-hypercube methods, this many points (PAWN: 2 per each of its 10 slices; delta: its
#: classes need 10 points; RBD-FAST also at least 4·M: its bias correction divides by 1 - 2·M/N)
MIN_HALF_ROWS = 20


@dataclass
class SensitivityResult:
    """Indices per output, with what the analysis did about noise, missing runs and convergence."""

    study: dict[str, Any]
    indices: pd.DataFrame  # output, factor, index, value, conf, low, high
    outputs: pd.DataFrame  # per output: points used/missing, seed variance shares, convergence, notes
    convergence: pd.DataFrame  # output, factor, index, half, full, moved
    notes: list[str] = field(default_factory=list)


def analyse(study: SensitivityStudy, index: pd.DataFrame, values: pd.DataFrame) -> SensitivityResult:
    """Indices of every output from the runs stored so far (``index``/``values``: the store's index and
    outputs tables)."""
    spec, n = study.spec, len(study.sample)
    means, _, counts = _point_means(index, values, n, spec.outputs)
    seed = spec.seed + ANALYSIS_SEED_OFFSET
    runs_ok = int((index["status"] == "ok").sum()) if len(index) else 0
    notes = [_all_failed(index, study.experiment.model)] if len(index) and not runs_ok else []
    sigma_note = _group_sigma_note(study.problem) if spec.method == "morris" else ""
    outcomes = []
    for out in spec.outputs:
        y = means[out].to_numpy(dtype=np.float64)
        outcome = _outcome(out, y, n, index, values, counts)
        _analyse_output(study, outcome, y, out in values.columns, runs_ok, seed, sigma_note)
        outcomes.append(outcome)
        notes += outcome.notes
    return _result(study, index, seed, outcomes, notes)


@dataclass
class _Outcome:
    """One output's analysis: its row of the outputs table, the remarks its note ends with whatever happens,
    its indices and convergence rows (when analysed) and what it adds to the study's notes."""

    row: dict[str, Any]
    remarks: list[str]
    indices: pd.DataFrame | None = None
    convergence: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def done(self, note: str) -> None:
        """Close the row: its note is ``note`` followed by the remarks."""
        self.row["note"] = "; ".join(t for t in (note, *self.remarks) if t)


def _outcome(out: str, y: np.ndarray, n: int, index: pd.DataFrame, values: pd.DataFrame, counts: pd.DataFrame
             ) -> _Outcome:
    """An output's outcome before its analysis: points missing, runs, seed variance shares (``y``: its point
    means, NaN where missing; ``counts``: successful runs per point)."""
    share, common = _seed_shares(values, index, out)
    row: dict[str, Any] = {"output": out, "points": n, "points_missing": int((~np.isfinite(y)).sum()),
                           "runs_ok": int(counts[out].sum()) if out in counts else 0,
                           "seed_variance_share": share, "replication_variance_share": common,
                           "handling": "", "converged": None, "note": ""}
    remarks: list[str] = []
    if share > 1:
        remarks.append(f"seed variance share {share:.0%} above 100 %: estimator noise, the output hardly varies "
                       "between points (the seed dominates)")
    return _Outcome(row, remarks)


def _analyse_output(study: SensitivityStudy, o: _Outcome, y: np.ndarray, returned: bool, runs_ok: int, seed: int,
                    sigma_note: str) -> None:
    """Analyse one output (``returned``: whether the runs' outputs hold it), or say in ``o`` why it is not:
    no run returned it, too many points are missing, it is constant, or SALib refused it."""
    spec, problem, x, out = study.spec, study.problem, study.sample, o.row["output"]
    if not returned:
        o.row["handling"] = "not analysed"
        if runs_ok:
            o.done("no run returned this output")
            o.notes.append(f"{out}: no run returned this output (check its name)")
        else:
            o.done("no successful run")
        return
    use, handling = _usable(spec.method, problem, spec, y)
    o.row["handling"] = handling or "none missing"
    if use is None:
        o.done(handling)
        o.notes.append(f"{out}: {handling}")
        return
    if np.nanstd(y[use]) == 0:
        o.done("the output does not vary over the design: indices undefined")
        o.notes.append(f"{out}: constant over the design, not analysed")
        return
    try:
        idx, warned = _salib_indices(spec.method, problem, x[use], y[use], spec, seed)
    except Exception as exc:  # noqa: BLE001 - SALib refuses a sample too small or degenerate for it
        o.done(f"not analysed: SALib failed: {type(exc).__name__}: {exc}")
        o.notes.append(f"{out}: not analysed: SALib failed: {type(exc).__name__}: {exc}")
        return
    if spec.method == "fast":
        o.remarks.append("intervals indicative only (SALib's bootstrap is unreliable for FAST)")
    if sigma_note:
        o.remarks.append(sigma_note)
    if warned:
        o.remarks.append("SALib warned: " + _first_three(warned))
    idx.insert(0, "output", out)
    o.indices = idx
    o.done(_convergence(study, o, idx, y, use, seed))


def _convergence(study: SensitivityStudy, o: _Outcome, idx: pd.DataFrame, y: np.ndarray, use: np.ndarray,
                 seed: int) -> str:
    """The convergence check of an analysed output (``idx``: its indices): the first half of the (independent)
    blocks or rows against all of them. Sets ``converged`` and the convergence rows; returns the note."""
    spec, problem, x = study.spec, study.problem, study.sample
    half = _half(spec.method, problem, spec, use)
    if half is None:
        return "convergence not checked (FAST's sample cannot be halved)"
    if not _enough_to_halve(spec.method, problem, spec, half):
        return "convergence not checked (too few points)"
    try:
        h, warned_half = _salib_indices(spec.method, problem, x[half], y[half], spec, seed)
    except Exception as exc:  # noqa: BLE001 - a half sample too small for the method
        return f"convergence not checked: {type(exc).__name__}: {exc}"
    if warned_half:
        o.remarks.append("at N/2, SALib warned: " + _first_three(warned_half))
    m = idx.merge(h[["factor", "index", "value"]], on=["factor", "index"], suffixes=("", "_half"))
    m["moved"] = (m["value"] - m["value_half"]).abs()
    wide, moved = _flags(spec.method, m)
    o.row["converged"] = not (wide or moved)
    o.convergence = [{"output": o.row["output"], "factor": r.factor, "index": r.index, "half": r.value_half,
                      "full": r.value, "moved": r.moved} for r in m.itertuples()]
    return "; ".join(t for t in ("wide intervals" if wide else "",
                                 "estimates moved between N/2 and N" if moved else "") if t)


def _flags(method: str, m: pd.DataFrame) -> tuple[bool, bool]:
    """(wide, moved) of the estimates at N/2 and N (``m``): a confidence half-width above :data:`WIDE_INTERVAL`,
    a move above :data:`MOVED`, on the main index (Sobol' and FAST: ST; Morris: mu_star, relative to its
    largest value; the other methods: every index)."""
    key = {"sobol": ("ST",), "fast": ("ST",), "morris": ("mu_star",)}.get(method, None)
    sel = m[m["index"].isin(key)] if key else m
    scale = 1.0 if method != "morris" else max(float(sel["value"].abs().max()), 1e-12)
    wide = bool((sel["conf"] / scale > WIDE_INTERVAL).any()) if sel["conf"].notna().any() else False
    moved = bool((sel["moved"] / scale > MOVED).any())
    return wide, moved


def _first_three(warned: list[str]) -> str:
    """SALib's warnings as the note shows them: the first three, and "..." when there were more."""
    return " | ".join(warned[:3]) + (" | ..." if len(warned) > 3 else "")


def _result(study: SensitivityStudy, index: pd.DataFrame, seed: int, outcomes: list[_Outcome], notes: list[str]
            ) -> SensitivityResult:
    """The result from every output's outcome; the notes begin with how many runs failed or are still to run."""
    spec, n = study.spec, len(study.sample)
    all_idx = [o.indices for o in outcomes if o.indices is not None]
    indices = pd.concat(all_idx, ignore_index=True) if all_idx else pd.DataFrame(
        columns=["output", "factor", "index", "value", "conf"])
    z = indices["conf"]
    indices["low"] = indices["value"] - z
    indices["high"] = indices["value"] + z
    failed = int((index["status"] != "ok").sum()) if len(index) else 0  # failed, or non-finite outputs
    expected = n * spec.replications
    if failed or len(index) < expected:
        notes.insert(0, f"{failed} failed and {expected - len(index)} not yet run of {expected} runs; points "
                        "without any successful replication are missing (see per-output handling)")
    return SensitivityResult(
        study={"name": spec.name, "method": spec.method, "samples": spec.samples, "points": n,
               "replications": spec.replications, "factors": study.problem["names"], "seed": spec.seed,
               "analysis_seed": seed, "identity": study.identity()},
        indices=indices, outputs=pd.DataFrame([o.row for o in outcomes]),
        convergence=pd.DataFrame([r for o in outcomes for r in o.convergence],
                                 columns=["output", "factor", "index", "half", "full", "moved"]),
        notes=notes)


def _point_means(index: pd.DataFrame, values: pd.DataFrame, n_points: int, outputs: list[str]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(mean per point, variance within points, runs per point) for each output, NaN where no run succeeded."""
    ok = index[index["status"] == "ok"][["run_id", "point_id"]]
    vals = values.drop(columns=[c for c in ("point_id", "replication") if c in values.columns])
    df = ok.merge(vals, on="run_id", how="inner")
    missing_cols = [o for o in outputs if o not in df.columns]
    for o in missing_cols:
        df[o] = np.nan
    g = df.groupby("point_id")[outputs]
    full = pd.RangeIndex(n_points, name="point_id")
    return g.mean().reindex(full), g.var(ddof=1).reindex(full), g.count().reindex(full, fill_value=0)


def _seed_shares(values: pd.DataFrame, index: pd.DataFrame, output: str) -> tuple[float, float]:
    """(seed variance share, replication variance share) of ``output``: NaN with fewer than 2 replications
    (or 2 points) complete.

    On the design points whose replications all succeeded, a table ``y[p, r]`` of P points × R replications
    (R >= 2). Replication ``r`` runs with the same seed at every point (common random numbers), so an output
    is ``f(point) + shift(r) + noise(p, r)`` and, estimated from these components (method of moments):

    - ``W``, the within-point variance: the variance of a point's replications around their mean (ddof = 1),
      averaged over points; it estimates the seed's variance, shift and noise;
    - ``C``, its part shared by every point of a replication (the common shift): the variance over
      replications of the replication's mean over points (ddof = 1). ``C <= W`` always. A common shift
      moves every replication mean alike, so it cancels out of the indices (computed on replication means);
      the rest, ``W - C``, does not;
    - ``T``, the total variance of one run: ``W`` plus the between-point variance, estimated by the
      variance of the point means minus what the noise leaves in them (residual mean square / R). The plain
      variance of all runs would understate the shift (R draws of it only, not P·R: by a factor (R - 1)/R)
      and so inflate the share.

    The shares are ``W / T`` and ``C / T``. They are not capped: when the output hardly varies between
    points the between-point estimate can fall below zero by chance and ``W / T`` exceed 1 (the note says
    so); it then means "the seed dominates".
    """
    nan = (math.nan, math.nan)
    if output not in values.columns or not len(index):
        return nan
    ok = index[index["status"] == "ok"][["run_id", "point_id", "replication"]]
    runs = ok.merge(values[["run_id", output]], on="run_id")
    runs = runs[np.isfinite(runs[output].to_numpy(dtype=np.float64))].drop_duplicates(["point_id", "replication"])
    table = runs.pivot(index="point_id", columns="replication", values=output)
    y = table.dropna(axis=1, how="all").dropna(axis=0, how="any").to_numpy(dtype=np.float64)
    p, r = y.shape
    if p < 2 or r < 2:
        return nan
    # deviations within points from each point's first replication: exact zeros where replications agree
    d = y - y[:, :1]
    dev = d - d.mean(axis=1, keepdims=True)
    within = float((dev**2).sum() / (p * (r - 1)))
    rep_means = dev.mean(axis=0)  # replication means over points, less the grand mean
    common = float((rep_means**2).sum() / (r - 1))
    residual = float(((dev - rep_means) ** 2).sum() / ((p - 1) * (r - 1)))
    total = float(y.mean(axis=1).var(ddof=1)) - residual / r + within
    if within == 0:
        return 0.0, 0.0
    if total <= 0:
        return nan
    return within / total, common / total


def _usable(method: str, problem: dict[str, Any], spec: SensitivitySpec, y: np.ndarray
            ) -> tuple[np.ndarray | None, str]:
    """Row mask of the design usable for this output, and what was done about missing points."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return np.ones(len(y), dtype=bool), ""
    block = _blocks(method, problem, spec.second_order)
    if block is not None:
        n_blocks = len(y) // block
        dead = bad[: n_blocks * block].reshape(n_blocks, block).any(axis=1)
        what = "Saltelli blocks (base samples)" if method == "sobol" else "trajectories"
        if dead.all():
            return None, f"every one of the {n_blocks} {what} has a missing point: not analysed"
        return np.repeat(~dead, block), f"dropped {int(dead.sum())} of {n_blocks} {what} holding a missing point"
    if method == "fast":
        return None, "FAST's sample cannot be thinned: not analysed (rerun the failed runs with --retry-failed)"
    return ~bad, f"dropped {int(bad.sum())} missing points of the Latin hypercube"


def _half(method: str, problem: dict[str, Any], spec: SensitivitySpec, use: np.ndarray) -> np.ndarray | None:
    """Row mask of the usable design's first half (of its blocks, or rows); None for FAST, which cannot be halved."""
    if method == "fast":
        return None
    block = _blocks(method, problem, spec.second_order)
    n = len(use)
    if block is not None:
        n_blocks = n // block
        keep = np.zeros(n, dtype=bool)
        keep[: (n_blocks // 2) * block] = True
        return keep & use
    keep = np.zeros(n, dtype=bool)
    keep[: n // 2] = True
    return keep & use


def _enough_to_halve(method: str, problem: dict[str, Any], spec: SensitivitySpec, half: np.ndarray) -> bool:
    """Whether the first half of the usable design holds enough independent blocks (or points) to analyse."""
    block = _blocks(method, problem, spec.second_order)
    if block is not None:
        return int(half.sum()) // block >= MIN_HALF_BLOCKS
    need = max(MIN_HALF_ROWS, 4 * spec.interference) if method == "rbd_fast" else MIN_HALF_ROWS
    return int(half.sum()) >= need


def _all_failed(index: pd.DataFrame, model: str) -> str:
    """The note when no run succeeded: how many failed, the first error, and a hint that fits the error."""
    failed = index[index["status"] != "ok"].sort_values("run_id")  # failed, or non-finite outputs
    first = failed.iloc[0]
    text = f"every one of the {len(failed)} runs failed (run {int(first['run_id'])}: {first['error']})"
    errors = failed["error"].fillna("").astype(str)
    if errors.str.contains(r"^ValueError: model .*(?:cannot import module|has no function)", regex=True).all():
        return f"{text}: the model {model!r} could not be imported where the runs ran (check its name)"
    return f"{text}: `clustersim status OUT/runs` lists every failure"


def _group_sigma_note(problem: dict[str, Any]) -> str:
    """Morris with groups: SALib gives sigma NaN for a group of several factors; the note saying so."""
    if "groups" not in problem:
        return ""
    sizes: dict[str, int] = {}
    for g in problem["groups"]:
        sizes[g] = sizes.get(g, 0) + 1
    several = [g for g, k in sizes.items() if k > 1]
    if not several:
        return ""
    return (f"sigma is not defined for groups of several factors ({', '.join(several)}): its value is NaN, "
            "use mu_star")


#: SALib warnings that say nothing about this analysis: the FAST analyser's, on every call, that its bootstrap
#: intervals are indicative only (SALib issue 649; the outputs table's note says it), and the delta analyser's
#: notices that it merged classes of a small sample
_ROUTINE_WARNINGS = ("FAST confidence intervals", "Bin Merge Notice")


@contextlib.contextmanager
def _isolated() -> Iterator[list[str]]:
    """Run a SALib analyser without it touching global state; yields the list its warnings are collected in.

    Its warnings are recorded, not shown (nor raised where warnings are errors): ``warnings.catch_warnings``
    restores the filters it changes (the delta analyser sets ``simplefilter("once")``), and the warning
    formatter it replaces and numpy's global random state it seeds (delta again) are restored here.
    """
    state = np.random.get_state()  # noqa: NPY002 - the legacy global state is what delta seeds
    formatter = warnings.formatwarning
    messages: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield messages
            finally:
                for w in caught:
                    text = " ".join(str(w.message).split())
                    if not any(r in text for r in _ROUTINE_WARNINGS) and text not in messages:
                        messages.append(text)
    finally:
        warnings.formatwarning = formatter
        np.random.set_state(state)  # noqa: NPY002


def _salib_indices(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, spec: SensitivitySpec,
                   seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Run one SALib analyser, isolated (:func:`_isolated`); tidy rows (factor, index, value, conf) and the
    warnings it gave."""
    with _isolated() as warned:
        rows = _salib_rows(method, problem, x, y, spec, seed)
    return pd.DataFrame(rows), warned


def _salib_rows(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, spec: SensitivitySpec,
                seed: int) -> list[dict[str, Any]]:
    from SALib.analyze import delta, fast, morris, pawn, rbd_fast, sobol

    conf, res = spec.confidence, spec.resamples
    rows: list[dict[str, Any]] = []
    names = list(dict.fromkeys(problem["groups"])) if "groups" in problem else list(problem["names"])

    def add(kind: str, values, confs=None) -> None:
        for k, name in enumerate(names):
            rows.append({"factor": name, "index": kind, "value": float(values[k]),
                         "conf": float(confs[k]) if confs is not None else math.nan})

    if method == "sobol":
        r = sobol.analyze(problem, y, calc_second_order=spec.second_order, num_resamples=res, conf_level=conf,
                          seed=seed)
        add("S1", r["S1"], r["S1_conf"])
        add("ST", r["ST"], r["ST_conf"])
        if spec.second_order:
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    rows.append({"factor": f"{names[a]} × {names[b]}", "index": "S2",
                                 "value": float(r["S2"][a, b]), "conf": float(r["S2_conf"][a, b])})
    elif method == "morris":
        r = morris.analyze(problem, x, y, num_resamples=res, conf_level=conf, num_levels=spec.levels, seed=seed)
        add("mu_star", r["mu_star"], r["mu_star_conf"])
        add("sigma", r["sigma"])
        add("mu", r["mu"])
    elif method == "fast":
        r = fast.analyze(problem, y, M=spec.interference, num_resamples=res, conf_level=conf, seed=seed)
        add("S1", r["S1"], r["S1_conf"])
        add("ST", r["ST"], r["ST_conf"])
    elif method == "rbd_fast":
        r = rbd_fast.analyze(problem, x, y, M=spec.interference, num_resamples=res, conf_level=conf, seed=seed)
        add("S1", r["S1"], r["S1_conf"])
    elif method == "pawn":
        r = pawn.analyze(problem, x, y, S=10, seed=seed)
        add("pawn_median", r["median"])
        add("pawn_max", r["maximum"])
    else:
        r = delta.analyze(problem, x, y, num_resamples=res, conf_level=conf, seed=seed)
        key = "delta" if "delta" in r else "delta_raw"  # SALib >= 1.6 names the classic estimator delta_raw
        add("delta", r[key], r[f"{key}_conf"])
        add("S1", r["S1"], r["S1_conf"])
    return rows
