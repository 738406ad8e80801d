"""``digest --send`` and ``--preview``: the digest built as an e-mail (``pipeline.outputs.mail``) and sent
through the outbox (``pipeline.ops.digest_mail``), or written to a file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import click

from pipeline.config import Config, ConfigError
from pipeline.items.dates import iso
from pipeline.items.topics import Vocabulary
from pipeline.outputs.period import Period
from storage.queries import Story


def weekly_period(config: Config, now: datetime) -> Period:
    """The period an e-mail covers when no --since/--until is given: ``digest.days`` whole days ending at
    the start of today in ``digest.timezone``. The same whatever the hour it runs, so a run that is
    repeated (after a crash, or by hand) finds the period already in the outbox."""
    from pipeline.schedules import zone

    tz = zone(config.digest.timezone)
    end = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    return Period(end - timedelta(days=config.digest.days), end)


def mail_digest(config: Config, database: Any, period: Period, stories: list[Story],
                member_topics: Mapping[str, Sequence[Mapping[str, Any]]], vocabulary: Vocabulary,
                group_by_topic: bool, now: datetime, preview: str | None) -> None:
    from pipeline.outputs.mail import digest_message, message_id
    from pipeline.outputs.present import organisations, present

    mail = config.digest.email
    if mail is None:
        raise ConfigError("digest.email is not set in config.yaml: give smtp_host, sender and recipients "
                          "(docs/analysts.md#the-weekly-e-mail-digest---send)")
    names = organisations(config)
    views = [present(s, names, member_topics, vocabulary) for s in stories]
    if group_by_topic:
        from pipeline.outputs.digest import grouped

        views = grouped(views, vocabulary)

    def build(recipient: str, msg_id: str) -> EmailMessage:
        msg = digest_message(views, period, sender=mail.sender, recipient=recipient, subject=config.digest.subject,
                             unsubscribe=config.digest.unsubscribe, now=now, group_by_topic=group_by_topic)
        msg.replace_header("Message-ID", msg_id)
        return msg

    if preview is not None:
        import sys

        from pipeline.outputs.files import output

        first = mail.recipients[0]
        with output(preview, sys.stdout.buffer) as stream:
            stream.write(build(first, message_id(period, first, mail.sender)).as_string())
        click.echo(f"wrote the digest e-mail ({len(views)} stories, to {first}) to {preview}", err=True)
        return

    from pipeline.ops.digest_mail import DigestMailError, send_period
    from storage.db import StorageError

    key = (iso(period.start) if period.start else "", iso(period.end) if period.end else "")
    try:
        result = send_period(database, mail, key, build, lambda r: message_id(period, r, mail.sender), iso(now))
    except DigestMailError as exc:
        raise StorageError(str(exc)) from None  # exit status 1: the outbox keeps who is still waiting
    if result.sent:
        click.echo(f"sent the digest ({len(views)} stories) to {len(result.sent)} recipients", err=True)
    if result.already:
        click.echo(f"already sent for this period to {len(result.already)} recipients: not sent again", err=True)
