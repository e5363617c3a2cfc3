"""Reading, validating, overriding and writing scenarios (:class:`clustersim.scenario.schema.Scenario`).

Scenario files are YAML 1.2 (``.yaml``/``.yml``, read safely with ruamel.yaml in round-trip mode so that
line numbers are known) or TOML (``.toml``, read with :mod:`tomllib`). Validation is strict: a number is
never read from a string, ``true`` is not a number and an integer parameter refuses ``2.5`` (and ``1e3``,
which YAML 1.2 reads as a float); an integer is accepted where a float is expected.

Every problem is reported by :class:`ScenarioError`, one line per problem, naming where it comes from (file
and line, or the ``--set`` override), the dotted field path, the bad value and what is allowed, e.g.::

    configs/foo.yaml:12: firms.size_median: 0 is out of range (allowed: >= 1 and <= 100000)
    configs/foo.yaml:14: firms.size_medain: unknown key 'size_medain' (did you mean 'size_median'?)
    --set firms.size_median=0: firms.size_median: 0 is out of range (allowed: >= 1 and <= 100000)

The module also writes a scenario back as commented YAML (:func:`render_documented_yaml`) and documents
every parameter as a Markdown table (:func:`render_parameter_table_markdown`).
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import hashlib
import inspect
import json
import math
import os
import re
import reprlib
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from clustersim.scenario.schema import Scenario

__all__ = [
    "ScenarioError",
    "apply_overrides",
    "check_file",
    "load_scenario",
    "render_documented_yaml",
    "render_parameter_table_markdown",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_dict",
]

StrPath = str | os.PathLike[str]
Loc = tuple[int | str, ...]

YAML_SUFFIXES = (".yaml", ".yml")
TOML_SUFFIXES = (".toml",)

_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_LENGTH_ERRORS = {"string_too_short": "too short", "string_too_long": "too long"}
_MAPPING_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})
_VALUE_WIDTH = 60
_OMIT: Any = object()  # marks a YAML entry left out after a conversion problem

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
# Schema helpers
# --------------------------------------------------------------------------------------------------------


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The section class if ``annotation`` is a nested pydantic model, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _iter_leaves(model: type[BaseModel] = Scenario, prefix: tuple[str, ...] = ()
                 ) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """Yield (path parts, field info) of every leaf parameter of ``model``, in schema order."""
    for name, info in model.model_fields.items():
        sub = _section_model(info.annotation)
        if sub is None:
            yield (*prefix, name), info
        else:
            yield from _iter_leaves(sub, (*prefix, name))


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


def _unit(info: FieldInfo) -> str | None:
    """The unit recorded in the field's ``json_schema_extra`` (None if absent)."""
    extra = info.json_schema_extra
    if isinstance(extra, Mapping):
        unit = extra.get("unit")
        if unit is not None:
            return str(unit)
    return None


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


# --------------------------------------------------------------------------------------------------------
# Validation with located errors
# --------------------------------------------------------------------------------------------------------


def _where(source: str, line: int | None) -> str:
    """``source:line`` or just ``source``."""
    return f"{source}:{line}" if line is not None else source


