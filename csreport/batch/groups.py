"""The groups of a batch (CSMs, segments or accounts) and the folders their reports go into.

Group names come from the data, so they are untrusted: a name may hold HTML, slashes or ``..``.
Folder names are made from them by :func:`slug` (ASCII letters, digits and dashes only), and
two names that give the same slug both get a short digest of their key, so no report can land
in another's folder. Folders are decided over ALL groups of the data, not only those of
``--only``, so a group's folder is the same whichever subset a batch renders.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..errors import ConfigError

By = Literal["csm", "segment", "account"]
BY: tuple[By, ...] = ("csm", "segment", "account")
SLUG_LENGTH = 60
DIGEST = 8


@dataclass(frozen=True)
class Group:
    key: str  # what --only names: the CSM, the segment, or the account_id
    label: str  # what people read: the CSM, the segment, or the account's name
    folder: str  # safe folder name under OUT/P/<by>/
    accounts: frozenset[str]


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes; never empty, never '.' or '..'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:SLUG_LENGTH].strip("-") or "group"


def _digest(key: str, length: int = DIGEST) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:length]


def safe_folders(names: dict[str, str]) -> dict[str, str]:
    """A distinct, safe folder name for every key (``names``: key -> the name to read in the folder)."""
    base = {key: slug(name) for key, name in names.items()}
    counts = Counter(base.values())
    folders = {key: b if counts[b] == 1 else f"{b}-{_digest(key)}" for key, b in base.items()}
    # a digest-suffixed name could equal another group's plain name: give every clash the full digest
    clashes = {f for f, n in Counter(folders.values()).items() if n > 1}
    folders = {key: f"{base[key]}-{_digest(key, 64)}" if f in clashes else f for key, f in folders.items()}
    if len(set(folders.values())) != len(folders):
        raise ConfigError("two groups were given the same folder name; rename one of them")  # sha-256 collision
    return folders


def named(pieces: list[str], known: Collection[str]) -> list[str]:
    """``--only``'s comma-separated pieces as the names they spell: neighbouring pieces are joined back when
    together they are a known name ("Shah, Priya"), the longest such name first; other pieces stay as they are."""
    names, i = [], 0
    while i < len(pieces):
        for j in range(len(pieces), i + 1, -1):
            joined = next((name for name in (", ".join(pieces[i:j]), ",".join(pieces[i:j])) if name in known), None)
            if joined is not None:
                names.append(joined)
                i = j
                break
        else:
            names.append(pieces[i])
            i += 1
    return names


def find_groups(accounts: pd.DataFrame, by: By, only: list[str] | None = None) -> tuple[list[Group], list[str]]:
    """The groups to report (all, or those ``only`` names, in that order) and the accounts in no group.

    Accounts without a CSM are in no CSM's book: they are returned so the batch can say so.
    """
    if by not in BY:
        raise ConfigError(f"--by takes one of {', '.join(BY)}, not {by!r}")
    ids = accounts["account_id"].astype(str)
    if by == "account":
        members = {a: frozenset([a]) for a in ids}
        labels = dict(zip(ids, accounts["name"].astype(str), strict=True))
        folder_names = {a: f"{a} {labels[a]}" for a in ids}
        outside: list[str] = []
    else:
        if by not in accounts:
            raise ConfigError(f"the accounts table has no {by!r} column, so there are no books by {by}: add it, or "
                              f"map your column under 'columns: {{accounts: {{{by}: <your column>}}}}' in the config")
        column = accounts[by]
        assigned = column.notna() & (column.astype(str).str.strip() != "")
        members = {str(name): frozenset(part) for name, part in ids[assigned].groupby(column[assigned].astype(str))}
        labels = {name: name for name in members}
        folder_names = labels
        outside = sorted(ids[~assigned])
    folders = safe_folders(folder_names)
    keys = sorted(members, key=lambda k: (labels[k].casefold(), k))
    if only:
        only = named(only, members)
        unknown = [k for k in only if k not in members]
        if unknown:
            raise ConfigError(f"--only names {', '.join(repr(k) for k in unknown)}, which the data has no "
                              f"{'account_id' if by == 'account' else by} for")
        keys = list(dict.fromkeys(only))
    return [Group(key=k, label=labels[k], folder=folders[k], accounts=members[k]) for k in keys], outside
