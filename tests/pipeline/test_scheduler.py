"""The scheduler with injected clocks, crawl functions and triggers: no waiting for schedules."""

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline.config import ConfigError, load_config
from pipeline.items.dates import iso
from pipeline.ops.scheduler import CrawlScheduler, SchedulerLock, SchedulerLocked
from pipeline.schedules import cron_trigger, due_since, last_due, previous_fire
from storage.db import open_db
from storage.runs import start_run
from tests.ops import SLUG, T0, Webhook, add_run, config_for, write_config
from tests.support import ROOT, query


class FakeCrawl:
    """Stands in for pipeline.ops.runner.crawl_sources: records calls, optionally blocks until released."""

    def __init__(self, block: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not block:
            self.release.set()

    def __call__(self, config, sources, db_path, replay=None, clock=None, parallel=2):
        self.calls.append([s.slug for s in sources])
        self.started.set()
        assert self.release.wait(10), "never released"
        return []


def make(tmp_path, crawl=None, clock=lambda: T0, **sections):
    config = config_for(tmp_path, **sections)
    return CrawlScheduler(config, str(tmp_path / "s.db"), clock=clock, crawl=crawl or FakeCrawl(),
                          scheduler_cls=BackgroundScheduler)


def with_last_run(tmp_path, at, status="ok"):
    db = open_db(tmp_path / "s.db")
    add_run(db, at, status=status)
    db.close()


# ---------------------------------------------------------------- schedules and config


def test_crontab_weekdays_count_from_sunday_as_in_cron():
    sunday_6am = cron_trigger("0 6 * * 0").get_next_fire_time(None, T0)  # T0 is a Monday
    assert sunday_6am == datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    assert cron_trigger("0 6 * * 7").get_next_fire_time(None, T0) == sunday_6am
    weekdays = cron_trigger("30 6 * * 1-5")
    assert weekdays.get_next_fire_time(None, T0) == datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
    assert weekdays.get_next_fire_time(None, T0 + timedelta(days=4, hours=1)) == datetime(2026, 3, 9, 6, 30,
                                                                                         tzinfo=UTC)


def test_previous_fire_and_due_times():
    daily = cron_trigger("0 6 * * *")
    assert previous_fire(daily, T0 + timedelta(hours=3)) == T0
    assert previous_fire(daily, T0 - timedelta(seconds=1)) == T0 - timedelta(days=1)
    assert previous_fire(cron_trigger("*/5 * * * *"), T0 + timedelta(minutes=7)) == T0 + timedelta(minutes=5)
    assert previous_fire(cron_trigger("0 6 1 1 *"), T0) == datetime(2026, 1, 1, 6, tzinfo=UTC)
    assert due_since("0 6 * * *", None, "UTC", T0 - timedelta(hours=1), T0)
    assert not due_since("0 6 * * *", None, "UTC", T0, T0 + timedelta(hours=23))
    assert due_since(None, 12, "UTC", T0, T0 + timedelta(hours=12))
    assert not due_since(None, 12, "UTC", T0, T0 + timedelta(hours=11))
    assert last_due("0 6 * * *", None, "UTC", T0 + timedelta(hours=1), timedelta(hours=2)) == T0 - timedelta(days=1)


def test_cron_is_read_in_the_configured_time_zone():
    london = cron_trigger("0 6 * * *", "Europe/London")
    summer = london.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC))
    assert summer.astimezone(UTC) == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)


def test_schedule_config_accepts_cron_string_cron_or_interval(tmp_path):
    assert str(config_for(tmp_path).source(SLUG).schedule) == "cron 0 6 * * *"
    assert str(config_for(tmp_path, source={"schedule": {"cron": "15 */6 * * *"}}).source(SLUG).schedule) == \
        "cron 15 */6 * * *"
    assert str(config_for(tmp_path, source={"schedule": {"interval_hours": 12}}).source(SLUG).schedule) == \
        "every 12 h"


