"""Progress messages: one line each on stderr (stdout carries metrics.json), prefixed '[csreport]'.

Inside a notebook the kernel sends them elsewhere (:func:`sent_to`): one quiet line that updates
in place, instead of stderr, which Jupyter paints as red boxes that look like errors.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .text import for_terminal

_sink: Callable[[str], None] | None = None


def say(message: str, quiet: bool = False) -> None:
    """Tell the user what is happening now (nothing when ``quiet``). Names from the data are in many
    messages: their control characters are shown, not obeyed, by the terminal."""
    if quiet:
        return
    if _sink is not None:
        _sink(message)
    else:
        print(f"[csreport] {for_terminal(message)}", file=sys.stderr, flush=True)


@contextmanager
def sent_to(sink: Callable[[str], None]) -> Iterator[None]:
    """Within the block, progress messages go to ``sink`` instead of stderr."""
    global _sink
    previous, _sink = _sink, sink
    try:
        yield
    finally:
        _sink = previous
