"""The after-run health check's one read and one write. It spans tables (runs, publications, alerts),
so it composes their modules: the check reads a :class:`RunSnapshot`, decides in pure code, and writes its
outcome (the run's field coverage, alerts raised and resolved, their notifications) in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from storage import alerts, publications, runs


@dataclass(frozen=True)
class RunSnapshot:
    """All a health check needs to know about one run, read at once."""

    run: dict[str, Any]
    history: list[dict[str, Any]]  # earlier runs that stored what they found, newest first
    coverage: dict[str, int]  # publications the run saw (``seen``), ``with_date``, ``with_summary``
    newest_first_seen: str | None
    first_run_started: str | None
    open_alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind → the open alert


def read_snapshot(db: Database, run_id: int, history_runs: int) -> RunSnapshot | None:
    run = runs.get_run(db, run_id)
    if run is None:
        return None
    source = run["source"]
    coverage = {"seen": 0, "with_date": 0, "with_summary": 0}
    if run["finished_at"]:
        coverage = runs.coverage_counts(db, source, run["started_at"], run["finished_at"])
    return RunSnapshot(
        run=run, history=runs.earlier_runs(db, source, run_id, history_runs), coverage=coverage,
        newest_first_seen=publications.newest_first_seen(db, source),
        first_run_started=runs.first_run_started(db, source),
        open_alerts={a["kind"]: a for a in alerts.open_alerts(db, source)})


def write_outcome(db: Database, run: dict[str, Any], coverage: tuple[float | None, float | None],
                  changes: list[alerts.AlertChange], now: str, channels: list[str]) -> list[int | None]:
    """Keep the run's coverage and apply the alert changes, in one transaction; returns the alert ids."""
    with db.atomic():
        runs.set_run_coverage(db, run["id"], *coverage)
        return alerts.apply_changes(db, run["source"], run["id"], changes, now, channels)
