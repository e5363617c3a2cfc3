"""Provenance: what every results folder and run store records about how it was made."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from importlib import metadata as _md
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "git_commit", "package_versions", "provenance"]

PACKAGES = ("clustersim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "matplotlib", "networkx", "scipy",
            "ruamel.yaml", "SALib")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(path: Path | None = None) -> dict[str, Any]:
    """The git commit of the clustersim source tree (and whether it had uncommitted changes), if any."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": head, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance(command: list[str] | None = None) -> dict[str, Any]:
    """What every results folder records about how it was made: units, versions, git commit, host, command."""
    return {
        "units": {"step": "one quarter", "money": "k€ (flows per quarter unless stated)", "size": "employees"},
        "versions": package_versions(),
        "git": git_commit(),
        "host": {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "command": command if command is not None else sys.argv,
    }
