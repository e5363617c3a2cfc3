"""Seeds: one root seed per experiment, one child stream per replication.

Replication ``i`` of an experiment with root seed ``s`` uses ``numpy.random.SeedSequence(s, spawn_key=(i,))``,
the same stream as ``SeedSequence(s).spawn(n)[i]``: any run can be rebuilt from (root seed, index) alone,
whatever the executor, the number of workers, the chunking or the completion order. Every design point of
a sweep uses the same stream for the same replication (common random numbers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["replication_seed"]


def replication_seed(root_seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of replication ``index`` under ``root_seed`` (= ``SeedSequence(root).spawn(n)[index]``)."""
    return np.random.SeedSequence(int(root_seed), spawn_key=(int(index),))
