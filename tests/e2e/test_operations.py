"""Operations end to end, on copies of the csprp_govuk recorded site: a breaking and recovering source,
the scheduler stopped by SIGTERM mid-crawl, a crawl child killed, JSON-lines logs."""

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.ops.scheduler import CrawlScheduler
from tests.ops import SITE, SLUG, Webhook, config_for, set_search_status, slow_site, write_config
from tests.support import ROOT, query, run_cli

pytestmark = pytest.mark.e2e
HOOK_ENV = "SGN_E2E_WEBHOOK_URL"


def crawl(site, db, config):
    return run_cli("crawl", "--source", SLUG, "--replay", str(site), "--db", str(db), "--config", str(config))


def status(db, config, *extra):
    return run_cli("status", "--db", str(db), "--config", str(config), *extra)


def open_alerts(db):
    return sorted(a["kind"] for a in query(db, "select kind from alerts where resolved_at is null"))


def test_site_answering_500_fails_alerts_and_turns_status_red_until_it_recovers(tmp_path, monkeypatch):
    site, db = tmp_path / "site", tmp_path / "x.db"
    shutil.copytree(SITE, site)
    config = write_config(tmp_path, alerts={"webhook_url_env": HOOK_ENV})
    hook = Webhook()
    monkeypatch.setenv(HOOK_ENV, hook.url)
    try:
        assert crawl(site, db, config).exit_code == 0
        assert status(db, config).exit_code == 0

        set_search_status(site, 500)
        assert crawl(site, db, config).exit_code == 1
        failed = query(db, "select * from runs order by id desc limit 1")[0]
        assert (failed["status"], failed["items"]) == ("failed", 0)
        assert open_alerts(db) == ["http_errors", "run_failed", "zero_items"]
        assert query(db, "select count(*) n from publications")[0]["n"] == 7, "earlier publications stay"
        red = status(db, config, "--json")
        assert red.exit_code == 1
        [entry] = json.loads(red.stdout)
        assert (entry["source"], entry["status"], entry["healthy"], entry["open_alerts"]) == (
            SLUG, "failed", False, 3)
        assert entry["problems"][0] == "its last finished run failed"
        assert entry["stored"] == 7 and entry["new_7d"] == 7 and entry["last_success"]
        text = status(db, config)
        assert text.exit_code == 1 and "UNHEALTHY" in text.stdout
        assert f"  zero_items (since {entry['alerts'][0]['raised_at']}" in text.stdout
        assert [e["event"] for e in hook.received[0]["events"]] == ["raised"] * 3

        set_search_status(site, None)
        assert crawl(site, db, config).exit_code == 0
        assert open_alerts(db) == []
        assert len(query(db, "select * from alerts where resolved_at is not null")) == 3
        assert status(db, config).exit_code == 0
        assert [e["event"] for e in hook.received[1]["events"]] == ["resolved"] * 3
        assert query(db, "pragma integrity_check")[0]["integrity_check"] == "ok"
    finally:
        hook.close()


def wait_for_crawling(db, not_pid, timeout=60):
    """The run row of a crawl child that has stored something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):  # not created yet
            runs = query(db, "select * from runs where status = 'running' and items > 0")
            if runs and runs[0]["pid"] not in (None, not_pid):
                return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"the crawl never got going: {query(db, 'select * from runs') if db.exists() else 'no db'}")


@pytest.mark.parametrize(("download_timeout", "kill_grace", "how"), [
    (3, 30, "the crawl closes its own run when told to stop"),
    (120, 2, "ended by the scheduler's shutdown (SIGKILL)"),
])
def test_sigterm_during_a_crawl_records_interrupted_and_keeps_the_database_consistent(
        tmp_path, download_timeout, kill_grace, how):
    """The crawl is waiting for a slow page when the scheduler gets SIGTERM; after the grace period the
    crawl is sent SIGTERM and closes its run (or, if it does not stop in time, it is killed)."""
    site, db = slow_site(tmp_path), tmp_path / "x.db"
    config = write_config(tmp_path, scheduler={"stop_grace_seconds": 1}, crawl={"kill_grace_seconds": kill_grace},
                          politeness={"download_timeout": download_timeout})
    log = (tmp_path / "scheduler.log").open("w")
    scheduler = subprocess.Popen([sys.executable, "-m", "pipeline", "schedule", "--config", str(config),
                                  "--db", str(db), "--replay", str(site)], cwd=ROOT, stderr=log,
                                 start_new_session=True)
    try:
        run = wait_for_crawling(db, scheduler.pid)
        second = subprocess.run([sys.executable, "-m", "pipeline", "schedule", "--config", str(config),
                                 "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "another scheduler is already running" in second.stderr

        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(60) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(scheduler.pid, signal.SIGKILL)  # the scheduler and its crawl, if the test failed
        log.close()
    [after] = query(db, "select * from runs")
    assert after["id"] == run["id"] and after["status"] == "interrupted" and after["finished_at"]
    assert ("SIGKILL" in after["message"]) == how.endswith("(SIGKILL)")
    assert after["items"] == query(db, "select count(*) n from publications")[0]["n"] > 0
    assert query(db, "pragma integrity_check")[0]["integrity_check"] == "ok"
    assert query(db, "select * from alerts") == [], "an interrupted run is not a broken source"
    logged = (tmp_path / "scheduler.log").read_text()
    assert "SIGTERM: taking no new runs; running crawls have 1 s to finish" in logged
    assert f"run {run['id']} did not finish in time; ending it (SIGTERM to pid {run['pid']})" in logged
    with pytest.raises(ProcessLookupError):
        os.kill(run["pid"], 0)


def test_sigkill_of_the_crawl_child_gives_a_failed_run_and_the_next_run_works(tmp_path):
    site, db = slow_site(tmp_path), tmp_path / "x.db"
    cs = CrawlScheduler(config_for(tmp_path), str(db), replay=[str(site)])
    job = threading.Thread(target=cs.run_source, args=[SLUG], daemon=True)
    job.start()
    run = wait_for_crawling(db, os.getpid())
    os.kill(run["pid"], signal.SIGKILL)
    job.join(60)
    assert not job.is_alive()
    [killed] = query(db, "select * from runs")
    assert killed["status"] == "failed" and killed["finished_at"]
    assert "crawl process exited with status -9" in killed["message"]
    assert query(db, "pragma integrity_check")[0]["integrity_check"] == "ok"
    assert open_alerts(db) == ["run_failed"]

    shutil.rmtree(site)
    shutil.copytree(SITE, site)
    [runs] = cs.run_source(SLUG)
    assert runs["status"] == "ok" and runs["id"] == killed["id"] + 1
    assert query(db, "select count(*) n from publications")[0]["n"] == 7
    assert open_alerts(db) == []


def test_json_lines_logs(tmp_path):
    db = tmp_path / "x.db"
    config = write_config(tmp_path, crawl={"log_format": "json"})
    result = subprocess.run([sys.executable, "-m", "pipeline", "crawl", "--source", SLUG, "--replay", str(SITE),
                             "--db", str(db), "--config", str(config)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    [log_path] = [r["log_path"] for r in query(db, "select log_path from runs")]
    crawl_records = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    assert any(r["logger"].startswith("scrapy") for r in crawl_records), "the crawl process logs JSON too"
    [summary] = [r for r in records if "run" in r]
    assert summary["message"].startswith(f"run 1 {SLUG} ok in ")
    assert (summary["run"]["status"], summary["run"]["items"], summary["run"]["new"]) == ("ok", 7, 7)
