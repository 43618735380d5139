"""SMTP settings from the environment, and sending with a bounded retry.

Settings (never from a config file, never logged):
  CSREPORT_SMTP_HOST, CSREPORT_SMTP_PORT, CSREPORT_SMTP_USER, CSREPORT_SMTP_PASSWORD,
  CSREPORT_SMTP_TLS (starttls | ssl | none; default starttls), CSREPORT_SMTP_FROM,
  CSREPORT_SMTP_CA_FILE (optional: a PEM bundle to trust, for a relay with a private CA).
"""
from __future__ import annotations

import ipaddress
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
        sender = env.get("CSREPORT_SMTP_FROM") or None
        for name, value in (("CSREPORT_SMTP_HOST", host), ("CSREPORT_SMTP_USER", user), ("CSREPORT_SMTP_FROM", sender)):
            if value and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                raise DeliveryError(f"{name} holds a line break or another control character; set it to one line")
        if password and tls == "none":
            if not is_loopback(host):
                raise DeliveryError(
                    f"refusing to send the SMTP password to {host} without encryption (CSREPORT_SMTP_TLS=none): anyone "
                    "on the network could read it. Use CSREPORT_SMTP_TLS=starttls or ssl, or a relay that needs no "
                    "login")
            say(f"WARNING: CSREPORT_SMTP_TLS=none: the SMTP password goes to {host} unencrypted; allowed only because "
                "that server is on this machine (loopback). Use starttls or ssl for any other server.")
        return cls(host, int(port_text), tls, user, password, sender, ca_file)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (localhost, 127.0.0.0/8, ::1): nothing sent to it crosses a network."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Utf8Text(str):
    """A str that encodes as UTF-8 even when smtplib asks for ASCII.

    smtplib encodes AUTH answers (and the CRAM-MD5 key) as ASCII, so a password such as 'pässwort'
    raised UnicodeEncodeError, whose message quoted the password. SASL PLAIN and LOGIN carry UTF-8
    (RFC 4616, RFC 4954); a server that expects another encoding refuses the login cleanly.
    """

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return str.encode(self, "utf-8", errors)


class _Utf8Login:
    """Mixin for smtplib's clients: AUTH answers in UTF-8 (see :class:`_Utf8Text`)."""

    def auth(self, mechanism, authobject, *, initial_response_ok=True):
        def answer(challenge=None):
            text = authobject(challenge)
            return None if text is None else _Utf8Text(text)

        return super().auth(mechanism, answer, initial_response_ok=initial_response_ok)  # type: ignore[misc]


class _SMTP(_Utf8Login, smtplib.SMTP):
    pass


class _SMTP_SSL(_Utf8Login, smtplib.SMTP_SSL):
    pass


@dataclass
class SendResult:
    accepted: list[str]
    refused: dict[str, str]  # recipient -> the server's reason


def _connect(settings: SmtpSettings, timeout: float) -> smtplib.SMTP:
    client: smtplib.SMTP
    if settings.tls == "ssl":
        client = _SMTP_SSL(settings.host, settings.port, timeout=timeout, context=settings.tls_context())
    else:
        client = _SMTP(settings.host, settings.port, timeout=timeout)
    try:
        if settings.tls == "starttls":
            client.starttls(context=settings.tls_context())
        if settings.user:
            client.login(_Utf8Text(settings.user), _Utf8Text(settings.password or ""))
    except BaseException:
        client.close()
        raise
    return client


def _quit(client: smtplib.SMTP) -> None:
    """Say goodbye after the message was accepted. The answer to QUIT cannot undo the delivery: a 421 or
    5xx here, or a dropped connection, is not a failure to send (resending would deliver twice)."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        client.close()


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

    A recipient the server refuses is reported in the result and does not stop the others. The
    message is delivered once the server accepted its DATA: whatever QUIT answers then, it is not
    sent again (a failure before that acceptance is retried; one between the server's acceptance
    and its reply reaching us is the at-least-once case of README "Email").
    """
    where = f"{settings.host}:{settings.port}"
    for attempt in range(1, attempts + 1):
        try:
            client = _connect(settings, timeout)
            try:
                try:
                    refused = client.send_message(message, to_addrs=recipients)
                except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused: no DATA was sent
                    refused = exc.recipients
            except BaseException:
                client.close()
                raise
            _quit(client)  # accepted (or every recipient refused): nothing to retry
            reasons = {r: f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                       for r, (code, text) in refused.items()}
            return SendResult([r for r in recipients if r not in reasons], reasons)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login as {settings.user!r} on {where} was refused ({exc.smtp_code}); "
                                "check CSREPORT_SMTP_USER and CSREPORT_SMTP_PASSWORD") from None
        except UnicodeError:  # never the exception's text: it would quote the login
            raise DeliveryError(f"the SMTP login for {where} could not be encoded; check that CSREPORT_SMTP_USER "
                                "and CSREPORT_SMTP_PASSWORD are valid text") from None
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
