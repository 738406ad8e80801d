"""`crawl --replay` into a temporary database, as an operator would run it."""

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support import CONFIG, FIXTURES, query, run_cli

pytestmark = pytest.mark.e2e
SITE = FIXTURES / "csprp_govuk"


def crawl(db, *extra):
    return run_cli("crawl", "--source", "csprp_govuk", "--replay", str(SITE), "--db", str(db),
                   "--config", str(CONFIG), *extra)


def test_crawl_twice_stores_once_and_changes_nothing(tmp_path):
    db = tmp_path / "x.db"
    first = crawl(db)
    assert first.exit_code == 0, first.output
    assert "csprp_govuk  ok" in first.output
    rows = query(db, "select * from publications order by published_at desc")
    assert len(rows) == 7  # the Panel's own publications only (GOV.UK's other types: _govuk_types)
    assert all(r["url"].startswith("https://www.gov.uk/") and r["title"] and r["published_at"] for r in rows)
    annual = next(r for r in rows if r["url"].endswith("annual-report-2023-to-2024"))
    assert annual["published_at"] == "2024-12-12T09:30:00Z" and annual["version"] == 1
    assert json.loads(annual["documents"])[0]["file_type"] == "PDF"
    assert (json.loads(annual["documents"])[0]["size"], json.loads(annual["documents"])[0]["pages"]) == ("1.7 MB", 168)

    second = crawl(db)
    assert second.exit_code == 0, second.output
    runs = query(db, "select * from runs order by id")
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert (runs[0]["new"], runs[0]["skipped"], runs[0]["pages"]) == (7, 0, 8)
    # incremental: the first search page holds only publications not newer than stored, so the walk stops
    # there, and no detail document is downloaded again
    assert (runs[1]["new"], runs[1]["updated"], runs[1]["unchanged"], runs[1]["pages"]) == (0, 0, 7, 1)
    assert runs[1]["door"] == "GOV.UK Search API + Content API"
    assert query(db, "select count(*) n from publications")[0]["n"] == 7
    assert query(db, "select count(*) n from publication_versions")[0]["n"] == 0
    assert query(db, "pragma integrity_check")[0]["integrity_check"] == "ok"

    status = run_cli("status", "--db", str(db), "--config", str(CONFIG), "--json")
    assert status.exit_code == 0
    assert json.loads(status.output)[0]["status"] == "ok"


def full_walk_config(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    config["crawl"]["full_walk_days"] = 0
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return str(tmp_path / "config.yaml")


def test_full_walk_fetches_everything_and_stores_nothing_new(tmp_path):
    db, config = tmp_path / "x.db", full_walk_config(tmp_path)
    for _ in range(2):
        result = run_cli("crawl", "--source", "csprp_govuk", "--replay", str(SITE), "--db", str(db),
                         "--config", config)
        assert result.exit_code == 0, result.output
    second = query(db, "select * from runs order by id desc limit 1")[0]
    assert (second["pages"], second["new"], second["unchanged"], second["skipped"]) == (8, 0, 7, 0)
    assert json.loads(second["stats"])["sgn/full_walk"] == 1


def test_changed_document_becomes_a_new_version(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    db, config = tmp_path / "x.db", full_walk_config(tmp_path)
    assert run_cli("crawl", "--source", "csprp_govuk", "--replay", str(site), "--db", str(db),
                   "--config", config).exit_code == 0
    doc_path = site / "content" / "child-safeguarding-practice-review-panel-annual-report-2023-to-2024.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["description"] = "A corrected description."
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    result = run_cli("crawl", "--source", "csprp_govuk", "--replay", str(site), "--db", str(db),
                     "--config", config)
    assert result.exit_code == 0
    run = query(db, "select * from runs order by id desc limit 1")[0]
    assert (run["new"], run["updated"], run["unchanged"]) == (0, 1, 6)
    old = query(db, "select * from publication_versions")
    assert len(old) == 1 and json.loads(old[0]["changed_fields"]) == ["summary"]
    assert old[0]["summary"].startswith("The panel's annual report")


def test_failing_site_is_a_failed_run_and_exit_1(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    manifest = json.loads((site / "manifest.json").read_text())
    for url in manifest:
        if "/api/search.json" in url:
            manifest[url] = {"status": 500}
    (site / "manifest.json").write_text(json.dumps(manifest))
    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", "csprp_govuk", "--replay", str(site), "--db", str(db),
                     "--config", str(CONFIG))
    assert result.exit_code == 1
    run = query(db, "select * from runs")[0]
    assert run["status"] == "failed" and run["items"] == 0
    assert "HTTP 500: https://www.gov.uk/api/search.json" in run["message"]
    assert json.loads(run["http_errors"]) == {"500": 4}  # the first try and three retries
    assert run["finished_at"]


def test_dead_run_is_closed_as_interrupted_by_next_crawl(tmp_path):
    from storage.db import open_db
    from storage.runs import start_run

    db = tmp_path / "x.db"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    database = open_db(db)
    dead = start_run(database, "csprp_govuk", "2025-01-01T00:00:00Z", pid=gone.pid)
    database.close()
    assert crawl(db).exit_code == 0
    runs = query(db, "select id, status, finished_at, message from runs order by id")
    assert runs[0]["id"] == dead and runs[0]["status"] == "interrupted" and runs[0]["finished_at"]
    assert runs[1]["status"] == "ok"
