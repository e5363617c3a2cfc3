"""Scenario text to plain data: YAML 1.2 and TOML parsed into dicts, lists and scalars, with the line of
every key.

YAML is read safely with ruamel.yaml in round-trip mode, so that line numbers are known, and converted to
plain Python values (:func:`_to_plain`); TOML is read with :mod:`tomllib`, its lines found by a best-effort
index of the keys. Syntax errors raise :class:`~clustersim.scenario.errors.ScenarioError` at once; problems
in the values (tags, non-string keys, recursive aliases) are returned for validation to report with the rest.
"""

from __future__ import annotations

import datetime as _dt
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from clustersim.scenario.errors import Loc, ScenarioError, _join, _kind, _short, _where
from clustersim.scenario.limits import MAX_NODES, check_nodes

_OMIT: Any = object()  # marks a YAML entry left out after a conversion problem
_PLAIN_TAGS = (None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


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


def _tag(node: Any) -> Any:
    """The YAML tag of a ruamel node (None if it has none)."""
    return getattr(getattr(node, "tag", None), "value", None)


def _has_custom_tag(node: Any) -> bool:
    """Whether ``node`` is a tagged scalar, or a mapping or sequence with a tag other than the standard ones."""
    return isinstance(node, TaggedScalar) or (isinstance(node, CommentedMap | CommentedSeq)
                                              and _tag(node) not in _PLAIN_TAGS)


def _scalar(node: Any) -> Any:
    """The plain value of a YAML scalar (ruamel's subclasses made built-in types, dates kept), or ``_OMIT`` if
    ``node`` is not a scalar of a supported type."""
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
    return _OMIT


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

    if _has_custom_tag(node):
        fail(f"unsupported YAML tag {_tag(node)!r}")
        return _OMIT
    plain = _scalar(node)
    if plain is not _OMIT:
        return plain
    if not isinstance(node, Mapping | list):
        fail(f"unsupported YAML value of type {type(node).__name__}")
        return _OMIT
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
    check_nodes(expanded_size(data), source)
    return data, lambda loc: _yaml_line(doc, loc), problems


def expanded_size(data: Any, limit: int = MAX_NODES) -> int:
    """The number of values (mappings, lists, scalars) ``data`` holds with every shared part counted as
    often as it is reached, as a copying reader would build them; counting stops a little past ``limit``.
    Each distinct container is visited once (its size is remembered), so this is fast whatever the total."""
    sizes: dict[int, int] = {}

    def size(x: Any) -> int:
        if not isinstance(x, dict | list):
            return 1
        known = sizes.get(id(x))
        if known is not None:
            return known
        total = 1
        for child in (x.values() if isinstance(x, dict) else x):
            total += size(child)
            if total > limit:
                break
        sizes[id(x)] = total
        return total

    return size(data)



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
    except RecursionError:
        raise ScenarioError(f"{source}: invalid TOML: nested too deeply to be read", source) from None
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

