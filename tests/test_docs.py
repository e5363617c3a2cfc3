"""The documentation follows the code: docs/ODD.md names every indicator, parameter, orientation and policy
phase of the package, its parameter table is the generator's output, and the README's quickstart commands
are the CI scripts."""

from __future__ import annotations

import fnmatch
import importlib
import re
from pathlib import Path

import pytest

import clustersim
import clustersim.model.orientations as orientations_module
from clustersim.model import POLICY_PHASES, mechanisms
from clustersim.model.indicators import INDICATORS
from clustersim.model.orientations import ORIENTATIONS
from clustersim.scenario.schema import iter_parameters
from clustersim.scenario.template import render_parameter_table_markdown

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
README = ROOT / "README.md"
START = "<!-- parameter-table:start -->"
END = "<!-- parameter-table:end -->"
REGENERATE = (
    ".venv/bin/python -c \"from clustersim.scenario.template import render_parameter_table_markdown as r; print(r())\""
)
PARAMETER_PATHS = [path for path, _ in iter_parameters()]


@pytest.fixture(scope="module")
def odd() -> str:
    return ODD.read_text(encoding="utf-8")


def _between_markers(text: str) -> str:
    assert text.count(START) == 1, f"docs/ODD.md must contain the line {START!r} exactly once"
    assert text.count(END) == 1, f"docs/ODD.md must contain the line {END!r} exactly once"
    start, end = text.index(START) + len(START), text.index(END)
    assert start <= end, f"{START!r} must come before {END!r} in docs/ODD.md"
    return text[start:end]


# (a) the parameter table -------------------------------------------------------------------------------
def test_parameter_table_is_the_generated_one(odd):
    documented = _between_markers(odd).strip()
    generated = render_parameter_table_markdown().strip()
    assert documented == generated, (
        "the parameter table of docs/ODD.md is out of date with the scenario schema; regenerate it from the "
        f"repository root with\n    {REGENERATE}\nand paste its output between the lines {START!r} and {END!r}"
    )


# (b) indicators ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(INDICATORS))
def test_every_indicator_is_documented(odd, name):
    assert f"`{name}`" in odd, (f"indicator {name!r} (clustersim.model.indicators.INDICATORS) is "
                                  "missing from docs/ODD.md")


@pytest.mark.parametrize("name", list(INDICATORS))
def test_indicator_rows_match_family_unit_and_definition(odd, name):
    """The row of the indicator table (7.24) repeats the family, unit and definition of INDICATORS."""
    rows = [line for line in odd.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"docs/ODD.md should have exactly one indicator-table row for {name!r}, found {len(rows)}"
    cells = [cell.strip() for cell in rows[0].strip().strip("|").split(" | ")]
    ind = INDICATORS[name]
    assert cells[1:4] == [ind.family, ind.unit, ind.definition], (
        f"docs/ODD.md row of {name!r} says (family, unit, definition) = {cells[1:4]}, "
        f"the code says {[ind.family, ind.unit, ind.definition]}"
    )


# (c) parameters ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PARAMETER_PATHS)
def test_every_parameter_is_documented(odd, path):
    assert f"`{path}`" in odd, (f"parameter {path!r} (clustersim.scenario.schema.iter_parameters) is "
                                  "missing from docs/ODD.md")


def _expand_braces(token: str) -> list[str]:
    m = re.search(r"\{([^}]*)\}", token)
    if not m:
        return [token]
    return [x for alt in m.group(1).split(",")
            for x in _expand_braces(token[: m.start()] + alt.strip() + token[m.end():])]


#: the mechanism modules, by name (the ODD names their functions as ``module.function``)
MECHANISMS = {p.stem: importlib.import_module(f"clustersim.model.mechanisms.{p.stem}")
              for p in Path(mechanisms.__file__).parent.glob("*.py") if not p.stem.startswith("_")}


def _names_a_parameter(pattern: str) -> bool:
    """A full path, a section prefix, or a glob (``links.*``) matching at least one parameter."""
    if "*" in pattern:
        return any(fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p, pattern + ".*")
                   for p in PARAMETER_PATHS)
    return pattern in PARAMETER_PATHS or any(p.startswith(pattern + ".") for p in PARAMETER_PATHS)


