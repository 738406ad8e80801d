"""The digest e-mail end to end against real SMTP servers (aiosmtpd) started here: delivered once and only
once per period and recipient; a server that refuses connections, one that drops the connection, a
rejected recipient, and a sending process killed mid-send all resume without duplicates."""

import asyncio
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml
from aiosmtpd.controller import Controller

from pipeline.config import load_config
from tests.pipeline.outputs_data import NOW, build_db
from tests.support import CONFIG, ROOT, query, run_cli

pytestmark = pytest.mark.e2e
RECIPIENTS = ["a@example.org", "b@example.org"]
DECEMBER = ("--since", "2024-12-01", "--until", "2024-12-31")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """A handler that keeps what it accepts; ``reject`` refuses a recipient, ``drop_after`` closes the
    connection at the DATA of the message after that many, ``hang_after`` keeps it waiting instead."""

    def __init__(self, reject=(), drop_after=None, hang_after=None):
        self.messages = []
        self.reject = set(reject)
        self.drop_after = drop_after
        self.hang_after = hang_after
        self.hanging = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_after is not None and len(self.messages) >= self.drop_after:
            session.transport.close()
            return "421 closing"
        if self.hang_after is not None and len(self.messages) >= self.hang_after:
            self.hanging.set()
            await asyncio.sleep(60)
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                                 policy=email.policy.default)))
        return "250 Message accepted"

    def to(self, address):
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def server():
    started = []

    def start(handler, port=None):
        controller = Controller(handler, hostname="127.0.0.1", port=port or free_port())
        controller.start()
        started.append(controller)
        return handler

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.clock.system_clock", lambda: NOW)
    db = build_db(tmp_path / "t.db")
    port = free_port()
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["topics_file"] = str(ROOT / "topics.yaml")
    data["digest"] = {"schedule": "0 7 * * mon", "timezone": "Europe/London",
                      "unsubscribe": "mailto:unsubscribe@example.org",
                      "email": {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none",
                                "sender": "digest@example.org", "recipients": RECIPIENTS}}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert run_cli("topics", "reassign", "--db", str(db), "--config", str(config)).exit_code == 0
    return db, config, port


def send(db, config, *extra):
    return run_cli("digest", "--send", *DECEMBER, *extra, "--db", str(db), "--config", str(config))


def outbox(db):
    return {r["recipient"]: r for r in query(db, "select * from digest_deliveries")}


def test_sent_once_to_each_recipient_as_a_proper_multipart_message(setup, server):
    db, config, port = setup
    inbox = server(Inbox(), port)
    first = send(db, config)
    assert first.exit_code == 0, first.output
    assert "sent the digest (2 stories) to 2 recipients" in first.stderr
    again = send(db, config)
    assert again.exit_code == 0 and "already sent for this period to 2 recipients" in again.stderr
    assert [rcpt for rcpt, _ in inbox.messages] == [["a@example.org"], ["b@example.org"]]
    msg = inbox.to("a@example.org")[0]
    assert msg["Subject"] == "Safeguarding digest: 01 December 2024 to 31 December 2024"
    assert msg["To"] == "a@example.org" and "digest@example.org" in msg["From"]
    assert msg["Date"] and msg["Message-ID"].startswith("<digest.") and msg["Message-ID"].endswith("@example.org>")
    assert msg["List-Unsubscribe"] == "<mailto:unsubscribe@example.org>"
    assert msg.get_content_type() == "multipart/alternative"
    plain, page = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    # the topic heading over each story, then its title, sources and dates
    plain = plain.replace("\r\n", "\n")
    assert re.search(r"\n\n[A-Z ,]+\n\nChild safeguarding incidents\n-+\n\n"
                     r"Source: Child Safeguarding Practice Review Panel · Date published: 12 December 2024", plain)
    # nothing escaped in plain text, links written out
    assert "Findings on neglect & abuse: <img src=x onerror=alert(1)>" in plain and "\\&" not in plain
    assert "Read the report: Annual report <PDF> & annex <https://assets.publishing.service.gov.uk/r.pdf>" in plain
    assert "<!DOCTYPE html>" in page and '<p class="topic">' in page and "<h2>Child safeguarding incidents</h2>" in page
    assert msg["Message-ID"] != inbox.to("b@example.org")[0]["Message-ID"]
    rows = outbox(db)
    assert all(r["sent_at"] and r["attempts"] == 1 for r in rows.values())


