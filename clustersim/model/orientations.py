"""The three orientations of a cluster's collective action, each with its own mechanism and payoff.

The source document names three directions of collaboration, not mutually exclusive: **Moyens** (collective
solutions to common needs), **Produits/Marchés** (complementarities for new products and wider markets) and
**Club de travail** (exchange of experience and knowledge). Each cluster carries an intensity in [0, 1] for
each of them (``ClusterTable.orient``), and each intensity scales that orientation's collective action.

Every action has a **critical mass**: below a threshold number of contributing members it yields nothing
(and costs nothing, unless the orientation's ``contribution_timing`` is ``sunk``: contributions committed
before the outcome are then lost, as in threshold public goods games). Thresholds differ by domain: they
are drawn per domain at initialisation (:func:`draw_thresholds`), from a lognormal whose median and
dispersion are scenario parameters.

Each orientation is a class (:class:`Orientation`: its name, which is its section of the schema's
``orientations``, its label, its column of ``ClusterTable.orient`` and ``domain``, whether it draws from the
model's generator, and ``act``), registered in :data:`ORIENTATIONS` in the order the quarter runs them. An
action works on all memberships of a quarter at once (arrays indexed by membership, in an
:class:`ActionContext`), writes nothing, and returns an :class:`ActionResult` that
:mod:`clustersim.model.mechanisms.actions` turns into benefits, costs, learning and new activities. Adding an
orientation is one class here, its registration, its parameters in the schema and its column in the
cluster table (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from clustersim.scenario.schema import CriticalMass
from clustersim.util.arrays import row_mean, segment_max, segment_sum

__all__ = [
    "ORIENTATIONS",
    "ORIENTATION_LABELS",
    "ActionContext",
    "ActionResult",
    "Club",
    "Moyens",
    "Orientation",
    "ProductsMarkets",
    "cognitive_learning_factor",
    "draw_thresholds",
    "moyens_action",
    "products_markets_action",
    "club_action",
    "pooled_cost_per_contributor",
]

ORIENTATION_LABELS = ("Moyens", "Produits/Marchés", "Club de travail")


def draw_thresholds(rng: np.random.Generator, spec: CriticalMass, n_domains: int) -> np.ndarray:
    """Critical mass of each domain: ``max(minimum, round(median · exp(dispersion · z)))``, z ~ N(0, 1)."""
    z = rng.standard_normal(n_domains)
    return np.maximum(spec.minimum, np.rint(spec.median * np.exp(spec.dispersion * z))).astype(np.int64)


def cognitive_learning_factor(distance: np.ndarray, optimal: float) -> np.ndarray:
    """Nooteboom's inverted U: ``h(d) = (d/d*) · exp(1 − d/d*)``; 0 at d = 0, 1 at d = d*, → 0 when d ≫ d*."""
    x = np.asarray(distance, dtype=np.float64) / optimal
    return x * np.exp(1.0 - x)


def pooled_cost_per_contributor(fixed: float, variable: float, sizes_served: float, contributors: int,
                                scope: float = 1.0) -> float:
    """Cost per contributor of a Moyens pooled solution of equal-sized contributors (for docs and tests)."""
    return scope * (fixed + variable * sizes_served) / contributors


@dataclass
class ActionContext:
    """The arrays every orientation reads: one entry per membership (``f``, ``c``) or per cluster slot."""

    f: np.ndarray  # firm row of each membership
    c: np.ndarray  # cluster row of each membership
    coop: np.ndarray  # whether the member contributes this quarter
    n_clusters: int  # number of cluster rows (bincount length)
    orient: np.ndarray  # (n_clusters, 3) orientation intensities
    domain: np.ndarray  # (n_clusters, 3)
    effectiveness: np.ndarray  # (n_clusters,) coordination effectiveness in [0, 1]
    size: np.ndarray  # firm sizes (by firm row)
    need: np.ndarray  # firm need domain (by firm row)
    cap: np.ndarray  # firm capabilities (by firm row); rows are read with ``cap.take(rows, axis=0)``: the same
    # copy as ``cap[rows]``, several times faster on a step's small arrays (numpy's general 2-D indexing is slow)
    thresholds: list[np.ndarray]  # per orientation, per domain
    rng: np.random.Generator
    contribution_factor: float = 1.0  # legal framework: contributions × this
    pooled_relief: np.ndarray | None = None  # (n_clusters,) share of pooled fixed cost borne by support structures
    learning_boost: np.ndarray | None = None  # (n_clusters,) club learning × (1 + this)
    # this quarter's meetings (learner membership, source membership, learner's trust in the source before
    # the meeting) and each firm's money value of one unit of capability index (the club's learning reads them)
    meetings: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    capability_value: np.ndarray | None = None