def test_no_stale_parameter_paths(odd):
    """Every dotted name starting with a schema section (``firms.``, ``clusters.``...) is a real parameter,
    section or glob of them, so renamed or removed parameters cannot linger in the text."""
    sections = sorted({p.split(".")[0] for p in PARAMETER_PATHS if "." in p})
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(sections) + r")\.[A-Za-z_*{][A-Za-z0-9_.*{},]*")
    stale = set()
    for token in pattern.findall(odd):
        token = token.rstrip(".,")
        if token.endswith((".py", ".parquet", ".csv", ".yaml", ".json", ".md")):
            continue  # file names (clusters.parquet, orientations.py)
        head, _, rest = token.partition(".")
        if head == "orientations" and hasattr(orientations_module, rest):
            continue  # a function of clustersim/model/orientations.py
        if head in MECHANISMS and hasattr(MECHANISMS[head], rest):
            continue  # a function of clustersim/model/mechanisms/ (market.environment, links.links, ...)
        if not all(_names_a_parameter(t) for t in _expand_braces(token)):
            stale.add(token)
    assert not stale, f"docs/ODD.md names parameters the schema does not have: {sorted(stale)}"


# (d) orientations and policy phases ---------------------------------------------------------------------
@pytest.mark.parametrize("key", list(ORIENTATIONS))
def test_every_orientation_is_documented(odd, key):
    assert f"orientations.{key}" in odd, f"orientation {key!r} has no parameters mentioned in docs/ODD.md"
    func = f"{ORIENTATIONS[key].name}_action"  # the function its class calls (the ODD's section 7.9-7.11)
    assert hasattr(orientations_module, func), f"orientation {key!r} has no function {func}"
    assert f"orientations.{func}" in odd, f"the mechanism {func} of orientation {key!r} is not described"


@pytest.mark.parametrize("phase", POLICY_PHASES)
def test_every_policy_phase_is_documented(odd, phase):
    assert f"`{phase}`" in odd, f"policy phase {phase!r} is missing from docs/ODD.md"
    assert f'policy.act(model, "{phase}")' in odd, f"the schedule in docs/ODD.md has no call for phase {phase!r}"


def test_policy_phases_tuple_is_quoted_exactly(odd):
    literal = "POLICY_PHASES = (" + ", ".join(f'"{p}"' for p in POLICY_PHASES) + ")"
    assert literal in re.sub(r"\s+", " ", odd), f"docs/ODD.md should quote {literal}"


# (e) the package's public names -------------------------------------------------------------------------
def test_package_all_names_exist():
    missing = [name for name in clustersim.__all__ if not hasattr(clustersim, name)]
    assert not missing, f"clustersim.__all__ names attributes the package does not have: {missing}"


def test_package_all_is_unique_and_sorted():
    names = list(clustersim.__all__)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"clustersim.__all__ lists names twice: {duplicates}"

    def isort_key(name: str) -> tuple[int, str]:  # constants, then classes, then functions (ruff RUF022)
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert names == sorted(names, key=isort_key), "clustersim.__all__ is not sorted (constants, classes, others)"


# (f) README quickstart and CI scripts --------------------------------------------------------------------
def _quickstart_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## Quickstart[ \t]*$", text, flags=re.MULTILINE)
    assert m, "README.md has no '## Quickstart' heading"
    fence = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", flags=re.MULTILINE | re.DOTALL)
    block = fence.search(text, m.end())
    assert block, "README.md has no fenced block after '## Quickstart'"
    nxt = re.search(r"^## ", text[m.end():], flags=re.MULTILINE)
    assert nxt is None or m.end() + nxt.start() > block.start(), "the Quickstart section has no fenced block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _command(line: str) -> str:
    return line.split("#", 1)[0].strip()


def test_readme_quickstart_is_exactly_the_two_ci_commands():
    lines = _quickstart_block()
    assert len(lines) == 2, f"the Quickstart block should hold exactly two commands, found {lines}"
    setup, run = lines
    assert setup.startswith("bash .ci/setup"), f"first quickstart command should start with 'bash .ci/setup': {setup!r}"
    assert run.startswith("bash .ci/run"), f"second quickstart command should start with 'bash .ci/run': {run!r}"
    assert _command(run) == "bash .ci/run", f"the test command should be 'bash .ci/run' alone: {run!r}"
    for script in ("setup", "run"):
        assert (ROOT / ".ci" / script).is_file(), f".ci/{script} is missing"


def test_ci_run_invokes_setup_and_pytest():
    commands = [_command(line) for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = [c for c in commands if c]
    assert any(re.search(r"(^|\s)(bash\s+)?(\./)?\.ci/setup\b", c) for c in commands), \
        ".ci/run does not invoke .ci/setup"
    assert any(re.search(r"\bpytest\b", c) for c in commands), ".ci/run does not invoke pytest"
    setup_at = next(i for i, c in enumerate(commands) if ".ci/setup" in c)
    pytest_at = next(i for i, c in enumerate(commands) if re.search(r"\bpytest\b", c))
    assert setup_at < pytest_at, ".ci/run must set up before running pytest"
