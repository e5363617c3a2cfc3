"""The house rules of docs/ARCHITECTURE.md that a test can check: what importing costs, old paths, sizes.

The import contracts between the layers are checked by ``lint-imports`` (configured in pyproject.toml), run
by .ci/run before the tests; the tests here check what those contracts cannot see: which libraries an import
really loads (through third-party packages too), that the module paths of clustersim 0.1 still work, and
that no module or function grows past the documented size limits.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings

import pytest
from helpers import ROOT

from clustersim import _compat

PACKAGE = ROOT / "clustersim"

#: libraries the model never needs: plotting, scenario files, storage, sensitivity analysis, clusters, pages
#: (tqdm is not listed: Mesa itself imports it, for its batch runner; pyarrow itself is imported by pandas)
NOT_FOR_THE_MODEL = ("matplotlib", "ruamel", "SALib", "dask", "distributed", "solara", "pyarrow.parquet",
                     "pyarrow.dataset", "duckdb", "clustersim.scenario.io", "clustersim.scenario.errors",
                     "clustersim.scenario.parse", "clustersim.scenario.paths", "clustersim.scenario.template",
                     "clustersim.scenario.limits",
                     "clustersim.experiment", "clustersim.studies", "clustersim.plots", "clustersim.reports",
                     "clustersim.app")

#: the size limits (lines) and the modules and functions still above them, each with its present size as a
#: ceiling: they may shrink, never grow, and a new one may not appear (docs/ARCHITECTURE.md, "Sizes")
MODULE_LINES = 600
FUNCTION_LINES = 60
LARGE_MODULES: dict[str, int] = {}
LONG_FUNCTIONS: dict[str, int] = {}


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout))


def _hits(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


def test_importing_the_model_loads_no_plotting_file_or_storage_library():
    loaded = _loaded_after("import clustersim.model.model")
    assert "clustersim.model.model" in loaded
    assert not _hits(loaded, NOT_FOR_THE_MODEL), _hits(loaded, NOT_FOR_THE_MODEL)


def test_importing_the_package_loads_no_numerical_library():
    loaded = _loaded_after("import clustersim")
    assert not _hits(loaded, ("numpy", "pandas", "mesa", "matplotlib", "pydantic")), "import clustersim is eager"


@pytest.mark.parametrize("old", sorted(_compat.MOVED))
def test_the_module_paths_of_0_1_still_import_with_a_deprecation_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated: its names moved to"):
        module = __import__(old, fromlist=["_"])
    # every public name of the new modules is reachable through the old path, as the same object
    for target in _compat.MOVED[old]:
        new = __import__(target, fromlist=["_"])
        for name in getattr(new, "__all__", []):
            assert getattr(module, name) is getattr(new, name), f"{old}.{name}"
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = module.no_such_name


def test_plugin_paths_of_0_1_in_experiment_files_still_resolve():
    from clustersim.experiment.evaluate import resolve_model
    from clustersim.studies.analytic import ishigami

    sys.modules.pop("clustersim.analytic", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_model("clustersim.analytic:ishigami") is ishigami
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        modules[rel] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                key = f"{rel}::{node.name}"
                functions[key] = max(functions.get(key, 0), node.end_lineno - node.lineno + 1)
    return modules, functions


def test_no_module_or_function_grows_past_the_size_limits():
    modules, functions = _sizes()
    big = {m: n for m, n in modules.items() if n > MODULE_LINES}
    long = {f: n for f, n in functions.items() if n > FUNCTION_LINES}
    new_big = {m: n for m, n in big.items() if m not in LARGE_MODULES or n > LARGE_MODULES[m]}
    new_long = {f: n for f, n in long.items() if f not in LONG_FUNCTIONS or n > LONG_FUNCTIONS[f]}
    assert not new_big, f"modules over {MODULE_LINES} lines (or grown past their ceiling): {new_big}"
    assert not new_long, f"functions over {FUNCTION_LINES} lines (or grown past their ceiling): {new_long}"


def test_the_size_exceptions_list_nothing_that_was_mended():
    """A module or function brought under the limit leaves the exception lists (so they only shrink)."""
    modules, functions = _sizes()
    stale = [m for m in LARGE_MODULES if modules.get(m, 0) <= MODULE_LINES]
    stale += [f for f in LONG_FUNCTIONS if functions.get(f, 0) <= FUNCTION_LINES]
    assert not stale, f"no longer above the limit, remove from the exception lists: {stale}"


def test_the_layers_named_in_the_docs_are_the_packages():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == ["app", "experiment", "model", "plots", "reports", "scenario", "studies", "util"]
    for name in packages:
        assert f"  {name}/ " in text, f"docs/ARCHITECTURE.md does not describe clustersim/{name}/"
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name in packages:
        assert f'"{name}"' in config or f"| {name}" in config or f"{name} |" in config, name


def test_no_old_module_file_is_left_beside_the_packages():
    stray = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "_compat.py"))
    assert not stray, f"modules outside the layers: {stray} (docs/ARCHITECTURE.md)"
    assert not (PACKAGE / "engine").exists()


def test_the_model_offers_everything_the_policy_may_use():
    """ClusterModel satisfies PolicyHost (Mesa ships no type information, so mypy accepts any subclass of
    mesa.Model for any protocol: this checks it at run time, member by member, with the declared types)."""
    import typing

    from clustersim.model.model import ClusterModel
    from clustersim.model.policy.base import PolicyHost

    model = ClusterModel()
    hints = typing.get_type_hints(PolicyHost)
    members = {n for n in vars(PolicyHost) if not n.startswith("_")} | set(hints)
    assert members >= {"firms", "clusters", "create_cluster", "adjacency", "policy_counters"}
    for name in sorted(members):
        assert hasattr(model, name), f"ClusterModel lacks PolicyHost.{name}"
        if name in hints and isinstance(hints[name], type):
            assert isinstance(getattr(model, name), hints[name]), f"ClusterModel.{name} is not a {hints[name]}"
