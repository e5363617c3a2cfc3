"""Reading and validating scenarios (:class:`clustersim.scenario.schema.Scenario`), and their canonical form.

Scenario files are YAML 1.2 (``.yaml``/``.yml``, read safely with ruamel.yaml in round-trip mode so that
line numbers are known) or TOML (``.toml``, read with :mod:`tomllib`). Validation is strict: a number is
never read from a string, ``true`` is not a number and an integer parameter refuses ``2.5`` (and ``1e3``,
which YAML 1.2 reads as a float); an integer is accepted where a float is expected.

Every problem is reported by :class:`~clustersim.scenario.errors.ScenarioError` (exported here too, as the
loaders' error), one line per problem, naming where it comes from (file and line, or the ``--set``
override), the dotted field path, the bad value and what is allowed (see :mod:`clustersim.scenario.errors`).
The parsing of YAML and TOML text is in :mod:`clustersim.scenario.parse`, the ``--set`` overrides in
:mod:`clustersim.scenario.paths`, and the documented YAML and Markdown renderings in
:mod:`clustersim.scenario.template`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from clustersim.scenario.errors import Loc, ScenarioError, StrPath, _describe, _kind, _where
from clustersim.scenario.limits import check_depth, check_size, check_strings
from clustersim.scenario.parse import _read_toml, _read_yaml
from clustersim.scenario.paths import _apply_overrides
from clustersim.scenario.schema import Scenario

__all__ = [
    "ScenarioError",
    "check_file",
    "load_scenario",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_dict",
]

YAML_SUFFIXES = (".yaml", ".yml")
TOML_SUFFIXES = (".toml",)


# --------------------------------------------------------------------------------------------------------
# Validation with located errors
# --------------------------------------------------------------------------------------------------------


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


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>", *,
                       overrides: Sequence[str] = (), override_source: str = "--set") -> Scenario:
    """Validate a nested mapping (e.g. parsed JSON) into a :class:`Scenario`.

    Errors are formatted as for files but without line numbers (``<dict>: firms.size_median: ...``).
    ``overrides`` (``dotted.path=value``) are applied first, as in :func:`load_scenario`.
    """
    return _validate(data, source=source, path=source, line_of=lambda loc: None, overrides=overrides,
                     override_source=override_source)


# --------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------


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
        check_size(file.stat().st_size, source)
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
    check_depth(text, source)
    data, line_of, problems = _read_toml(text, source) if suffix in TOML_SUFFIXES else _read_yaml(text, source)
    check_strings(data, source, line_of)
    return data, line_of, problems


def load_scenario(path: StrPath, overrides: Sequence[str] | None = None, *,
                  override_source: str = "--set") -> Scenario:
    """Read a YAML 1.2 (``.yaml``/``.yml``) or TOML (``.toml``) scenario file and validate it.

    ``overrides`` (``dotted.path=value``, see :func:`~clustersim.scenario.paths.apply_overrides`) are
    applied before validation; errors they cause name the override instead of the file. Any problem (missing
    file, unsupported extension, syntax error, duplicate key, empty file, unknown key, wrong type, value out
    of range) raises a :class:`ScenarioError` listing all problems with file, line, field path, bad value and
    allowed range.
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


def load_model_file_located(path: StrPath, root: type[BaseModel]) -> tuple[Any, Callable[[Loc], int | None]]:
    """:func:`load_model_file`, and the function giving the line of a location in the file (a tuple of keys
    and list indices, e.g. ``("design", "points", 3)``; None where it is not known): for checks made after
    validation that should still name their line."""
    source = os.fspath(path)
    data, line_of, problems = _read_file(path)
    return _validate(data, source=source, path=source, line_of=line_of, problems=problems, root=root), line_of


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