def _validate(data: Any, *, source: str, path: str | None, line_of: Callable[[Loc], int | None],
              overrides: Sequence[str] = (), override_source: str = "--set",
              problems: Sequence[str] = (), root: type[BaseModel] = Scenario) -> Any:
    """Apply overrides, validate strictly and raise a :class:`ScenarioError` naming every problem.

    ``problems`` found earlier (while reading the file) are reported first, with the validation errors.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: the top level must be a mapping of sections, got {_kind(data)}", path)
    origins: dict[tuple[str, ...], str] = {}
    if overrides:
        try:
            data, origins = _apply_overrides(data, overrides, override_source)
        except ScenarioError as exc:
            raise ScenarioError(exc.errors, path) from None
    messages: list[str] = list(problems)
    try:
        scenario = root.model_validate(data, strict=True)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc: Loc = tuple(err["loc"])
            origin = next((text for p, text in origins.items() if loc[: len(p)] == p), None)
            where = origin if origin is not None else _where(source, line_of(loc))
            messages.append(f"{where}: {_describe(err, root)}")
    if messages:
        raise ScenarioError(messages, path) from None
    return scenario


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


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>", *,
                       overrides: Sequence[str] = ()) -> Scenario:
    """Validate a nested mapping (e.g. parsed JSON) into a :class:`Scenario`.

    Errors are formatted as for files but without line numbers (``<dict>: firms.size_median: ...``).
    ``overrides`` (``dotted.path=value``) are applied first, as in :func:`load_scenario`.
    """
    return _validate(data, source=source, path=source, line_of=lambda loc: None, overrides=overrides)


# --------------------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------


def _yaml() -> YAML:
    """A fresh safe round-trip YAML 1.2 loader (keeps line numbers, refuses duplicate keys)."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _lc_line(node: Any, key: Any) -> int | None:
    """1-based line of ``key`` in a ruamel mapping or sequence (None when unknown, e.g. merged keys)."""
    try:
        if isinstance(node, CommentedMap):
            return int(node.lc.key(key)[0]) + 1
        if isinstance(node, CommentedSeq):
            return int(node.lc.item(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return None


def _yaml_line(root: Any, loc: Loc) -> int | None:
    """Line of the deepest key of ``loc`` found in the ruamel document."""
    node, line = root, None
    for part in loc:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            found = _lc_line(node, part)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            found = _lc_line(node, part)
        else:
            break
        if found is None:
            break
        line, node = found, node[part]
    return line


def _to_plain(node: Any, errors: list[str], source: str, loc: Loc | None,
              root: Any = None, _active: set[int] | None = None, _memo: dict[int, Any] | None = None) -> Any:
    """Convert ruamel's types to plain dict/list/int/float/str/bool/None (dates kept).

    Problems (non-string keys, tags, unsupported types, recursive aliases) are appended to ``errors`` and
    the offending entry is left out (``_OMIT`` is returned for it) so that validation can still report the
    rest of the file. A node reached through several aliases is converted once and shared (so that an
    "alias bomb" cannot blow up), a node containing itself is refused.
    """
    active = set() if _active is None else _active
    memo = {} if _memo is None else _memo
    root = node if root is None else root

    def fail(message: str, line: int | None = None) -> None:
        if line is None and loc is not None:
            line = _yaml_line(root, loc)
        errors.append(f"{_where(source, line)}: {_join(loc or ())}: {message}")

    if isinstance(node, TaggedScalar) or (
        isinstance(node, CommentedMap | CommentedSeq) and getattr(getattr(node, "tag", None), "value", None)
        not in (None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
    ):
        tag = getattr(getattr(node, "tag", None), "value", None)
        fail(f"unsupported YAML tag {tag!r}")
        return _OMIT
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, _dt.date | _dt.time):
        return node
    if isinstance(node, Mapping | list):
        if id(node) in active:
            fail("recursive alias")
            return _OMIT
        if id(node) in memo:
            return memo[id(node)]
        active.add(id(node))
        try:
            if isinstance(node, Mapping):
                out: dict[str, Any] = {}
                for key, value in node.items():
                    if not isinstance(key, str):
                        fail(f"key {_short(key)} is not valid: keys must be strings", _lc_line(node, key))
                        continue
                    sub = None if loc is None else (*loc, str(key))
                    converted = _to_plain(value, errors, source, sub, root, active, memo)
                    if converted is not _OMIT:
                        out[str(key)] = converted
                memo[id(node)] = out
                return out
            items = (_to_plain(v, errors, source, None if loc is None else (*loc, i), root, active, memo)
                     for i, v in enumerate(node))
            memo[id(node)] = result = [None if item is _OMIT else item for item in items]
            return result
        finally:
            active.discard(id(node))
    fail(f"unsupported YAML value of type {type(node).__name__}")
    return _OMIT


def _yaml_syntax_error(exc: Exception, source: str) -> str:
    """One line for a YAML parser error, with the line the parser gives."""
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = _where(source, mark.line + 1 if mark is not None else None)
        problem = (exc.problem or "").strip()
        if isinstance(exc, DuplicateKeyError):
            m = re.search(r'found duplicate key "(.*)" with value', problem)
            key = repr(m.group(1)) if m else problem
            start = exc.context_mark
            also = f" (in the mapping starting on line {start.line + 1})" if start is not None else ""
            return f"{where}: duplicate key {key}{also}"
        context = (exc.context or "").strip()
        if context and exc.context_mark is not None and exc.context_mark is not mark:
            context = f"{context} on line {exc.context_mark.line + 1}"
        text = "; ".join(p for p in (problem, context) if p) or str(exc).splitlines()[0]
        return f"{where}: invalid YAML: {text}"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{source}: invalid YAML: {first}"


_YAML_DIRECTIVE = re.compile(r"^%YAML[ \t]+(\S+)", re.MULTILINE)


def _read_yaml(text: str, source: str) -> tuple[dict[str, Any], Callable[[Loc], int | None], list[str]]:
    """Parse YAML 1.2 text: (plain dict, function giving the line of a location, conversion problems)."""
    m = _YAML_DIRECTIVE.search(text)
    if m and m.group(1) != "1.2":
        line = text.count("\n", 0, m.start()) + 1
        raise ScenarioError(f"{source}:{line}: only YAML 1.2 is supported (found %YAML {m.group(1)})", source)
    try:
        doc = _yaml().load(text)
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ScenarioError(_yaml_syntax_error(exc, source), source) from None
    if doc is None:
        raise ScenarioError(f"{source}: the file is empty (expected a mapping of sections)", source)
    if not isinstance(doc, CommentedMap):
        at = getattr(getattr(doc, "lc", None), "line", None)
        where = _where(source, at + 1 if isinstance(at, int) else None)
        raise ScenarioError(f"{where}: the top level must be a mapping of sections, got {_kind(doc)}", source)
    problems: list[str] = []
    data = _to_plain(doc, problems, source, (), doc)
    return data, lambda loc: _yaml_line(doc, loc), problems


_TOML_KEY_PART = re.compile(r"""[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'""")
_TOML_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_TOML_TABLE = re.compile(rf"^\[\[?\s*({_TOML_KEY}(?:\s*\.\s*{_TOML_KEY})*)\s*\]\]?\s*(?:#.*)?$")
_TOML_ASSIGN = re.compile(rf"^({_TOML_KEY}(?:\s*\.\s*{_TOML_KEY})*)\s*=")


def _toml_key_parts(text: str) -> tuple[str, ...]:
    """Split a (possibly dotted, possibly quoted) TOML key into its parts."""
    parts = []
    for p in _TOML_KEY_PART.findall(text):
        parts.append(p[1:-1] if p[:1] in "\"'" else p)
    return tuple(parts)


def _toml_line_index(text: str) -> dict[tuple[str, ...], int]:
    """Best-effort map from dotted key path to the first line defining it (tomllib gives no positions)."""
    index: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _TOML_TABLE.match(line)
        if m:
            table = _toml_key_parts(m.group(1))
            path: tuple[str, ...] = table
        else:
            m = _TOML_ASSIGN.match(line)
            if not m:
                continue
            path = table + _toml_key_parts(m.group(1))
        for i in range(1, len(path) + 1):
            index.setdefault(path[:i], number)
    return index


def _read_toml(text: str, source: str) -> tuple[dict[str, Any], Callable[[Loc], int | None], list[str]]:
    """Parse TOML text: (dict, best-effort function giving the line of a location, no problems)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line: int | None = getattr(exc, "lineno", None)
        m = re.search(r"\s*\(at line (\d+), column \d+\)", message)
        if m:
            line = line or int(m.group(1))
            message = message[: m.start()] + message[m.end():]
        message = re.sub(r"\s*\(at end of document\)", " (at end of file)", message)
        if message.startswith(("Cannot overwrite", "Cannot declare")):
            message += " (duplicate key or table)"
        raise ScenarioError(f"{_where(source, line)}: invalid TOML: {message}", source) from None
    if not data:
        raise ScenarioError(f"{source}: the file is empty (expected tables of parameters)", source)
    index = _toml_line_index(text)

    def line_of(loc: Loc) -> int | None:
        parts = tuple(str(p) for p in loc)
        for n in range(len(parts), 0, -1):
            if parts[:n] in index:
                return index[parts[:n]]
        return None

    return data, line_of, []


def _read_file(path: StrPath) -> tuple[dict[str, Any], Callable[[Loc], int | None], list[str]]:
    """Read and parse a scenario file by extension: (data, line finder, problems found while converting).

    Problems that make the file unreadable raise :class:`ScenarioError` at once.
    """
    source = os.fspath(path)
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in YAML_SUFFIXES + TOML_SUFFIXES:
        allowed = ", ".join(YAML_SUFFIXES + TOML_SUFFIXES)
        raise ScenarioError(f"{source}: unsupported file type {suffix or '(no extension)'!r} "
                            f"(allowed: {allowed})", source)
    if not file.exists():
        raise ScenarioError(f"{source}: file not found", source)
    if not file.is_file():
        raise ScenarioError(f"{source}: not a regular file", source)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read the file ({exc.strerror or exc})", source) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(f"{source}:{line}: the file is not valid UTF-8", source) from None
    if not text.strip():
        raise ScenarioError(f"{source}: the file is empty (expected a mapping of sections)", source)
    if suffix in TOML_SUFFIXES:
        return _read_toml(text, source)
    return _read_yaml(text, source)


def load_scenario(path: StrPath, overrides: Sequence[str] | None = None, *,
                  override_source: str = "--set") -> Scenario:
    """Read a YAML 1.2 (``.yaml``/``.yml``) or TOML (``.toml``) scenario file and validate it.

    ``overrides`` (``dotted.path=value``, see :func:`apply_overrides`) are applied before validation; errors
    they cause name the override instead of the file. Any problem (missing file, unsupported extension,
    syntax error, duplicate key, empty file, unknown key, wrong type, value out of range) raises a
    :class:`ScenarioError` listing all problems with file, line, field path, bad value and allowed range.
    """
    source = os.fspath(path)
    data, line_of, problems = _read_file(path)
    return _validate(data, source=source, path=source, line_of=line_of, overrides=overrides or (),
                     override_source=override_source, problems=problems)


def load_model_file(path: StrPath, root: type[BaseModel]) -> Any:
    """Read a YAML or TOML file and validate it against any pydantic ``root`` model (e.g. an experiment
    file), with the same located error messages as scenario files."""
    source = os.fspath(path)
    data, line_of, problems = _read_file(path)
    return _validate(data, source=source, path=source, line_of=line_of, problems=problems, root=root)


def model_from_dict(data: Mapping[str, Any], root: type[BaseModel], source: str = "<dict>") -> Any:
    """Validate a mapping against any pydantic ``root`` model, with the scenario files' error messages."""
    return _validate(data, source=source, path=source, line_of=lambda loc: None, root=root)


def check_file(path: StrPath, overrides: Sequence[str] | None = None) -> Scenario:
    """Validate a scenario file (same as :func:`load_scenario`); raises :class:`ScenarioError` if invalid."""
    return load_scenario(path, overrides)


# --------------------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------------------


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """A plain, JSON-able nested dict of the scenario (``model_dump(mode="json")``)."""
    return s.model_dump(mode="json")


def scenario_hash(s: Scenario) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`scenario_to_dict` (sorted keys, compact, UTF-8)."""
    text = json.dumps(scenario_to_dict(s), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar for ``text`` (printable characters kept, others escaped)."""
    out = []
    for ch in text:
        if ch in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[ch])
        elif ch.isprintable() and ch not in "\ufeff":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _yaml_scalar(value: Any) -> str:
    """YAML 1.2 text of a leaf value that reads back to the same Python value and type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        return _yaml_string(value)
    return _yaml_string(str(value))


def _doc_lines(text: str | None) -> list[str]:
    """Lines of a docstring or description, cleaned (empty list if none)."""
    if not text:
        return []
    return [line.rstrip() for line in inspect.cleandoc(text).splitlines()]


def _leaf_comment(info: FieldInfo) -> list[str]:
    """Comment lines before a leaf: its description, then ``[unit; allowed range]``."""
    lines = _doc_lines(info.description) or ["(no description)"]
    unit = _unit(info)
    allowed = _allowed_range(info)
    bits = []
    if unit and unit != "-":
        bits.append(unit)
    if allowed:
        bits.append(f"allowed {allowed}")
    if bits:
        lines[-1] += f" [{'; '.join(bits)}]"
    return lines


def _render_model(model: BaseModel, depth: int, lines: list[str]) -> None:
    """Append the YAML lines of a section (fields in schema order, with comments)."""
    pad = "  " * depth
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            if depth == 0 and lines:
                lines.append("")
            doc = _doc_lines(info.description) or _doc_lines(type(value).__dict__.get("__doc__"))
            lines.extend(f"{pad}# {line}".rstrip() for line in doc)
            if type(value).model_fields:
                lines.append(f"{pad}{name}:")
                _render_model(value, depth + 1, lines)
            else:
                lines.append(f"{pad}{name}: {{}}")
        else:
            lines.extend(f"{pad}# {line}".rstrip() for line in _leaf_comment(info))
            lines.append(f"{pad}{name}: {_yaml_scalar(value)}")


def render_documented_yaml(s: Scenario | None = None, header: str = "") -> str:
    """A complete, commented YAML text of ``s`` (default: ``Scenario()``).

    All sections and leaves appear in schema order; each leaf is preceded by a comment with its meaning,
    unit and allowed range, each section by its docstring. ``header`` lines (if any) open the file as
    comments. The text loads back with :func:`load_scenario` to an equal scenario.
    """
    scenario = Scenario() if s is None else s
    lines: list[str] = []
    for line in header.splitlines():
        lines.append(line if line.lstrip().startswith("#") else f"# {line}".rstrip())
    if lines:
        lines.append("")
    _render_model(scenario, 0, lines)
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    """Escape text for one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_value(value: Any) -> str:
    """Markdown text of a default value."""
    if isinstance(value, str):
        return f"`{json.dumps(value, ensure_ascii=False)}`"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def render_parameter_table_markdown() -> str:
    """A Markdown table (path | meaning | unit | default | allowed range) of every leaf parameter.

    Defaults are read from an instantiated ``Scenario()`` (section defaults made by factories, such as each
    orientation's critical mass, differ from the class defaults).
    """
    scenario = Scenario()
    rows = ["| path | meaning | unit | default | allowed range |",
            "|---|---|---|---|---|"]
    for parts, info in _iter_leaves():
        value: Any = scenario
        for part in parts:
            value = getattr(value, part)
        meaning = " ".join(_doc_lines(info.description))
        rows.append("| " + " | ".join([
            f"`{'.'.join(parts)}`",
            _md_cell(meaning),
            _md_cell(_unit(info) or ""),
            _md_cell(_md_value(value)),
            _md_cell(_allowed_range(info) or "any"),
        ]) + " |")
    return "\n".join(rows) + "\n"
