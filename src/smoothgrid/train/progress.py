"""Progress of a run: a live bar on a terminal, a few plain lines in a log file.

``tqdm`` redraws its bar with carriage returns; written to a file (a batch job's log, CI) every
redraw stays in the file and floods it. :func:`progress_bar` gives the bar on a terminal and,
elsewhere, a :class:`LineProgress` that prints one complete line at most every ``every`` seconds
(and at the end), with the same ``update`` / ``set_postfix`` / ``close`` calls.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tqdm.auto import tqdm

__all__ = ["progress_bar", "LineProgress"]


class LineProgress:
    """A progress report as plain lines: ``desc: step 1200/5000 (24%), 31.0 s, loss=0.0123``.

    Args:
        total: the step budget, or ``None`` for a time budget.
        initial: steps already done (a resumed run).
        desc: the label.
        every: seconds between lines.
        stream: where the lines go (default ``sys.stderr``).
    """

    def __init__(
        self,
        total: int | None,
        initial: int = 0,
        desc: str = "",
        every: float = 30.0,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.n, self.desc, self.every = total, initial, desc, every
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.last = self.start
        self.postfix: dict[str, Any] = {}

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps; print a line when ``every`` seconds have passed."""
        self.n += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self._print(now)

    def set_postfix(self, postfix: dict[str, Any] | None = None, refresh: bool = True,
                    **kwargs: Any) -> None:  # fmt: skip
        """Values shown at the end of the next line (as ``tqdm.set_postfix``)."""
        self.postfix = {**(postfix or {}), **kwargs}

    def close(self) -> None:
        """Print the final line."""
        self._print(time.perf_counter())

    def _print(self, now: float) -> None:
        done = f"step {self.n}"
        if self.total:
            done += f"/{self.total} ({100.0 * self.n / self.total:.0f}%)"
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        print(f"{self.desc}: {done}, {now - self.start:.1f} s{extra}", file=self.stream,
              flush=True)  # fmt: skip


def progress_bar(
    show: bool, total: int | None, initial: int, desc: str, stream: TextIO | None = None
) -> Any:
    """A tqdm bar on a terminal, :class:`LineProgress` lines otherwise, nothing if not ``show``.

    Args:
        show: report progress at all.
        total: the step budget (``None``: a time budget).
        initial: steps already done.
        desc: the label.
        stream: the output (default ``sys.stderr``); a bar only if it is a terminal.
    """
    stream = stream or sys.stderr
    if show and not stream.isatty():
        return LineProgress(total, initial, desc, stream=stream)
    return tqdm(total=total, initial=initial, disable=not show, desc=desc, unit="step",
                dynamic_ncols=True, mininterval=0.5, file=stream)  # fmt: skip
