"""Helpers shared by the tests (importable as ``helpers``: pytest puts this folder on sys.path)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from clustersim.model import ClusterModel
from clustersim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent


def small_scenario(n_firms: int = 60, steps: int = 12, replications: int = 2, warmup: int = 0,
                   **sections) -> Scenario:
    """The baseline with few firms and quarters, without warm-up unless asked (sections:
    ``clusters={"min_founders": 2}``, ...)."""
    s = Scenario()
    s.simulation.n_firms = n_firms
    s.simulation.warmup = warmup
    s.simulation.steps = steps
    s.simulation.replications = replications
    for section, values in sections.items():
        for key, value in values.items():
            setattr(getattr(s, section), key, value)
    return s


#: switches off every process that would add or remove firms, clusters or memberships behind a test's back
QUIET = {
    "clusters.initiative_probability": 0.0,
    "clusters.awareness_probability": 0.0,
    "clusters.review_probability": 0.0,
    "demography.startup_rate": 0.0,
    "demography.investor_rate": 0.0,
}


def make_scenario(n_firms: int = 40, params: dict | None = None) -> Scenario:
    """A validated scenario with ``n_firms`` firms, no warm-up (the drawn initial state: mechanisms are tested
    in isolation from it) and dotted-path overrides (``"trust.gain_rate": 0.1``, ``"simulation.warmup": 8``)."""
    s = Scenario()
    s.simulation.n_firms = n_firms
    s.simulation.warmup = 0
    for path, value in (params or {}).items():
        *sections, leaf = path.split(".")
        obj = s
        for name in sections:
            obj = getattr(obj, name)
        setattr(obj, leaf, value)  # validate_assignment: out-of-range values raise
    return s


def put_path(data: dict, path: str, value) -> None:
    """Set ``data[a][b][c] = value`` for ``path`` 'a.b.c' in a nested scenario dict; mappings are merged
    into what is there."""
    *head, leaf = path.split(".")
    for key in head:
        data = data.setdefault(key, {})
    if isinstance(value, dict):
        for k, v in value.items():
            put_path(data.setdefault(leaf, {}), k, v)
    else:
        data[leaf] = value


def quiet_model(n_firms: int = 40, seed: int = 1, params: dict | None = None) -> ClusterModel:
    return ClusterModel(make_scenario(n_firms, {**QUIET, **(params or {})}), rng=seed, collect=False)


def add_cluster(model: ClusterModel, members) -> int:
    """Create a cluster of the given firm rows with all three orientations at full intensity."""
    members = [int(x) for x in members]
    return model.create_cluster(members[0], np.array(members[1:], dtype=np.int64),
                                 np.ones((len(members) - 1, 3)), purpose=0)


@contextlib.contextmanager
def dask_cluster(folder: Path, worker_args: list[str], env: dict[str, str]) -> Iterator[dict]:
    """A `dask scheduler` and two single-threaded `dask worker` processes (``worker_args`` added) on loopback,
    each in its own session, logging to ``folder/dask.log``; yields {address, workers, env} and kills them
    all at the end. ``env`` is the processes' environment."""
    import distributed

    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logs = open(folder / "dask.log", "w")  # noqa: SIM115 - closed below
    sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                             env=env, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"tcp://127.0.0.1:{port}"
    workers = [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host",
                                 "127.0.0.1", *worker_args], env=env, stdout=logs, stderr=subprocess.STDOUT,
                                start_new_session=True) for _ in range(2)]
    try:
        client = distributed.Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=60)
        client.close()
        yield {"address": address, "workers": workers, "env": env}
    finally:
        for p in [*workers, sched]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        logs.close()
