"""The ``alerts`` table and its outbox ``alert_deliveries``: an alert raised or resolved queues one
notification per channel in the same transaction; delivery marks them sent, failed or given up."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: quick reads (status, search) do not load sqlite_utils
    from sqlite_utils import Database

from storage.db import first_row, marks


@dataclass(frozen=True)
class AlertChange:
    """Open an alert of ``kind`` saying ``message``; or, with ``alert_id``, resolve that open alert."""

    kind: str
    message: str = ""
    alert_id: int | None = None

    @property
    def raises(self) -> bool:
        return self.alert_id is None


def open_alert(db: Database, source: str, kind: str) -> dict[str, Any] | None:
    return first_row(db, "select * from alerts where source = ? and kind = ? and resolved_at is null",
                     [source, kind])


def open_alerts(db: Database, source: str | None = None) -> list[dict[str, Any]]:
    where, params = ("and source = ?", [source]) if source else ("", [])
    return list(db.query(f"select * from alerts where resolved_at is null {where} order by source, id",
                         params))


def raise_alert(db: Database, source: str, kind: str, run_id: int | None, message: str, now: str,
                channels: list[str]) -> int | None:
    """Open an alert and queue its notification on each channel; None if one of this kind is open."""
    try:
        with db.atomic():  # a savepoint when inside a larger transaction
            cur = db.execute(
                "insert into alerts (source, run_id, kind, message, raised_at) values (?, ?, ?, ?, ?)",
                [source, run_id, kind, message, now])
            alert_id = int(cur.lastrowid or 0)
            _queue(db, alert_id, "raised", channels, now)
    except sqlite3.IntegrityError:  # alerts_one_open: another process raised it first
        return None
    return alert_id


def resolve_alert(db: Database, alert_id: int, now: str, channels: list[str]) -> bool:
    with db.atomic():
        cur = db.execute("update alerts set resolved_at = ? where id = ? and resolved_at is null",
                         [now, alert_id])
        if cur.rowcount:
            _queue(db, alert_id, "resolved", channels, now)
    return cur.rowcount > 0


def apply_changes(db: Database, source: str, run_id: int | None, changes: list[AlertChange], now: str,
                  channels: list[str]) -> list[int | None]:
    """Raise and resolve alerts with their notifications, all in the caller's transaction (or one of its
    own). Returns per change the alert's id, None where another process got there first."""
    done: list[int | None] = []
    with db.atomic():
        for change in changes:
            if change.alert_id is None:
                done.append(raise_alert(db, source, change.kind, run_id, change.message, now, channels))
            else:
                done.append(change.alert_id if resolve_alert(db, change.alert_id, now, channels) else None)
    return done


def _queue(db: Database, alert_id: int, event: str, channels: list[str], now: str) -> None:
    for channel in channels:
        db.execute("insert into alert_deliveries (alert_id, event, channel, created_at, next_attempt_at) "
                   "values (?, ?, ?, ?, ?)", [alert_id, event, channel, now, now])


# ---------------------------------------------------------------- the outbox


def due_deliveries(db: Database, channel: str, now: str) -> list[dict[str, Any]]:
    """Notifications waiting on ``channel`` whose next attempt is due, oldest first, with their alert."""
    return list(db.query(
        """select d.id as delivery_id, d.event, d.attempts, a.id as alert_id, a.source, a.kind, a.message,
                  a.run_id, a.raised_at, a.resolved_at
           from alert_deliveries d join alerts a on a.id = d.alert_id
           where d.channel = ? and d.delivered_at is null and d.gave_up_at is null
             and d.next_attempt_at <= ?
           order by d.id""", [channel, now]))


def mark_delivered(db: Database, ids: list[int], now: str) -> None:
    with db.atomic():
        db.execute(f"update alert_deliveries set delivered_at = ?, attempts = attempts + 1 "
                   f"where id in ({marks(ids)})", [now, *ids])


def mark_failed(db: Database, ids: list[int], error: str, next_attempt_at: str | None, now: str) -> None:
    """One more failed attempt; retried at ``next_attempt_at``, or given up when it is None."""
    with db.atomic():
        db.execute(f"update alert_deliveries set attempts = attempts + 1, last_error = ?, "
                   f"next_attempt_at = coalesce(?, next_attempt_at), "
                   f"gave_up_at = case when ? is null then ? end where id in ({marks(ids)})",
                   [error, next_attempt_at, next_attempt_at, now, *ids])
