"""Email delivery against a real SMTP server (aiosmtpd) started on loopback by the tests."""
from __future__ import annotations

import email
import email.policy
import json
import re
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import metrics_of, run_cli, write_company

from csreport.benchmark.history import History
from csreport.config import Config
from csreport.delivery.deliver import email_report
from csreport.errors import DeliveryError
from csreport.periods import Period

PASSWORD = "s3cret-smtp-pass"


class Inbox:
    """Collects what the server accepted; refuses recipients that start with 'bounce'."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                                policy=email.policy.default)))
        return "250 Message accepted"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"reporter"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: let aiosmtpd send the 535 reply


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def smtp_auth_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticate,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    yield inbox, controller.port
    controller.stop()


# a one-page PDF, written by hand: the email attaches the bytes, it never reads them
MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
               b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A report folder as `csreport run` publishes it: the report model (metrics.json) and the PDF."""
    tmp = tmp_path_factory.mktemp("email")
    source = write_company(tmp / "company")
    folder = tmp / "reports" / "2026-03"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics_of(source, "2026-03", "--history", tmp / "none.sqlite")))
    (folder / "customer-success-report-2026-03.pdf").write_bytes(MINIMAL_PDF)
    return tmp / "reports"


@pytest.fixture
def out(published, tmp_path):
    """A private copy of the published reports, so send logs do not leak between tests."""
    import shutil

    target = tmp_path / "reports"
    shutil.copytree(published, target)
    return target


def _env(monkeypatch, port, user=None, password=None):
    monkeypatch.setenv("CSREPORT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CSREPORT_SMTP_PORT", str(port))
    monkeypatch.setenv("CSREPORT_SMTP_TLS", "none")
    monkeypatch.setenv("CSREPORT_SMTP_FROM", "cs-reports@example.com")
    if user:
        monkeypatch.setenv("CSREPORT_SMTP_USER", user)
        monkeypatch.setenv("CSREPORT_SMTP_PASSWORD", password)


def test_send_report(out, smtp_server, monkeypatch):
    inbox, port = smtp_server
    _env(monkeypatch, port)
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com,cfo@example.com")
    assert code == 0, err
    assert len(inbox.messages) == 1
    rcpts, msg = inbox.messages[0]
    assert sorted(rcpts) == ["ceo@example.com", "cfo@example.com"]
    assert msg["Subject"] == "Customer Success Report — March 2026"
    assert msg["From"] == "cs-reports@example.com"
    assert msg.get_content_type() == "multipart/mixed"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    # NPS +25, logo churn 25.0 % (hand-computed in test_metrics_company); the page-1 narrative comes along
    for value in ("+25", "25.0%", "MRR fell 36.1% from $610 to $390"):
        assert value in text and value in html
    # MRR 610 -> 390 from February to March: -36.1 % vs Feb 2026, on both parts
    assert "MRR: $390 (▼ -36.1% vs Feb 2026;" in text and "▼ -36.1%" in html
    assert msg["Date"]
    assert "<script" not in html.lower() and "style=" in html
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1
    pdf = attachments[0]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "customer-success-report-2026-03.pdf"
    assert pdf.get_content() == (out / "2026-03" / "customer-success-report-2026-03.pdf").read_bytes()


def test_rerun_is_a_no_op_unless_forced(out, smtp_server, monkeypatch):
    inbox, port = smtp_server
    _env(monkeypatch, port)
    args = ("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert run_cli(*args)[0] == 0
    code, _, err = run_cli(*args)
    assert code == 0 and "already sent" in err
    assert len(inbox.messages) == 1
    assert run_cli(*args, "--force")[0] == 0
    assert len(inbox.messages) == 2
    log = [json.loads(line) for line in (out / "email-log.jsonl").read_text().splitlines()]
    assert [e["recipient"] for e in log] == ["ceo@example.com", "ceo@example.com"]


def test_auth_success_and_password_never_printed(out, smtp_auth_server, monkeypatch):
    inbox, port = smtp_auth_server
    _env(monkeypatch, port, "reporter", PASSWORD)
    code, stdout, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 0, err
    assert len(inbox.messages) == 1
    assert PASSWORD not in stdout + err
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_auth_failure_is_clear_and_not_retried(out, smtp_auth_server, monkeypatch):
    inbox, port = smtp_auth_server
    _env(monkeypatch, port, "reporter", "wrong-password")
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 6
    assert "login as 'reporter'" in err and "CSREPORT_SMTP_PASSWORD" in err
    assert "wrong-password" not in err and "attempt" not in err
    assert inbox.messages == [] and not (out / "email-log.jsonl").exists()


def test_server_down_retries_then_fails_and_keeps_report(out, monkeypatch, capsys):
    _env(monkeypatch, _free_port())  # nothing listens there
    config = Config.model_validate({"email": {"to": ["ceo@example.com"]}})
    with pytest.raises(DeliveryError) as err:
        email_report(out, Period(2026, 3), config, attempts=3, backoff_s=0.01)
    assert "after 3 attempts" in str(err.value) and "still on disk" in str(err.value)
    assert capsys.readouterr().err.count("retrying in") == 2
    assert (out / "2026-03" / "customer-success-report-2026-03.pdf").exists()
    assert not (out / "email-log.jsonl").exists()


def test_bad_addresses_do_not_stop_the_others(out, smtp_server, monkeypatch):
    inbox, port = smtp_server
    _env(monkeypatch, port)
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out,
                           "--to", "ceo@example.com,not-an-address,bounce@example.com")
    assert code == 6
    assert "'not-an-address' is not a valid email address" in err
    assert "'bounce@example.com' was refused by the server: 550" in err
    assert [rcpts for rcpts, _ in inbox.messages] == [["ceo@example.com"]]
    log = [json.loads(line)["recipient"] for line in (out / "email-log.jsonl").read_text().splitlines()]
    assert log == ["ceo@example.com"]


