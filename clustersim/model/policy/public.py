"""Public authorities: the policy of a scenario, acting at the model's policy phases (docs/ODD.md 7.25).

Authorities are facilitators: every instrument acts on the model through a documented mechanism (a
probability, a cost, a noise, a capability), never on an indicator, and no instrument can put a firm into a
cluster. Only the explicitly labelled ``directive_counterfactual`` mode assigns firms to clusters, so that
researchers can test the source document's claim that directive policy fails.

- :class:`PublicPolicy` -- acts at the model's policy phases (``ClusterModel.policy.act(model, phase)``): the
  registered instruments in the order of :data:`~.instruments.SCHEDULE`, support, constitution modes;
- :func:`build_policy` -- the policy a scenario describes (:class:`~clustersim.model.NoPolicy` when none).

The parts are modules of this package: ``treasury.py`` (:class:`~.treasury.Treasury`, the funders' budgets and
the spending ledger), ``instruments.py`` (the instrument classes and their registry
:data:`~.instruments.INSTRUMENTS`), ``support.py`` (the authority's payments, labelling and phase-out),
``constitution.py`` (identification, calls, the directive counterfactual) and ``evaluation.py``.
"""

from __future__ import annotations

import pandas as pd

from clustersim.model.policy.base import POLICY_PHASES, NoPolicy, PolicyHost
from clustersim.model.policy.constitution import ConstitutionModes
from clustersim.model.policy.instruments import SCHEDULE, Instrument
from clustersim.scenario.schema import Scenario

__all__ = ["PublicPolicy", "build_policy"]


class PublicPolicy(ConstitutionModes):
    """The public authorities of a scenario's ``policy`` section, acting at the model's policy phases.

    ``start``: budgets open; support ends for clusters past their planned duration or the end of support;
    region-wide instruments (legal framework, data sharing) and awareness campaigns.
    ``before_actions``: per-cluster support of supported clusters (facilitation, support structures,
    co-funding allowances, training).
    ``after_actions``: co-funding settled; exchanges between clusters; the intermediary's capacity for the
    formation phase.
    ``end``: constitution (identification, calls, the directive counterfactual); open labelling; the
    intermediary's services settled; validation of new clusters; evaluation (the monitoring tool).

    In each phase the instruments act in the order of :data:`~.instruments.SCHEDULE`: each is first reset at
    the first of its phases (:meth:`.Instrument.reset`), then acts if active (:meth:`.Instrument.act`).
    """

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        #: the instruments acting at each phase, in order
        self.schedule: dict[str, tuple[Instrument, ...]] = {
            phase: tuple(self.instruments[name] for name in SCHEDULE[phase]) for phase in POLICY_PHASES}

    def act(self, m: PolicyHost, phase: str) -> None:
        getattr(self, f"_{phase}")(m)
        m.step_stats["public_spending"] = self.treasury.step_total

    def _instruments(self, m: PolicyHost, phase: str) -> None:
        """The instruments of ``phase``: each reset at the first of its phases, then acting if active."""
        for instrument in self.schedule[phase]:
            if phase == instrument.acts[0]:
                instrument.reset(m)
            if instrument.on(m.now):
                instrument.act(m, phase)

    def _start(self, m: PolicyHost) -> None:
        self.treasury.step_total = 0.0
        self.treasury.open_year(m.now)
        self.end_support(m)
        self._instruments(m, "start")

    def _before_actions(self, m: PolicyHost) -> None:
        self._instruments(m, "before_actions")

    def _after_actions(self, m: PolicyHost) -> None:
        self._instruments(m, "after_actions")

    def _end(self, m: PolicyHost) -> None:
        self.constitute(m)
        self.open_labelling(m)
        self._instruments(m, "end")

    def spending(self) -> pd.DataFrame:
        """The spending ledger (:meth:`.Treasury.table`)."""
        return self.treasury.table()


def build_policy(scenario: Scenario):
    """The public policy a scenario describes: :class:`PublicPolicy`, or ``NoPolicy`` when it has none."""
    if scenario.policy.active:
        return PublicPolicy(scenario)
    return NoPolicy()
