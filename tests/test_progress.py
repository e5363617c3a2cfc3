"""Progress reports: plain lines in logs (periodic and final), a bar in a terminal."""

from __future__ import annotations

import io

from clustersim.util.progress import LineProgress, make_progress


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    p = make_progress(10, "demo", stream=stream, interval=0.0)
    assert isinstance(p, LineProgress)
    p.update(4, failed=1)
    p.update(6)
    p.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("demo: 4/10 runs (40%), 1 failed,") and "ETA" in lines[0]
    assert lines[-1].startswith("demo: 10/10 runs (100%), 1 failed,") and "ETA" not in lines[-1]
    assert "\r" not in stream.getvalue()


def test_lines_are_rate_limited():
    stream = io.StringIO()
    p = make_progress(100, "demo", stream=stream, interval=3600.0)
    for _ in range(100):
        p.update(1)
    assert stream.getvalue() == ""  # nothing before the interval has passed
    p.close()
    assert stream.getvalue().count("\n") == 1


def test_terminal_bar_counts_failures():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    p = make_progress(3, "demo", stream=stream)
    p.update(2, failed=1)
    p.close()
    assert "failed=1" in stream.getvalue() and "2/3" in stream.getvalue()
