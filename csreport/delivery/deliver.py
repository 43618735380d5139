"""`csreport email`: send a period's report to its recipients, once; with ``--batch``, each CSM their book.

Already-delivered recipients (send log) are skipped unless ``force``; addresses
that are malformed or refused by the server, and CSMs without an address, are
reported after the others were served, and make the command exit non-zero so a
scheduler notices.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, DeliveryError
from ..periods import Period
from ..progress import say
from ..report.outputs import report_filename
from .message import compose
from .sendlog import SendLog
from .smtp import SmtpSettings, send

# a dry run needs no settings: it addresses the message to reserved names that can never deliver (RFC 2606)
PLACEHOLDER_RECIPIENT = "leadership@example.invalid"
PLACEHOLDER_SENDER = "csreport@example.invalid"


def well_formed(address: str) -> bool:
    _, email = parseaddr(address)
    local, _, domain = email.partition("@")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in address):  # a line break would add a header
        return False
    return bool(local) and "." in domain and " " not in email and email == address.strip()


def email_books(out: Path, period: Period, config: Config, by: str = "csm", only: list[str] | None = None,
                dry_run: bool = False, force: bool = False, environ: Mapping[str, str] | None = None,
                attempts: int = 3, backoff_s: float = 2.0) -> list[Path]:
    """Email each CSM the PDF of their book of business (``csreport batch --by csm``); return dry-run .eml paths.

    A CSM's addresses: the config's ``email.csm_addresses`` entry, else the ``csm_email`` of the book's
    accounts as the batch recorded it. One message per book; the send log keeps it to once per recipient
    and book. CSMs without an address, and books that failed in the batch, are reported (exit 6) after
    the others were served.
    """
    from ..batch.index import read_batch

    if by != "csm":
        raise ConfigError("email --batch sends books of business to their CSM: use --by csm")
    env: Mapping[str, str] = os.environ if environ is None else environ
    folder = out / str(period) / by
    entries = read_batch(folder)
    if not entries:
        raise DeliveryError(f"no batch in {folder}: run 'csreport batch --by {by} --period {period}' first")
    if only:
        from ..batch.groups import named

        only = named(only, {e.key for e in entries})
        unknown = sorted(set(only) - {e.key for e in entries})
        if unknown:
            raise ConfigError(f"--only names {', '.join(map(repr, unknown))}, which the batch in {folder} has no "
                              "report for")
        entries = [e for e in entries if e.key in only]
    sender = config.email.sender or env.get("CSREPORT_SMTP_FROM") or (PLACEHOLDER_SENDER if dry_run else None)
    if not sender:
        raise ConfigError("no sender: set 'email: {from: ...}' in the config or CSREPORT_SMTP_FROM")
    _one_line(sender)
    settings = None if dry_run else SmtpSettings.from_env(env)
    log = SendLog(out / "email-log.jsonl")
    problems: list[str] = []
    written: list[Path] = []
    for entry in entries:
        if entry.status != "ok" or "pdf" not in entry.files:
            problems.append(f"{entry.label!r}: no book report to send ({entry.error or 'rendered without a PDF'})")
            continue
        configured = config.email.csm_addresses.get(entry.key)
        addresses = ([configured] if isinstance(configured, str) else list(configured or [])) or entry.recipients
        recipients = [a.strip() for a in addresses if a.strip()]
        if not recipients:
            problems.append(f"{entry.label!r} has no address: add it under 'email: {{csm_addresses: {{...}}}}' in the "
                            "config, or a csm_email column to the accounts table")
            continue
        group = f"{by}/{entry.key}"
        problems += [f"{r!r} ({entry.label}) is not a valid email address" for r in recipients if not well_formed(r)]
        pending = [r for r in recipients if well_formed(r)]
        if not pending:  # every address is malformed (said above): nothing was sent, nothing to skip
            continue
        # check the log, send, record under the period's lock, as for the company report
        with log.period_lock(str(period)):
            if not force and not dry_run:
                done = log.sent(str(period), group)
                pending = [r for r in pending if r.lower() not in done]
            if not pending:
                say(f"{entry.label}: already sent; skipping (use --force to resend)")
                continue
            report_dir = folder / entry.folder
            message = compose(report_dir, sender, pending, config.email.subject, pdf_name=entry.files["pdf"])
            if dry_run:
                target = report_dir / entry.files["pdf"].replace(".pdf", ".eml")
                target.write_bytes(bytes(message))
                written.append(target)
                continue
            assert settings is not None
            result = send(message, pending, settings, attempts=attempts, backoff_s=backoff_s)
            pdf = next(p for p in message.iter_attachments()).get_content()
            log.record(str(period), result.accepted, message["Message-ID"], hashlib.sha256(pdf).hexdigest(), group)
        if result.accepted:
            say(f"sent {entry.label}'s {period} book to {', '.join(result.accepted)}")
        problems += [f"{r!r} ({entry.label}) was refused by the server: {why}" for r, why in result.refused.items()]
    if problems:
        raise DeliveryError("some books were not delivered:\n  - " + "\n  - ".join(problems)
                            + "\nThe others were served; fix these and rerun (already-served ones are skipped).")
    return written


def email_report(out: Path, period: Period, config: Config, to: list[str] | None = None, dry_run: bool = False,
                 force: bool = False, environ: Mapping[str, str] | None = None, attempts: int = 3,
                 backoff_s: float = 2.0) -> Path | None:
    """Email OUT/YYYY-MM/'s PDF; return the .eml path for a dry run, else None."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    report_dir = out / str(period)
    recipients = [r.strip() for r in (to or config.email.to) if r.strip()]
    if not recipients and dry_run:
        recipients = [PLACEHOLDER_RECIPIENT]
        say(f"dry run: no recipients configured; addressed to the placeholder {PLACEHOLDER_RECIPIENT}")
    if not recipients:
        raise ConfigError("no recipients: list them under 'email: {to: [...]}' in the config or pass --to")
    malformed = [r for r in recipients if not well_formed(r)]
    log = SendLog(out / "email-log.jsonl")
    sender = config.email.sender or env.get("CSREPORT_SMTP_FROM")
    if not sender and dry_run:
        sender = PLACEHOLDER_SENDER
        say(f"dry run: no sender configured; the message is from the placeholder {PLACEHOLDER_SENDER}")
    if not sender:
        raise ConfigError("no sender: set 'email: {from: ...}' in the config or CSREPORT_SMTP_FROM")
    if dry_run:
        return _dry_run(report_dir, period, sender, [r for r in recipients if r not in malformed], config, malformed)
    _one_line(sender)
    # check the log, send, record: one step per period, so two runs at once send each recipient one message
    with log.period_lock(str(period)):
        pending = [r for r in recipients if r not in malformed]
        if not force:
            done = log.sent(str(period))
            skipped = [r for r in pending if r.lower() in done]
            if skipped:
                say(f"already sent the {period} report to {', '.join(skipped)}; skipping (use --force to resend)")
            pending = [r for r in pending if r.lower() not in done]
        if not pending:
            say(f"nothing to send for {period}")
            _fail_on(malformed, {})
            return None
        message = compose(report_dir, sender, pending, config.email.subject)
        result = send(message, pending, SmtpSettings.from_env(env), attempts=attempts, backoff_s=backoff_s)
        pdf = next(p for p in message.iter_attachments()).get_content()
        log.record(str(period), result.accepted, message["Message-ID"], hashlib.sha256(pdf).hexdigest())
    if result.accepted:
        say(f"sent the {period} report to {', '.join(result.accepted)}")
    _fail_on(malformed, result.refused)
    return None


def _one_line(sender: str) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in sender):
        raise ConfigError("the sender (email.from or CSREPORT_SMTP_FROM) holds a line break or another control "
                          "character; set it to one address on one line")


def _dry_run(report_dir: Path, period: Period, sender: str, pending: list[str], config: Config,
             malformed: list[str]) -> Path | None:
    """Write the message as an .eml file next to the report instead of sending it."""
    if not pending:
        say(f"nothing to send for {period}")
        _fail_on(malformed, {})
        return None
    message = compose(report_dir, sender, pending, config.email.subject)
    target = report_dir / report_filename(period, "eml")
    target.write_bytes(bytes(message))
    say(f"dry run: wrote {target} for {', '.join(pending)}")
    _fail_on(malformed, {})
    return target


def _fail_on(malformed: list[str], refused: dict[str, str]) -> None:
    problems = [f"{r!r} is not a valid email address" for r in malformed]
    problems += [f"{r!r} was refused by the server: {why}" for r, why in refused.items()]
    if problems:
        raise DeliveryError("some recipients did not get the report:\n  - " + "\n  - ".join(problems)
                            + "\nThe others were served; fix these addresses and rerun "
                              "(already-served ones are skipped).")
