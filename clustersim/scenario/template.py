"""Scenarios written out for people: a complete, commented YAML file (:func:`render_documented_yaml`) and
the Markdown table of every parameter (:func:`render_parameter_table_markdown`, pasted into docs/ODD.md).
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from clustersim.scenario.errors import _allowed_range
from clustersim.scenario.paths import _iter_leaves
from clustersim.scenario.schema import Scenario

__all__ = ["render_documented_yaml", "render_parameter_table_markdown"]

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
    if isinstance(value, list | tuple):  # a flow sequence of scalars
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return _yaml_string(str(value))


def _doc_lines(text: str | None) -> list[str]:
    """Lines of a docstring or description, cleaned (empty list if none)."""
    if not text:
        return []
    return [line.rstrip() for line in inspect.cleandoc(text).splitlines()]


def _unit(info: FieldInfo) -> str | None:
    """The unit recorded in the field's ``json_schema_extra`` (None if absent)."""
    extra = info.json_schema_extra
    if isinstance(extra, Mapping):
        unit = extra.get("unit")
        if unit is not None:
            return str(unit)
    return None


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
    comments. The text loads back with :func:`~clustersim.scenario.io.load_scenario` to an equal
    scenario.
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
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_md_value(v) for v in value) + "]"
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

