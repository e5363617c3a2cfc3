"""Progress reports for long commands: a live bar in a terminal or a notebook, plain lines in a log.

``make_progress(total, desc)`` returns an object with ``update(n, failed=0)`` and ``close()``:

- a terminal: a tqdm bar (runs done, failed, rate, ETA), without tqdm's monitor thread (so that the
  local process pool can fork);
- not a terminal (a batch log): one plain line every ``interval`` seconds and at the end, e.g.
  ``fee_sweep: 120/400 runs (30 %), 2 failed, 3.1 runs/s, ETA 90 s``;
- ``notebook=True``: tqdm's notebook-friendly bar (``tqdm.auto``).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["make_progress", "LineProgress"]


class LineProgress:
    """Plain progress lines, at most one every ``interval`` seconds (and a final one)."""

    def __init__(self, total: int, desc: str, stream: TextIO, interval: float = 15.0) -> None:
        self.total, self.desc, self.stream, self.interval = total, desc, stream, interval
        self.done = self.failed = 0
        self.start = self._last = time.monotonic()

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        eta = f", ETA {(self.total - self.done) / rate:.0f} s" if rate > 0 and self.done < self.total else ""
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        return (f"{self.desc}: {self.done}/{self.total} runs{share}, {self.failed} failed, "
                f"{rate:.1f} runs/s{eta}")

    def update(self, n: int = 1, failed: int = 0) -> None:
        self.done += n
        self.failed += failed
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            print(self._line(), file=self.stream, flush=True)

    def close(self) -> None:
        print(self._line(), file=self.stream, flush=True)


class _Bar:
    def __init__(self, bar: Any) -> None:
        self.bar, self.failed = bar, 0

    def update(self, n: int = 1, failed: int = 0) -> None:
        self.failed += failed
        self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def make_progress(total: int, desc: str, *, stream: TextIO | None = None, notebook: bool = False,
                  interval: float = 15.0, initial: int = 0) -> LineProgress | _Bar:
    stream = sys.stderr if stream is None else stream
    if notebook:
        from tqdm.auto import tqdm as auto_tqdm

        return _Bar(auto_tqdm(total=total, desc=desc, unit="run", initial=initial))
    if not stream.isatty():
        p = LineProgress(total, desc, stream, interval)
        p.done = initial
        return p
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the worker pool can then fork
    return _Bar(tqdm(total=total, desc=desc, unit="run", file=stream, dynamic_ncols=True, initial=initial))