@pytest.mark.parametrize(("source", "sections", "message"), [
    ({"schedule": "61 6 * * *"}, {}, r"sources\.csprp_govuk\.schedule\.cron: .*invalid cron expression '61 6"),
    ({"schedule": "0 6 * *"}, {}, r"schedule\.cron: .*expected 5 fields"),
    ({"schedule": {"cron": "0 6 * * *", "interval_hours": 2}}, {}, r"schedule: .*either cron .* or interval_hours"),
    ({"schedule": {"interval_hours": 0}}, {}, r"schedule\.interval_hours: .*greater than 0"),
    ({"health": {"stale_dayz": 3}}, {}, r"sources\.csprp_govuk\.health\.stale_dayz: Extra inputs"),
    ({}, {"scheduler": {"timezone": "Mars/Olympus"}}, r"scheduler\.timezone: .*unknown time zone 'Mars/Olympus'"),
    ({}, {"alerts": {"email": {"smtp_host": "x"}}}, r"alerts\.email\.sender: Field required"),
])
def test_bad_schedule_or_health_config_is_one_line_naming_the_key(tmp_path, source, sections, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(write_config(tmp_path, source=source, **sections))
    assert "\n" not in str(info.value)


def test_source_health_overrides_only_the_keys_it_gives(tmp_path):
    config = config_for(tmp_path, health={"stale_days": 30, "history_runs": 5},
                        source={"health": {"stale_days": 120}})
    assert (config.health_for(SLUG).stale_days, config.health_for(SLUG).history_runs) == (120, 5)


# ---------------------------------------------------------------- jobs


def test_each_source_is_a_job_with_coalesce_one_instance_grace_and_jitter(tmp_path):
    cs = make(tmp_path, scheduler={"misfire_grace_seconds": 900, "jitter_seconds": 120})
    cs.add_jobs()
    cs.scheduler.start(paused=True)
    try:
        job = cs.scheduler.get_job(f"crawl:{SLUG}")
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 900)
        assert isinstance(job.trigger, CronTrigger) and job.trigger.jitter == 120
        assert job.args == (SLUG,)
        assert cs.scheduler.get_job("deliver-alerts") is not None
    finally:
        cs.scheduler.shutdown()


def test_interval_schedule_is_an_interval_job(tmp_path):
    cs = make(tmp_path, source={"schedule": {"interval_hours": 12}})
    cs.add_jobs()
    cs.scheduler.start(paused=True)
    try:
        trigger = cs.scheduler.get_job(f"crawl:{SLUG}").trigger
        assert isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(hours=12)
    finally:
        cs.scheduler.shutdown()


def test_disabled_source_has_no_job(tmp_path):
    cs = make(tmp_path, source={"enabled": False})
    assert cs.add_jobs() == []
    assert [j.id for j in cs.scheduler.get_jobs()] == ["deliver-alerts"]


# ---------------------------------------------------------------- catch-up and misfires


def run_until_idle(cs, crawl, expect_calls):
    cs.scheduler.start()
    try:
        if expect_calls:
            assert crawl.started.wait(10)
        time.sleep(0.3)  # time enough for a wrongly repeated run to start
    finally:
        cs.scheduler.shutdown(wait=True)


def test_misfire_after_downtime_runs_once(tmp_path):
    with_last_run(tmp_path, T0)  # the 06:00 run on Monday, then four days down
    crawl = FakeCrawl()
    cs = make(tmp_path, crawl, clock=lambda: T0 + timedelta(days=4, hours=3))
    assert cs.add_jobs() == [SLUG]
    run_until_idle(cs, crawl, expect_calls=True)
    assert crawl.calls == [[SLUG]], "four missed runs, one catch-up"


def test_no_catch_up_when_the_last_run_is_after_the_last_scheduled_time(tmp_path):
    with_last_run(tmp_path, T0 + timedelta(minutes=2))
    crawl = FakeCrawl()
    cs = make(tmp_path, crawl, clock=lambda: T0 + timedelta(hours=20))
    assert cs.add_jobs() == []
    run_until_idle(cs, crawl, expect_calls=False)
    assert crawl.calls == []


def test_interrupted_run_does_not_count_for_catch_up_and_a_new_source_runs_at_once(tmp_path):
    with_last_run(tmp_path, T0 + timedelta(minutes=2), status="interrupted")
    assert make(tmp_path, clock=lambda: T0 + timedelta(hours=1)).overdue() == [SLUG]
    assert make(tmp_path, clock=lambda: T0, scheduler={"catch_up": False}).add_jobs() == []


