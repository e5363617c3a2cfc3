"""The building blocks of the scenario schema: :class:`Section`, the base of every section, and :func:`P`, a
documented parameter (default, unit, meaning and allowed range)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["P", "Section"]


def P(default: Any, *, unit: str, desc: str, ge: float | None = None, le: float | None = None,
      gt: float | None = None, lt: float | None = None) -> Any:
    """A documented parameter: default, unit, meaning and allowed range (used by the docs generator)."""
    return Field(default, ge=ge, le=le, gt=gt, lt=lt, description=desc, json_schema_extra={"unit": unit})


class Section(BaseModel):
    """Base of every scenario section: unknown keys are refused, values validated on assignment.

    An assignment that a rule between the section's fields refuses leaves the section as it was (pydantic
    sets the value before its "after" validators run, and keeps it when one of them raises)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).model_fields:
            super().__setattr__(name, value)
            return
        old = self.__dict__.get(name)
        try:
            super().__setattr__(name, value)
        except ValidationError:
            self.__dict__[name] = old
            raise
