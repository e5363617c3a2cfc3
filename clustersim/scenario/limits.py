"""Limits at the boundary: what a scenario, experiment or study file may hold, checked before any work.

A file is data, and data can be hostile or mistaken: a file of gigabytes, brackets nested thousands deep (which
a recursive parser turns into a crash), YAML aliases that expand a few kilobytes into billions of nodes. Each
limit is refused with the usual one-line message (file, line where known, what was found, what is allowed) and
exit code 2, before anything is written, in well under a second and with memory proportional to the file:

- :data:`MAX_FILE_BYTES`: the size of a file, checked before it is read;
- :data:`MAX_DEPTH`: how deeply brackets nest (flow collections in YAML, arrays and inline tables in TOML),
  found by a scan of the text before it is parsed;
- :data:`MAX_NODES`: the number of values the document holds once every YAML alias is expanded, counted while
  it is converted (an alias is shared, never copied, during the conversion; this counts what a reader that
  copies it, such as a JSON writer, would have to build);
- :data:`MAX_STRING`: the length of any one string (a value or a key), whatever field it is in (fields of
  the schema have their own, smaller, limits: a name 200 characters, a description 10,000).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from clustersim.scenario.errors import ScenarioError, _where

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "MAX_STRING", "check_depth", "check_nodes", "check_size",
           "check_strings"]

#: the largest file read (bytes): the shipped files are under 50 KB; an explicit design of tens of
#: thousands of points fits
MAX_FILE_BYTES = 4 * 1024 * 1024
#: the deepest nesting of brackets in a file (a scenario nests 4 deep, an experiment's points 3 or 4)
MAX_DEPTH = 64
#: the most values (mappings, lists and scalars) a document may hold with its aliases expanded
MAX_NODES = 1_000_000

#: the longest string (characters) a file may hold, as a value or a key
MAX_STRING = 100_000

_BRACKET = re.compile(r"[\[\]{}]")


def check_size(size: int, source: str) -> None:
    """Refuse a file of ``size`` bytes above :data:`MAX_FILE_BYTES`."""
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: the file is too large ({size:,} bytes; allowed: at most "
                            f"{MAX_FILE_BYTES:,} bytes)", source)


def check_depth(text: str, source: str) -> None:
    """Refuse brackets nested deeper than :data:`MAX_DEPTH`, naming the line where the limit is passed.

    The scan counts every bracket, also inside quoted strings and comments: it can only overcount, and no
    file of this project comes near the limit."""
    depth = 0
    for m in _BRACKET.finditer(text):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                raise ScenarioError(f"{_where(source, line)}: brackets nested more than {MAX_DEPTH} deep "
                                    f"(allowed: at most {MAX_DEPTH})", source)
        elif depth:
            depth -= 1


def check_nodes(count: int, source: str) -> None:
    """Refuse a document of more than :data:`MAX_NODES` values once its aliases are expanded."""
    if count > MAX_NODES:
        raise ScenarioError(f"{source}: the document holds {count:,} values once its YAML aliases are expanded "
                            f"(allowed: at most {MAX_NODES:,}); an alias repeats what it names", source)


def check_strings(data: Any, source: str, line_of: Callable[[tuple[int | str, ...]], int | None]) -> None:
    """Refuse a string (a value or a key) longer than :data:`MAX_STRING` characters, naming its line. A part
    shared through YAML aliases is looked at once."""
    seen: set[int] = set()
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                _too_long(len(node), loc, source, line_of)
            continue
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(key, str) and len(key) > MAX_STRING:
                _too_long(len(key), loc, source, line_of)
            stack.append((child, (*loc, key)))


def _too_long(length: int, loc: tuple[int | str, ...], source: str,
              line_of: Callable[[tuple[int | str, ...]], int | None]) -> None:
    path = ".".join(str(p) for p in loc) or "a key"
    raise ScenarioError(f"{_where(source, line_of(loc))}: {path}: a string of {length:,} characters (allowed: at "
                        f"most {MAX_STRING:,})", source)