def test_dry_run_writes_eml(out, monkeypatch):
    monkeypatch.delenv("CSREPORT_SMTP_HOST", raising=False)
    monkeypatch.setenv("CSREPORT_SMTP_FROM", "cs-reports@example.com")
    code, stdout, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com", "--dry-run")
    assert code == 0, err
    eml = out / "2026-03" / "customer-success-report-2026-03.eml"
    assert stdout.strip() == str(eml)
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "ceo@example.com" and len(list(msg.iter_attachments())) == 1


def test_missing_settings_and_report(out, monkeypatch):
    monkeypatch.delenv("CSREPORT_SMTP_HOST", raising=False)
    monkeypatch.setenv("CSREPORT_SMTP_FROM", "cs-reports@example.com")
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 6 and "CSREPORT_SMTP_HOST is not set" in err
    code, _, err = run_cli("email", "--period", "2026-01", "--out", out, "--to", "ceo@example.com", "--dry-run")
    assert code == 6 and "run 'csreport run'" in err


@pytest.mark.slow
def test_run_with_email_sends_once(tmp_path, smtp_server, monkeypatch):
    inbox, port = smtp_server
    _env(monkeypatch, port)
    source = write_company(tmp_path / "company")
    config = tmp_path / "c.yaml"
    config.write_text("email: {to: [board@example.com], from: cs@example.com}\nreport: {company: Acme Inc.}\n")
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp_path / "reports",
                           "--config", config, "--quiet", "--email")
    assert code == 0, err
    assert len(inbox.messages) == 1
    rcpts, msg = inbox.messages[0]
    assert rcpts == ["board@example.com"] and msg["From"] == "cs@example.com"
    assert "Acme Inc." in msg.get_body(preferencelist=("html",)).get_content()
    # the monthly cron job ran twice: the second run's email step finds the period sent (send log)
    code, _, err = run_cli("email", "--period", "2026-03", "--out", tmp_path / "reports", "--config", config)
    assert code == 0 and "already sent" in err and len(inbox.messages) == 1


