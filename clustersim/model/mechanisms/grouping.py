"""Random groups of a fixed size (ODD 7.26): the well-mixed population of evolutionary game theory, in which
the model's collective actions can be docked against analytic results (``clusters.grouping.kind = random``).

At the start of every quarter every membership ends (a regrouping, not a decision to leave: no leave is
counted) and the living firms, in a random order, are dealt into ``floor(firms / group_size)`` groups of
``group_size``; the firms left over stay out that quarter. The groups are clusters founded once (founding mode
``drawn``) and kept from quarter to quarter, so a cluster's record (its contributors of last quarter, its
fund, its life-cycle counters) carries over while its members change; the life cycle never dissolves them for
their size (7.21), and regrouped members are not counted as joins. Every group pursues the one
orientation ``grouping.orientation`` at intensity 1 (the others 0); its Moyens domain is the need of its
first member (as a founder's need sets it), the other domains are drawn at its founding as for any cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clustersim.model.mechanisms.lifecycle import dissolve
from clustersim.model.mechanisms.membership import add_memberships
from clustersim.model.state import MODE_DRAWN

if TYPE_CHECKING:
    from clustersim.model.model import ClusterModel

#: the orientations' columns, by the names ``grouping.orientation`` takes
COLUMNS = {"moyens": 0, "products_markets": 1, "club": 2}


def end_all_memberships(m: ClusterModel) -> None:
    """End every membership without counting it as a leave (the groups are redrawn, nobody chose to go)."""
    F, C, mem = m.firms, m.clusters, m.memberships
    if not len(mem):
        return
    F.n_memberships[: F.n] -= np.bincount(mem.firm, minlength=F.n)
    C.size[: C.n] -= np.bincount(mem.cluster, minlength=C.n)
    mem.keep(np.zeros(len(mem), dtype=bool))


def regroup(m: ClusterModel) -> None:
    """Draw this quarter's groups (nothing unless ``clusters.grouping.kind`` is ``random``)."""
    g = m.p.clusters.grouping
    if g.kind != "random":
        return
    C = m.clusters
    end_all_memberships(m)
    rows = m.alive_rows
    size = g.group_size
    n_groups = len(rows) // size
    live = m.live_clusters
    groups = live[C.founded_mode[live] == MODE_DRAWN]
    for row in groups[n_groups:].tolist():  # fewer firms than groups need: the last groups end
        dissolve(m, row)
    groups = groups[:n_groups]
    dealt = m.rng.permutation(rows)[: n_groups * size].reshape(n_groups, size)
    if len(groups):
        members = dealt[: len(groups)]
        C.domain[groups, 0] = m.firms.need[members[:, 0]]
        add_memberships(m, members.ravel(), groups.repeat(size), np.zeros(members.size))
        C.joins[groups] -= size  # a regrouping is not joining (as founders are not joins)
    col = COLUMNS[g.orientation]
    scores = np.zeros((size - 1, 3))
    scores[:, col] = 1.0  # the founders' interest: this orientation only, so the others' intensities are 0
    for members in dealt[len(groups):]:
        m.create_cluster(int(members[0]), members[1:], scores, col, mode=MODE_DRAWN)
