"""The bad-input corpus: hostile or mistaken scenario, experiment and study files and command lines.

Run ``python tests/corpus/make_corpus.py`` to (re)write the small cases under ``tests/corpus/cases/`` (one
folder per case, with ``case.json``: the command line, the exit code and the fragments its one message must
hold); ``--check`` only says whether the committed files are what this script makes (``tests/test_corpus.py``
checks it too). The large cases (tens of megabytes, or bytes that are not text) are not committed: :data:`BIG`
makes them in a given folder, on the fly.

In a case, ``{dir}`` stands for the case's folder (where it is run from a copy). Each expected fragment is
part of the contract of the message: the file (and its line where one is known), the field, the bad value and
what is allowed. The tests also check that no traceback is shown and nothing is written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"

# (name, {file: text}, argv, exit code, fragments)
Case = tuple[str, dict[str, str], list[str], int, list[str]]

SCENARIO = "name: s\nsimulation: {n_firms: 30, steps: 4, replications: 1}\n"
PLUGIN = "model: plugin_models:noisy_sum\n"
POINTS = "design: {kind: points, points: [{a: 1}, {a: 2}]}\nseed: 1\n"
RESULTS = '{"clustersim_results": "0.2"}\n'  # what marks a results folder (its metadata.json)
STORE = '{"identity": "0"}\n'  # what marks a run store (its experiment.json)


def _bomb(levels: int = 9, indent: str = "") -> str:
    """YAML aliases that expand a few hundred bytes into 9**levels values (a "billion laughs")."""
    lines = [f'{indent}a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def _validate(name: str, text: str, fragments: list[str], suffix: str = ".yaml") -> Case:
    return (name, {f"s{suffix}": text}, ["validate", f"{{dir}}/s{suffix}"], 2, [f"{{dir}}/s{suffix}", *fragments])


def _sweep(name: str, text: str, fragments: list[str], *, files: dict[str, str] | None = None,
           extra: list[str] | None = None, code: int = 2) -> Case:
    return (name, {"e.yaml": text, **(files or {})},
            ["sweep", "{dir}/e.yaml", "--out", "{dir}/out", "-q", *(extra or [])], code, fragments)


def _study(name: str, text: str, fragments: list[str]) -> Case:
    return (name, {"s.yaml": text}, ["sensitivity", "{dir}/s.yaml", "--out", "{dir}/out", "-q"], 2,
            ["{dir}/s.yaml", *fragments])


STUDY = ("name: st\nmodel: clustersim.studies.analytic:ishigami\nmethod: sobol\nsamples: 8\nseed: 3\n"
         "outputs: [y]\nfactors: {x1: [-3.14, 3.14], x2: [-3.14, 3.14], x3: [-3.14, 3.14]}\n")

SMALL: list[Case] = [
    # ---- scenario files: structure and syntax
    _validate("scenario_unknown_key", "name: s\nsimulaton: {n_firms: 30}\n",
              [":2:", "simulaton", "did you mean 'simulation'"]),
    _validate("scenario_unknown_nested_key", "name: s\nsimulation:\n  n_frms: 30\n", [":3:", "n_frms", "n_firms"]),
    _validate("scenario_out_of_range", "name: s\nsimulation:\n  n_firms: -5\n",
              [":3:", "simulation.n_firms", "-5", "allowed"]),
    _validate("scenario_wrong_type", "name: s\ntrust:\n  loss_rate: high\n", [":3:", "trust.loss_rate", "'high'"]),
    _validate("scenario_nan", "name: s\ntrust:\n  loss_rate: .nan\n", [":3:", "trust.loss_rate", "nan"]),
    _validate("scenario_inf", "name: s\nsimulation:\n  steps: .inf\n", [":3:", "simulation.steps", "inf"]),
    _validate("scenario_bool_for_int", "name: s\nsimulation:\n  steps: true\n",
              [":3:", "simulation.steps", "true is not valid", "an integer"]),
    _validate("scenario_yaml_syntax", "name: s\nsimulation:\n  n_firms: 30\n steps: 4\n", [":4:", "YAML"]),
    _validate("scenario_yaml_duplicate_key", "name: s\nname: t\n", [":2:", "duplicate", "name"]),
    _validate("scenario_yaml_python_tag", "name: !!python/object/apply:os.system ['true']\n", [":1:", "tag"]),
    _validate("scenario_yaml_custom_tag", "name: s\nsimulation: !include other.yaml\n", [":2:", "tag"]),
    _validate("scenario_empty", "", ["empty"]),
    _validate("scenario_comments_only", "# nothing but a comment\n", ["empty"]),
    _validate("scenario_top_level_list", "- name: s\n", ["a list", "mapping"]),
    _validate("scenario_top_level_scalar", "just text\n", ["mapping"]),
    _validate("scenario_rule_across_fields", "name: s\nclusters:\n  min_size: 9\n  max_size: 3\n",
              ["clusters.min_size", "clusters.max_size"]),
    _validate("scenario_policy_unknown_key", "name: s\npolicy:\n  subsidy: 3\n", [":3:", "subsidy"]),
    _validate("scenario_name_empty", "name: ''\n", [":1:", "name"]),
    _validate("scenario_toml_syntax", 'name = "s"\n[simulation\nn_firms = 30\n', [":2:", "invalid TOML"],
              suffix=".toml"),
    _validate("scenario_toml_duplicate", 'name = "s"\nname = "t"\n', [":2:", "invalid TOML", "duplicate"],
              suffix=".toml"),
    _validate("scenario_toml_out_of_range", 'name = "s"\n[simulation]\nn_firms = -5\n',
              [":3:", "simulation.n_firms", "-5"], suffix=".toml"),
    ("scenario_unsupported_extension", {"s.json": '{"name": "s"}\n'}, ["validate", "{dir}/s.json"], 2,
     ["{dir}/s.json", "unsupported file type '.json'", ".yaml"]),
    ("scenario_missing_file", {}, ["validate", "{dir}/nowhere.yaml"], 2, ["{dir}/nowhere.yaml", "file not found"]),
    ("scenario_a_folder", {"d.yaml/keep": ""}, ["validate", "{dir}/d.yaml"], 2, ["{dir}/d.yaml", "not a regular file"]),
    # ---- limits
    _validate("scenario_alias_bomb", "name: s\n" + _bomb() + "\n", ["the document holds", "at most 1,000,000"]),
    _validate("scenario_nested_200_deep", "name: s\nx: " + "[" * 200 + "1" + "]" * 200 + "\n",
              [":2:", "nested more than 64 deep"]),
    _validate("scenario_toml_nested_200_deep", 'name = "s"\nx = ' + "[" * 200 + "1" + "]" * 200 + "\n",
              [":2:", "nested more than 64 deep"], suffix=".toml"),
    # ---- overrides on the command line
    ("override_unknown_path", {"s.yaml": SCENARIO}, ["validate", "{dir}/s.yaml", "--set", "trust.los_rate=0.1"],
     2, ["--set trust.los_rate=0.1", "'los_rate'", "did you mean 'loss_rate'"]),
    ("override_bad_value", {"s.yaml": SCENARIO}, ["validate", "{dir}/s.yaml", "--set", "trust.loss_rate=-1"], 2,
     ["trust.loss_rate", "-1"]),
    ("override_no_equals", {"s.yaml": SCENARIO}, ["validate", "{dir}/s.yaml", "--set", "trust.loss_rate"], 2,
     ["trust.loss_rate", "="]),
    # ---- run options
    ("run_workers_zero", {"s.yaml": SCENARIO}, ["run", "{dir}/s.yaml", "--out", "{dir}/out", "-w", "0"], 2,
     ["--workers", "0", ">= 1"]),
    ("run_replications_negative", {"s.yaml": SCENARIO},
     ["run", "{dir}/s.yaml", "--out", "{dir}/out", "--replications", "-3"], 2, ["--replications", "-3"]),
    ("run_steps_too_many", {"s.yaml": SCENARIO}, ["run", "{dir}/s.yaml", "--out", "{dir}/out", "--steps", "99999"],
     2, ["--steps", "99999", "4000"]),
    ("run_scheduler_without_dask", {"s.yaml": SCENARIO},
     ["run", "{dir}/s.yaml", "--out", "{dir}/out", "--scheduler", "tcp://127.0.0.1:1"], 2, ["--executor dask"]),
    ("run_connect_timeout_zero", {"s.yaml": SCENARIO},
     ["run", "{dir}/s.yaml", "--out", "{dir}/out", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1",
      "--connect-timeout", "0"], 2, ["--connect-timeout", "0", "> 0"]),
    ("run_timeout_negative", {"s.yaml": SCENARIO}, ["run", "{dir}/s.yaml", "--out", "{dir}/out", "--timeout", "-1"],
     2, ["--timeout", "-1", "> 0"]),
    ("sweep_memory_limit_too_small", {"e.yaml": "name: e\n" + PLUGIN + POINTS},
     ["sweep", "{dir}/e.yaml", "--out", "{dir}/out", "--memory-limit", "1"], 2, ["--memory-limit", "1", ">= 16"]),
    ("run_out_is_a_file_below", {"s.yaml": SCENARIO, "afile": "x\n"},
     ["run", "{dir}/s.yaml", "--out", "{dir}/afile/sub", "-q"], 2, ["{dir}/afile", "not a folder"]),
    ("compare_invalid_scenario", {"a.yaml": SCENARIO, "b.yaml": "name: b\ntrust: {loss_rate: 7}\n"},
     ["compare", "{dir}/b.yaml", "--baseline", "{dir}/a.yaml", "--out", "{dir}/out"], 2,
     ["{dir}/b.yaml:2", "trust.loss_rate", "7"]),
    # ---- experiment files
    _sweep("experiment_no_design", "name: e\n" + PLUGIN + "seed: 1\n", ["{dir}/e.yaml", "design", "missing"]),
    _sweep("experiment_unknown_kind", "name: e\n" + PLUGIN + "design: {kind: sobol}\nseed: 1\n",
           ["{dir}/e.yaml:3", "design.kind", "'sobol'", "factorial"]),
    _sweep("experiment_factorial_without_factors", "name: e\n" + PLUGIN + "design: {kind: factorial}\nseed: 1\n",
           ["{dir}/e.yaml:3", "factorial design needs 'factors'"]),
    _sweep("experiment_lhs_without_samples",
           "name: e\n" + PLUGIN + "design: {kind: lhs, factors: {a: {low: 0, high: 1}}}\nseed: 1\n",
           ["{dir}/e.yaml:3", "needs 'samples'"]),
    _sweep("experiment_lhs_bounds_reversed",
           "name: e\n" + PLUGIN + "design:\n  kind: lhs\n  samples: 4\n  factors:\n    a: {low: 2, high: 1}\nseed: 1\n",
           ["{dir}/e.yaml:7", "low < high"]),
    _sweep("experiment_factor_unknown", "name: e\ndesign:\n  kind: factorial\n  factors:\n"
           "    trust.los_rate: [0.1, 0.2]\nseed: 1\n", ["{dir}/e.yaml:5", "trust.los_rate", "trust.loss_rate"]),
    _sweep("experiment_factor_is_a_section", "name: e\ndesign:\n  kind: factorial\n  factors:\n"
           "    trust: [0.1, 0.2]\nseed: 1\n", ["{dir}/e.yaml:5", "trust", "a section"]),
    _sweep("experiment_level_out_of_range", "name: e\ndesign:\n  kind: factorial\n  factors:\n"
           "    trust.loss_rate: [0.1, 7.0]\nseed: 1\n", ["{dir}/e.yaml:5", "design point 1", "trust.loss_rate",
                                                           "7.0", "allowed"]),
    _sweep("experiment_level_repeated", "name: e\n" + PLUGIN + "design:\n  kind: factorial\n  factors:\n"
           "    a: [1, 1]\nseed: 1\n", ["{dir}/e.yaml:6", "level 1 is repeated"]),
    _sweep("experiment_point_repeated", "name: e\n" + PLUGIN + "design:\n  kind: points\n  points:\n"
           "    - {a: 1}\n    - {a: 1}\nseed: 1\n", ["{dir}/e.yaml:7", "point 1 repeats point 0"]),
    _sweep("experiment_point_out_of_range", "name: e\ndesign:\n  kind: points\n  points:\n"
           "    - {trust.loss_rate: 0.2}\n    - {trust.loss_rate: -1}\nseed: 1\n",
           ["{dir}/e.yaml:6", "design point 1", "trust.loss_rate", "-1"]),
    _sweep("experiment_point_missing_parameter", "name: e\n" + PLUGIN + "design:\n  kind: points\n  points:\n"
           "    - {a: 1, b: 2}\n    - {a: 2}\nseed: 1\n", ["{dir}/e.yaml:7", "point 1", "missing b"]),
    _sweep("experiment_replications_zero", "name: e\n" + PLUGIN + POINTS + "replications: 0\n",
           ["{dir}/e.yaml:5", "replications", "0", ">= 1"]),
    _sweep("experiment_seed_negative", "name: e\n" + PLUGIN + "design: {kind: points, points: [{a: 1}]}\nseed: -4\n",
           ["{dir}/e.yaml:4", "seed", "-4"]),
    _sweep("experiment_model_not_a_path", "name: e\nmodel: just_a_name\n" + POINTS,
           ["{dir}/e.yaml:2", "'just_a_name'", "not an import path"]),
    _sweep("experiment_model_missing_module", "name: e\nmodel: no_such_module_anywhere:fn\n" + POINTS,
           ["{dir}/e.yaml:2", "no_such_module_anywhere", "cannot import"]),
    _sweep("experiment_model_missing_function", "name: e\nmodel: plugin_models:no_such_fn\n" + POINTS,
           ["{dir}/e.yaml:2", "no function 'no_such_fn'"]),
    _sweep("experiment_unknown_key", "name: e\n" + PLUGIN + POINTS + "replicates: 3\n",
           ["{dir}/e.yaml:5", "replicates", "replications"]),
    _sweep("experiment_timeout_negative", "name: e\n" + PLUGIN + POINTS + "timeout_s: -1\n",
           ["{dir}/e.yaml:5", "timeout_s", "-1", "> 0"]),
    _sweep("experiment_memory_too_small", "name: e\n" + PLUGIN + POINTS + "memory_mb: 1\n",
           ["{dir}/e.yaml:5", "memory_mb", "1", ">= 16"]),
    _sweep("experiment_chunk_size_zero", "name: e\n" + PLUGIN + POINTS + "chunk_size: 0\n",
           ["{dir}/e.yaml:5", "chunk_size", "0"]),
    _sweep("experiment_unknown_table", "name: e\n" + POINTS + "outputs: {tables: [firms]}\n",
           ["{dir}/e.yaml:4", "outputs.tables", "'firms'", "clusters"]),
    _sweep("experiment_base_missing", "name: e\nbase: nowhere.yaml\n" + "design: {kind: points, points: "
           "[{trust.loss_rate: 0.2}]}\nseed: 1\n", ["{dir}/nowhere.yaml", "file not found"]),
    _sweep("experiment_base_invalid", "name: e\nbase: b.yaml\ndesign: {kind: points, points: "
           "[{trust.loss_rate: 0.2}]}\nseed: 1\n", ["{dir}/b.yaml:2", "trust.loss_rate", "9"],
           files={"b.yaml": "name: b\ntrust: {loss_rate: 9}\n"}),
    _sweep("experiment_override_invalid", "name: e\noverrides: {trust.loss_rate: 9}\n"
           "design: {kind: points, points: [{clusters.membership_fee: 1.0}]}\nseed: 1\n",
           ["{dir}/e.yaml:2: overrides: trust.loss_rate=9", "9 is out of range", "allowed"]),
    _sweep("experiment_alias_bomb_in_overrides", "name: e\n" + PLUGIN + "overrides:\n" + _bomb(indent="  ") + "\n"
           + POINTS, ["{dir}/e.yaml", "the document holds", "at most 1,000,000"]),
    _sweep("experiment_alias_bomb_in_levels", "name: e\n" + PLUGIN + "x:\n" + _bomb(indent="  ") + "\n"
           "design:\n  kind: factorial\n  factors: {a: *a8}\nseed: 1\n",
           ["{dir}/e.yaml", "the document holds", "at most 1,000,000"]),
    _sweep("experiment_alias_bomb_in_points", "name: e\n" + PLUGIN + "x:\n" + _bomb(indent="  ") + "\n"
           "design:\n  kind: points\n  points: [{a: *a8}]\nseed: 1\n",
           ["{dir}/e.yaml", "the document holds", "at most 1,000,000"]),
    _sweep("experiment_lhs_ten_million", "name: e\n" + PLUGIN + "design:\n  kind: lhs\n  samples: 10000000\n"
           "  factors: {a: {low: 0, high: 1}}\nseed: 1\n", ["{dir}/e.yaml", "10,000,000 runs", "at most 1,000,000",
                                                           "--max-runs"]),
    _sweep("experiment_factorial_too_large", "name: e\n" + PLUGIN + "design:\n  kind: factorial\n  factors:\n"
           + "".join(f"    f{i}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" for i in range(7)) + "seed: 1\n",
           ["{dir}/e.yaml", "10,000,000 points", "at most 1,000,000"]),
    _sweep("experiment_max_runs_below_design", "name: e\n" + PLUGIN + POINTS + "replications: 5\n",
           ["{dir}/e.yaml", "10 runs", "at most 4"], extra=["--max-runs", "4"]),
    ("experiment_toml_nested_deep", {"e.toml": 'name = "e"\nx = ' + "[" * 100 + "1" + "]" * 100 + "\n"},
     ["sweep", "{dir}/e.toml", "--out", "{dir}/out", "-q"], 2, ["{dir}/e.toml:2", "nested more than 64 deep"]),
    # ---- where results go
    ("sweep_out_is_a_file_below", {"e.yaml": "name: e\n" + PLUGIN + POINTS, "afile": "x\n"},
     ["sweep", "{dir}/e.yaml", "--out", "{dir}/afile/sub", "-q"], 2, ["{dir}/afile", "not a folder"]),
    ("sweep_out_inside_results", {"e.yaml": "name: e\n" + PLUGIN + POINTS, "res/metadata.json": RESULTS},
     ["sweep", "{dir}/e.yaml", "--out", "{dir}/res/sub", "-q"], 2, ["inside {dir}/res", "metadata.json"]),
    ("sweep_out_inside_store", {"e.yaml": "name: e\n" + PLUGIN + POINTS, "store/experiment.json": STORE},
     ["sweep", "{dir}/e.yaml", "--out", "{dir}/store/inner", "-q"], 2, ["inside {dir}/store", "experiment.json"]),
    ("run_out_inside_results", {"s.yaml": SCENARIO, "res/metadata.json": RESULTS},
     ["run", "{dir}/s.yaml", "--out", "{dir}/res/again", "-q"], 2, ["inside {dir}/res", "metadata.json"]),
    ("status_not_a_store", {"folder/x.txt": "x\n"}, ["status", "{dir}/folder"], 2,
     ["{dir}/folder", "not a sweep folder"]),
    # ---- the Dask cluster
    ("dask_scheduler_file_missing", {"e.yaml": "name: e\n" + PLUGIN + POINTS},
     ["sweep", "{dir}/e.yaml", "--out", "{dir}/out", "-q", "--executor", "dask", "--scheduler-file",
      "{dir}/sched.json"], 3, ["{dir}/sched.json", "not found", "dask scheduler --scheduler-file"]),
    ("dask_scheduler_unreachable", {"e.yaml": "name: e\n" + PLUGIN + POINTS},
     ["sweep", "{dir}/e.yaml", "--out", "{dir}/out", "-q", "--executor", "dask", "--scheduler",
      "tcp://127.0.0.1:9", "--connect-timeout", "1"], 3,
     ["tcp://127.0.0.1:9", "after 1 s", "check that the scheduler is running", "--connect-timeout"]),
    # ---- sensitivity studies
    _study("study_unknown_method", STUDY.replace("method: sobol", "method: saltelli"),
           [":3:", "method", "'saltelli'", "sobol"]),
    _study("study_bounds_reversed", STUDY.replace("x1: [-3.14, 3.14]", "x1: [3.14, -3.14]"),
           [":7:", "x1", "3.14"]),
    _study("study_seed_zero", STUDY.replace("seed: 3", "seed: 0"), [":5:", "seed", "0", ">= 1"]),
    _study("study_no_outputs", STUDY.replace("outputs: [y]", "outputs: []"), [":6:", "outputs"]),
    _study("study_too_many_runs", STUDY.replace("samples: 8", "samples: 8388608"),
           ["41,943,040", "at most 1,000,000", "--max-runs"]),
    _study("study_model_missing_module", STUDY.replace("clustersim.studies.analytic:ishigami", "nowhere_at_all:f"),
           ["nowhere_at_all", "cannot import"]),
    _study("study_alias_bomb", "x:\n" + _bomb(indent="  ") + "\n" + STUDY, ["the document holds"]),
]


def _big_comments(folder: Path) -> None:
    """A valid scenario under 50 MB of comments."""
    with open(folder / "s.yaml", "w") as fh:
        fh.write("name: big\n")
        line = "# " + "x" * 1022 + "\n"
        for _ in range(50 * 1024):
            fh.write(line)


def _big_description(folder: Path) -> None:
    """A scenario whose description is 50 MB long."""
    with open(folder / "s.yaml", "w") as fh:  # written in pieces: the maker itself stays small
        fh.write("name: big\ndescription: ")
        for _ in range(50):
            fh.write("x" * 2**20)
        fh.write("\n")


def _deep(suffix: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        n = 50_000
        if suffix == ".yaml":
            text = "name: deep\nsimulation: {steps: " + "[" * n + "1" + "]" * n + "}\n"
        else:
            text = 'name = "deep"\nx = ' + "[" * n + "1" + "]" * n + "\n"
        (folder / f"s{suffix}").write_text(text)
    return make


def _not_utf8(folder: Path) -> None:
    (folder / "s.yaml").write_bytes(b"name: s\ndescription: caf\xe9\n")


def _big_points(folder: Path) -> None:
    """An experiment of 400,000 explicit points (about 8 MB): too large a file."""
    rows = "".join(f"    - {{a: {i}}}\n" for i in range(400_000))
    (folder / "e.yaml").write_text("name: e\nmodel: plugin_models:noisy_sum\ndesign:\n  kind: points\n  points:\n"
                                   + rows + "seed: 1\n")


def _long_string(folder: Path) -> None:
    """A plug-in experiment whose one point holds a string of 200,000 characters (within the file size)."""
    (folder / "e.yaml").write_text("name: e\nmodel: plugin_models:noisy_sum\ndesign:\n  kind: points\n  points:\n"
                                   "    - {a: 1}\n    - {a: " + "z" * 200_000 + "}\nseed: 1\n")


#: name -> (maker of the files in a folder, argv, exit code, fragments)
BIG: dict[str, tuple[Callable[[Path], None], list[str], int, list[str]]] = {
    "big_comments_50mb": (_big_comments, ["run", "{dir}/s.yaml", "--out", "{dir}/out", "-q"], 2,
                          ["{dir}/s.yaml", "the file is too large", "at most 4,194,304 bytes"]),
    "big_description_50mb": (_big_description, ["validate", "{dir}/s.yaml"], 2,
                             ["{dir}/s.yaml", "the file is too large"]),
    "deep_yaml_50000": (_deep(".yaml"), ["validate", "{dir}/s.yaml"], 2,
                        ["{dir}/s.yaml:2", "nested more than 64 deep"]),
    "deep_toml_50000": (_deep(".toml"), ["validate", "{dir}/s.toml"], 2,
                        ["{dir}/s.toml:2", "nested more than 64 deep"]),
    "not_utf8": (_not_utf8, ["validate", "{dir}/s.yaml"], 2, ["{dir}/s.yaml:2", "not valid UTF-8"]),
    "long_string_200k": (_long_string, ["sweep", "{dir}/e.yaml", "--out", "{dir}/out", "-q"], 2,
                         ["{dir}/e.yaml:7", "design.points.1.a", "200,000 characters", "at most 100,000"]),
    "experiment_points_8mb": (_big_points, ["sweep", "{dir}/e.yaml", "--out", "{dir}/out", "-q"], 2,
                              ["{dir}/e.yaml", "the file is too large"]),
}


def expected_files() -> dict[Path, str]:
    """Every committed file of the corpus (relative to :data:`CASES_DIR`) and its text."""
    out: dict[Path, str] = {}
    names = [case[0] for case in SMALL]
    if len(set(names)) != len(names):
        raise SystemExit("make_corpus: two cases share a name")
    for name, files, argv, code, fragments in SMALL:
        for rel, text in files.items():
            out[Path(name) / rel] = text
        out[Path(name) / "case.json"] = json.dumps({"argv": argv, "code": code, "expect": fragments},
                                                   indent=1) + "\n"
    return out


def _committed() -> dict[Path, str]:
    if not CASES_DIR.exists():
        return {}
    return {p.relative_to(CASES_DIR): p.read_text() for p in sorted(CASES_DIR.rglob("*")) if p.is_file()}


def main(argv: list[str]) -> int:
    want = expected_files()
    if "--check" in argv:
        have = _committed()
        if have != want:
            stale = sorted({str(p) for p in set(have) ^ set(want)}
                           | {str(p) for p in set(have) & set(want) if have[p] != want[p]})
            print(f"tests/corpus: {len(stale)} file(s) differ from make_corpus.py: {', '.join(stale[:10])}; "
                  "run python tests/corpus/make_corpus.py", file=sys.stderr)
            return 1
        print(f"tests/corpus: {len(SMALL)} committed cases, as make_corpus.py makes them; {len(BIG)} made on the fly")
        return 0
    for path in _committed():
        if path not in want:
            (CASES_DIR / path).unlink()
    for path, text in want.items():
        target = CASES_DIR / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for folder in sorted(CASES_DIR.iterdir(), reverse=True):  # folders of removed cases
        if folder.is_dir() and not any(folder.rglob("*")):
            folder.rmdir()
    print(f"tests/corpus: wrote {len(SMALL)} cases ({len(want)} files) to {CASES_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
