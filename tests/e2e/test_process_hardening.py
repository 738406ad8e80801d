"""Crawl processes that die cleanly (issue 22, "Processes"): each case reproduces a fault with real
processes and signals over the replay server."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.ops import runner
from tests.ops import SITE, SLUG, slow_site, write_config
from tests.support import ROOT, query

pytestmark = pytest.mark.e2e


def start_crawl(db: Path, site: Path, config: Path | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipeline", "crawl", "--source", SLUG, "--replay", str(site), "--db", str(db)]
    if config:
        cmd += ["--config", str(config)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def child_pid(db: Path, parent: int) -> int | None:
    """The crawl child's pid once the parent has written it into the run row."""
    if not db.exists():
        return None
    try:
        rows = query(db, "select pid from runs where status = 'running'")
    except Exception:  # the schema is being created
        return None
    return next((r["pid"] for r in rows if r["pid"] and r["pid"] != parent), None)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] if Path(f"/proc/{pid}").exists() else "X"
    return state != "Z"


def test_killing_the_crawl_command_ends_its_children(tmp_path):
    db = tmp_path / "x.db"
    parent = start_crawl(db, slow_site(tmp_path))
    child = wait_for(lambda: child_pid(db, parent.pid), what="the crawl child")
    time.sleep(2)  # the child is waiting for the slow page
    parent.kill()
    parent.wait()
    wait_for(lambda: not alive(child), timeout=20, what="the orphaned child to end")
    # the child closed its own run as interrupted (SIGTERM from the kernel when its parent died)
    [run] = query(db, "select status from runs")
    assert run["status"] == "interrupted"


