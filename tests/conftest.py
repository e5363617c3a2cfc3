"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT, small_scenario

from clustersim.scenario.schema import Scenario


@pytest.fixture
def small() -> Scenario:
    return small_scenario()


@pytest.fixture
def root() -> Path:
    return ROOT
