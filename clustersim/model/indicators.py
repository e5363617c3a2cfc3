"""Indicators recorded every step, in three documented families (and the mechanisms' own diagnostics).

Each indicator is declared once in :data:`INDICATORS` with its family, unit and definition; the docs and
the figures read that table. :func:`compute_indicators` computes them all from the model's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.state import MODE_DIRECTIVE, POLICY_MODES, formed_in_observation

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel

__all__ = ["Indicator", "INDICATORS", "FAMILIES", "SURVIVAL_WINDOW", "compute_indicators", "by_family"]

FAMILIES = ("competitiveness", "durability", "leverage", "policy", "mechanisms")

#: quarters after which a cluster's survival is measured (three years, as in the programmes' evaluations)
SURVIVAL_WINDOW = 12


@dataclass(frozen=True)
class Indicator:
    family: str
    unit: str
    definition: str


_I = Indicator
INDICATORS: dict[str, Indicator] = {
    # competitiveness
    "relative_productivity": _I("competitiveness", "× frontier",
                                "employment-weighted mean productivity of regional firms over the external frontier"),
    "export_share": _I("competitiveness", "share",
                       "regional firms' export revenue on their sectors' markets over those markets' external "
                       "demand (joint products, on new markets, are counted in gain_products_markets)"),
    "capability_index": _I("competitiveness", "[0,1]", "mean capability level of regional firms"),
    "new_activity_share": _I("competitiveness", "share",
                             "share of firms that developed a new activity through a joint product"),
    "firm_survival": _I("competitiveness", "share", "share of the initial firms still active"),
    "n_firms": _I("competitiveness", "firms", "active regional firms"),
    # durability
    "n_clusters": _I("durability", "clusters", "active clusters"),
    "member_share": _I("durability", "share", "share of firms belonging to at least one cluster"),
    "mean_cluster_size": _I("durability", "firms", "mean members per active cluster"),
    "mean_cluster_age": _I("durability", "quarters", "mean age of active clusters"),
    "cluster_survival": _I("durability", "share",
                           "share of the clusters formed since quarter 0 (not in the warm-up) at least 12 quarters "
                           "ago that are still active"),
    "membership_turnover": _I("durability", "1/quarter",
                              "voluntary joins and leaves this quarter over memberships (founding, "
                              "investors' arrival, exits and dissolutions not counted)"),
    "mean_trust": _I("durability", "[0,1]", "mean trust of members in their co-members"),
    "mean_alignment": _I("durability", "[0,1]",
                         "mean over active clusters of their members' mean alignment with the vision"),
    "clusters_formed": _I("durability", "clusters", "clusters formed since the start (cumulative)"),
    "clusters_renewed": _I("durability", "clusters",
                           "clusters that left decline for growth or maturity since the start (cumulative)"),
    "clusters_dissolved": _I("durability", "clusters", "clusters dissolved since the start (cumulative)"),
    "leaves_negative_benefit": _I("durability", "memberships",
                                  "members that left because their remembered net benefit fell below the "
                                  "leave threshold (cumulative)"),
    "leaves_firm_exit": _I("durability", "memberships", "memberships ended by the member firm's exit (cumulative)"),
    "leaves_dissolution": _I("durability", "memberships",
                             "memberships ended by their cluster's dissolution (cumulative)"),
    # regional leverage
    "value_added": _I("leverage", "k€/quarter", "value added of regional firms"),
    "value_added_growth": _I("leverage", "relative change",
                             "value added over its initial level, minus 1 (0 if the initial level is not "
                             "positive)"),
    "employment": _I("leverage", "employees", "employment of regional firms"),
    "unemployment_rate": _I("leverage", "share", "1 − employment over the region's labour force (ODD 7.1)"),
    "wage": _I("leverage", "k€/employee/quarter", "the regional wage this quarter (wage curve, ODD 7.1)"),
    "investors_attracted": _I("leverage", "firms", "outside investors attracted (cumulative)"),
    "local_purchases": _I("leverage", "k€/quarter", "purchases of regional firms from local suppliers"),
    "member_purchases_from_nonmembers": _I("leverage", "k€/quarter",
                                           "local purchases of cluster members from non-member suppliers "
                                           "(leverage on partners' activity)"),
    "spillover_nonmembers": _I("leverage", "capability/quarter",
                               "capability gained by non-members through horizontal links"),
    "public_spending": _I("leverage", "k€/quarter", "public money spent this quarter (policy scenarios)"),
    "public_spending_cumulative": _I("leverage", "k€", "public money spent since the start"),
    # public policy
    "supported_clusters": _I("policy", "clusters", "active clusters receiving public support (labelled)"),
    "clusters_formed_policy": _I("policy", "clusters",
                                 "clusters formed through top-down identification, calls for projects or "
                                 "directive assignment (cumulative)"),
    "applications": _I("policy", "applications", "applications to calls for projects (cumulative)"),
    "selection_rate": _I("policy", "share",
                         "projects selected over applications, all calls so far (0 before any application)"),
    "survival_after_support": _I("policy", "share",
                                 "share of clusters whose support ended (planned phase-out or de-labelling) "
                                 "that are still active (1 when no support has ended)"),
    "delabelled": _I("policy", "clusters", "clusters de-labelled by evaluation (cumulative)"),
    "assigned_share": _I("policy", "share",
                         "share of memberships in clusters the authority created by assignment (directive "
                         "counterfactual)"),
    # mechanisms' own diagnostics
    "cooperation_rate": _I("mechanisms", "share", "share of memberships contributing this quarter"),
    "critical_mass_rate": _I("mechanisms", "share",
                             "share of attempted collective actions that reached critical mass"),
    "gain_moyens": _I("mechanisms", "k€/quarter", "net gain of Moyens actions (savings − pooled costs)"),
    "gain_products_markets": _I("mechanisms", "k€/quarter", "net gain of joint products (revenue − contributions)"),
    "gain_club": _I("mechanisms", "k€/quarter", "value of club learning net of time costs"),
    "knowledge_leaked": _I("mechanisms", "capability/quarter", "knowledge leaked to same-sector co-members"),
    "internal_rivalry": _I("mechanisms", "[0,1]", "mean internal competition intensity"),
    "conglomerate_penalty": _I("mechanisms", "[0,1]",
                               "mean rivalry removed by clusters' market coordination"),
    "vertical_links_per_firm": _I("mechanisms", "links/firm", "supplier–customer links per firm"),
    "horizontal_links_per_firm": _I("mechanisms", "links/firm", "peer links per firm"),
    "vertical_intensity": _I("mechanisms", "[0,1]", "mean intensity of supplier–customer links"),
    "horizontal_intensity": _I("mechanisms", "[0,1]", "mean intensity of peer links"),
    "mean_sectors_per_cluster": _I("mechanisms", "sectors", "mean number of sectors among a cluster's members"),
    "orientation_moyens": _I("mechanisms", "[0,1]", "mean Moyens intensity of active clusters"),
    "orientation_products_markets": _I("mechanisms", "[0,1]", "mean Produits/Marchés intensity of active clusters"),
    "orientation_club": _I("mechanisms", "[0,1]", "mean Club de travail intensity of active clusters"),
    "mean_cooperativeness": _I("mechanisms", "[0,1]", "mean cooperativeness of firms"),
}


def by_family(family: str) -> list[str]:
    return [k for k, v in INDICATORS.items() if v.family == family]


def _mean(x: np.ndarray, default: float = 0.0) -> float:
    """``x.mean()`` of a 1-D array (same sum, same division, less overhead), ``default`` when empty.

    ``np.add.reduce`` is what ``ndarray.sum`` calls, without its Python wrapper; integer arrays are summed
    in float64, exactly (their sums are far below 2⁵³).
    """
    return float(np.add.reduce(x, dtype=np.float64) / len(x)) if len(x) else default


def _share(mask: np.ndarray, n: int | np.integer) -> float:
    """Number of True values of ``mask`` over ``n`` (= ``mask.sum() / n``: the same exact count and division)."""
    return np.count_nonzero(mask) / n


_total = np.add.reduce  # ndarray.sum without its Python wrapper (same sums)


def _policy_total(model: ClusterModel) -> float:
    treasury = getattr(model.policy, "treasury", None)
    return float(treasury.total) if treasury is not None else 0.0


def compute_indicators(model: ClusterModel) -> dict[str, float]:
    """All indicators of :data:`INDICATORS` for the model's current state, in the registry's order."""
    rows = model.alive_rows
    live = model.live_clusters
    return {**_competitiveness(model, rows), **_durability(model, rows, live), **_leverage(model, rows),
            **_policy(model, live), **_mechanisms(model, rows, live)}


def _competitiveness(model: ClusterModel, rows: np.ndarray) -> dict[str, float]:
    F = model.firms
    n = max(len(rows), 1)
    size = F.size[rows]
    cohort0 = F.cohort0[: F.n]
    return {
        # np.average(prod / frontier, weights=size): the same weighted sum over the same sum of weights
        "relative_productivity": (float(_total(F.prod[rows] / model.frontier * size) / _total(size))
                                  if len(rows) else 0.0),
        "export_share": float(_total(F.export_revenue[rows]) / _total(model.demand)),
        "capability_index": _mean(F.capidx[rows]),
        "new_activity_share": _share(F.new_activity[rows], n),
        "firm_survival": _share(F.alive[: F.n] & cohort0, max(int(np.count_nonzero(cohort0)), 1)),
        "n_firms": float(len(rows)),
    }


def _durability(model: ClusterModel, rows: np.ndarray, live: np.ndarray) -> dict[str, float]:
    F, C, mem, st, counters = model.firms, model.clusters, model.memberships, model.step_stats, model.counters
    # clusters formed at least SURVIVAL_WINDOW quarters ago, since quarter 0 (in the warm-up's recorded quarters:
    # since the warm-up's start)
    born = C.born[: C.n]
    formed = formed_in_observation(born) if model.now >= 0 else born > -model.p.simulation.warmup
    formed_old = formed & (born <= model.now - SURVIVAL_WINDOW)
    n_old = np.count_nonzero(formed_old)
    return {
        "n_clusters": float(len(live)),
        "member_share": _share(F.n_memberships[rows] > 0, max(len(rows), 1)),
        "mean_cluster_size": _mean(C.size[live]),
        "mean_cluster_age": _mean(model.now - C.born[live]),
        "cluster_survival": _share(C.alive[: C.n] & formed_old, n_old) if n_old else 1.0,
        "membership_turnover": float((st.joins + st.leaves) / max(len(mem), 1)),
        "mean_trust": _mean(mem.trust, model.p.trust.initial),
        "mean_alignment": _mean(C.alignment[live]),
        "clusters_formed": float(counters.clusters_formed),
        "clusters_renewed": float(counters.clusters_renewed),
        "clusters_dissolved": float(counters.clusters_dissolved),
        "leaves_negative_benefit": float(counters.leave_negative_benefit),
        "leaves_firm_exit": float(counters.leave_firm_exit),
        "leaves_dissolution": float(counters.leave_dissolution),
    }


def _leverage(model: ClusterModel, rows: np.ndarray) -> dict[str, float]:
    F, st = model.firms, model.step_stats
    va = float(_total(F.value_added[rows]))
    if model.va0 is None:
        model.va0 = va
    va0 = model.va0
    return {
        "value_added": va,
        "value_added_growth": va / va0 - 1.0 if va0 > 0 else 0.0,
        "employment": float(_total(F.size[rows])),
        "unemployment_rate": 1.0 - float(_total(F.size[rows])) / model.labour_force,
        "wage": float(model.wage),
        "investors_attracted": float(model.counters.investors),
        "local_purchases": st.local_purchases,
        "member_purchases_from_nonmembers": st.member_purchases_from_nonmembers,
        "spillover_nonmembers": st.spillover_nonmembers,
        "public_spending": st.public_spending,
        "public_spending_cumulative": _policy_total(model),
    }


def _policy(model: ClusterModel, live: np.ndarray) -> dict[str, float]:
    C, mem, pc = model.clusters, model.memberships, model.policy_counters
    ended = C.support_ended[: C.n] >= 0
    mode = C.founded_mode[: C.n]  # the policy's modes are consecutive codes (state.POLICY_MODES)
    return {
        "supported_clusters": float(np.count_nonzero(C.supported[live])),
        "clusters_formed_policy": float(np.count_nonzero((mode >= min(POLICY_MODES)) & (mode <= max(POLICY_MODES)))),
        "applications": float(pc.applications),
        "selection_rate": float(pc.selected / pc.applications) if pc.applications else 0.0,
        "survival_after_support": _share(C.alive[: C.n][ended], np.count_nonzero(ended)) if ended.any() else 1.0,
        "delabelled": float(pc.delabelled),
        "assigned_share": (_share(C.founded_mode[mem.cluster] == MODE_DIRECTIVE, len(mem)) if len(mem)
                           else 0.0),
    }


def _mechanisms(model: ClusterModel, rows: np.ndarray, live: np.ndarray) -> dict[str, float]:
    F, C, st = model.firms, model.clusters, model.step_stats
    n = max(len(rows), 1)
    attempted = st.actions_attempted
    orient = C.orient.take(live, axis=0)
    return {
        "cooperation_rate": st.cooperation_rate,
        "critical_mass_rate": float(st.actions_success / attempted) if attempted else 0.0,
        "gain_moyens": st.moyens_gain,
        "gain_products_markets": st.pm_gain,
        "gain_club": st.club_gain,
        "knowledge_leaked": st.knowledge_leaked,
        "internal_rivalry": _mean(F.rivalry[rows]),
        "conglomerate_penalty": st.conglomerate_penalty,
        "vertical_links_per_firm": len(model.vertical) / n,
        "horizontal_links_per_firm": len(model.horizontal) / n,
        "vertical_intensity": _mean(model.vertical.value),
        "horizontal_intensity": _mean(model.horizontal.value),
        "mean_sectors_per_cluster": _mean(C.n_sectors[live]),
        "orientation_moyens": _mean(orient[:, 0]),
        "orientation_products_markets": _mean(orient[:, 1]),
        "orientation_club": _mean(orient[:, 2]),
        "mean_cooperativeness": _mean(F.coop[rows]),
    }
