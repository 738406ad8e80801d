"""Politeness, incremental crawling and fault tolerance, against the fault-injection recorded site.

Each test crawls a throwaway spider through the production Scrapy settings (tests/crawl_harness.py) in a
subprocess, against the replay server, and checks what the server saw, what the run recorded and what
the database kept.
"""

import json
import subprocess
import sys

import pytest

from pipeline.replay import ReplayServer
from tests.support import FIXTURES, ROOT, query

pytestmark = pytest.mark.e2e
SITE = FIXTURES / "_faults"
F = "https://faults.test"


def harness(tmp_path, urls, settings=None, full_walk=False, domains=("faults.test",), site=SITE):
    db = tmp_path / "h.db"
    with ReplayServer([site]) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.crawl_harness", "--db", str(db), "--replay-address", server.address,
             "--urls", json.dumps(urls), "--settings", json.dumps(settings or {}),
             "--domains", json.dumps(list(domains)), *(["--full-walk"] if full_walk else [])],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    run = query(db, "select * from runs where id = ?", (out["run_id"],))[0]
    return server.hits, out["stats"], out["errors"], run, db


def seen(hits, prefix):
    return [h for h in hits if h.url.startswith(prefix)]


@pytest.mark.parametrize("waiting", [2, 4, 8])
def test_no_disallowed_url_is_fetched_while_robots_txt_is_awaited(tmp_path, waiting):
    """Scrapy 2.19 let disallowed URLs through when 2 to 8 requests waited for robots.txt at once."""
    urls = [f"{F}/private/{i % 4 + 1}?n={i}" for i in range(waiting - 1)] + [f"{F}/ok/1"]
    hits, stats, errors, run, _ = harness(tmp_path, urls, {"CONCURRENT_REQUESTS_PER_DOMAIN": 8})
    assert seen(hits, f"{F}/private/") == []
    assert stats["robotstxt/forbidden"] == waiting - 1
    assert [h.url for h in seen(hits, f"{F}/ok/")] == [f"{F}/ok/1"]
    assert errors == [] and run["status"] == "ok"


def test_crawl_delay_of_robots_txt_is_obeyed(tmp_path):
    hits, stats, _, _, _ = harness(tmp_path, [f"{F}/ok/1", f"{F}/ok/2", f"{F}/ok/3"])
    times = [h.at for h in seen(hits, f"{F}/ok/")]
    assert len(times) == 3
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False)), times
    assert stats["sgn/robots_crawl_delay"] == 1.0


def test_user_agent_is_honest(tmp_path):
    hits, *_ = harness(tmp_path, [f"{F}/ok/1"])
    agent = seen(hits, f"{F}/ok/1")[0].headers["User-Agent"]
    assert agent.startswith("safeguarding-news/") and "@" in agent


def test_retry_after_is_honoured_then_given_up(tmp_path):
    hits, stats, errors, run, _ = harness(tmp_path, [f"{F}/busy"], {"RETRY_TIMES": 2})
    times = [h.at for h in seen(hits, f"{F}/busy")]
    assert len(times) == 3
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False)), times
    assert stats["sgn/retry_after_honoured"] == 2
    assert errors == [f"HTTP 429: {F}/busy"] and run["status"] == "failed"
    assert json.loads(run["http_errors"]) == {"429": 3}


def test_a_retry_after_beyond_the_cap_is_not_waited_for(tmp_path):
    hits, stats, errors, _, _ = harness(tmp_path, [f"{F}/busy"], {"SGN_RETRY_AFTER_MAX": 0.5})
    assert len(seen(hits, f"{F}/busy")) == 1
    assert stats["sgn/retry_after_too_long"] == 1 and errors == [f"HTTP 429: {F}/busy"]


def test_server_errors_are_retried_with_growing_pauses(tmp_path):
    hits, _, errors, run, _ = harness(tmp_path, [f"{F}/error", f"{F}/ok/1"],
                                      {"SGN_BACKOFF_BASE": 0.3, "RETRY_TIMES": 3})
    times = [h.at for h in seen(hits, f"{F}/error")]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4
    assert all(gap >= 0.3 * 2**i * 0.5 for i, gap in enumerate(gaps)), gaps
    assert errors == [f"HTTP 500: {F}/error"]
    assert run["status"] == "partial" and run["items"] == 1, "the page that worked is kept"