@dataclass
class ActionResult:
    """What one orientation's collective actions yielded this quarter."""

    benefit: np.ndarray  # per membership, k€/quarter (money, or money value of learning)
    cost: np.ndarray  # per membership, k€/quarter
    attempted: np.ndarray  # per cluster: the action was tried
    success: np.ndarray  # per cluster: it reached critical mass
    extra: dict = field(default_factory=dict)


def _count(ctx: ActionContext, weights: np.ndarray) -> np.ndarray:
    return np.bincount(ctx.c, weights=weights, minlength=ctx.n_clusters)


def _gate(ctx: ActionContext, o: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Critical mass of orientation ``o`` whose contributors are all contributing members.

    Returns (w per membership, contributors per cluster, attempted, success per cluster, and per membership
    whether it contributes to a successful action).
    """
    w = ctx.orient[:, o].take(ctx.c)
    pursued = w > 0
    part = ctx.coop & pursued
    k = _count(ctx, part.astype(np.float64))
    attempted = _count(ctx, pursued.astype(np.float64)) > 0
    success = attempted & (k >= ctx.thresholds[o][ctx.domain[:, o]])
    return w, k, attempted, success, part & success[ctx.c]


def _paying(ctx: ActionContext, w: np.ndarray, ok: np.ndarray, p: Any) -> np.ndarray:
    """Per membership, who pays its contribution: the contributors to a successful action (``refunded``
    timing: nothing is risked), or every contributing member of a cluster pursuing the orientation (``sunk``:
    committed before the outcome, lost when critical mass fails)."""
    return ctx.coop & (w > 0) if p.contribution_timing == "sunk" else ok


def moyens_action(ctx: ActionContext, p) -> ActionResult:
    """Moyens: a pooled solution to a common need, with economies of scale and room for free-riding.

    Members whose need is the cluster's Moyens domain are users. If the number of contributing users ``k``
    reaches the domain's critical mass, the cluster buys a pooled solution covering a share ``w`` (the
    Moyens intensity) of each user's need, at cost ``w · (F + v · L_served)``, shared by contributors in
    proportion to their size: the cost per contributor falls as contributors join (economies of scale).
    Contributors avoid ``e · w · need_cost · L`` of their own need cost (``e`` the coordination
    effectiveness); non-contributing users still get a share ``free_rider_access`` of it at no cost. With
    ``contribution_timing = "sunk"`` the contributors of a failed attempt pay their share of what the solution
    would have cost them. With ``benefit_form = "pot"`` the benefit is instead a pot, ``e · enhancement`` times
    the contributions, shared by the users (:func:`_pot`): the public goods game of the literature. With a
    collective ``risk`` (> 0), the users of a cluster whose attempt fails lose ``endowment_at_risk`` per
    employee with that probability (:func:`_collective_loss`; the only draw of this action, made only then).
    The pot is made of the contributions only, not of the losses.
    """
    w = ctx.orient[:, 0].take(ctx.c)
    user = (ctx.need[ctx.f] == ctx.domain[:, 0].take(ctx.c)) & (w > 0)
    size = ctx.size[ctx.f]
    contributing = ctx.coop & user
    k = _count(ctx, contributing.astype(np.float64))
    attempted = _count(ctx, user.astype(np.float64)) > 0
    thr = ctx.thresholds[0][ctx.domain[:, 0]]
    success = attempted & (k >= thr)
    ok = success[ctx.c]
    free_riding = user & ~ctx.coop & ok
    contrib_ok = contributing & ok
    # who pays: contributors to a solution bought, or (sunk timing) every contributor, bought or not
    paying = contributing if p.contribution_timing == "sunk" else contrib_ok
    contrib_served = size * paying
    # the solution serves its contributors and (saving form) free riders' share of their need; a pot is a sum
    # of contributions, whoever shares it
    access_served = p.free_rider_access if p.benefit_form == "saving" else 0.0
    served = _count(ctx, contrib_served + access_served * size * free_riding)
    fixed = p.pooled_fixed_cost if ctx.pooled_relief is None else (1 - ctx.pooled_relief) * p.pooled_fixed_cost
    total_cost = ctx.orient[:, 0] * (fixed + p.pooled_variable_cost * served)
    contrib_size = _count(ctx, contrib_served)
    share = np.divide(size, contrib_size[ctx.c], out=np.zeros(len(size)), where=paying)
    cost = total_cost[ctx.c] * share
    if p.risk > 0 and p.endowment_at_risk > 0:
        cost = cost + _collective_loss(ctx, p, user, attempted & ~success)
    if p.benefit_form == "pot":
        return ActionResult(benefit=_pot(ctx, p, cost, contrib_ok, free_riding), cost=cost, attempted=attempted,
                            success=success)
    access = np.where(contrib_ok, 1.0, np.where(free_riding, p.free_rider_access, 0.0))
    benefit = ctx.effectiveness[ctx.c] * w * p.need_cost_per_employee * size * access
    return ActionResult(benefit=benefit, cost=cost, attempted=attempted, success=success)


def _collective_loss(ctx: ActionContext, p: Any, user: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """The collective risk: each cluster whose attempt failed is struck with probability ``risk`` (one draw per
    failed cluster, in cluster order); every user of a struck cluster loses ``endowment_at_risk · size``."""
    struck = np.zeros(ctx.n_clusters, dtype=bool)
    rows = failed.nonzero()[0]
    struck[rows] = ctx.rng.random(len(rows)) < p.risk
    return np.where(user & struck[ctx.c], p.endowment_at_risk * ctx.size[ctx.f], 0.0)


def _pot(ctx: ActionContext, p: Any, cost: np.ndarray, contrib_ok: np.ndarray, free_riding: np.ndarray
         ) -> np.ndarray:
    """The Moyens pot: ``e_c · enhancement · Σ contributions`` of a successful cluster, shared equally by its
    contributing users (weight 1) and free-riding users (weight ``1 − excludability``)."""
    pot = ctx.effectiveness * p.enhancement * _count(ctx, cost * contrib_ok)
    weight = np.where(contrib_ok, 1.0, np.where(free_riding, 1.0 - p.excludability, 0.0))
    total = _count(ctx, weight)
    return np.divide(pot[ctx.c] * weight, total[ctx.c], out=np.zeros(len(weight)), where=weight > 0)


def products_markets_action(ctx: ActionContext, p) -> ActionResult:
    """Produits/Marchés: a joint product for a market that needs a critical size.

    Contributors each put ``w · contribution`` in. If their number ``k`` reaches the market domain's critical
    mass, the joint product earns ``w · e · R0 · k^β · (1 + γ · Q)``, shared equally by contributors, where
    ``Q = mean_k(max_i c_ik − mean_i c_ik)`` is the complementarity of contributors' capabilities (what
    the group covers beyond what its average member covers). Each contributor then develops a new activity
    with probability ``innovation_probability · Q`` (its weakest capability rises). Below critical mass
    nothing is earned, and nothing spent unless contributions are sunk.
    """
    w, k, attempted, success, ok = _gate(ctx, 1)
    n_cl = ctx.n_clusters
    q = np.zeros(n_cl)
    benefit = np.zeros(len(ctx.f))
    new_activity = np.zeros(0, dtype=np.int64)
    if ok.any():
        idx = ok.nonzero()[0]
        cl = ctx.c[idx]
        caps = ctx.cap.take(ctx.f[idx], axis=0)
        cmax = segment_max(cl, caps, n_cl)
        csum = segment_sum(cl, caps, n_cl)
        kk = np.maximum(k, 1.0)
        q = row_mean(cmax - csum / kk[:, None])
        wc = ctx.orient[:, 1]
        revenue = wc * ctx.effectiveness * p.project_revenue * kk**p.scale_elasticity * (1 + p.complementarity_gain * q)
        benefit[idx] = revenue[cl] / kk[cl]
        innov = ctx.rng.random(len(idx)) < p.innovation_probability * q[cl]
        new_activity = ctx.f[idx[innov]]
    cost = np.where(_paying(ctx, w, ok, p), w * p.contribution * ctx.contribution_factor, 0.0)
    return ActionResult(benefit=benefit, cost=cost, attempted=attempted, success=success,
                        extra={"complementarity": q, "new_activity_firms": new_activity})


def club_action(ctx: ActionContext, p, pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                horizon_value: np.ndarray) -> ActionResult:
    """Club de travail: exchange of experience whose value depends on cognitive distance and trust.

    Participants (contributing members, each paying ``w · contribution`` of time) learn from the co-members
    they meet this quarter (``pairs``: learner membership, source membership, learner's trust in source).
    If the number of participants reaches the knowledge domain's critical mass, a learner gains
    ``Δc_i = λ · w · e · t_ij · h(d_ij) · max(0, c_j − c_i)`` per meeting, where ``h`` is Nooteboom's
    inverted U in cognitive distance ``d_ij = mean|c_i − c_j|`` (:func:`cognitive_learning_factor`).
    The money value of the gain (``Δ capability index × horizon_value`` of the learner) is its benefit.
    """
    w, k, attempted, success, ok = _gate(ctx, 2)
    cost = np.where(_paying(ctx, w, ok, p), w * p.contribution * ctx.contribution_factor, 0.0)
    learner, source, trust = pairs
    if len(learner):
        use = ok[learner] & ok[source]
        learner, source, trust = learner[use], source[use], trust[use]
    if len(learner):
        # c_j − c_i (|c_i − c_j| is its magnitude); rows read with take, not cap[...] (see ActionContext)
        ahead = ctx.cap.take(ctx.f[source], axis=0) - ctx.cap.take(ctx.f[learner], axis=0)
        dist = row_mean(np.abs(ahead))
        cl = ctx.c[learner]
        factor = p.learning_rate * ctx.orient[:, 2].take(cl) * ctx.effectiveness[cl] * trust
        if ctx.learning_boost is not None:
            factor = factor * (1 + ctx.learning_boost[cl])
        factor = factor * cognitive_learning_factor(dist, p.optimal_distance)
        delta = factor[:, None] * np.maximum(0.0, ahead)
        gain = segment_sum(learner, delta, len(ctx.f))
    else:
        gain = np.zeros((len(ctx.f), ctx.cap.shape[1]))
    benefit = row_mean(gain) * horizon_value[ctx.f]
    return ActionResult(benefit=benefit, cost=cost, attempted=attempted, success=success,
                        extra={"capability_gain": gain, "participant": ok})


class Orientation:
    """One orientation of collective action: what it is, and its action on a quarter's memberships."""

    name: ClassVar[str]  # its section of the schema's ``orientations`` (and the key in ORIENTATIONS)
    label: ClassVar[str]  # the source document's name
    column: ClassVar[int]  # its column of ClusterTable.orient and ClusterTable.domain
    draws: ClassVar[bool]  # whether its action draws from the model's generator

    def act(self, ctx: ActionContext, p: Any) -> ActionResult:
        """This quarter's action of every cluster for this orientation, with its parameters ``p``."""
        raise NotImplementedError


class Moyens(Orientation):
    """Pooled solutions to common needs (:func:`moyens_action`). It draws from the generator only under a
    collective risk (``risk > 0``), which the default scenario has not: ``draws`` says what the default does."""

    name, label, column, draws = "moyens", "Moyens", 0, False

    def act(self, ctx: ActionContext, p: Any) -> ActionResult:  # noqa: D102
        return moyens_action(ctx, p)


class ProductsMarkets(Orientation):
    """Joint products for markets that need a critical size (:func:`products_markets_action`)."""

    name, label, column, draws = "products_markets", "Produits/Marchés", 1, True

    def act(self, ctx: ActionContext, p: Any) -> ActionResult:  # noqa: D102
        return products_markets_action(ctx, p)


class Club(Orientation):
    """Exchange of experience and knowledge (:func:`club_action`): reads the quarter's meetings."""

    name, label, column, draws = "club", "Club de travail", 2, False

    def act(self, ctx: ActionContext, p: Any) -> ActionResult:  # noqa: D102
        if ctx.meetings is None or ctx.capability_value is None:
            raise ValueError("the club's action needs the quarter's meetings and the firms' capability value")
        return club_action(ctx, p, ctx.meetings, ctx.capability_value)


#: the orientations by schema section, in the order a quarter runs them (their random draws follow it)
ORIENTATIONS: dict[str, Orientation] = {o.name: o for o in (Moyens(), ProductsMarkets(), Club())}
