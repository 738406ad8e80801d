"""Issue 22, secrets: a webhook URL with userinfo or a token never reaches a log, a table or an error;
basic-auth webhook URLs are delivered with an Authorization header; a value that is not a URL is refused
at config load and, if it appears later, is a one-line delivery error (no traceback)."""

import base64
import json
import logging
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.config import ConfigError, load_config
from pipeline.items.redact import loggable_url, redact, secrets_of_url, url_problem, without_secrets
from pipeline.ops import delivery
from pipeline.ops.health import check_run
from storage.db import open_db
from storage.runs import get_run
from tests.ops import T0, add_run, config_for, write_config
from tests.support import query

HOOK_ENV = "SGN_TEST_SECRET_HOOK"
MINUTE = timedelta(minutes=1)
PASSWORD = "s3cr3t-pa55word"
TOKEN = "T000/B000/XXXXsecrettoken"


class Receiver:
    """A webhook on 127.0.0.1 that keeps each request's path, headers and body; answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                receiver.requests.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "n.db")
    yield database
    database.close()


def raise_alert(tmp_path, db):
    config = config_for(tmp_path, alerts={"webhook_url_env": HOOK_ENV})
    run = add_run(db, T0, status="failed", items=0, message="HTTP 500: https://www.gov.uk/api/search.json")
    check_run(config, db, get_run(db, run), T0 + MINUTE)
    return config


def stored_errors(tmp_path):
    return [d["last_error"] for d in query(tmp_path / "n.db", "select last_error from alert_deliveries")]


def leaked(text: str) -> list[str]:
    return [s for s in (PASSWORD, "alice", TOKEN, "secrettoken") if s in text]


def test_basic_auth_webhook_is_delivered_with_an_authorization_header(tmp_path, db, caplog):
    caplog.set_level(logging.DEBUG)
    hook = Receiver()
    try:
        config = raise_alert(tmp_path, db)
        env = {HOOK_ENV: f"http://alice:{PASSWORD}@127.0.0.1:{hook.port}/hooks/{TOKEN}?x=1"}
        assert delivery.deliver_due(config, db, lambda: T0 + MINUTE * 2, env) == {"delivered": 1, "failed": 0}
    finally:
        hook.close()
    [(path, headers, body)] = hook.requests
    assert path == f"/hooks/{TOKEN}?x=1"
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert body["events"][0]["kind"] == "run_failed"
    assert leaked(caplog.text) == []


@pytest.mark.parametrize("status", [None, 500])
def test_a_failing_basic_auth_webhook_leaks_nothing_to_the_log_or_the_table(tmp_path, db, caplog, status):
    """Before: ``webhook at alice:<password>@host unreachable`` in the log and in alert_deliveries."""
    if status:
        hook = Receiver(status)
        port = hook.port
    else:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    try:
        config = raise_alert(tmp_path, db)
        env = {HOOK_ENV: f"http://alice:{PASSWORD}@127.0.0.1:{port}/hooks/{TOKEN}"}
        assert delivery.deliver_due(config, db, lambda: T0 + MINUTE * 2, env)["failed"] == 1
    finally:
        if status:
            hook.close()
    [error] = stored_errors(tmp_path)
    expected = "answered HTTP 500" if status else "unreachable"
    assert error.startswith(f"webhook at 127.0.0.1:{port} {expected}")
    assert leaked(error) == [] and leaked(caplog.text) == []


@pytest.mark.parametrize("value", ["not a url", "hooks.example.org/T0/B0/secrettoken", "ftp://h/secrettoken",
                                   "http://alice:pw@host:notaport/secrettoken", f"https://h/{TOKEN} x"])
def test_a_webhook_value_that_is_not_a_url_is_a_one_line_error_without_the_value(tmp_path, db, caplog, value):
    """Before: ValueError('unknown url type: ...') as a traceback in the log, with the value in it."""
    config = raise_alert(tmp_path, db)
    assert delivery.deliver_due(config, db, lambda: T0 + MINUTE * 2, {HOOK_ENV: value})["failed"] == 1
    [error] = stored_errors(tmp_path)
    assert error.startswith("webhook: the URL ")
    assert "Traceback" not in caplog.text
    assert "secrettoken" not in caplog.text and "secrettoken" not in error
    assert "failed unexpectedly" not in caplog.text


def test_a_webhook_value_that_is_not_a_url_is_refused_at_config_load(tmp_path, monkeypatch):
    path = write_config(tmp_path, alerts={"webhook_url_env": HOOK_ENV})
    monkeypatch.setenv(HOOK_ENV, "hooks.example.org/secrettoken")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}: alerts.webhook_url_env: environment variable {HOOK_ENV} "
                                 "is not an absolute http(s) URL")
    monkeypatch.setenv(HOOK_ENV, f"https://alice:{PASSWORD}@hooks.example.org/{TOKEN}")
    assert load_config(path).alerts.webhook_url_env == HOOK_ENV, "basic auth is allowed"


def test_an_unexpected_failure_is_logged_with_its_secrets_masked(tmp_path, db, monkeypatch, caplog):
    config = raise_alert(tmp_path, db)

    def broken(settings, events, env):
        raise RuntimeError(f"bug while posting to {env[HOOK_ENV]}")

    monkeypatch.setattr(delivery, "send_webhook", broken)
    env = {HOOK_ENV: f"https://alice:{PASSWORD}@hooks.example.org/hooks/{TOKEN}"}
    assert delivery.deliver_due(config, db, lambda: T0 + MINUTE * 2, env) == {"delivered": 0, "failed": 0}
    assert "failed unexpectedly" in caplog.text and "RuntimeError: bug while posting to ***" in caplog.text
    assert leaked(caplog.text) == []


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://alice:pw@x.org/a?b=1", "https://x.org/a?b=1"),
        ("https://x.org/a?token=abc&page=2&X-Amz-Signature=f00", "https://x.org/a?page=2"),
        ("https://bob@x.org:8443/r?sessionid=1", "https://x.org:8443/r"),
        ("https://x.org/plain?page=2#f", "https://x.org/plain?page=2#f"),
        ("http://[::1]:80/a?key=z", "http://[::1]:80/a"),
    ],
)
def test_without_secrets(url, clean):
    assert without_secrets(url) == clean


def test_redaction_helpers():
    url = f"https://alice:{PASSWORD}@hooks.example.org/hooks/{TOKEN}"
    assert loggable_url(url) == "hooks.example.org"
    assert loggable_url("not a url") == "(not a URL)"
    text = f"failed: {url} ({PASSWORD}, {TOKEN.replace('/', '%2F')})"
    assert leaked(redact(text, secrets_of_url(url))) == []
    assert redact("a b", ["a"]) == "a b", "values too short to be secrets are left alone"
    assert url_problem(url) is None and url_problem("mailto:x@y") == "is not an absolute http(s) URL"