def test_conditional_requests_skip_unchanged_pages(tmp_path):
    urls = [f"{F}/etag", f"{F}/modified"]
    _, first, _, run1, db = harness(tmp_path, urls)
    assert first["sgn/parsed"] == 2 and run1["new"] == 2
    hits, second, errors, run2, _ = harness(tmp_path, urls)
    assert second.get("sgn/parsed", 0) == 0 and second["sgn/not_modified"] == 2
    sent = {h.url: h.headers for h in seen(hits, f"{F}/etag") + seen(hits, f"{F}/modified")}
    assert sent[f"{F}/etag"]["If-None-Match"] == '"v1"'
    assert sent[f"{F}/modified"]["If-Modified-Since"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert (run2["status"], run2["new"], run2["unchanged"], errors) == ("ok", 0, 2, [])


def test_pages_that_are_not_publications_are_always_read_again(tmp_path):
    """A 304 on a listing would hide what it lists: validators are kept for publication pages only."""
    harness(tmp_path, [f"{F}/listing"])
    hits, stats, _, _, _ = harness(tmp_path, [f"{F}/listing"])
    assert "If-None-Match" not in seen(hits, f"{F}/listing")[0].headers
    assert stats["sgn/parsed"] == 1


def test_a_full_walk_asks_unconditionally(tmp_path):
    harness(tmp_path, [f"{F}/etag"])
    hits, stats, _, _, _ = harness(tmp_path, [f"{F}/etag"], full_walk=True)
    assert "If-None-Match" not in seen(hits, f"{F}/etag")[0].headers
    assert stats["sgn/parsed"] == 1


def test_slow_page_times_out_and_is_recorded(tmp_path):
    hits, _, errors, run, _ = harness(tmp_path, [f"{F}/slow", f"{F}/ok/1"],
                                      {"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 1})
    assert len(seen(hits, f"{F}/ok/1")) == 1
    assert len(errors) == 1 and errors[0].endswith(f"{F}/slow") and "TimeoutError" in errors[0]
    assert run["status"] == "partial" and run["items"] == 1


def test_response_over_the_size_limit_is_abandoned(tmp_path):
    _, stats, errors, run, db = harness(tmp_path, [f"{F}/big", f"{F}/ok/1"], {"DOWNLOAD_MAXSIZE": 4000})
    assert len(errors) == 1 and errors[0].endswith(f"{F}/big")
    assert stats["sgn/parsed"] == 1
    assert [r["url"] for r in query(db, "select url from publications")] == [f"{F}/ok/1"]


def test_truncated_html_and_malformed_json(tmp_path):
    _, stats, errors, run, db = harness(tmp_path, [f"{F}/truncated", f"{F}/malformed", f"{F}/ok/1"])
    assert len(errors) == 1
    assert errors[0].startswith("malformed JSON (Unterminated string") and errors[0].endswith(f"{F}/malformed")
    titles = sorted(r["title"] for r in query(db, "select title from publications"))
    assert titles == ["A page", "A page cut off"]
    assert run["status"] == "partial"


def test_redirect_loop_is_an_error_not_a_hang(tmp_path):
    hits, stats, errors, run, _ = harness(tmp_path, [f"{F}/loop/a"])
    assert len(seen(hits, f"{F}/loop/")) <= 6
    assert errors == [f"redirect loop: {F}/loop/a"] and run["status"] == "failed"
    assert stats["sgn/redirect_loop"] == 1


def test_off_domain_requests_and_redirects_are_refused(tmp_path):
    hits, stats, errors, run, _ = harness(tmp_path, [f"{F}/away", "https://elsewhere.test/landing", f"{F}/ok/1"])
    assert seen(hits, "https://elsewhere.test") == []
    assert stats["sgn/offsite_redirect"] == 1 and stats["sgn/offsite_refused"] == 1
    assert errors == [] and run["status"] == "ok" and run["items"] == 1


def test_500_then_recovery_on_the_next_crawl(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "ok.html").write_text((SITE / "ok.html").read_text())
    manifest = {f"{F}/news": {"status": 500}}
    (site / "manifest.json").write_text(json.dumps(manifest))
    _, _, errors, first, db = harness(tmp_path, [f"{F}/news"], {"RETRY_TIMES": 1}, site=site)
    assert first["status"] == "failed" and errors == [f"HTTP 500: {F}/news"]
    manifest[f"{F}/news"] = {"file": "ok.html"}
    (site / "manifest.json").write_text(json.dumps(manifest))
    _, _, errors, second, _ = harness(tmp_path, [f"{F}/news"], site=site)
    assert second["status"] == "ok" and second["new"] == 1 and errors == []


# The real text of an NSPCC Learning news page (/work/shared/realdata/sites/nspcc_learning), as a page.
REAL_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><title>Celebrating 20 years of CASPAR</title></head><body><main>"
    "<h1>Celebrating 20 years of CASPAR</h1><p>Last updated: 05 Oct 2020 Topics: News</p>"
    "<p>Keeping professionals up to date with all the latest safeguarding and child protection news</p>"
    "<p>This week, we're celebrating twenty years of CASPAR, our free weekly email alert containing all the "
    "developments in child protection policy, research, practice and guidance.</p></main></body></html>")


def test_a_truncated_or_empty_answer_never_replaces_a_stored_page(tmp_path):
    """Issue 22: a 0-byte or truncated 200 answer for a stored page created a new version with an empty
    (or cut) body. The stored text is kept, counted (stats sgn/kept_body) and named in the run's message."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    (site / "caspar.html").write_text(REAL_PAGE, encoding="utf-8")
    (site / "caspar-cut.html").write_text(REAL_PAGE[:250], encoding="utf-8")  # cut in the first paragraph
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    url = f"{F}/news/caspar"

    def crawl(entry):
        manifest[url] = entry
        (site / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return harness(tmp_path, [url], site=site)

    *_, first, db = crawl({"file": "caspar.html"})
    good = query(db, "select body_text from publications")[0]["body_text"]
    assert first["new"] == 1 and "twenty years of CASPAR" in good
    for entry in ({"file": "caspar-cut.html"}, {}):  # truncated, then 0 bytes
        _, stats, _, run, db = crawl(entry)
        assert query(db, "select body_text, version from publications") == [{"body_text": good, "version": 1}]
        assert query(db, "select count(*) as n from publication_versions")[0]["n"] == 0
        if entry:
            assert stats["sgn/kept_body"] == 1 and run["status"] == "ok"
            assert f"kept the stored text: new body empty or under half as long at {url}" in run["message"]
        else:  # no title either: the item is invalid, named, and nothing is overwritten
            assert run["invalid"] == 1 and f"no title at {url}" in run["message"]
