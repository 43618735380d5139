"""Progress messages: one line each on stderr (stdout carries metrics.json), prefixed '[csreport]'."""
from __future__ import annotations

import sys


def say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(f"[csreport] {message}", file=sys.stderr, flush=True)
