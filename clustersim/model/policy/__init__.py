"""Public authorities: funders, the treasury, instruments, constitution modes and evaluation.

The model calls ``policy.act(model, phase)`` at the phases of :data:`.base.POLICY_PHASES`; a scenario
without a ``policy`` section gets :class:`.base.NoPolicy`, otherwise :func:`.public.build_policy` gives a
:class:`.public.PublicPolicy`. ``base.py`` holds the protocols, ``treasury.py`` the funders' budgets and
ledger, ``instruments.py`` the registered instrument classes, ``support.py`` labelling and phase-out,
``constitution.py`` the constitution modes and ``evaluation.py`` the evaluation.
"""
