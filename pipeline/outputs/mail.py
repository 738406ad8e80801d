"""The digest as an e-mail: multipart/alternative with the digest as plain text and the HTML page,
a Subject naming the period, Date, a stable Message-ID per period and recipient, and List-Unsubscribe."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from pipeline.outputs.digest import digest_html, digest_text, period_text
from pipeline.outputs.period import Period
from pipeline.outputs.present import StoryView

MAILER = "safeguarding-news"


def message_id(period: Period, recipient: str, sender: str) -> str:
    """The same id for the same period and recipient, however often it is built: a resent copy (after a
    crash between sending and recording it) is recognisable as the same message."""
    key = f"{period.start.isoformat() if period.start else ''}|{period.end.isoformat() if period.end else ''}|"
    digest = hashlib.sha256((key + recipient.lower()).encode("utf-8")).hexdigest()[:24]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "safeguarding-news.invalid"
    return f"<digest.{digest}@{domain}>"


def subject_text(template: str, period: Period, views: list[StoryView]) -> str:
    stories = "1 story" if len(views) == 1 else f"{len(views)} stories"
    text = template.replace("{period}", period_text(period)).replace("{stories}", stories)
    return " ".join(text.split())  # no header injection through a newline


def unsubscribe_header(target: str) -> str:
    return f"<{target.strip()}>" if target.strip() else ""


def digest_message(views: list[StoryView], period: Period, *, sender: str, recipient: str, subject: str,
                   unsubscribe: str, now: datetime, group_by_topic: bool = False) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject_text(subject, period, views)
    msg["From"] = sender if "<" in sender else formataddr(("Safeguarding digest", sender))
    msg["To"] = recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(period, recipient, sender)
    if header := unsubscribe_header(unsubscribe):
        msg["List-Unsubscribe"] = header
        if unsubscribe.strip().startswith("https:"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Mailer"] = MAILER
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(digest_text(views, period, group_by_topic), subtype="plain", charset="utf-8")
    msg.add_alternative(digest_html(views, period, group_by_topic), subtype="html", charset="utf-8")
    return msg
