"""Sending the digest e-mail through its outbox (``digest_deliveries``): each period goes to each recipient
at most once. The rows are queued first; each recipient's row is marked sent as soon as the server has
accepted that message, so a run stopped half-way (a crash, a dropped connection) resumes with the
recipients still waiting, and a period already sent is not sent again. The one window left — the server
accepted the message and the process died before the row was written — resends that one message with
the same Message-ID, which mail clients treat as the same message.

The message itself is built by the caller (``pipeline.outputs.mail``); this module only speaks SMTP.
The password comes from the environment variable named by ``password_env``, never from config.yaml.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlite_utils import Database

from pipeline.config import ConfigError, EmailSettings
from storage import digests

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # a recipient the server keeps refusing is given up on after this many tries
TIMEOUT_SECONDS = 30.0


class DigestMailError(Exception):
    """The digest could not be sent to every recipient (the outbox keeps who is still waiting)."""


@dataclass
class SendResult:
    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # sent for this period before
    failed: dict[str, str] = field(default_factory=dict)  # recipient → error


def password(mail: EmailSettings, env: Mapping[str, str]) -> str:
    if not mail.password_env:
        return ""
    value = env.get(mail.password_env, "")
    if not value:
        raise ConfigError(f"digest.email.password_env names {mail.password_env}, which is not set in the environment")
    return value


def send_period(db: Database, mail: EmailSettings, period_key: tuple[str, str],
                build: Callable[[str, str], EmailMessage], message_id: Callable[[str], str], now: str,
                env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_SECONDS,
                tls_context: ssl.SSLContext | None = None) -> SendResult:
    """Queue the period for every recipient, then send what is waiting. ``build(recipient, message_id)``
    makes a recipient's message. Raises ``DigestMailError`` (after recording it) when any is left unsent."""
    env = os.environ if env is None else env
    start, end = period_key
    recipients = list(dict.fromkeys(mail.recipients))
    digests.queue(db, start, end, recipients, {r: message_id(r) for r in recipients}, now)
    result = SendResult()
    waiting = digests.pending(db, start, end, MAX_ATTEMPTS)
    waiting_for = {row["recipient"] for row in waiting}
    result.already = [r["recipient"] for r in digests.for_period(db, start, end) if r["sent_at"]]
    if not waiting:
        return result
    secret = password(mail, env)
    try:
        smtp = _connect(mail, timeout, tls_context)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"cannot reach {mail.smtp_host}:{mail.smtp_port}: {_reason(exc)}"
        for row in waiting:
            digests.mark_failed(db, row["id"], error)
        raise DigestMailError(error) from None
    try:
        if mail.username:
            smtp.login(mail.username, secret)
        for row in waiting:
            recipient = row["recipient"]
            try:
                smtp.send_message(build(recipient, row["message_id"]), from_addr=mail.sender, to_addrs=[recipient])
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()), (0, b""))
                error = f"{recipient} refused by the server: {code} {_text(text)}"
                digests.mark_failed(db, row["id"], error)
                result.failed[recipient] = error
                continue
            except smtplib.SMTPResponseException as exc:
                error = f"{recipient}: the server answered {exc.smtp_code} {_text(exc.smtp_error)}"
                digests.mark_failed(db, row["id"], error)
                result.failed[recipient] = error
                if exc.smtp_code == 421:  # the server is closing the connection: the rest wait for next time
                    break
                continue
            digests.mark_sent(db, row["id"], now)
            result.sent.append(recipient)
            log.info("digest %s to %s sent to %s", start, end, recipient)
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPException, OSError) as exc:
        error = f"{mail.smtp_host}:{mail.smtp_port} failed mid-send: {_reason(exc)}"
        for row in waiting:
            if row["recipient"] not in result.sent and row["recipient"] not in result.failed:
                digests.mark_failed(db, row["id"], error)
                result.failed[row["recipient"]] = error
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    if result.failed:
        left = [r for r in waiting_for if r not in result.sent]
        raise DigestMailError(f"digest not sent to {len(left)} of {len(recipients)} recipients "
                              f"(sent now to {len(result.sent)}); {next(iter(result.failed.values()))}")
    return result


def _connect(mail: EmailSettings, timeout: float, tls_context: ssl.SSLContext | None) -> smtplib.SMTP:
    context = tls_context or ssl.create_default_context()
    if mail.security == "ssl":
        return smtplib.SMTP_SSL(mail.smtp_host, mail.smtp_port, timeout=timeout, context=context)
    smtp = smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=timeout)
    if mail.security == "starttls":
        smtp.starttls(context=context)
    return smtp


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
