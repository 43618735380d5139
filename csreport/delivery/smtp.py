"""SMTP settings from the environment, and sending with a bounded retry.

Settings (never from a config file, never logged):
  CSREPORT_SMTP_HOST, CSREPORT_SMTP_PORT, CSREPORT_SMTP_USER, CSREPORT_SMTP_PASSWORD,
  CSREPORT_SMTP_TLS (starttls | ssl | none; default starttls), CSREPORT_SMTP_FROM,
  CSREPORT_SMTP_CA_FILE (optional: a PEM bundle to trust, for a relay with a private CA).
"""
from __future__ import annotations

import os
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

from ..errors import DeliveryError
from ..progress import say

TLS_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    user: str | None
    password: str | None = field(repr=False)  # repr=False: never printed, even by accident
    sender: str | None
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name are always verified; a private CA can be added, never verification removed."""
        return ssl.create_default_context(cafile=self.ca_file)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        env: Mapping[str, str] = os.environ if environ is None else environ
        host = env.get("CSREPORT_SMTP_HOST")
        if not host:
            raise DeliveryError("CSREPORT_SMTP_HOST is not set; export the SMTP settings (see README 'Email') "
                                "or use --dry-run to write the message to a file")
        tls = env.get("CSREPORT_SMTP_TLS", "starttls").lower()
        if tls not in TLS_MODES:
            raise DeliveryError(f"CSREPORT_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        port_text = env.get("CSREPORT_SMTP_PORT", str(DEFAULT_PORTS[tls]))
        if not port_text.isdigit():
            raise DeliveryError(f"CSREPORT_SMTP_PORT must be a port number, not {port_text!r}")
        user = env.get("CSREPORT_SMTP_USER") or None
        password = env.get("CSREPORT_SMTP_PASSWORD") or None
        if user and not password:
            raise DeliveryError("CSREPORT_SMTP_USER is set but CSREPORT_SMTP_PASSWORD is not")
        ca_file = env.get("CSREPORT_SMTP_CA_FILE") or None
        if ca_file and not os.path.isfile(ca_file):
            raise DeliveryError(f"CSREPORT_SMTP_CA_FILE names {ca_file}, which does not exist")
        return cls(host, int(port_text), tls, user, password, env.get("CSREPORT_SMTP_FROM") or None, ca_file)


@dataclass
class SendResult:
    accepted: list[str]
    refused: dict[str, str]  # recipient -> the server's reason


def _connect(settings: SmtpSettings, timeout: float) -> smtplib.SMTP:
    client: smtplib.SMTP
    if settings.tls == "ssl":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=settings.tls_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        if settings.tls == "starttls":
            client.starttls(context=settings.tls_context())
    if settings.user:
        client.login(settings.user, settings.password or "")
    return client


def _transient(exc: Exception) -> bool:
    """Worth retrying: the server was unreachable, dropped us, or answered 4xx (try again later).

    Not worth it: a refused login, a certificate that does not verify, a missing server
    feature or a 5xx answer; the same request fails the same way a second later.
    """
    if isinstance(exc, (smtplib.SMTPAuthenticationError, ssl.SSLCertVerificationError, smtplib.SMTPNotSupportedError)):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError))


def send(message: EmailMessage, recipients: list[str], settings: SmtpSettings, attempts: int = 3,
         backoff_s: float = 2.0, timeout: float = 30.0) -> SendResult:
    """Send one message to ``recipients``; retry transient failures with exponential backoff.

    A recipient the server refuses is reported in the result and does not stop the others.
    """
    where = f"{settings.host}:{settings.port}"
    for attempt in range(1, attempts + 1):
        try:
            with _connect(settings, timeout) as client:
                try:
                    refused = client.send_message(message, to_addrs=recipients)
                except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused
                    refused = exc.recipients
            reasons = {r: f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                       for r, (code, text) in refused.items()}
            return SendResult([r for r in recipients if r not in reasons], reasons)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login as {settings.user!r} on {where} was refused ({exc.smtp_code}); "
                                "check CSREPORT_SMTP_USER and CSREPORT_SMTP_PASSWORD") from None
        except (OSError, smtplib.SMTPException) as exc:
            if not _transient(exc):
                raise DeliveryError(f"could not send through {where}: {type(exc).__name__}: {exc}. Check the "
                                    "CSREPORT_SMTP_* settings (TLS mode, CSREPORT_SMTP_CA_FILE for a private CA); "
                                    "the report is still on disk") from None
            if attempt == attempts:
                raise DeliveryError(f"could not send through {where} after {attempts} attempts: "
                                    f"{type(exc).__name__}: {exc}. The report is still on disk; rerun "
                                    "'csreport email' for this period when the server is reachable") from None
            wait = backoff_s * 2 ** (attempt - 1)
            say(f"SMTP attempt {attempt}/{attempts} to {where} failed ({type(exc).__name__}: {exc}); "
                f"retrying in {wait:g} s")
            time.sleep(wait)
    raise AssertionError("unreachable")  # the loop always returns or raises
