"""Work remembered per input object (a frame, a set of aggregates), while that object lives.

A report computes the company, every segment and the comparison months from the same few
frames, and a backfill does so for every period: the same MRR pivot, the same survey
responses of a month, the same tickets created in a month were built again and again. Every
such derived value is a pure function of its frame, and a dataset's frames are never changed
in place (a subset or an as-of view is a new frame; pandas copies on write), so it is built once
per (frame, question) here and reused.

The memo of an object goes when the object does, so a later object that happens to get the same
``id`` never sees it. Callers only read what they are given.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")

# id(owner) -> (a weak reference to it, its remembered values by key)
_MEMOS: dict[int, tuple[weakref.ref, dict[Hashable, Any]]] = {}


def remembered(owner: object, key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, computed once per live ``owner`` and ``key`` (``key`` names the question asked of it)."""
    ident = id(owner)
    entry = _MEMOS.get(ident)
    if entry is None or entry[0]() is not owner:
        entry = (weakref.ref(owner, _forget(ident)), {})
        _MEMOS[ident] = entry
    values = entry[1]
    if key not in values:
        values[key] = build()
    return cast(T, values[key])


def _forget(ident: int) -> Callable[[weakref.ref], None]:
    """The callback that drops an object's memo when the object is collected."""
    def forget(gone: weakref.ref) -> None:
        entry = _MEMOS.get(ident)
        if entry is not None and entry[0] is gone:
            del _MEMOS[ident]
    return forget
