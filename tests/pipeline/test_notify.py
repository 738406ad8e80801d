"""Alert delivery: a webhook on 127.0.0.1 and a local SMTP server; failures are logged and retried later."""

import logging
import socket
import socketserver
import threading
from datetime import timedelta
from email import message_from_bytes

import pytest

from pipeline.ops import delivery as notify
from pipeline.ops.health import check_run
from storage.db import open_db
from storage.runs import get_run
from tests.ops import SLUG, T0, Webhook, add_run, config_for, pub
from tests.support import query

HOOK_ENV = "SGN_TEST_WEBHOOK_URL"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "n.db")
    yield database
    database.close()


@pytest.fixture
def hook():
    receiver = Webhook()
    yield receiver
    receiver.close()


def webhook_config(tmp_path, **alerts):
    return config_for(tmp_path, alerts={"webhook_url_env": HOOK_ENV, **alerts})


def fail_then_recover(config, db):
    """A failed run (alert raised) at T0, a good one (alert resolved) a day later."""
    first = add_run(db, T0, status="failed", items=0, message="HTTP 500: https://www.gov.uk/api/search.json")
    check_run(config, db, get_run(db, first), T0 + MINUTE)
    second = add_run(db, T0 + timedelta(days=1), items=1, pubs=[pub(1)])
    check_run(config, db, get_run(db, second), T0 + timedelta(days=1, minutes=2))
    return first, second


def deliveries(tmp_path):
    return query(tmp_path / "n.db", "select * from alert_deliveries order by id")


def test_raised_and_resolved_alerts_are_posted_once(tmp_path, db, hook):
    config = webhook_config(tmp_path)
    first, _ = fail_then_recover(config, db)
    env = {HOOK_ENV: hook.url}
    assert notify.deliver_due(config, db, lambda: T0 + timedelta(days=2), env) == {"delivered": 2, "failed": 0}
    [body] = hook.received
    assert body["text"].splitlines() == [
        f"safeguarding-news: 1 alert(s) raised, 1 resolved ({SLUG})",
        f"ALERT {SLUG} run_failed: run {first} failed: HTTP 500: https://www.gov.uk/api/search.json",
        f"RESOLVED {SLUG} run_failed (raised 2026-03-02T06:01:00Z): run {first} failed: HTTP 500: "
        "https://www.gov.uk/api/search.json",
    ]
    assert [(e["event"], e["source"], e["kind"], e["run_id"]) for e in body["events"]] == [
        ("raised", SLUG, "run_failed", first), ("resolved", SLUG, "run_failed", first)]
    assert body["events"][1]["resolved_at"] == "2026-03-03T06:02:00Z"
    assert hook.paths == ["/hooks/secret-token"]
    assert all(d["delivered_at"] == "2026-03-04T06:00:00Z" and d["attempts"] == 1 for d in deliveries(tmp_path))
    assert notify.deliver_due(config, db, lambda: T0 + timedelta(days=3), env) == {"delivered": 0, "failed": 0}
    assert len(hook.received) == 1


def test_failing_webhook_is_retried_later_with_growing_delays(tmp_path, db, caplog):
    hook = Webhook(statuses=[500, 503])
    try:
        config = webhook_config(tmp_path, retry_minutes=5)
        fail_then_recover(config, db)
        env = {HOOK_ENV: hook.url}
        start = T0 + timedelta(days=2)
        assert notify.deliver_due(config, db, lambda: start, env) == {"delivered": 0, "failed": 2}
        assert {(d["attempts"], d["next_attempt_at"], d["last_error"]) for d in deliveries(tmp_path)} == {
            (1, "2026-03-04T06:05:00Z", f"webhook at 127.0.0.1:{hook.server.server_port} answered HTTP 500")}
        assert "alert delivery by webhook failed (attempt 1 of 12, retry at 2026-03-04T06:05:00Z)" in caplog.text
        assert "secret-token" not in caplog.text, "the URL may carry a token: only its host is logged"
        assert notify.deliver_due(config, db, lambda: start + 4 * MINUTE, env)["failed"] == 0, "not yet due"
        assert notify.deliver_due(config, db, lambda: start + 5 * MINUTE, env)["failed"] == 2
        assert deliveries(tmp_path)[0]["next_attempt_at"] == "2026-03-04T06:15:00Z", "5 min, then 10"
        assert notify.deliver_due(config, db, lambda: start + 15 * MINUTE, env)["delivered"] == 2
        assert len(hook.received) == 3 and hook.received[0] == hook.received[2]
    finally:
        hook.close()


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_webhook_or_missing_secret_is_logged_never_raised(tmp_path, db, caplog):
    config = webhook_config(tmp_path)
    fail_then_recover(config, db)
    now = T0 + timedelta(days=2)
    env = {HOOK_ENV: f"http://127.0.0.1:{_closed_port()}/x"}
    assert notify.deliver_due(config, db, lambda: now, env) == {"delivered": 0, "failed": 2}
    assert "unreachable" in deliveries(tmp_path)[0]["last_error"]
    later = now + timedelta(hours=1)
    assert notify.deliver_due(config, db, lambda: later, {})["failed"] == 2
    assert deliveries(tmp_path)[0]["last_error"] == f"webhook: environment variable {HOOK_ENV} is not set"


