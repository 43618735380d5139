"""The send log: which report went to whom, so a re-run does not email leadership twice.

One JSON line per delivered (period, recipient) in OUT/email-log.jsonl, appended
under an exclusive file lock so two runs at once cannot interleave lines. Checking the
log, sending and recording happen under one lock per period (:meth:`SendLog.period_lock`),
so two `csreport email` runs for the same period send each recipient one message. A book of
business (``csreport email --batch``) is logged with its group ('csm/Priya Shah'): a
recipient gets each group's report once, and the company report once, independently.
"""
from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class SendLog:
    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def period_lock(self, period: str) -> Iterator[None]:
        """Held while a run checks the log, sends and records for ``period``: others wait, then skip who was served.

        One lock per period covers each of its recipients (a lock per period and recipient, taken together).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f".email-{period}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def sent(self, period: str, group: str | None = None) -> set[str]:
        """Recipients that already received the report of ``period`` (of ``group``; None: the company's)."""
        if not self.path.exists():
            return set()
        done = set()
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry["period"] == period and entry.get("group") == group:
                    done.add(entry["recipient"].lower())
        return done

    def record(self, period: str, recipients: list[str], message_id: str, attachment_sha256: str,
               group: str | None = None) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        scope = {"group": group} if group is not None else {}
        lines = "".join(json.dumps({"period": period, "recipient": r, "message_id": message_id, "sent_at": stamp,
                                    "attachment_sha256": attachment_sha256} | scope) + "\n" for r in recipients)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(lines)
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