@pytest.fixture(scope="module")
def certificate_authority():
    import trustme

    return trustme.CA()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_modes_verify_the_server(out, monkeypatch, tmp_path, certificate_authority, mode):
    import ssl

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(server_context)
    inbox = Inbox()
    port = _free_port()
    if mode == "starttls":
        controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_context,
                                require_starttls=True, authenticator=_authenticate, auth_required=True)
    else:
        # aiosmtpd 1.4 does not count implicit TLS as TLS for AUTH, hence auth_require_tls=False here
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context,
                                authenticator=_authenticate, auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        _env(monkeypatch, port, "reporter", PASSWORD)
        monkeypatch.setenv("CSREPORT_SMTP_TLS", mode)
        args = ("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
        # without trusting the test CA the certificate check must fail: verification is never off
        code, _, err = run_cli(*args)
        assert code == 6 and "CERTIFICATE_VERIFY_FAILED" in err and inbox.messages == []
        assert "retrying" not in err  # a certificate problem is not retried
        ca_file = tmp_path / "ca.pem"
        certificate_authority.cert_pem.write_to_path(str(ca_file))
        monkeypatch.setenv("CSREPORT_SMTP_CA_FILE", str(ca_file))
        code, _, err = run_cli(*args)
        assert code == 0, err
        assert [rcpts for rcpts, _ in inbox.messages] == [["ceo@example.com"]]
    finally:
        controller.stop()


def test_dry_run_without_settings_or_recipients_uses_placeholders_and_says_so(out, monkeypatch):
    for name in ("CSREPORT_SMTP_HOST", "CSREPORT_SMTP_FROM"):
        monkeypatch.delenv(name, raising=False)
    code, stdout, err = run_cli("email", "--period", "2026-03", "--out", out, "--dry-run")
    assert code == 0, err
    assert "no recipients configured; addressed to the placeholder leadership@example.invalid" in err
    assert "no sender configured; the message is from the placeholder csreport@example.invalid" in err
    msg = email.message_from_bytes(Path(stdout.strip()).read_bytes(), policy=email.policy.default)
    assert (msg["To"], msg["From"]) == ("leadership@example.invalid", "csreport@example.invalid") and msg["Date"]


def test_config_errors_exit_2(out, tmp_path, monkeypatch):
    monkeypatch.delenv("CSREPORT_SMTP_FROM", raising=False)
    broken = tmp_path / "broken.yaml"
    broken.write_text("email: {to: not-a-list-of: [}\n")
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--config", broken)
    assert code == 2 and "not valid YAML" in err
    # a real send without recipients or sender is a configuration problem, not a delivery failure
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out)
    assert code == 2 and "no recipients" in err
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 2 and "no sender" in err


def test_email_reads_on_a_phone(published):
    from csreport.delivery.message import compose

    message = compose(published / "2026-03", "cs@example.com", ["ceo@example.com"], "Report {period_label}")
    html = message.get_body(preferencelist=("html",)).get_content()
    # one column that shrinks to the screen: a fluid table capped at 600 px, the viewport set, no fixed widths
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "max-width:600px" in html and 'width="100%"' in html
    assert not re.search(r'(?<!max-)width(="|:\s*)[2-9]\d\d', html)
    # the status in words as well as colour
    assert "✗ off target" in html


# -- issue 14, class 2: no duplicates, no password in clear, no traceback -------------------------------------


class QuitRefused(Inbox):
    """Accepts the message, then answers QUIT with a 4xx or 5xx (as a busy or grumpy relay does)."""

    def __init__(self, code: str):
        super().__init__()
        self.code = code

    async def handle_QUIT(self, server, session, envelope):
        return self.code


@pytest.mark.parametrize("answer", ["421 4.3.2 shutting down", "554 5.0.0 go away"])
def test_an_error_answer_to_quit_after_acceptance_is_a_delivery(out, monkeypatch, answer):
    inbox = QuitRefused(answer)
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        _env(monkeypatch, controller.port)
        code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    finally:
        controller.stop()
    assert code == 0, err
    assert len(inbox.messages) == 1 and "attempt" not in err  # sent once, never retried
    log = [json.loads(line) for line in (out / "email-log.jsonl").read_text().splitlines()]
    assert [e["recipient"] for e in log] == ["ceo@example.com"]


class SlowInbox(Inbox):
    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(0.5)  # long enough for a second run to check the log while the first one sends
        return await super().handle_DATA(server, session, envelope)


def test_two_email_runs_at_once_send_once(out, monkeypatch):
    import threading

    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    env = {"CSREPORT_SMTP_HOST": "127.0.0.1", "CSREPORT_SMTP_PORT": str(controller.port),
           "CSREPORT_SMTP_TLS": "none", "CSREPORT_SMTP_FROM": "cs-reports@example.com"}
    errors: list[BaseException] = []

    def send_once():
        try:
            email_report(out, Period(2026, 3), Config(), to=["ceo@example.com", "cfo@example.com"], environ=env)
        except BaseException as exc:
            errors.append(exc)

    try:
        runs = [threading.Thread(target=send_once) for _ in range(2)]
        for run in runs:
            run.start()
        for run in runs:
            run.join(30)
    finally:
        controller.stop()
    assert errors == []
    assert len(inbox.messages) == 1 and sorted(inbox.messages[0][0]) == ["ceo@example.com", "cfo@example.com"]
    log = [json.loads(line) for line in (out / "email-log.jsonl").read_text().splitlines()]
    assert sorted(e["recipient"] for e in log) == ["ceo@example.com", "cfo@example.com"]


