"""``digest_deliveries``: the outbox of the weekly digest e-mail, one row per period and recipient, so that
a period is sent to each recipient at most once and a send that stopped half-way resumes where it was."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def queue(db: Database, period_start: str, period_end: str, recipients: list[str], message_ids: dict[str, str],
          now: str) -> None:
    """One row per recipient for this period, unless it already has one (sent or not)."""
    with db.atomic():
        for recipient in recipients:
            db.execute("insert or ignore into digest_deliveries (period_start, period_end, recipient, message_id, "
                       "created_at) values (?, ?, ?, ?, ?)",
                       [period_start, period_end, recipient, message_ids[recipient], now])


def pending(db: Database, period_start: str, period_end: str, max_attempts: int) -> list[dict[str, Any]]:
    """Rows of this period not sent yet, and not given up on (``max_attempts`` failed attempts)."""
    return list(db.query("select * from digest_deliveries where period_start = ? and period_end = ? "
                         "and sent_at is null and attempts < ? order by id",
                         [period_start, period_end, max_attempts]))


def for_period(db: Database, period_start: str, period_end: str) -> list[dict[str, Any]]:
    return list(db.query("select * from digest_deliveries where period_start = ? and period_end = ? order by id",
                         [period_start, period_end]))


def mark_sent(db: Database, delivery_id: int, now: str) -> None:
    with db.atomic():
        db.execute("update digest_deliveries set sent_at = ?, attempts = attempts + 1, last_error = '' "
                   "where id = ?", [now, delivery_id])


def mark_failed(db: Database, delivery_id: int, error: str) -> None:
    with db.atomic():
        db.execute("update digest_deliveries set attempts = attempts + 1, last_error = ? where id = ?",
                   [error, delivery_id])
