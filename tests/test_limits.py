"""Hostile or mistaken input at the boundary (issue: every failure contained, every message clear).

Each class of bad input is refused with a one-line message naming the file (and the line where one is
known), what was found and what is allowed, exit code 2, nothing written, and memory proportional to the
file. The files are made on the fly in a temporary folder (the large ones would not belong in the
repository). Time bounds are not asserted (timings are benchmark figures, never test assertions); memory
is, with tracemalloc, generously.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from clustersim.app.cli import main
from clustersim.scenario.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

MEMORY_BOUND = 100 * 1024 * 1024  # bytes Python may allocate while refusing a file


def _refused(capsys, argv: list[str], *expected: str) -> str:
    """Run the command line, check exit code 2, one message naming ``expected``, no traceback; return it."""
    tracemalloc.start()
    try:
        code = main(argv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.0f} MiB allocated to refuse the input"
    return err


def _alias_bomb(levels: int = 9) -> str:
    """YAML aliases that expand a few hundred bytes into 9**levels values (a "billion laughs")."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    with open(big, "w") as fh:  # a valid scenario buried under comments
        fh.write("name: big\n")
        line = "# " + "x" * 1022 + "\n"
        for _ in range(MAX_FILE_BYTES // len(line) + 2):
            fh.write(line)
    out = tmp_path / "out"
    _refused(capsys, ["run", str(big), "--out", str(out), "-q"], f"{big}: the file is too large",
             f"at most {MAX_FILE_BYTES:,} bytes")
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_brackets_nested_thousands_deep_are_refused_with_their_line(tmp_path, capsys, suffix):
    deep = tmp_path / f"deep{suffix}"
    n = 50_000
    if suffix == ".yaml":
        deep.write_text("name: deep\ndescription: ok\nsimulation: {steps: " + "[" * n + "1" + "]" * n + "}\n")
    else:
        deep.write_text('name = "deep"\nx = ' + "[" * n + "1" + "]" * n + "\n")
    _refused(capsys, ["validate", str(deep)], f"{deep}:", f"nested more than {MAX_DEPTH} deep")


def test_a_yaml_alias_bomb_in_a_scenario_is_refused(tmp_path, capsys):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("name: bomb\n" + _alias_bomb() + "\n")
    _refused(capsys, ["validate", str(bomb)], f"{bomb}: the document holds", f"at most {MAX_NODES:,}")


@pytest.mark.parametrize("where", ["overrides", "levels"])
def test_a_yaml_alias_bomb_in_an_experiment_is_refused(tmp_path, capsys, where):
    """An experiment file's overrides and factor levels are free-form values: a bomb there used to be
    expanded when the experiment was described (its identity's JSON)."""
    bomb = _alias_bomb().replace("\n", "\n  ")
    if where == "overrides":
        text = f"name: e\noverrides:\n  {bomb}\ndesign: {{kind: points, points: [{{trust.loss_rate: 0.3}}]}}\nseed: 1\n"
    else:
        text = f"name: e\nx:\n  {bomb}\ndesign:\n  kind: factorial\n  factors: {{trust.loss_rate: *a8}}\nseed: 1\n"
    exp = tmp_path / "e.yaml"
    exp.write_text(text)
    out = tmp_path / "out"
    _refused(capsys, ["sweep", str(exp), "--out", str(out), "-q"], "the document holds")
    assert not out.exists()


def test_a_design_of_too_many_runs_is_refused_unless_max_runs_allows_it(tmp_path, capsys):
    exp = tmp_path / "lhs.yaml"
    exp.write_text("name: huge\nmodel: plugin_models:noisy_sum\ndesign:\n  kind: lhs\n  samples: 10000000\n"
                   "  factors: {a: {low: 0, high: 1}}\nreplications: 2\nseed: 1\n")
    out = tmp_path / "out"
    _refused(capsys, ["sweep", str(exp), "--out", str(out), "-q"], "20,000,000 runs", "at most 1,000,000",
             "--max-runs")
    assert not out.exists()
    small = tmp_path / "lhs_small.yaml"
    small.write_text(exp.read_text().replace("samples: 10000000", "samples: 30"))
    _refused(capsys, ["sweep", str(small), "--out", str(out), "-q", "--max-runs", "50"], "60 runs",
             "at most 50")
    assert main(["sweep", str(small), "--out", str(out), "-q", "--max-runs", "60", "-w", "1"]) == 0


def test_a_study_of_too_many_runs_is_refused_before_sampling(tmp_path, capsys):
    study = tmp_path / "s.yaml"
    study.write_text("name: huge\nmodel: clustersim.studies.analytic:ishigami\nmethod: sobol\nsamples: 8388608\n"
                     "seed: 3\noutputs: [y]\nfactors: {x1: [-3.14, 3.14], x2: [-3.14, 3.14], x3: [-3.14, 3.14]}\n")
    _refused(capsys, ["sensitivity", str(study), "--out", str(tmp_path / "out"), "-q"],
             "sobol design of 41,943,040 points", "--max-runs")


def test_results_are_never_written_inside_other_results(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: tiny\nsimulation: {n_firms: 30, steps: 4, replications: 1}\n")
    first = tmp_path / "first"
    assert main(["run", str(scenario), "--out", str(first), "-q", "--no-figures", "-w", "1"]) == 0
    capsys.readouterr()
    _refused(capsys, ["run", str(scenario), "--out", str(first / "again"), "-q"], f"inside {first}",
             "metadata.json")
    exp = tmp_path / "e.yaml"
    exp.write_text("name: e\nmodel: plugin_models:noisy_sum\ndesign: {kind: points, points: [{a: 1}]}\nseed: 1\n")
    store = tmp_path / "store"
    assert main(["sweep", str(exp), "--out", str(store), "-q", "-w", "1"]) == 0
    capsys.readouterr()
    _refused(capsys, ["sweep", str(exp), "--out", str(store / "inner"), "-q"], f"inside {store}", "experiment.json")
    assert not (store / "inner").exists() and not (first / "again").exists()


def test_the_shipped_files_are_far_within_the_limits():
    root = Path(__file__).resolve().parent.parent
    for f in [*root.glob("configs/*.yaml"), *root.glob("experiments/*.yaml")]:
        assert f.stat().st_size < MAX_FILE_BYTES / 50, f


def test_non_finite_outputs_are_stored_with_a_status_that_says_so(tmp_path, capsys):
    """A run that gives a NaN or an infinite output is kept with status nonfinite and its outputs, counted in
    the sweep's report and in ``clustersim status``, never read as ok; --retry-failed runs it again."""
    from clustersim.experiment.store import RunStore

    exp = tmp_path / "e.yaml"
    exp.write_text("name: nan\nmodel: plugin_models:nan_above_half\ndesign:\n  kind: points\n"
                   "  points: [{a: 0.1}, {a: 0.9}, {a: 0.4}]\nreplications: 2\nseed: 5\n")
    out = tmp_path / "out"
    assert main(["sweep", str(exp), "--out", str(out), "-w", "1", "-q"]) == 1
    captured = capsys.readouterr()
    assert "4 ok, 0 failed, 2 non-finite, 0 remaining of 6 runs" in captured.out
    assert main(["status", str(out)]) == 0
    status = capsys.readouterr().out
    assert "4 done, 0 failed, 2 non-finite" in status and "non-finite outputs: y=nan, z=inf" in status
    store = RunStore.open(out)
    assert sorted(store.outputs()["point_id"]) == [0, 0, 2, 2]  # never read as ok
    kept = store.outputs(include_nonfinite=True)
    assert len(kept) == 6 and kept.loc[kept["point_id"] == 1, "y"].isna().all()
    assert main(["sweep", str(exp), "--out", str(out), "-w", "1", "-q", "--retry-failed"]) == 1
    assert "(2 run now, 4 already stored" in capsys.readouterr().out
