"""Health rules over the runs history: each raises its alert and resolves it when the source recovers."""

import logging
from datetime import timedelta

import pytest

from pipeline.ops.health import check_run, check_runs
from storage.db import open_db
from storage.runs import get_run
from tests.ops import SLUG, T0, add_run, config_for, pub
from tests.support import query

DAY = timedelta(days=1)


@pytest.fixture
def config(tmp_path):
    return config_for(tmp_path)


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "h.db")
    yield database
    database.close()


def run_and_judge(config, db, day, **run):
    """A run on day ``day`` after T0, judged an hour after it started."""
    run_id = add_run(db, T0 + day * DAY, **run)
    return run_id, check_run(config, db, get_run(db, run_id), T0 + day * DAY + timedelta(hours=1))


def alerts(db, kind=None):
    rows = list(db.query("select * from alerts order by id"))
    return [a for a in rows if kind is None or a["kind"] == kind]


def open_kinds(db):
    return sorted(a["kind"] for a in alerts(db) if a["resolved_at"] is None)


def history(config, db, runs=3, items=10, **run):
    for day in range(runs):
        run_and_judge(config, db, day, items=items, pubs=[pub(n) for n in range(items)], **run)


def test_failed_run_raises_and_next_good_run_resolves(config, db, caplog):
    caplog.set_level(logging.INFO, "pipeline.ops.health")
    failed, verdicts = run_and_judge(config, db, 0, status="failed", items=0, message="HTTP 500: https://x")
    assert verdicts["run_failed"] == f"run {failed} failed: HTTP 500: https://x"
    assert verdicts["zero_items"] is None, "no earlier run had items: nothing to compare with"
    [alert] = alerts(db)
    assert (alert["source"], alert["kind"], alert["run_id"], alert["resolved_at"]) == (SLUG, "run_failed", failed,
                                                                                       None)
    assert alert["raised_at"] == "2026-03-02T07:00:00Z"
    assert f"ALERT {SLUG} run_failed: run {failed} failed" in caplog.text

    run_and_judge(config, db, 1, status="failed", items=0)
    assert len(alerts(db)) == 1, "one open alert per source and kind, not one per run"

    run_and_judge(config, db, 2, items=3, pubs=[pub(1)])
    assert alerts(db, "run_failed")[0]["resolved_at"] == "2026-03-04T07:00:00Z"
    assert f"RESOLVED {SLUG} run_failed" in caplog.text
    assert open_kinds(db) == []


def test_zero_items_after_runs_with_items(config, db):
    history(config, db)
    _, verdicts = run_and_judge(config, db, 3, items=0)
    assert verdicts["zero_items"].endswith("found no items; earlier runs found up to 10")
    assert open_kinds(db) == ["zero_items"]
    _, verdicts = run_and_judge(config, db, 4, items=0, unchanged=10, full=False)
    assert verdicts["zero_items"] is False, "an incremental run that saw everything unchanged is healthy"
    assert open_kinds(db) == []


def test_zero_items_counts_each_publication_once(config, db):
    # full walks that parsed 10 publications, all unchanged: `unchanged` counts the same 10 as `items`
    history(config, db, items=10, unchanged=10, stats={"sgn/unchanged_unparsed": 0})
    _, verdicts = run_and_judge(config, db, 3, items=0, stats={"sgn/unchanged_unparsed": 0})
    assert verdicts["zero_items"].endswith("found no items; earlier runs found up to 10")
    # an incremental run that saw 10 unchanged without parsing them found 10
    _, verdicts = run_and_judge(config, db, 4, items=0, unchanged=10, full=False,
                                stats={"sgn/unchanged_unparsed": 10})
    assert verdicts["zero_items"] is False


def test_items_below_a_fraction_of_the_median(config, db):
    history(config, db, items=20)
    _, verdicts = run_and_judge(config, db, 3, items=9, pubs=[pub(n) for n in range(9)])
    assert "found 9 items, below 50% of the median of the last 3 full walks (20)" in verdicts["low_items"]
    assert open_kinds(db) == ["low_items"]
    _, verdicts = run_and_judge(config, db, 4, items=2, full=False)
    assert verdicts["low_items"] is None, "an incremental run fetches only what is new: not compared"
    assert open_kinds(db) == ["low_items"]
    _, verdicts = run_and_judge(config, db, 5, items=10, pubs=[pub(n) for n in range(10)])
    assert verdicts["low_items"] is False
    assert open_kinds(db) == []


