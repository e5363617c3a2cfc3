"""Public authorities: funders, the treasury, instruments, constitution modes and evaluation.

The model calls ``policy.act(model, phase)`` at the phases of :data:`.base.POLICY_PHASES`; a scenario
without a ``policy`` section gets :class:`.base.NoPolicy`.
"""
