"""Scenario errors: :class:`ScenarioError` and the one-line messages it carries.

Every problem found in a scenario (or in any file validated the same way, such as an experiment file) is one
line naming where it comes from (file and line, or the ``--set`` override), the dotted field path, the bad
value and what is allowed, e.g.::

    configs/foo.yaml:12: firms.size_median: 0 is out of range (allowed: >= 1 and <= 100000)
    configs/foo.yaml:14: firms.size_medain: unknown key 'size_medain' (did you mean 'size_median'?)
    --set firms.size_median=0: firms.size_median: 0 is out of range (allowed: >= 1 and <= 100000)

This module writes the field part of such a line from a pydantic error (:func:`_describe`, with the schema's
allowed ranges and a did-you-mean for unknown keys); the reader (:mod:`clustersim.scenario.io`) adds where.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import reprlib
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from clustersim.scenario.schema import Scenario

__all__ = ["ScenarioError"]

StrPath = str | os.PathLike[str]
Loc = tuple[int | str, ...]

_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_LENGTH_ERRORS = {"string_too_short": "too short", "string_too_long": "too long"}
_MAPPING_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})
_VALUE_WIDTH = 60

_repr = reprlib.Repr()
_repr.maxstring = _VALUE_WIDTH
_repr.maxother = _VALUE_WIDTH
_repr.maxlevel = 2
_repr.maxlist = _repr.maxtuple = _repr.maxdict = 4


class ScenarioError(ValueError):
    """A scenario could not be read or is invalid.

    ``errors`` holds one human-readable line per problem (``source[:line]: field.path: what is wrong``),
    ``path`` names where the scenario came from (the file path as given, or a label such as ``"<dict>"``).
    ``str()`` joins all lines with newlines.
    """

    def __init__(self, errors: str | Sequence[str], path: StrPath | None = None) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        self.path: str | None = None if path is None else os.fspath(path)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[str], str | None]]:
        return (type(self), (self.errors, self.path))


# --------------------------------------------------------------------------------------------------------
# Schema lookups
# --------------------------------------------------------------------------------------------------------


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The section class if ``annotation`` is a nested pydantic model, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _schema_lookup(loc: Loc, root: type[BaseModel] = Scenario
                   ) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """Follow ``loc`` through the schema: (model holding the last part, its field info or None)."""
    model: type[BaseModel] | None = root
    info: FieldInfo | None = None
    for i, part in enumerate(loc):
        if model is None or not isinstance(part, str):
            return None, None
        info = model.model_fields.get(part)
        if i == len(loc) - 1:
            return model, info
        if info is None:
            return None, None
        model = _section_model(info.annotation)
    return None, None


# --------------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------------


def _format_number(x: Any) -> str:
    """Short text of a bound: integral floats without ``.0`` (``100000``), others as repr."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def _allowed_range(info: FieldInfo | None) -> str | None:
    """The allowed range of a field from its constraints, e.g. ``>= 1 and <= 100000`` (None if unbounded)."""
    if info is None:
        return None
    parts: list[str] = []
    length: list[str] = []
    for m in info.metadata:
        if isinstance(m, annotated_types.Gt) and m.gt is not None:
            parts.append(f"> {_format_number(m.gt)}")
        elif isinstance(m, annotated_types.Ge) and m.ge is not None:
            parts.append(f">= {_format_number(m.ge)}")
        elif isinstance(m, annotated_types.Lt) and m.lt is not None:
            parts.append(f"< {_format_number(m.lt)}")
        elif isinstance(m, annotated_types.Le) and m.le is not None:
            parts.append(f"<= {_format_number(m.le)}")
        elif isinstance(m, annotated_types.MinLen):
            length.append(f">= {m.min_length}")
        elif isinstance(m, annotated_types.MaxLen):
            length.append(f"<= {m.max_length}")
    if length:
        parts.append("length " + " and ".join(length))
    if typing.get_origin(info.annotation) is typing.Literal:
        parts.append("one of " + ", ".join(repr(v) for v in typing.get_args(info.annotation)))
    elif info.annotation is bool:
        parts.append("true or false")
    return " and ".join(parts) or None


def _expected_type(info: FieldInfo | None) -> str:
    """What kind of value a field takes, as a phrase (``an integer``, ``a number``, ...)."""
    ann = None if info is None else info.annotation
    if ann is bool:
        return "true or false"
    if ann is int:
        return "an integer"
    if ann is float:
        return "a number"
    if ann is str:
        return "a string"
    if typing.get_origin(ann) is typing.Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(ann))
    if _section_model(ann) is not None:
        return "a mapping (a section of parameters)"
    return f"a value of type {getattr(ann, '__name__', ann)}"


def _suggestion(key: str, allowed: Sequence[str]) -> str:
    """``(did you mean 'x'?)`` for the closest allowed name, else the list of allowed names."""
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    if close:
        return f"(did you mean {close[0]!r}?)"
    return f"(allowed keys: {', '.join(allowed)})" if allowed else "(no keys allowed here)"


def _short(value: Any) -> str:
    """Short, repr-like text of a user value for messages (YAML spelling of booleans and null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    text = _repr.repr(value)
    return text if len(text) <= _VALUE_WIDTH + 20 else text[:_VALUE_WIDTH] + "..."


def _join(loc: Loc) -> str:
    """Dotted text of a location (``<top level>`` for the root)."""
    return ".".join(str(p) for p in loc) or "<top level>"


def _where(source: str, line: int | None) -> str:
    """``source:line`` or just ``source``."""
    return f"{source}:{line}" if line is not None else source


def _kind(value: Any) -> str:
    """Plain-language kind of a parsed value (for top-level errors)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    return f"the value {_short(value)}"


def _describe(err: ErrorDetails, root: type[BaseModel] = Scenario) -> str:
    """One pydantic error as ``field.path: <bad value> <what is wrong> (<what is allowed>)``."""
    loc: Loc = tuple(err["loc"])
    path = _join(loc)
    kind = err["type"]
    value = err.get("input")
    model, info = _schema_lookup(loc, root)
    allowed = _allowed_range(info)
    if kind == "value_error":  # a cross-field rule of the schema: its message names the fields
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{path}: {msg}"
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        names = list(model.model_fields) if model is not None else []
        return f"{path}: unknown key {key!r} {_suggestion(key, names)}"
    if kind == "missing":
        section = _section_model(info.annotation) if info is not None else None
        what = f"a mapping with keys {', '.join(section.model_fields)}" if section is not None \
            else _expected_type(info)
        return f"{path}: missing (required: {what})"
    if kind in _RANGE_ERRORS and allowed:
        return f"{path}: {_short(value)} is out of range (allowed: {allowed})"
    if kind in _LENGTH_ERRORS and allowed:
        return f"{path}: {_short(value)} is {_LENGTH_ERRORS[kind]} (allowed: {allowed})"
    if kind in _MAPPING_ERRORS or (info is not None and _section_model(info.annotation) is not None):
        section = _section_model(info.annotation) if info is not None else None
        keys = f" with keys {', '.join(section.model_fields)}" if section is not None else ""
        return f"{path}: {_short(value)} is not valid: expected a mapping{keys}"
    if kind == "invalid_key":
        return f"{path}: key {_short(loc[-1] if loc else value)} is not valid: keys must be strings"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "int_from_float":
        tail = f" (allowed: {allowed})" if allowed else ""
        return f"{path}: {_short(value)} is not valid: expected {_expected_type(info)}{tail}"
    tail = f" (allowed: {allowed})" if allowed else ""
    return f"{path}: {_short(value)} is not valid: {err['msg'][:1].lower()}{err['msg'][1:]}{tail}"