def test_low_items_needs_enough_history_and_uses_the_configured_fraction(tmp_path, db):
    config = config_for(tmp_path, health={"min_items_fraction": 0.8, "min_history_runs": 4})
    history(config, db, items=20)
    _, verdicts = run_and_judge(config, db, 3, items=9)
    assert verdicts["low_items"] is None
    _, verdicts = run_and_judge(config, db, 4, items=15)
    assert "below 80% of the median of the last 4 full walks" in verdicts["low_items"]


def test_no_new_publication_for_n_days(config, db):
    run_and_judge(config, db, 0, items=2, pubs=[pub(1), pub(2)])
    _, verdicts = run_and_judge(config, db, 30, items=2, pubs=[pub(1), pub(2)])
    assert verdicts["stale"] is False
    _, verdicts = run_and_judge(config, db, 61, items=2, pubs=[pub(1), pub(2)])
    assert verdicts["stale"].startswith("no new publication found for 61 days (since 2026-03-02T06:00:30Z")
    assert open_kinds(db) == ["stale"]
    _, verdicts = run_and_judge(config, db, 62, items=3, pubs=[pub(1), pub(2), pub(3)])
    assert verdicts["stale"] is False and open_kinds(db) == []


def test_stale_is_judged_by_when_the_pipeline_found_it_not_its_publication_date(tmp_path, db):
    config = config_for(tmp_path, source={"health": {"stale_days": 10}})
    old = [pub(n, published="2019-05-01") for n in range(3)]
    _, verdicts = run_and_judge(config, db, 0, items=3, pubs=old)
    assert verdicts["stale"] is False, "first seen today, however old the publication"
    _, verdicts = run_and_judge(config, db, 11, items=3, pubs=old)
    assert "threshold 10 days" in verdicts["stale"]


def test_source_that_never_stored_anything_goes_stale(config, db):
    run_and_judge(config, db, 0, items=0)
    _, verdicts = run_and_judge(config, db, 61, items=0)
    assert verdicts["stale"].startswith("no publication found at all for 61 days")


def test_http_failure_rate_above_threshold(config, db):
    _, verdicts = run_and_judge(config, db, 0, items=5, pages=10, http={"404": 2})
    assert verdicts["http_errors"] is False, "2 of 10 is the threshold, not above it"
    _, verdicts = run_and_judge(config, db, 1, items=5, pages=10, http={"500": 4, "TimeoutError": 2})
    assert verdicts["http_errors"] == "6 of 12 requests failed (50%, threshold 20%): 500×4, TimeoutError×2"
    assert open_kinds(db) == ["http_errors"]
    _, verdicts = run_and_judge(config, db, 2, items=0, pages=0, status="failed")
    assert verdicts["http_errors"] is None, "nothing was requested: cannot tell"
    assert "http_errors" in open_kinds(db)
    _, verdicts = run_and_judge(config, db, 3, items=5, pages=10)
    assert verdicts["http_errors"] is False and "http_errors" not in open_kinds(db)


@pytest.mark.parametrize(("field", "kind", "label"), [
    ({"summary": ""}, "low_summary_coverage", "a summary"),
    ({"published": ""}, "low_date_coverage", "a publication date"),
])
def test_falling_field_coverage(config, db, field, kind, label):
    history(config, db, items=10)
    assert query_coverage(db) == [(1.0, 1.0)] * 3
    bare = [pub(n, **field) if n < 6 else pub(n) for n in range(10)]
    run_id, verdicts = run_and_judge(config, db, 3, items=10, pubs=bare)
    assert verdicts[kind] == (f"only 40% of the items of run {run_id} have {label} "
                              "(median of the last 3 full walks: 100%)")
    assert open_kinds(db) == [kind]
    run_and_judge(config, db, 4, items=10, pubs=[pub(n) for n in range(10)])
    assert open_kinds(db) == []