def test_delivery_gives_up_after_max_attempts(tmp_path, db, caplog):
    config = webhook_config(tmp_path, max_attempts=2)
    fail_then_recover(config, db)
    now = T0 + timedelta(days=2)
    for hours in (0, 1, 2):
        notify.deliver_due(config, db, lambda h=hours: now + timedelta(hours=h), {})
    assert [(d["attempts"], d["gave_up_at"]) for d in deliveries(tmp_path)] == [(2, "2026-03-04T07:00:00Z")] * 2
    assert "attempt 2 of 2, giving up" in caplog.text


def test_unexpected_error_in_delivery_is_logged_and_swallowed(tmp_path, db, monkeypatch, caplog):
    config = webhook_config(tmp_path)
    fail_then_recover(config, db)

    def broken(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(notify, "send_webhook", broken)
    assert notify.deliver_due(config, db, lambda: T0 + timedelta(days=2), {HOOK_ENV: "http://x"}) == {
        "delivered": 0, "failed": 0}
    assert "failed unexpectedly" in caplog.text
    assert all(d["delivered_at"] is None for d in deliveries(tmp_path)), "kept for the next attempt"


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        self.wfile.write(b"220 localhost test SMTP\r\n")
        while line := self.rfile.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                self.server.messages.append(data)
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.server.commands.append(line.decode().strip())
                self.wfile.write(b"250 OK\r\n")


def test_email_is_sent_over_smtp(tmp_path, db):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages, server.commands = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = config_for(tmp_path, alerts={"email": {
            "smtp_host": "127.0.0.1", "smtp_port": server.server_address[1], "security": "none",
            "sender": "pipeline@example.org", "recipients": ["ops@example.org", "lead@example.org"]}})
        first, _ = fail_then_recover(config, db)
        assert notify.deliver_due(config, db, lambda: T0 + timedelta(days=2), {}) == {"delivered": 2, "failed": 0}
    finally:
        server.shutdown()
        server.server_close()
    assert [c.upper() for c in server.commands[:3]] == [
        "MAIL FROM:<PIPELINE@EXAMPLE.ORG>", "RCPT TO:<OPS@EXAMPLE.ORG>", "RCPT TO:<LEAD@EXAMPLE.ORG>"]
    [raw] = server.messages
    mail = message_from_bytes(raw)
    assert mail["Subject"] == f"safeguarding-news: 1 alert(s) raised, 1 resolved ({SLUG})"
    assert mail.get_payload().startswith(f"ALERT {SLUG} run_failed: run {first} failed")


def test_email_password_comes_from_the_environment(tmp_path, db):
    config = config_for(tmp_path, alerts={"email": {
        "smtp_host": "127.0.0.1", "smtp_port": _closed_port(), "username": "u", "password_env": "SGN_TEST_PW",
        "sender": "a@example.org", "recipients": ["b@example.org"]}})
    fail_then_recover(config, db)
    assert notify.deliver_due(config, db, lambda: T0 + timedelta(days=2), {})["failed"] == 2
    assert deliveries(tmp_path)[0]["last_error"] == "e-mail: environment variable SGN_TEST_PW is not set"


def test_no_channel_configured_sends_nothing(tmp_path, db, caplog):
    caplog.set_level(logging.INFO)
    config = config_for(tmp_path)
    fail_then_recover(config, db)
    assert notify.channels(config) == []
    assert notify.deliver_due(config, db, lambda: T0, {}) == {"delivered": 0, "failed": 0}
