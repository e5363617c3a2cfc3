"""The bad-input corpus (tests/corpus/, made by tests/corpus/make_corpus.py): every case refused with its exit
code and one message holding the file (and line), the field, the value and what is allowed; no traceback,
nothing written, and memory well bounded (tracemalloc). Timings are measured by benchmarks/bench_corpus.py,
not asserted here."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from clustersim.app.cli import main

CORPUS = Path(__file__).resolve().parent / "corpus"
MEMORY_BOUND = 100 * 2**20  # bytes Python may allocate to refuse one input


def _maker():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()
CASES = sorted(p.name for p in (CORPUS / "cases").iterdir() if p.is_dir())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _check(folder: Path, argv: list[str], code: int, expect: list[str], capsys) -> None:
    before = _files(folder)
    argv = [a.replace("{dir}", str(folder)) for a in argv]
    capsys.readouterr()
    tracemalloc.start()
    try:
        got = main(argv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert got == code, text
    assert "Traceback" not in text
    for fragment in expect:
        assert fragment.replace("{dir}", str(folder)) in text, (fragment, text)
    assert _files(folder) == before, "something was written"
    assert not (folder / "out").exists()
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.0f} MiB allocated to refuse the input"


def test_the_committed_corpus_is_what_the_script_makes():
    assert MAKER.main(["--check"]) == 0
    assert len(CASES) == len(MAKER.SMALL) >= 80


@pytest.mark.parametrize("name", CASES)
def test_a_bad_input_is_refused_cleanly(name, tmp_path, capsys):
    folder = tmp_path / name
    shutil.copytree(CORPUS / "cases" / name, folder)
    case = json.loads((folder / "case.json").read_text())
    _check(folder, case["argv"], case["code"], case["expect"], capsys)


@pytest.mark.parametrize("name", sorted(MAKER.BIG))
def test_a_large_or_binary_input_is_refused_cleanly(name, tmp_path, capsys):
    make, argv, code, expect = MAKER.BIG[name]
    folder = tmp_path / name
    folder.mkdir()
    make(folder)
    _check(folder, argv, code, expect, capsys)
