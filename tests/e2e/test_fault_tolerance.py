"""Unattended operation: an analyst's long read, a locked database, one source failing, absurd pages."""

import json
import shutil
import sqlite3
import threading
import time

import pytest
import yaml

from pipeline.items.text import html_to_text
from storage.db import open_db
from tests.support import CONFIG, FIXTURES, ROOT, query, run_cli

pytestmark = pytest.mark.e2e
GOVUK = FIXTURES / "csprp_govuk"


def crawl(db, *sources, replay=(GOVUK,), config=CONFIG):
    args = ["crawl", "--db", str(db), "--config", str(config)]
    for s in sources:
        args += ["--source", s]
    for r in replay:
        args += ["--replay", str(r)]
    return run_cli(*args)


def empty_db(path):
    open_db(path).close()  # the schema, as the first crawl would create it
    return path


def test_a_long_analyst_read_never_loses_a_write(tmp_path):
    db = empty_db(tmp_path / "x.db")
    reader = sqlite3.connect(db)
    reader.execute("begin")
    assert reader.execute("select count(*) from publications").fetchone()[0] == 0
    result = crawl(db, "csprp_govuk")  # writes while the reader holds its snapshot
    assert result.exit_code == 0, result.output
    assert reader.execute("select count(*) from publications").fetchone()[0] == 0, "the reader's snapshot holds"
    reader.rollback()
    reader.close()
    assert query(db, "select count(*) n from publications")[0]["n"] == 7


def test_a_briefly_locked_database_makes_the_writer_wait_not_lose(tmp_path):
    db = empty_db(tmp_path / "x.db")
    locked = threading.Event()

    def hold_lock():
        locker = sqlite3.connect(db, timeout=30)
        locker.execute("begin immediate")
        locked.set()
        time.sleep(4)
        locker.rollback()
        locker.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    locked.wait(10)
    result = crawl(db, "csprp_govuk")
    thread.join()
    assert result.exit_code == 0, result.output
    assert query(db, "select count(*) n from publications")[0]["n"] == 7
    assert query(db, "select status from runs")[0]["status"] == "ok"


def test_one_failing_source_never_stops_the_others(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(GOVUK, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest = {u: ({"status": 500} if "/api/search.json" in u else e) for u, e in manifest.items()}
    (broken / "manifest.json").write_text(json.dumps(manifest))
    config = yaml.safe_load(CONFIG.read_text())
    config["politeness"]["retry_times"] = 1
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    db = tmp_path / "x.db"
    result = crawl(db, "csprp_govuk", "nspcc_learning", replay=(broken, FIXTURES / "nspcc_learning"),
                   config=tmp_path / "config.yaml")
    assert result.exit_code == 1
    runs = {r["source"]: r for r in query(db, "select * from runs")}
    assert runs["csprp_govuk"]["status"] == "failed"
    assert runs["nspcc_learning"]["items"] > 0
    assert query(db, "select count(*) n from publications where source = 'nspcc_learning'")[0]["n"] > 0


def test_a_crawl_killed_at_its_time_limit_is_recovered_by_the_next(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(GOVUK, site)
    manifest = json.loads((site / "manifest.json").read_text())
    oldest = next(u for u in manifest if u.endswith("/child-safeguarding-practice-review-panel-first-national-review"))
    manifest[oldest]["delay"] = 60  # the last document the search page lists
    (site / "manifest.json").write_text(json.dumps(manifest))
    config = yaml.safe_load(CONFIG.read_text())
    config["crawl"].update(timeout_seconds=4, kill_grace_seconds=1)
    config["politeness"]["download_timeout"] = 120
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    db = tmp_path / "x.db"
    assert crawl(db, "csprp_govuk", replay=(site,), config=tmp_path / "config.yaml").exit_code == 1
    assert query(db, "pragma integrity_check")[0]["integrity_check"] == "ok"
    run = query(db, "select * from runs")[0]
    assert run["status"] == "failed" and run["message"].startswith("timed out after 4 s")
    kept = query(db, "select count(*) n from publications")[0]["n"]
    assert 0 < kept < 7 and run["items"] == kept, "what was fetched before the limit is kept"
    result = crawl(db, "csprp_govuk")
    assert result.exit_code == 0, result.output
    assert query(db, "select count(*) n from publications")[0]["n"] == 7
    assert [r["status"] for r in query(db, "select status from runs order by id")] == ["failed", "ok"]


def test_absurdly_deep_html_is_bounded():
    page = "<div>" * 200_000 + "deep text" + "</div>" * 200_000
    text = html_to_text(page)  # must return, not recurse or exhaust memory
    assert len(text) < 100


def test_no_secret_in_config_yaml():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())

    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        else:
            yield path, node

    secretish = ("password", "secret", "token", "api_key", "apikey")
    leaks = [(p, v) for p, v in walk(config) if any(s in p.lower().rsplit(".", 1)[-1] for s in secretish)
             and not p.lower().endswith("_env") and v not in (None, "")]
    assert leaks == [], f"secrets belong in environment variables: {leaks}"
