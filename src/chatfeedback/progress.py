"""How a long command reports: a progress bar on a terminal, one summary line otherwise.

The one place that decides, for every long command (``demo``, ``import``, ``export``,
``db upgrade``, ``db rebuild-stats``): with ``--quiet`` nothing at all; when standard error
is a terminal a tqdm bar (count, rate, time left) while the work runs, then the summary
line; otherwise only the summary line, as a log or a script wants it.

The work itself reports through a plain callback, ``progress(done, total=None, note=None)``,
with counts it already knows (running totals, bytes read); it never draws anything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm


class Progress(Protocol):
    """What long work calls as it goes: how much is done, of how much (when known)."""

    def __call__(self, done: int, total: int | None = None, note: str | None = None) -> None:
        ...


class _Nothing:
    """A progress callback that shows nothing, and is false, so that the work can skip
    what it would count only for a bar (``if progress: ...``)."""

    def __call__(self, done: int, total: int | None = None, note: str | None = None) -> None:
        pass

    def __bool__(self) -> bool:
        return False


nothing = _Nothing()


class Report:
    """One command's output on standard error (see the module docstring)."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = not quiet and _is_terminal(self.stream)
        self._bar: tqdm[Any] | None = None

    @contextmanager
    def bar(self, what: str, total: int | None = None, *, unit: str = "",
            bytes_: bool = False) -> Iterator[Progress]:
        """A bar labelled ``what`` while the block runs, drawn from the callback's first call
        (which usually brings the total); the callback sets the count, and the total, which
        may be corrected as the work learns it. On success the bar ends at the full count,
        whatever the estimate was."""
        if not self.live:
            yield nothing
            return
        from tqdm import tqdm  # only on a terminal

        first_total = total

        def update(done: int, total: int | None = None, note: str | None = None) -> None:
            bar = self._bar
            if bar is None:
                bar = self._bar = tqdm(
                    total=first_total if total is None else total, desc=what,
                    unit="B" if bytes_ else unit or "it",
                    unit_scale=bytes_, unit_divisor=1024 if bytes_ else 1000,
                    file=self.stream, mininterval=0.2, leave=True,
                    **({"dynamic_ncols": True} if _columns(self.stream) else {"ncols": 100}))
            if total is not None and total != bar.total:
                bar.total = total
            if note is not None and note != bar.postfix:
                bar.set_postfix_str(note, refresh=done == bar.n)  # a new stage shows now
            bar.update(done - bar.n)

        try:
            yield update
            bar = self._bar
            if bar is not None:
                if bar.total is not None and bar.n != bar.total:
                    bar.total = bar.n  # the estimate was off: end at what was done
                bar.refresh()
        finally:
            if self._bar is not None:
                self._bar.close()
            self._bar = None

    def line(self, text: str) -> None:
        """A line that must be read (an error about one item), shown even with --quiet,
        above the bar when there is one."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def summary(self, text: str, *, err: bool = True) -> None:
        """The one line that says what the command did, on standard error (or ``err=False``:
        standard output); nothing with --quiet."""
        if self.quiet:
            return
        if err:
            self.line(text)
        else:
            print(text, flush=True)


def _columns(stream: TextIO) -> int:
    """The terminal's width; 0 when it does not say (a pseudo-terminal nobody sized)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def counted(items: Iterable[Any], progress: Progress, total: int | None = None,
            every: int = 1) -> Iterator[Any]:
    """``items``, reporting how many have passed (every ``every`` items, and at the end)."""
    done = 0
    for item in items:
        yield item
        done += 1
        if done % every == 0:
            progress(done, total)
    progress(done, total)