def test_two_crawls_of_one_source_never_run_at_once(tmp_path):
    db = tmp_path / "x.db"
    first = start_crawl(db, slow_site(tmp_path))
    wait_for(lambda: child_pid(db, first.pid), what="the first crawl child")
    second = subprocess.run([sys.executable, "-m", "pipeline", "crawl", "--source", SLUG, "--replay", str(SITE),
                             "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert f"another crawl of {SLUG} is running" in second.stderr
    runs = query(db, "select id, status, message from runs order by id")
    assert runs[0]["status"] == "running", "the first crawl goes on"
    assert runs[1]["status"] == "failed" and "another crawl" in runs[1]["message"]
    first.send_signal(signal.SIGINT)
    first.wait(timeout=120)  # a graceful stop; generous for a loaded machine


def test_sigterm_ends_a_crawl_within_seconds_as_interrupted(tmp_path):
    db = tmp_path / "x.db"
    parent = start_crawl(db, slow_site(tmp_path, delay=300))
    child = wait_for(lambda: child_pid(db, parent.pid), what="the crawl child")
    time.sleep(2)
    started = time.monotonic()
    os.kill(child, signal.SIGTERM)
    parent.wait(timeout=60)
    assert time.monotonic() - started < 15
    [run] = query(db, "select status, finished_at from runs")
    assert run["status"] == "interrupted" and run["finished_at"]


def test_a_database_replaced_during_the_crawl_fails_loudly(tmp_path):
    db = tmp_path / "x.db"
    parent = start_crawl(db, slow_site(tmp_path, delay=4))
    wait_for(lambda: child_pid(db, parent.pid), what="the crawl child")
    time.sleep(1)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(ROOT / "README.md", tmp_path / "other")  # something else takes its place later
    out, err = parent.communicate(timeout=120)
    assert parent.returncode == 1, out + err
    assert "deleted or replaced" in err


def test_an_invalid_config_is_the_runs_message_and_the_alerts_text(tmp_path):
    config_path = write_config(tmp_path)
    config = load_config(config_path, db_override=str(tmp_path / "x.db"))
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace("crawl:", "crawl:\n  no_such_setting: 1", 1), encoding="utf-8")
    [run] = runner.crawl_sources(config, [config.source(SLUG)], config.database, replay=[str(SITE)])
    assert run["status"] == "failed"
    assert run["message"].startswith(f"{config_path}: crawl.no_such_setting: ")
    assert "Traceback" not in run["message"]
    [alert] = query(Path(config.database), "select message from alerts where kind = 'run_failed'")
    assert run["message"] in alert["message"]


def test_many_runs_leave_no_file_handle_open(tmp_path):
    config = load_config(write_config(tmp_path), db_override=str(tmp_path / "x.db"))
    fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    runner.crawl_sources(config, [config.source(SLUG)], config.database, replay=[str(SITE)])
    before = fds()
    for _ in range(4):
        runner.crawl_sources(config, [config.source(SLUG)], config.database, replay=[str(SITE)])
    assert fds() <= before, f"{fds() - before} file handles left open by 4 runs"


def test_a_writer_lock_held_beyond_the_busy_timeout_is_said_in_one_line(tmp_path, monkeypatch):
    """Another program holds the write lock: the crawl cannot even record its run, and says so (the busy
    timeout is shortened from 60 s to 0.5 s in this process to keep the test short)."""
    import storage.db
    from storage.db import StorageError, open_db

    config = load_config(write_config(tmp_path), db_override=str(tmp_path / "x.db"))
    open_db(config.database).close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('begin exclusive'); print('locked', flush=True); time.sleep(60)"), config.database],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(storage.db, "BUSY_TIMEOUT_MS", 500)
        with pytest.raises(StorageError) as err:
            runner.crawl_sources(config, [config.source(SLUG)], config.database, replay=[str(SITE)])
        # the real timeout, not the default's 60 s
        assert "another program has held a write lock on the database for more than 0.5 s" in str(err.value)
        assert "\n" not in str(err.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_lock_that_appears_mid_crawl_is_the_runs_message(tmp_path):
    """Another program takes the write lock while a crawl is storing and holds it beyond the busy timeout
    (shortened to 1 s for the crawl through SGN_BUSY_TIMEOUT_MS): the crawl exits cleanly and its run row
    ends with a message naming the lock; no traceback."""
    db = tmp_path / "x.db"
    env = {**os.environ, "SGN_BUSY_TIMEOUT_MS": "1000"}
    cmd = [sys.executable, "-m", "pipeline", "crawl", "--source", SLUG, "--replay", str(slow_site(tmp_path, delay=3)),
           "--db", str(db)]
    crawl = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: child_pid(db, crawl.pid), what="the crawl child")
    holder = sqlite3.connect(db, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # the first page's items are buffered; the slow page comes after this
    # past every retry of the crawl's writes, its closing write included (batches are written on a writer
    # thread while the crawl goes on, so how long that takes is not a fixed number of seconds)
    log_text = lambda: "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))  # noqa: E731
    wait_for(lambda: "could not be closed yet" in log_text(), timeout=120, what="the closing write to give up")
    holder.execute("ROLLBACK")
    holder.close()
    out, err = crawl.communicate(timeout=120)
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))
    assert "Traceback" not in err + logs, err + logs
    [run] = query(db, "select status, message, finished_at from runs")
    assert run["status"] in ("failed", "partial") and run["finished_at"], run
    assert "another program held a write lock on the database beyond the busy timeout (1 s" in run["message"], run
    assert crawl.returncode == 1 and "Traceback" not in out, err  # exit 1: the run is not ok


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_the_schedulers_memory_does_not_grow_over_many_short_runs(tmp_path):
    """The scheduler's job (``CrawlScheduler.run_source``: crawl subprocess, replay server, after-run steps)
    driven 25 times: after 5 runs of warm-up, 20 more grow this process's RSS by under 4 MB and what
    Python allocates (tracemalloc) by under 1 MB. Measured: about 150 KB of RSS, a few KB allocated."""
    import gc
    import tracemalloc

    from pipeline.ops.scheduler import CrawlScheduler

    config = load_config(write_config(tmp_path), db_override=str(tmp_path / "x.db"))
    scheduler = CrawlScheduler(config, config.database, replay=[str(SITE)])
    for _ in range(5):
        scheduler.run_source(SLUG)
    gc.collect()
    tracemalloc.start()
    try:
        before, (allocated_before, _) = rss_kb(), tracemalloc.get_traced_memory()
        for _ in range(20):
            scheduler.run_source(SLUG)
        gc.collect()
        grown, (allocated, _) = rss_kb() - before, tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    runs = query(Path(config.database), "select status, message from runs")
    assert len(runs) == 25 and all(r["status"] == "ok" for r in runs), runs
    assert not any("lock" in (r["message"] or "") for r in runs), runs
    assert grown < 4096, f"RSS grew by {grown} KB over 20 runs"
    assert allocated - allocated_before < 1024 * 1024, f"{allocated - allocated_before} bytes still allocated"
