"""Alert notifications: a webhook (JSON POST, Slack-compatible ``text``) and e-mail over SMTP.

Raising or resolving an alert queues one delivery per configured channel (``alert_deliveries``, written in
the same transaction as the alert). ``deliver_due`` sends what is due, one message per channel; a failure
is logged and retried later with a growing delay, and never propagates: the scheduler keeps going.
Secrets (the webhook URL, the SMTP password) come from environment variables named in config.yaml.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import smtplib
import ssl
import traceback
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlite_utils import Database

from pipeline.clock import Clock, system_clock
from pipeline.config import AlertSettings, Config
from pipeline.items.dates import iso
from pipeline.items.redact import loggable_url, redact, secrets_of_url, url_problem
from storage import alerts

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = timedelta(hours=6)


class DeliveryError(Exception):
    """A notification could not be delivered; phrased for the log, without secrets."""


def channels(config: Config) -> list[str]:
    """The channels alerts are queued for: those configured, whether or not their secret is set now."""
    settings = config.alerts
    return [name for name, on in (("webhook", settings.webhook_url_env), ("email", settings.email)) if on]


def deliver_due(config: Config, db: Database, clock: Clock = system_clock,
                env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Send every due notification; returns how many were delivered and failed. Never raises."""
    env = os.environ if env is None else env
    figures = {"delivered": 0, "failed": 0}
    for channel in channels(config):
        try:
            _deliver_channel(config.alerts, channel, db, clock, env, figures)
        except Exception as exc:  # delivery must never stop a crawl or the scheduler
            trace = redact("".join(traceback.format_exception(exc)), known_secrets(config.alerts, env))
            log.error("alert delivery by %s failed unexpectedly; it will be retried\n%s", channel, trace.rstrip())
    return figures


def known_secrets(settings: AlertSettings, env: Mapping[str, str]) -> list[str]:
    """Every secret value delivery may hold (the webhook URL and its parts, the SMTP password): masked in
    whatever is logged or stored."""
    found: list[str] = []
    if settings.webhook_url_env and env.get(settings.webhook_url_env):
        found += secrets_of_url(env[settings.webhook_url_env])
    if settings.email and settings.email.password_env and env.get(settings.email.password_env):
        found.append(env[settings.email.password_env])
    return found


def _deliver_channel(settings: AlertSettings, channel: str, db: Database, clock: Clock, env: Mapping[str, str],
                     figures: dict[str, int]) -> None:
    now = clock()
    due = alerts.due_deliveries(db, channel, iso(now))
    if not due:
        return
    ids = [d["delivery_id"] for d in due]
    try:
        send = send_webhook if channel == "webhook" else send_email
        send(settings, due, env)
    except DeliveryError as failure:
        exc = redact(str(failure), known_secrets(settings, env))
        attempts = max(d["attempts"] for d in due) + 1
        retry = None if attempts >= settings.max_attempts else now + retry_delay(settings, attempts)
        alerts.mark_failed(db, ids, exc, iso(retry) if retry else None, iso(now))
        figures["failed"] += len(ids)
        when = f"retry at {iso(retry)}" if retry else "giving up"
        log.error("alert delivery by %s failed (attempt %d of %d, %s): %s", channel, attempts,
                  settings.max_attempts, when, exc)
        return
    alerts.mark_delivered(db, ids, iso(now))
    figures["delivered"] += len(ids)
    log.info("alert delivery by %s: %d notification(s) sent", channel, len(ids))


def retry_delay(settings: AlertSettings, attempts: int) -> timedelta:
    """``retry_minutes``, doubled after each failed attempt, at most six hours."""
    return min(timedelta(minutes=settings.retry_minutes * 2 ** (attempts - 1)), MAX_RETRY_DELAY)


# ---------------------------------------------------------------- the message


def _line(event: dict) -> str:
    if event["event"] == "resolved":
        return f"RESOLVED {event['source']} {event['kind']} (raised {event['raised_at']}): {event['message']}"
    return f"ALERT {event['source']} {event['kind']}: {event['message']}"


def summary(events: list[dict]) -> str:
    raised = sum(e["event"] == "raised" for e in events)
    sources = sorted({e["source"] for e in events})
    parts = [f"{raised} alert(s) raised" if raised else "", f"{len(events) - raised} resolved"
             if len(events) > raised else ""]
    return f"safeguarding-news: {', '.join(p for p in parts if p)} ({', '.join(sources)})"


def payload(events: list[dict]) -> dict:
    fields = ("event", "alert_id", "source", "kind", "message", "run_id", "raised_at", "resolved_at")
    return {"text": "\n".join([summary(events), *map(_line, events)]),
            "events": [{k: e[k] for k in fields} for e in events]}


# ---------------------------------------------------------------- channels


def _secret(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "")
    if not value:
        raise DeliveryError(f"{what}: environment variable {name} is not set")
    return value


def webhook_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL to POST to, without its userinfo, and the headers that carry it (HTTP basic auth);
    DeliveryError (naming no part of the URL) when the value is not an absolute http(s) URL."""
    problem = url_problem(url)
    if problem:
        raise DeliveryError(f"webhook: the URL {problem}")
    parts = urlsplit(url.strip())
    port, hostname = parts.port, parts.hostname or ""
    headers: dict[str, str] = {}
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        host = f"[{hostname}]" if ":" in hostname else hostname
        netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), headers


def send_webhook(settings: AlertSettings, events: list[dict], env: Mapping[str, str]) -> None:
    secret = _secret(env, settings.webhook_url_env, "webhook")
    url, auth = webhook_target(secret)
    host = loggable_url(url)  # the URL itself may carry a token or a password: only its host is ever shown
    body = json.dumps(payload(events)).encode("utf-8")
    try:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "safeguarding-news alerts", **auth})
        with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook at {host} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(redact(f"webhook at {host} unreachable: {reason}", secrets_of_url(secret))) from None


def send_email(settings: AlertSettings, events: list[dict], env: Mapping[str, str]) -> None:
    mail = settings.email
    assert mail is not None
    message = EmailMessage()
    message["Subject"] = summary(events)
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message.set_content("\n".join(map(_line, events)) + "\n")
    password = _secret(env, mail.password_env, "e-mail") if mail.password_env else ""
    smtp_class = smtplib.SMTP_SSL if mail.security == "ssl" else smtplib.SMTP
    try:
        with smtp_class(mail.smtp_host, mail.smtp_port, timeout=settings.timeout_seconds) as smtp:
            if mail.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if mail.username:
                smtp.login(mail.username, password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"e-mail via {mail.smtp_host}:{mail.smtp_port} failed: {exc}") from None