def test_a_server_that_refuses_connections_then_comes_up(setup, server):
    db, config, port = setup
    refused = send(db, config)  # nothing listens on the port
    assert refused.exit_code == 1 and refused.stderr.startswith("error: cannot reach 127.0.0.1:")
    assert refused.stderr.count("\n") == 1
    assert all(r["sent_at"] is None and r["attempts"] == 1 for r in outbox(db).values())
    inbox = server(Inbox(), port)
    assert send(db, config).exit_code == 0
    assert len(inbox.messages) == 2


def test_a_dropped_connection_resumes_with_those_still_waiting(setup, server):
    db, config, port = setup
    dropping = server(Inbox(drop_after=1), port)
    dropped = send(db, config)
    assert dropped.exit_code == 1 and "digest not sent to 1 of 2 recipients (sent now to 1)" in dropped.stderr
    assert [rcpt for rcpt, _ in dropping.messages] == [["a@example.org"]]
    dropping.drop_after = None
    assert send(db, config).exit_code == 0
    assert [rcpt for rcpt, _ in dropping.messages] == [["a@example.org"], ["b@example.org"]]  # a: once


def test_a_rejected_recipient_is_recorded_and_the_others_get_it(setup, server):
    db, config, port = setup
    inbox = server(Inbox(reject={"b@example.org"}), port)
    result = send(db, config)
    assert result.exit_code == 1 and "b@example.org refused by the server: 550" in result.stderr
    assert [rcpt for rcpt, _ in inbox.messages] == [["a@example.org"]]
    rows = outbox(db)
    assert rows["a@example.org"]["sent_at"] and rows["b@example.org"]["sent_at"] is None
    assert "mailbox unavailable" in rows["b@example.org"]["last_error"]
    for _ in range(5):  # tried again by each send, given up after 5 attempts in all
        send(db, config)
    assert outbox(db)["b@example.org"]["attempts"] == 5 and send(db, config).exit_code == 0
    assert len(inbox.messages) == 1


def test_a_sending_process_killed_mid_send_resumes_without_duplicates(setup, server):
    db, config, port = setup
    inbox = server(Inbox(hang_after=1), port)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "digest", "--send", *DECEMBER, "--db", str(db),
                             "--config", str(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert inbox.hanging.wait(60), proc.stderr.read() if proc.poll() is not None else "no second message"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [rcpt for rcpt, _ in inbox.messages] == [["a@example.org"]]
    inbox.hang_after = None
    resumed = send(db, config)
    assert resumed.exit_code == 0, resumed.output
    assert [rcpt for rcpt, _ in inbox.messages] == [["a@example.org"], ["b@example.org"]]


def test_preview_writes_the_message_and_sends_nothing(setup, tmp_path):
    db, config, _ = setup
    out = tmp_path / "weekly.eml"
    result = run_cli("digest", "--preview", str(out), *DECEMBER, "--group-by-topic", "--db", str(db),
                     "--config", str(config))
    assert result.exit_code == 0, result.output
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "a@example.org" and msg["List-Unsubscribe"] and msg["Message-ID"]
    assert {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}
    assert outbox(db) == {}


def test_send_without_email_settings_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.clock.system_clock", lambda: NOW)
    db = build_db(tmp_path / "t.db")
    result = run_cli("digest", "--send", "--db", str(db), "--config", str(CONFIG))
    assert result.exit_code == 2 and result.stderr.startswith("error: digest.email is not set")


def test_the_scheduler_job_sends_the_past_week_once(setup, server):
    from apscheduler.schedulers.background import BackgroundScheduler

    from pipeline.ops.scheduler import CrawlScheduler

    db, config_path, port = setup
    inbox = server(Inbox(), port)
    scheduler = CrawlScheduler(load_config(config_path, db_override=str(db)), str(db),
                               scheduler_cls=BackgroundScheduler)
    scheduler.add_jobs()
    job = scheduler.scheduler.get_job("digest")
    assert job is not None and "day_of_week='mon'" in str(job.trigger) and "hour='7'" in str(job.trigger)
    assert str(job.trigger.timezone) == "Europe/London"
    assert scheduler.send_digest() == 0  # a process of its own, on the real clock: the past 7 whole days
    assert scheduler.send_digest() == 0  # the same period again: nothing sent
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == RECIPIENTS
    rows = query(db, "select period_start, period_end from digest_deliveries")
    assert len(rows) == 2 and len({(r["period_start"], r["period_end"]) for r in rows}) == 1
    start, end = rows[0]["period_start"], rows[0]["period_end"]
    days = (time.mktime(time.strptime(end, "%Y-%m-%dT%H:%M:%SZ"))
            - time.mktime(time.strptime(start, "%Y-%m-%dT%H:%M:%SZ"))) / 86400
    assert round(days) == 7