def test_a_password_is_never_sent_in_clear_to_another_machine(out, monkeypatch):
    _env(monkeypatch, 2525, "reporter", PASSWORD)
    monkeypatch.setenv("CSREPORT_SMTP_HOST", "smtp.example.com")
    code, stdout, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 6 and "refusing to send the SMTP password" in err and "starttls" in err
    assert PASSWORD not in stdout + err and "Traceback" not in err
    assert not (out / "email-log.jsonl").exists()


def test_a_password_in_clear_to_this_machine_is_warned_about(out, smtp_auth_server, monkeypatch):
    inbox, port = smtp_auth_server
    _env(monkeypatch, port, "reporter", PASSWORD)
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 0 and len(inbox.messages) == 1
    assert "WARNING: CSREPORT_SMTP_TLS=none: the SMTP password goes to 127.0.0.1 unencrypted" in err


UNICODE_PASSWORD = "pässwörd-ñ-密码"


def _unicode_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"reporter" and auth_data.password == UNICODE_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_non_ascii_password_logs_in(out, monkeypatch, mechanism):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_unicode_login,
                            auth_required=True, auth_require_tls=False,
                            auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m != mechanism])
    controller.start()  # the server offers one mechanism, so each is tried
    try:
        _env(monkeypatch, controller.port, "reporter", UNICODE_PASSWORD)
        code, stdout, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    finally:
        controller.stop()
    assert code == 0, err
    assert len(inbox.messages) == 1
    for part in ("pässwörd", "密码", "p\\xe4"):
        assert part not in stdout + err


def test_a_wrong_non_ascii_password_is_a_clean_refusal(out, smtp_auth_server, monkeypatch):
    inbox, port = smtp_auth_server
    _env(monkeypatch, port, "reporter", UNICODE_PASSWORD)
    code, stdout, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 6 and "login as 'reporter'" in err and "Traceback" not in err
    assert "pässwörd" not in stdout + err and "\\xe4" not in err and inbox.messages == []


@pytest.mark.parametrize("config, said", [
    ("email: {subject: 'Report {month}'}\n", "email.subject uses {month}"),
    ("email: {subject: 'Report {}'}\n", "the placeholders are {period_label}, {period}, {company}"),
    ("email: {from: \"cs@example.com\\r\\nBcc: all@example.com\"}\n", "one line"),
    ("report: {company: \"Acme\\nBcc: all@example.com\"}\n", "one line"),
])
def test_email_config_typos_are_config_errors(out, tmp_path, monkeypatch, config, said):
    path = tmp_path / "cs.yaml"
    path.write_text(config)
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--config", path, "--dry-run")
    assert code == 2 and said in err and "Traceback" not in err, err


def test_a_sender_with_a_line_break_from_the_environment_is_refused(out, monkeypatch):
    _env(monkeypatch, 25)
    monkeypatch.setenv("CSREPORT_SMTP_FROM", "cs@example.com\r\nBcc: all@example.com")
    code, _, err = run_cli("email", "--period", "2026-03", "--out", out, "--to", "ceo@example.com")
    assert code == 2 and "line break" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_report_of_a_month_not_over_says_so_in_its_heading_page_one_and_email(tmp_path, monkeypatch):
    """This month (by the clock) is not over: the report's header, page 1, the run's warning, the email's
    subject, first line and sentences all say the figures are the month so far."""
    from datetime import UTC, datetime

    monkeypatch.delenv("CSREPORT_SMTP_HOST", raising=False)
    month = Period.last_complete().shift(1)
    today = datetime.now(UTC).date()
    heading = f"{month.label} (to {today.day} {today:%B})"  # e.g. 'November 2026 (to 25 November)'
    line = f"{month.label} was not over when these figures were computed ({today.day} {today:%B %Y}, UTC)"
    out = tmp_path / "reports"
    code, _, err = run_cli("run", "--data", write_company(tmp_path / "company"), "--period", month, "--out", out,
                           "--quiet", "--format", "html,pdf", "--history", tmp_path / "h.sqlite")
    assert code == 0 and f"warning: {line}" in err and "It is not recorded in the history" in err
    # the month so far would stand for the whole month in next month's comparisons: it is not recorded
    assert History(tmp_path / "h.sqlite").count() == 0
    html = (out / str(month) / f"customer-success-report-{month}.html").read_text()
    assert f'<div class="period">{heading}</div>' in html and line in html
    code, _, err = run_cli("email", "--period", month, "--out", out, "--to", "ceo@example.com", "--dry-run")
    assert code == 0, err
    msg = email.message_from_bytes((out / str(month) / f"customer-success-report-{month}.eml").read_bytes(),
                                   policy=email.policy.default)
    assert heading in msg["Subject"]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert text.splitlines()[0].endswith(f"— {heading}") and line in text
