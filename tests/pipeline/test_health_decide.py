"""The health check's decisions as pure code: a snapshot and settings in, verdicts and alert changes out,
no database (pipeline.ops.health.decide)."""

import json
from datetime import UTC, datetime

from pipeline.config import HealthSettings
from pipeline.ops.health import coverage_shares, decide
from storage.alerts import AlertChange
from storage.checks import RunSnapshot

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
SETTINGS = HealthSettings()


def run(n: int, status: str = "ok", items: int = 10, **kw: object) -> dict:
    return {"id": n, "source": "s", "status": status, "started_at": "2026-03-02T06:00:00Z",
            "finished_at": "2026-03-02T06:01:00Z", "pages": items + 1, "items": items, "unchanged": 0,
            "http_errors": "{}", "stats": json.dumps({"sgn/full_walk": 1}), "message": "", **kw}


def snapshot(current: dict, history: list[dict] | None = None, open_alerts: dict | None = None,
             seen: tuple[int, int, int] = (0, 0, 0)) -> RunSnapshot:
    return RunSnapshot(run=current, history=history or [], newest_first_seen="2026-03-01T00:00:00Z",
                       coverage=dict(zip(("seen", "with_date", "with_summary"), seen, strict=True)),
                       first_run_started="2026-01-01T00:00:00Z", open_alerts=open_alerts or {})


def test_a_failed_run_raises_one_alert_and_nothing_else():
    outcome = decide(snapshot(run(4, status="failed", message="boom"), [run(3), run(2), run(1)]), SETTINGS, NOW)
    assert outcome.changes == [AlertChange("run_failed", "run 4 failed: boom")]
    assert outcome.verdicts["zero_items"] is False and outcome.verdicts["stale"] is False


def test_a_healthy_run_resolves_the_open_alerts_of_the_rules_it_passes_and_keeps_the_undecided():
    open_alerts = {"run_failed": {"id": 7, "message": "run 3 failed", "raised_at": "x", "run_id": 3},
                   "low_items": {"id": 8, "message": "low", "raised_at": "x", "run_id": 3}}
    outcome = decide(snapshot(run(4), open_alerts=open_alerts), SETTINGS, NOW)
    # low_items cannot tell without history: its alert stays open
    assert outcome.verdicts["low_items"] is None
    assert outcome.changes == [AlertChange("run_failed", "run 3 failed", alert_id=7)]
    assert not outcome.changes[0].raises


def test_an_alert_already_open_is_not_raised_again():
    open_alerts = {"run_failed": {"id": 7, "message": "run 3 failed", "raised_at": "x", "run_id": 3}}
    outcome = decide(snapshot(run(4, status="failed"), open_alerts=open_alerts), SETTINGS, NOW)
    assert outcome.changes == []


def test_coverage_is_kept_for_full_walks_with_enough_items_only():
    assert coverage_shares(run(1), {"seen": 8, "with_date": 6, "with_summary": 2}, SETTINGS) == (0.75, 0.25)
    assert coverage_shares(run(1), {"seen": 4, "with_date": 4, "with_summary": 4}, SETTINGS) == (None, None)
    incremental = run(1, stats=json.dumps({"sgn/full_walk": 0}))
    assert coverage_shares(incremental, {"seen": 8, "with_date": 8, "with_summary": 8}, SETTINGS) == (None, None)


def test_a_coverage_drop_against_the_history_raises_its_alert():
    history = [run(n, date_coverage=1.0) for n in (3, 2, 1)]
    outcome = decide(snapshot(run(4), history, seen=(10, 5, 10)), SETTINGS, NOW)
    assert outcome.coverage == (0.5, 1.0)
    assert [c.kind for c in outcome.changes] == ["low_date_coverage"]
