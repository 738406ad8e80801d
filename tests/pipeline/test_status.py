"""`status`: per-source health against the schedule, with an injected clock."""

from datetime import timedelta

import pytest

from pipeline.items.dates import iso
from pipeline.ops.health import check_run
from pipeline.ops.status import age_text, source_status
from storage.db import open_db
from storage.runs import get_run, start_run
from tests.ops import SLUG, T0, add_run, config_for, pub, write_config
from tests.support import run_cli

HOUR = timedelta(hours=1)


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "st.db")
    yield database
    database.close()


def entry(config, db, now):
    [only] = source_status(config, db, now)
    return only


def test_recent_success_is_healthy_with_its_age_and_new_publications(tmp_path, db):
    config = config_for(tmp_path)
    add_run(db, T0 - timedelta(days=10), items=2, pubs=[pub(1), pub(2)])
    add_run(db, T0, items=3, pubs=[pub(1), pub(2), pub(3)])
    e = entry(config, db, T0 + 5 * HOUR)
    assert (e["status"], e["healthy"], e["overdue"], e["problems"]) == ("ok", True, False, [])
    assert (e["last_success"], e["last_success_age"], e["last_success_age_seconds"]) == (
        "2026-03-02T06:01:00Z", "4h 59m", 4 * 3600 + 59 * 60)
    assert (e["items"], e["stored"], e["new_7d"], e["schedule"]) == (3, 3, 1, "cron 0 6 * * *")


def test_no_success_since_the_last_scheduled_run_is_overdue(tmp_path, db):
    config = config_for(tmp_path)
    add_run(db, T0, items=3)
    # the next day's 06:00 run should have succeeded by 06:00 + jitter 5 min + time limit 30 min + 1 h
    assert entry(config, db, T0 + timedelta(days=1, hours=1, minutes=30))["healthy"]
    late = entry(config, db, T0 + timedelta(days=1, hours=1, minutes=40))
    assert (late["overdue"], late["healthy"]) == (True, False)
    assert late["problems"] == ["overdue: no successful run since 2026-03-03T06:00:00Z"]
    assert late["last_success_age"] == "1d 1h"


def test_interval_schedule_overdue_after_interval_and_allowance(tmp_path, db):
    config = config_for(tmp_path, source={"schedule": {"interval_hours": 6}}, health={"overdue_grace_hours": 0},
                        scheduler={"jitter_seconds": 0}, crawl={"timeout_seconds": 600})
    add_run(db, T0, items=3)
    assert not entry(config, db, T0 + 6 * HOUR + timedelta(minutes=9))["overdue"]
    assert entry(config, db, T0 + 6 * HOUR + timedelta(minutes=11))["overdue"]


def test_failed_last_finished_run_is_unhealthy_even_while_the_next_runs(tmp_path, db):
    config = config_for(tmp_path)
    add_run(db, T0, items=3)
    add_run(db, T0 + timedelta(days=1), status="failed", items=0)
    start_run(db, SLUG, iso(T0 + timedelta(days=1, minutes=30)), pid=None)  # a manual retry
    e = entry(config, db, T0 + timedelta(days=1, hours=1))  # not overdue yet
    assert (e["status"], e["healthy"]) == ("running", False)
    assert e["problems"] == ["its last finished run failed"]


def test_interrupted_run_after_a_success_is_healthy(tmp_path, db):
    config = config_for(tmp_path)
    add_run(db, T0, items=3)
    add_run(db, T0 + HOUR, status="interrupted", items=1)
    e = entry(config, db, T0 + 2 * HOUR)
    assert (e["status"], e["healthy"]) == ("interrupted", True)


def test_open_alerts_make_a_source_unhealthy_and_are_listed(tmp_path, db):
    config = config_for(tmp_path)
    run_id = add_run(db, T0, status="partial", items=5, pages=10, http={"500": 5})
    check_run(config, db, get_run(db, run_id), T0 + HOUR)
    e = entry(config, db, T0 + HOUR)
    assert (e["healthy"], e["open_alerts"]) == (False, 1)
    assert e["problems"] == ["1 open alert(s): http_errors"]
    assert e["alerts"][0]["kind"] == "http_errors" and e["alerts"][0]["run_id"] == run_id


def test_a_source_that_never_ran_is_listed_and_overdue_only_once_it_should_have_run(tmp_path, db):
    config = config_for(tmp_path)
    e = entry(config, db, T0)
    assert (e["status"], e["healthy"], e["stored"]) == ("never run", True, 0)
    db.execute("insert into runs (source, started_at, status) values ('other', ?, 'ok')", [iso(T0)])
    entries = source_status(config, db, T0 + timedelta(days=1, hours=2))
    assert [x["source"] for x in entries] == ["other", SLUG], "sources with runs first, then the others"
    assert entries[1]["problems"] == ["overdue: no successful run scheduled for 2026-03-03T06:00:00Z"]
    assert entries[0]["schedule"] == "" and entries[0]["healthy"], "not in config: not judged by schedule"


def test_disabled_source_is_not_overdue(tmp_path, db):
    config = config_for(tmp_path, source={"enabled": False})
    add_run(db, T0, items=3)
    assert entry(config, db, T0 + timedelta(days=30))["healthy"]


def test_age_text():
    assert [age_text(s) for s in (None, 5, 65, 3700, 90000)] == ["", "5s", "1m", "1h 01m", "1d 1h"]


def test_status_of_a_missing_database_is_an_error_not_an_empty_healthy_answer(tmp_path):
    result = run_cli("status", "--db", str(tmp_path / "nope.db"), "--config", str(write_config(tmp_path)))
    assert result.exit_code == 1
    assert result.output.strip() == f"error: no database at {tmp_path / 'nope.db'}: run `safeguarding-news " \
                                    "crawl` first, or give --db"
    assert not (tmp_path / "nope.db").exists()