@pytest.mark.parametrize(("grace", "runs"), [(86400, 1), (1, 0)])
def test_missed_fire_times_in_a_running_scheduler_coalesce_into_one_run(tmp_path, grace, runs):
    """As after a suspend: three fire times passed. With a grace period one run happens; with
    APScheduler's default of one second it would be silently dropped."""
    crawl = FakeCrawl()
    cs = make(tmp_path, crawl, scheduler={"misfire_grace_seconds": grace})
    events = []
    cs.scheduler.add_listener(lambda e: events.append(e.code), EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    past = datetime.now(UTC) - timedelta(hours=3, minutes=5)
    cs.scheduler.add_job(cs.run_source, IntervalTrigger(hours=1), args=[SLUG], id="x", next_run_time=past)
    cs.scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        cs.scheduler.shutdown(wait=True)
    assert len(crawl.calls) == runs
    assert events == ([EVENT_JOB_EXECUTED] if runs else [EVENT_JOB_MISSED])


# ---------------------------------------------------------------- overlap


def test_overlapping_runs_of_one_source_are_prevented(tmp_path, caplog):
    crawl = FakeCrawl(block=True)
    cs = make(tmp_path, crawl)
    first = threading.Thread(target=cs.run_source, args=[SLUG])
    first.start()
    try:
        assert crawl.started.wait(5)
        assert cs.run_source(SLUG) is None
        assert "the previous run is still crawling; this run is skipped" in caplog.text
    finally:
        crawl.release.set()
        first.join(5)
    assert crawl.calls == [[SLUG]]
    assert cs.run_source(SLUG) == [] and len(crawl.calls) == 2, "free again once the first has ended"


def test_a_run_crawling_in_another_process_is_not_overlapped(tmp_path, caplog):
    db = open_db(tmp_path / "s.db")
    run_id = start_run(db, SLUG, iso(T0), pid=os.getpid())  # a live process, e.g. a manual `crawl`
    db.close()
    crawl = FakeCrawl()
    assert make(tmp_path, crawl, clock=lambda: T0 + timedelta(minutes=10)).run_source(SLUG) is None
    assert f"run {run_id} (pid {os.getpid()}) is still crawling" in caplog.text
    later = T0 + timedelta(hours=2)  # older than the crawl time limit: a reused pid, not a crawl
    assert make(tmp_path, crawl, clock=lambda: later).run_source(SLUG) == []
    assert crawl.calls == [[SLUG]]


def test_a_failing_crawl_never_stops_the_scheduler(tmp_path, caplog):
    def crash(*args, **kwargs):
        raise OSError("disk full")

    cs = make(tmp_path, crash)
    assert cs.run_source(SLUG) is None
    assert "the scheduled crawl failed" in caplog.text and "disk full" in caplog.text


def test_a_failing_webhook_never_stops_the_scheduler(tmp_path, caplog, monkeypatch):
    hook = Webhook(statuses=[500] * 5)
    monkeypatch.setenv("SGN_TEST_HOOK", hook.url)
    try:
        crawl = FakeCrawl()
        cs = make(tmp_path, crawl, alerts={"webhook_url_env": "SGN_TEST_HOOK"},
                  clock=lambda: datetime.now(UTC))
        db = open_db(tmp_path / "s.db")
        from pipeline.ops.health import check_run
        from storage.runs import get_run

        run_id = add_run(db, datetime.now(UTC) - timedelta(minutes=5), status="failed", items=0)
        check_run(cs.config, db, get_run(db, run_id), datetime.now(UTC))
        db.close()
        cs.add_jobs()
        cs.scheduler.start()
        try:
            cs.deliver_alerts()
            cs.scheduler.add_job(cs.run_source, args=[SLUG])  # a crawl due now
            assert crawl.started.wait(10), "crawls still run"
            assert cs.scheduler.running
        finally:
            cs.scheduler.shutdown(wait=True)
    finally:
        hook.close()
    assert len(hook.received) == 1 and "answered HTTP 500" in caplog.text
    assert query(tmp_path / "s.db", "select attempts from alert_deliveries")[0]["attempts"] == 1


# ---------------------------------------------------------------- stopping and the lock


def test_stop_lets_a_running_crawl_finish_within_the_grace_period(tmp_path, monkeypatch):
    crawl = FakeCrawl(block=True)
    cs = make(tmp_path, crawl, scheduler={"stop_grace_seconds": 10})
    ended = []
    monkeypatch.setattr(cs, "end_running_crawls", lambda: ended.append(True))
    job = threading.Thread(target=cs.run_source, args=[SLUG])
    job.start()
    assert crawl.started.wait(5)
    cs.request_stop()
    assert cs.run_source(SLUG) is None and len(crawl.calls) == 1, "no new runs once stopping"
    threading.Timer(0.3, crawl.release.set).start()
    began = time.monotonic()
    cs.drain()
    assert time.monotonic() - began < 5 and ended == [], "finished in time: nothing to end"
    job.join(5)


def test_stop_ends_crawls_still_running_after_the_grace_period(tmp_path, monkeypatch):
    crawl = FakeCrawl(block=True)
    cs = make(tmp_path, crawl, scheduler={"stop_grace_seconds": 0})
    monkeypatch.setattr(cs, "end_running_crawls", crawl.release.set)
    job = threading.Thread(target=cs.run_source, args=[SLUG])
    job.start()
    assert crawl.started.wait(5)
    cs.request_stop()
    cs.drain()
    job.join(5)
    assert crawl.release.is_set() and not job.is_alive()


def test_a_second_scheduler_is_refused_in_process(tmp_path):
    db = str(tmp_path / "s.db")
    with SchedulerLock(db, clock=lambda: T0), pytest.raises(SchedulerLocked, match=(
            rf"another scheduler is already running for {db} \(pid {os.getpid()} since 2026-03-02T06:00:00Z\)")):
        SchedulerLock(db).__enter__()
    with SchedulerLock(db):  # released on exit
        pass


def test_a_second_scheduler_process_exits_with_a_clear_message(tmp_path):
    db = str(tmp_path / "s.db")
    config = write_config(tmp_path)
    with SchedulerLock(db):
        result = subprocess.run([sys.executable, "-m", "pipeline", "schedule", "--db", db, "--config",
                                 str(config)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: another scheduler is already running for {db} (pid {os.getpid()} since ")
    assert "Traceback" not in result.stderr


def test_systemd_unit_stops_the_scheduler_only_and_waits_long_enough():
    import configparser

    from pipeline.config import CrawlSettings, SchedulerSettings

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "pipeline" / "ops" / "deploy" / "safeguarding-news.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[1:3] == ["schedule", "--config"]
    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
    needed = SchedulerSettings().stop_grace_seconds + CrawlSettings().kill_grace_seconds
    assert int(service["TimeoutStopSec"]) > needed
    assert service["RestartPreventExitStatus"] == "2", "a configuration error is not retried"


@pytest.mark.parametrize("alerts", [
    {"webhook_url_env": "https://hooks.example.org/T0/B0/tok3n"},
    {"email": {"smtp_host": "h", "sender": "a@example.org", "recipients": ["b@example.org"],
               "password_env": "tok3n-pass!"}},
])
def test_a_secret_pasted_into_config_is_refused_without_repeating_it(tmp_path, alerts):
    with pytest.raises(ConfigError, match="must be the name of an environment variable") as info:
        load_config(write_config(tmp_path, alerts=alerts))
    assert "tok3n" not in str(info.value)


def test_overdue_is_decided_from_the_last_finished_starts_without_a_database(tmp_path):
    from pipeline.ops.scheduler import overdue_sources

    config = config_for(tmp_path)
    slug = config.enabled_sources()[0].slug
    assert overdue_sources(config, {slug: None}, T0) == [slug]
    assert overdue_sources(config, {slug: iso(T0)}, T0 + timedelta(hours=1)) == []
    assert overdue_sources(config, {slug: iso(T0)}, T0 + timedelta(days=1, hours=1)) == [slug]
