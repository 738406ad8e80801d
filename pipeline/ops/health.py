"""Health checks after every run, from the ``runs`` history: alerts raised and resolved in ``alerts``.

Each rule looks at the run just finished and the source's earlier runs and answers one of three ways: a
problem (open an alert of its kind unless one is open), healthy (resolve the open one), or cannot tell
(too little history, nothing fetched): the alert, if any, stays as it is. Interrupted runs are not judged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlite_utils import Database

from pipeline.clock import Clock
from pipeline.config import Config, HealthSettings
from pipeline.items.dates import iso, parse_iso
from pipeline.ops import delivery
from storage import checks, runs
from storage.alerts import AlertChange
from storage.checks import RunSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    run: dict[str, Any]
    history: list[dict[str, Any]]  # earlier runs that stored what they found, newest first
    settings: HealthSettings
    now: datetime
    newest_first_seen: str | None
    first_run_started: str | None


Verdict = str | bool | None  # a problem (its message), False for healthy, None for "cannot tell"
Rule = Callable[[Context], Verdict]


def found(run: dict[str, Any]) -> int:
    """Publications a run saw: parsed items, plus, in an incremental run, those it saw unchanged without
    parsing them (a 304, a listing date not newer than the stored one). Zero only when it saw nothing."""
    # `unchanged` also counts parsed items found unchanged, which are among `items` already: only those
    # seen unchanged without parsing (recorded since the run stats kept them) are added to `items`.
    unparsed = json.loads(run.get("stats") or "{}").get("sgn/unchanged_unparsed")
    if unparsed is not None:
        return (run["items"] or 0) + int(unparsed)
    return max(run["items"] or 0, run["unchanged"] or 0)


def full_walk(run: dict[str, Any]) -> bool:
    """A run that fetched and parsed every page (runs before incremental crawling were all full walks).
    Counts and field coverage are compared between full walks only: an incremental run fetches only what
    is new, so its counts say nothing about what the site holds."""
    return json.loads(run.get("stats") or "{}").get("sgn/full_walk", 1) == 1


def run_failed(ctx: Context) -> Verdict:
    run = ctx.run
    return f"run {run['id']} failed: {run['message'] or 'no message'}" if run["status"] == "failed" else False


def zero_items(ctx: Context) -> Verdict:
    if found(ctx.run):
        return False
    best = max((found(r) for r in ctx.history), default=0)
    if not best:
        return None
    return f"run {ctx.run['id']} found no items; earlier runs found up to {best}"


def low_items(ctx: Context) -> Verdict:
    counts = [r["items"] for r in ctx.history if r["items"] and full_walk(r)]
    if not ctx.run["items"] or not full_walk(ctx.run) or len(counts) < ctx.settings.min_history_runs:
        return None
    usual = median(counts)
    if ctx.run["items"] >= ctx.settings.min_items_fraction * usual:
        return False
    return (f"run {ctx.run['id']} found {ctx.run['items']} items, below "
            f"{ctx.settings.min_items_fraction:.0%} of the median of the last {len(counts)} full walks ({usual:g})")


def stale(ctx: Context) -> Verdict:
    since = ctx.newest_first_seen or ctx.first_run_started
    if since is None:
        return None
    age = ctx.now - parse_iso(since)
    if age <= timedelta(days=ctx.settings.stale_days):
        return False
    what = "no new publication found" if ctx.newest_first_seen else "no publication found at all"
    return f"{what} for {age.days} days (since {since}; threshold {ctx.settings.stale_days:g} days)"


def http_failures(ctx: Context) -> Verdict:
    counts: dict[str, int] = json.loads(ctx.run["http_errors"] or "{}")
    failed = sum(counts.values())
    no_response = sum(v for k, v in counts.items() if not k.isdigit())
    attempts = (ctx.run["pages"] or 0) + no_response
    if not attempts:
        return None
    rate = failed / attempts
    if rate <= ctx.settings.max_http_failure_rate:
        return False
    detail = ", ".join(f"{k}×{v}" for k, v in sorted(counts.items()))
    return (f"{failed} of {attempts} requests failed ({rate:.0%}, threshold "
            f"{ctx.settings.max_http_failure_rate:.0%}): {detail}")


def fallback_used(ctx: Context) -> Verdict:
    """Pages whose title or date the source's own parsing no longer finds (the generic extractor filled
    them): the first sign of a redesign, before items are lost."""
    pages = json.loads(ctx.run.get("stats") or "{}").get("sgn/fallback_used", 0)
    if not pages:
        return False
    return (f"the generic extractor filled the title or date of {pages} page(s) in run {ctx.run['id']}: "
            f"the site's markup may have changed (see the crawl log for the URLs)")


def _coverage_rule(column: str, label: str) -> Rule:
    def rule(ctx: Context) -> Verdict:
        share = ctx.run.get(column)
        usual_shares = [r[column] for r in ctx.history if r.get(column) is not None]
        if share is None or len(usual_shares) < ctx.settings.min_history_runs:
            return None
        usual = median(usual_shares)
        if share >= usual - ctx.settings.max_coverage_drop:
            return False
        return (f"only {share:.0%} of the items of run {ctx.run['id']} have {label} "
                f"(median of the last {len(usual_shares)} full walks: {usual:.0%})")

    rule.__name__ = f"low_{column}"
    return rule


RULES: dict[str, Rule] = {
    "run_failed": run_failed,
    "zero_items": zero_items,
    "low_items": low_items,
    "stale": stale,
    "http_errors": http_failures,
    "low_date_coverage": _coverage_rule("date_coverage", "a publication date"),
    "low_summary_coverage": _coverage_rule("summary_coverage", "a summary"),
    "fallback_used": fallback_used,
}


# ---------------------------------------------------------------- deciding (pure)


@dataclass(frozen=True)
class Outcome:
    """What a check decided for one run: its field coverage, each rule's verdict, the alert changes."""

    coverage: tuple[float | None, float | None]  # date_coverage, summary_coverage
    verdicts: dict[str, Verdict]
    changes: list[AlertChange]