def query_coverage(db):
    return [(r["date_coverage"], r["summary_coverage"]) for r in db.query("select * from runs order by id")]


def test_coverage_is_measured_on_full_walks_with_enough_items(config, db):
    run_and_judge(config, db, 0, items=3, pubs=[pub(n) for n in range(3)])
    run_and_judge(config, db, 1, items=10, full=False, pubs=[pub(n, summary="") for n in range(10)])
    run_and_judge(config, db, 2, items=10, pubs=[pub(n, summary="") for n in range(10)])
    assert query_coverage(db) == [(None, None), (None, None), (1.0, 0.0)]


def test_interrupted_runs_are_not_judged(config, db):
    run_and_judge(config, db, 0, status="failed", items=0)
    run_id = add_run(db, T0 + DAY, status="interrupted", items=0)
    check_runs(config, db, [run_id], lambda: T0 + 2 * DAY)
    assert open_kinds(db) == ["run_failed"], "an interrupted run says nothing about the source"


def test_after_run_step_logs_one_summary_line_per_run(config, db, caplog):
    caplog.set_level(logging.INFO, "pipeline.ops.health")
    first = add_run(db, T0, items=3, pages=5, http={"404": 1})
    second = add_run(db, T0 + DAY, status="failed", items=0, pages=4, http={"500": 4})
    check_runs(config, db, [first, second], lambda: T0 + 2 * DAY)
    lines = [r for r in caplog.records if r.getMessage().startswith("run ")]
    assert [r.getMessage() for r in lines] == [
        f"run {first} {SLUG} ok in 60s: pages=5 items=3 new=0 updated=0 unchanged=0 invalid=0 duplicates=0 "
        'skipped=0 errors=0 http_errors={"404":1}',
        f"run {second} {SLUG} failed in 60s: pages=4 items=0 new=0 updated=0 unchanged=0 invalid=0 "
        'duplicates=0 skipped=0 errors=0 http_errors={"500":4}',
    ]
    assert lines[1].levelno == logging.WARNING
    assert lines[1].run["status"] == "failed" and lines[1].run["http_errors"] == {"500": 4}


def test_alerts_are_queued_for_each_configured_channel(tmp_path, db):
    config = config_for(tmp_path, alerts={"webhook_url_env": "SGN_TEST_HOOK", "email": {
        "smtp_host": "127.0.0.1", "sender": "a@example.org", "recipients": ["b@example.org"]}})
    run_and_judge(config, db, 0, status="failed", items=0)
    run_and_judge(config, db, 1, items=1, pubs=[pub(1)])
    rows = [(r["event"], r["channel"]) for r in db.query("select * from alert_deliveries order by id")]
    assert rows == [("raised", "webhook"), ("raised", "email"), ("resolved", "webhook"), ("resolved", "email")]


def test_nothing_is_queued_without_a_channel(config, db):
    run_and_judge(config, db, 0, status="failed", items=0)
    assert list(db.query("select * from alert_deliveries")) == []


def test_one_open_alert_per_source_and_kind_is_enforced_by_the_database(tmp_path, db):
    import sqlite3

    db.execute("insert into alerts (source, kind, message, raised_at) values ('s', 'k', 'm', 't')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("insert into alerts (source, kind, message, raised_at) values ('s', 'k', 'm2', 't')")
    assert query(tmp_path / "h.db", "pragma integrity_check")[0]["integrity_check"] == "ok"


def test_fallback_extraction_raises_and_a_clean_run_resolves(config, db):
    run_id, verdicts = run_and_judge(config, db, 0, stats={"sgn/fallback_used": 3})
    assert verdicts["fallback_used"].startswith(f"the generic extractor filled the title or date of 3 page(s) in run "
                                                f"{run_id}")
    assert open_kinds(db) == ["fallback_used"]
    _, verdicts = run_and_judge(config, db, 1)
    assert verdicts["fallback_used"] is False and open_kinds(db) == []
