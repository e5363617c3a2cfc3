"""Dotted parameter paths (``firms.size_median``): the leaves of the schema and the ``--set`` overrides.

An override ``dotted.path=value`` names a leaf parameter of :class:`~clustersim.scenario.schema.Scenario`
(a path that is not one is refused with a did-you-mean suggestion); its value is read as a YAML 1.2 scalar.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from ruamel.yaml.error import YAMLError

from clustersim.scenario.errors import ScenarioError, _expected_type, _section_model, _short, _suggestion
from clustersim.scenario.parse import _OMIT, _to_plain, _yaml
from clustersim.scenario.schema import Scenario

__all__ = ["apply_overrides"]


def _iter_leaves(model: type[BaseModel] = Scenario, prefix: tuple[str, ...] = ()
                 ) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """Yield (path parts, field info) of every leaf parameter of ``model``, in schema order."""
    for name, info in model.model_fields.items():
        sub = _section_model(info.annotation)
        if sub is None:
            yield (*prefix, name), info
        else:
            yield from _iter_leaves(sub, (*prefix, name))


def _resolve_override_path(parts: list[str]) -> tuple[str | None, FieldInfo | None]:
    """Check a dotted override path against the schema: (problem or None, leaf field info)."""
    model: type[BaseModel] = Scenario
    for i, part in enumerate(parts):
        here = ".".join(parts[: i + 1])
        info = model.model_fields.get(part)
        if info is None:
            return f"{here}: unknown key {part!r} {_suggestion(part, list(model.model_fields))}", None
        sub = _section_model(info.annotation)
        last = i == len(parts) - 1
        if sub is None and not last:
            return f"{here} is a parameter, not a section (cannot set {'.'.join(parts)})", None
        if sub is not None and last:
            return (f"{here} is a section, not a parameter; set one of its keys "
                    f"({', '.join(sub.model_fields)})"), None
        if sub is not None:
            model = sub
        else:
            return None, info
    return "empty path", None


def _parse_scalar(raw: str, info: FieldInfo | None) -> Any:
    """Read an override value as a YAML 1.2 scalar; for string fields anything else is kept as text."""
    wants_text = info is not None and info.annotation is str
    problems: list[str] = []
    try:
        value = _to_plain(_yaml().load(raw), problems, "", None) if raw.strip() else None
        ok = not problems and value is not _OMIT and not isinstance(value, dict | list)
    except (YAMLError, ValueError, TypeError, RecursionError):
        ok, value = False, None
    if wants_text and not isinstance(value, str):
        return raw
    if not ok:
        raise ValueError(f"{raw!r} is not a single value: expected {_expected_type(info)}")
    return value


def _apply_overrides(data: Mapping[str, Any], overrides: Sequence[str], source: str
                     ) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Apply overrides to a copy of ``data``; also return which override set which path."""
    if isinstance(overrides, str):
        overrides = [overrides]
    result: dict[str, Any] = copy.deepcopy(dict(data))
    origins: dict[tuple[str, ...], str] = {}
    errors: list[str] = []
    for item in overrides:
        where = f"{source} {item}"
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            errors.append(f"{where}: expected dotted.path=value (e.g. firms.size_median=20)")
            continue
        parts = key.split(".")
        problem, info = _resolve_override_path(parts)
        if problem is not None:
            errors.append(f"{where}: {problem}")
            continue
        try:
            value = _parse_scalar(raw, info)
        except ValueError as exc:
            errors.append(f"{where}: {key}: {exc}")
            continue
        node = result
        for i, part in enumerate(parts[:-1]):
            if part not in node:
                node[part] = {}
            child = node[part]
            if not isinstance(child, dict):
                errors.append(f"{where}: {'.'.join(parts[: i + 1])}: cannot set a key inside "
                              f"{_short(child)} (not a mapping)")
                break
            node = child
        else:
            node[parts[-1]] = value
            origins[tuple(parts)] = where
    if errors:
        raise ScenarioError(errors, source)
    return result, origins


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str],
                    source: str = "--set") -> dict[str, Any]:
    """Return a new nested dict: ``data`` with every ``dotted.path=value`` override applied.

    Values are read as YAML 1.2 scalars (``3``, ``0.5``, ``1e3``, ``true``, ``abc``); for string parameters
    the text is taken as is when it does not read as a string. A path that is not a parameter of the schema
    raises :class:`ScenarioError` naming the override, with a did-you-mean suggestion. Values are not
    validated here (that happens when the scenario is built).
    """
    return _apply_overrides(data, overrides, source)[0]

