"""The contract of every registered orientation (clustersim.model.orientations.ORIENTATIONS).

Each test is parametrised over the whole registry, so a new orientation is held to the same contract: an
orientation a cluster does not pursue does nothing; below critical mass an action yields nothing and costs
nothing (docs/ODD.md 7.9-7.11); the action writes nothing and draws from the generator only if it says so;
it is reproducible; its results have one entry per membership or per cluster.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from clustersim.model.orientations import ORIENTATION_LABELS, ORIENTATIONS, ActionContext, ActionResult
from clustersim.scenario.schema import Orientations, Scenario

N_FIRMS, N_CLUSTERS, K = 24, 4, 5


def context(seed: int = 1, *, intensity: float | None = None, threshold: int = 1) -> ActionContext:
    """A quarter of 4 clusters of 6 members each (every firm in one cluster), everybody contributing,
    with critical masses ``threshold`` and, if given, every orientation's intensity set to ``intensity``."""
    rng = np.random.default_rng(seed)
    p = Scenario().orientations
    f = np.arange(N_FIRMS, dtype=np.int64)
    c = np.repeat(np.arange(N_CLUSTERS, dtype=np.int64), N_FIRMS // N_CLUSTERS)
    orient = rng.uniform(0.3, 1.0, size=(N_CLUSTERS, 3)) if intensity is None else np.full((N_CLUSTERS, 3), intensity)
    n_domains = (p.moyens.n_domains, p.products_markets.n_domains, K)
    need = np.zeros(N_FIRMS, dtype=np.int64)  # everybody's need is domain 0: every member is a Moyens user
    learner = np.arange(len(f))
    source = np.where(learner % 6 == 5, learner - 5, learner + 1)  # a co-member of the same cluster
    return ActionContext(
        f=f, c=c, coop=np.ones(len(f), dtype=bool), n_clusters=N_CLUSTERS, orient=orient,
        domain=np.zeros((N_CLUSTERS, 3), dtype=np.int64), effectiveness=np.full(N_CLUSTERS, 0.8),
        size=rng.uniform(5, 50, N_FIRMS), need=need, cap=rng.uniform(0, 1, (N_FIRMS, K)),
        thresholds=[np.full(n, threshold, dtype=np.int64) for n in n_domains], rng=np.random.default_rng(seed + 100),
        meetings=(learner, source, np.full(len(f), 0.5)), capability_value=np.full(N_FIRMS, 40.0))


def params(name: str):
    return getattr(Scenario().orientations, name)


def check_shapes(result: ActionResult) -> None:
    assert result.benefit.shape == (N_FIRMS,) and result.cost.shape == (N_FIRMS,)
    assert result.attempted.shape == (N_CLUSTERS,) and result.success.shape == (N_CLUSTERS,)


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_a_pursued_orientation_reaching_critical_mass_yields_and_costs(name):
    """The positive control of the tests below: with everybody contributing and a critical mass of 1, every
    cluster attempts and succeeds, and members gain something and pay something."""
    result = ORIENTATIONS[name].act(context(), params(name))
    check_shapes(result)
    assert result.attempted.all() and result.success.all()
    assert (result.benefit > 0).any() and (result.cost > 0).any()


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_an_orientation_not_pursued_does_nothing(name):
    ctx = context(intensity=0.0)
    state = ctx.rng.bit_generator.state
    result = ORIENTATIONS[name].act(ctx, params(name))
    check_shapes(result)
    assert not result.attempted.any() and not result.success.any()
    assert not result.benefit.any() and not result.cost.any()
    assert ctx.rng.bit_generator.state == state  # no draw either


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_below_critical_mass_nothing_is_gained_and_nothing_spent(name):
    result = ORIENTATIONS[name].act(context(threshold=N_FIRMS + 1), params(name))
    check_shapes(result)
    assert result.attempted.all() and not result.success.any()
    assert not result.benefit.any() and not result.cost.any()


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_an_action_writes_nothing_and_draws_only_if_it_says_so(name):
    ctx = context()
    before = copy.deepcopy(ctx)
    ORIENTATIONS[name].act(ctx, params(name))
    for field in ("f", "c", "coop", "orient", "domain", "effectiveness", "size", "need", "cap",
                  "capability_value"):
        assert np.array_equal(getattr(ctx, field), getattr(before, field)), f"{name} wrote {field}"
    assert all(np.array_equal(a, b) for a, b in zip(ctx.meetings, before.meetings, strict=True))
    drew = ctx.rng.bit_generator.state != before.rng.bit_generator.state
    assert drew == ORIENTATIONS[name].draws, f"{name} declares draws={ORIENTATIONS[name].draws}"


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_an_action_is_reproducible(name):
    a = ORIENTATIONS[name].act(context(seed=7), params(name))
    b = ORIENTATIONS[name].act(context(seed=7), params(name))
    for field in ("benefit", "cost", "attempted", "success"):
        assert np.array_equal(getattr(a, field), getattr(b, field))


def test_the_registry_matches_the_schema_the_labels_and_the_cluster_columns():
    assert list(ORIENTATIONS) == list(Orientations.model_fields)
    assert tuple(o.label for o in ORIENTATIONS.values()) == ORIENTATION_LABELS
    assert sorted(o.column for o in ORIENTATIONS.values()) == list(range(len(ORIENTATIONS)))
    assert all(o.name == key for key, o in ORIENTATIONS.items())


def sunk(name: str):
    return params(name).model_copy(update={"contribution_timing": "sunk"})


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_a_sunk_contribution_is_lost_when_critical_mass_fails(name):
    """docs/ODD.md 7.9: with contributions committed before the outcome, every contributor of an attempt that
    fails pays and gets nothing; with the default (refunded) it pays nothing (the test above)."""
    result = ORIENTATIONS[name].act(context(threshold=N_FIRMS + 1), sunk(name))
    assert result.attempted.all() and not result.success.any()
    assert not result.benefit.any()
    assert (result.cost > 0).all()  # everybody contributes and every member pursues (and, Moyens, uses) it


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_both_timings_agree_when_the_action_succeeds(name):
    a = ORIENTATIONS[name].act(context(seed=3), params(name))
    b = ORIENTATIONS[name].act(context(seed=3), sunk(name))
    for field in ("benefit", "cost", "attempted", "success"):
        assert np.array_equal(getattr(a, field), getattr(b, field))


def pot(**update):
    return params("moyens").model_copy(update={"benefit_form": "pot", **update})


def test_the_moyens_pot_is_the_enhanced_contributions_shared_by_users():
    """docs/ODD.md 7.9 ('pot' form): per cluster, the benefits add up to e_c · enhancement · contributions."""
    ctx = context(seed=5)
    ctx.coop[::3] = False  # a third of the members free-ride
    result = ORIENTATIONS["moyens"].act(ctx, pot(enhancement=3.0, excludability=0.5))
    paid = np.bincount(ctx.c, weights=result.cost, minlength=N_CLUSTERS)
    got = np.bincount(ctx.c, weights=result.benefit, minlength=N_CLUSTERS)
    assert np.allclose(got, ctx.effectiveness * 3.0 * paid) and (paid > 0).all()


def test_excludability_decides_what_free_riders_get_from_the_pot():
    ctx = context(seed=5)
    ctx.coop[::3] = False
    free, contributor = 0, 1  # members 0 and 1 are in cluster 0: one free-rides, the other contributes
    open_pot = ORIENTATIONS["moyens"].act(ctx, pot(excludability=0.0))
    assert open_pot.benefit[free] == pytest.approx(open_pot.benefit[contributor]) and open_pot.benefit[free] > 0
    assert open_pot.cost[free] == 0 < open_pot.cost[contributor]
    closed = ORIENTATIONS["moyens"].act(ctx, pot(excludability=1.0))
    assert closed.benefit[free] == 0 < closed.benefit[contributor]


def test_the_open_pot_of_equal_firms_is_the_n_person_public_goods_payoff():
    """Equal firms, no fixed cost, full intensity and effectiveness: each contributor pays c = v · size, and
    every one of the N users gets F · c · k / N when k of them contribute (Pacheco et al. 2009's payoff)."""
    ctx = context(seed=2, intensity=1.0)
    ctx.size[:] = 10.0
    ctx.effectiveness[:] = 1.0
    ctx.coop[:] = False
    ctx.coop[[0, 1, 2, 3]] = True  # k = 4 contributors in cluster 0 (N = 6); none elsewhere
    f, v = 2.5, 0.3
    result = ORIENTATIONS["moyens"].act(ctx, pot(enhancement=f, excludability=0.0, pooled_fixed_cost=0.0,
                                                 pooled_variable_cost=v))
    c, k, n = v * 10.0, 4, 6
    assert np.allclose(result.cost[:4], c) and not result.cost[4:].any()
    assert np.allclose(result.benefit[:n], f * c * k / n) and not result.benefit[n:].any()


def test_the_collective_risk_strikes_the_users_of_failed_clusters_only():
    """docs/ODD.md 7.9: with risk 1, every user of a cluster whose attempt failed loses endowment_at_risk per
    employee (one draw per failed cluster); clusters that reached critical mass lose nothing."""
    ctx = context(seed=4)
    ctx.thresholds[0][:] = 6  # 6 contributing users needed
    ctx.coop[:6] = False  # cluster 0: no contributor, it fails; the other clusters have 6 and succeed
    before = ctx.rng.bit_generator.state
    safe = ORIENTATIONS["moyens"].act(context(seed=4), params("moyens"))
    struck = ORIENTATIONS["moyens"].act(ctx, params("moyens").model_copy(update={"risk": 1.0,
                                                                                 "endowment_at_risk": 0.5}))
    assert list(struck.success) == [False, True, True, True]
    assert np.allclose(struck.cost[:6], 0.5 * ctx.size[:6])
    assert np.array_equal(struck.cost[6:], safe.cost[6:]) and np.array_equal(struck.benefit[6:], safe.benefit[6:])
    drawn = np.random.default_rng()
    drawn.bit_generator.state = before
    drawn.random(1)  # one draw: one failed cluster
    assert ctx.rng.bit_generator.state == drawn.bit_generator.state