def coverage_shares(run: dict[str, Any], counts: dict[str, int], settings: HealthSettings
                    ) -> tuple[float | None, float | None]:
    """Share of the publications a full walk saw with a date and with a summary, kept with the run."""
    if not run["finished_at"] or not full_walk(run) or counts["seen"] < settings.min_coverage_items:
        return None, None
    return round(counts["with_date"] / counts["seen"], 4), round(counts["with_summary"] / counts["seen"], 4)


def decide(snapshot: RunSnapshot, settings: HealthSettings, now: datetime) -> Outcome:
    """Judge one finished run from what was read about it: no database, no clock."""
    coverage = coverage_shares(snapshot.run, snapshot.coverage, settings)
    run = {**snapshot.run, "date_coverage": coverage[0], "summary_coverage": coverage[1]}
    ctx = Context(run=run, history=snapshot.history, settings=settings, now=now,
                  newest_first_seen=snapshot.newest_first_seen, first_run_started=snapshot.first_run_started)
    verdicts = {kind: rule(ctx) for kind, rule in RULES.items()}
    changes = []
    for kind, verdict in verdicts.items():
        current = snapshot.open_alerts.get(kind)
        if isinstance(verdict, str) and current is None:
            changes.append(AlertChange(kind, verdict))
        elif verdict is False and current is not None:
            changes.append(AlertChange(kind, current["message"], alert_id=current["id"]))
    return Outcome(coverage, verdicts, changes)


# ---------------------------------------------------------------- the after-run step


def check_runs(config: Config, db: Database, run_ids: list[int], clock: Clock) -> None:
    """After-run step (pipeline.ops.runner.after_runs): a summary line per run, its health checks, then
    delivery of the notifications they queued."""
    for run_id in run_ids:
        run = runs.get_run(db, run_id)
        if run is None:
            continue
        log_summary(run)
        if run["status"] in ("running", "interrupted"):
            log.info("%s: run %d is %s; health not checked", run["source"], run_id, run["status"])
            continue
        check_run(config, db, run, clock())
    delivery.deliver_due(config, db, clock)


def check_run(config: Config, db: Database, run: dict[str, Any], now: datetime) -> dict[str, Verdict]:
    """Judge one finished run: read once, decide, write once; returns each rule's verdict."""
    settings = config.health_for(run["source"])
    snapshot = checks.read_snapshot(db, run["id"], settings.history_runs)
    if snapshot is None:
        return {}
    outcome = decide(snapshot, settings, now)
    ids = checks.write_outcome(db, snapshot.run, outcome.coverage, outcome.changes, iso(now),
                               delivery.channels(config))
    for change, alert_id in zip(outcome.changes, ids, strict=True):
        _log_change(snapshot, change, alert_id)
    return outcome.verdicts


def _log_change(snapshot: RunSnapshot, change: AlertChange, alert_id: int | None) -> None:
    run = snapshot.run
    fields = {"source": run["source"], "kind": change.kind, "run_id": run["id"]}
    if change.raises:
        log.warning("ALERT %s %s: %s", run["source"], change.kind, change.message,
                    extra={"alert": {**fields, "id": alert_id, "event": "raised", "message": change.message}})
        return
    current = snapshot.open_alerts[change.kind]
    log.info("RESOLVED %s %s (raised %s by run %s)", run["source"], change.kind, current["raised_at"],
             current["run_id"], extra={"alert": {**fields, "id": current["id"], "event": "resolved"}})


# ---------------------------------------------------------------- the run's summary line

SUMMARY_FIGURES = ("pages", "items", "new", "updated", "unchanged", "invalid", "duplicates", "skipped",
                   "errors")


def log_summary(run: dict[str, Any]) -> None:
    """One line per run with its figures (and, in JSON logs, the same figures as fields)."""
    seconds = None
    if run["finished_at"]:
        seconds = int((parse_iso(run["finished_at"]) - parse_iso(run["started_at"])).total_seconds())
    figures = {k: run.get(k) or 0 for k in SUMMARY_FIGURES}
    http = json.loads(run.get("http_errors") or "{}")
    text = " ".join(f"{k}={v}" for k, v in figures.items())
    took = f" in {seconds}s" if seconds is not None else ""
    level = logging.INFO if run["status"] == "ok" else logging.WARNING
    log.log(level, "run %d %s %s%s: %s http_errors=%s", run["id"], run["source"], run["status"], took, text,
            json.dumps(http, sort_keys=True, separators=(",", ":")),
            extra={"run": {"id": run["id"], "source": run["source"], "status": run["status"],
                           "started_at": run["started_at"], "finished_at": run["finished_at"],
                           "seconds": seconds, **figures, "http_errors": http, "door": run.get("door"),
                           "message": run.get("message")}})
