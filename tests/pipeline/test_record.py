"""``record``: responses saved as a recorded site (DESIGN 3.3) that ``crawl --replay`` serves back.

Two end-to-end recordings. The first is live in every way but the address: a plain ``http.server`` on
loopback, reached by the production download handler, whose answers carry a cookie and an
authentication challenge that must never be written. The second records a coded spider (csprp_govuk)
through the replay download handler from its own fixture, and proves the round trip: the recording,
replayed, stores exactly the publications the original fixture gives.
"""

from __future__ import annotations

import json
import textwrap
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from pipeline.config import load_config
from pipeline.crawl.recording import RecordMiddleware, file_for, with_recording
from pipeline.tools.record import record_source
from spiders.csprp_govuk import CsprpGovukSpider
from tests.support import CONFIG, FIXTURES, crawl_offline, fake_response, query, run_cli

SECRET = "s3cr3t-session-token"


@pytest.mark.parametrize(("url", "ctype", "name"), [
    ("https://learning.nspcc.org.uk/news", "text/html; charset=utf-8", "learning.nspcc.org.uk/news.html"),
    ("https://learning.nspcc.org.uk/", "text/html", "learning.nspcc.org.uk/index.html"),
    ("https://wordpress.org/news/feed/", "application/rss+xml", "wordpress.org/news/feed/index.xml"),
    ("https://www.gov.uk/api/search.json?count=20&start=0", "application/json",
     "www.gov.uk/api/search.json__count-20-start-0.json"),
    ("https://example.org/sitemap.xml", "text/xml", "example.org/sitemap.xml"),
    ("http://127.0.0.1:8123/a/../b%20c/", "text/html", "127.0.0.1_8123/a/b-c/index.html"),
])
def test_file_names_follow_the_url(url, ctype, name):
    assert file_for(url, ctype) == name


def middleware(tmp_path, limit=0):
    crawler = get_crawler(settings_dict={"SGN_RECORD_DIR": str(tmp_path), "SGN_RECORD_LIMIT": limit})
    closed = []

    class Engine:  # no reactor in a unit test: closing is only noted
        def close_spider_async(self, reason):
            closed.append(reason)

    crawler.engine = Engine()
    return RecordMiddleware.from_crawler(crawler), closed


def respond(mw, url, body="<html>page</html>", status=200, headers=None, meta=None):
    headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    request = Request(url, meta=meta or {})
    return mw.process_response(request, fake_response(url, body, status, headers, request))


def test_only_content_type_etag_last_modified_and_location_are_kept(tmp_path):
    mw, _ = middleware(tmp_path)
    respond(mw, "https://x.org/a", headers={"Set-Cookie": f"session={SECRET}", "ETag": '"v1"',
                                            "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT",
                                            "WWW-Authenticate": f"Basic realm={SECRET}", "X-Debug": SECRET})
    respond(mw, "https://x.org/b/", meta={"redirect_urls": ["https://x.org/b", "https://x.org/b2"],
                                          "redirect_reasons": [301, 302]})
    mw.save()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["https://x.org/a"] == {"file": "x.org/a.html", "headers": {
        "Content-Type": "text/html; charset=utf-8", "ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}}
    assert manifest["https://x.org/b"] == {"status": 301, "headers": {"Location": "https://x.org/b2"}}
    assert manifest["https://x.org/b2"] == {"status": 302, "headers": {"Location": "https://x.org/b/"}}
    assert manifest["https://x.org/b/"]["file"] == "x.org/b/index.html"
    assert (tmp_path / "x.org/a.html").read_text() == "<html>page</html>"
    assert_no_secrets(tmp_path)



def test_redirect_locations_lose_their_userinfo_and_tokens(tmp_path):
    """Issue 22: a redirect to ``https://user:<secret>@host/…?token=<secret>`` was written to the manifest
    (as a Location, as a key and in a file name): every recorded URL is stripped of both."""
    mw, _ = middleware(tmp_path)
    final = f"https://x.org/report?page=2&token={SECRET}"
    respond(mw, final, meta={"redirect_urls": ["https://x.org/go", f"https://alice:{SECRET}@x.org/login?sig={SECRET}"],
                             "redirect_reasons": [302, 301]})
    mw.save()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest == {
        "https://x.org/go": {"status": 302, "headers": {"Location": "https://x.org/login"}},
        "https://x.org/login": {"status": 301, "headers": {"Location": "https://x.org/report?page=2"}},
        "https://x.org/report?page=2": {"file": "x.org/report__page-2.html",
                                        "headers": {"Content-Type": "text/html; charset=utf-8"}},
    }
    assert_no_secrets(tmp_path)
    assert "alice" not in (tmp_path / "manifest.json").read_text()

def test_a_good_answer_is_not_replaced_by_a_failure_and_304s_are_not_recorded(tmp_path):
    mw, _ = middleware(tmp_path)
    respond(mw, "https://x.org/flaky", status=500, body="busy")
    respond(mw, "https://x.org/flaky", body="<html>ok</html>")
    respond(mw, "https://x.org/flaky", status=503, body="busy again")
    respond(mw, "https://x.org/same", status=304, body="")
    mw.save()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["https://x.org/flaky"]["file"] == "x.org/flaky.html" and "status" not in manifest["https://x.org/flaky"]
    assert (tmp_path / "x.org/flaky.html").read_text() == "<html>ok</html>"
    assert "https://x.org/same" not in manifest


def test_limit_counts_pages_not_robots_txt_and_closes_the_crawl(tmp_path):
    mw, closed = middleware(tmp_path, limit=2)
    respond(mw, "https://x.org/robots.txt", body="User-agent: *", headers={"Content-Type": "text/plain"})
    for page in ("one", "two", "three"):
        respond(mw, f"https://x.org/{page}")
    mw.save()
    assert sorted(json.loads((tmp_path / "manifest.json").read_text())) == [
        "https://x.org/one", "https://x.org/robots.txt", "https://x.org/two"]
    assert closed == ["record_limit"]


def test_recording_is_off_unless_asked():
    settings = {"DOWNLOADER_MIDDLEWARES": {"pipeline.crawl.guards.MediaGuard": 10}}
    assert with_recording(settings, None, None) is settings
    recording = with_recording(settings, "/tmp/out", 5)
    assert recording["DOWNLOADER_MIDDLEWARES"] == {"pipeline.crawl.guards.MediaGuard": 10,
                                                   "pipeline.crawl.recording.RecordMiddleware": 585}
    assert (recording["SGN_RECORD_DIR"], recording["SGN_RECORD_LIMIT"]) == ("/tmp/out", 5)


def assert_no_secrets(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            assert SECRET not in text, path
            for header in ("Set-Cookie", "Cookie", "Authorization", "WWW-Authenticate"):
                assert f'"{header}"' not in text, (path, header)


# -- a live site on loopback ------------------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Local news</title><link>{base}/</link><description>Local</description>
<item><title>First post</title><link>{base}/posts/first.html</link>
  <pubDate>Mon, 01 Jan 2024 12:00:00 +0000</pubDate><description>The first.</description></item>
<item><title>Second post</title><link>{base}/posts/second</link>
  <pubDate>Tue, 02 Jan 2024 12:00:00 +0000</pubDate><description>The second.</description></item>
</channel></rss>
"""
PAGE = ("<!DOCTYPE html><html lang='en'><head><title>{title}</title></head><body><main><h1>{title}</h1>"
        "<p>{title}: the text of a page served live on loopback for the record test, long enough to be read.</p>"
        "</main></body></html>")


class LiveHandler(SimpleHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def end_headers(self) -> None:
        self.send_header("Set-Cookie", f"session={SECRET}; HttpOnly")
        self.send_header("WWW-Authenticate", f'Basic realm="{SECRET}"')
        super().end_headers()

    def do_GET(self) -> None:  # stdlib naming
        LiveHandler.seen.append(dict(self.headers.items()))
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def live_site(tmp_path):
    root = tmp_path / "www"
    (root / "posts" / "second").mkdir(parents=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(LiveHandler, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (root / "feed.xml").write_text(FEED.format(base=base), encoding="utf-8")
    (root / "posts" / "first.html").write_text(PAGE.format(title="First post"), encoding="utf-8")
    (root / "posts" / "second" / "index.html").write_text(PAGE.format(title="Second post"), encoding="utf-8")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    LiveHandler.seen = []
    yield base, server
    server.shutdown()
    server.server_close()


@pytest.mark.e2e
def test_record_a_live_site_then_replay_it(tmp_path, live_site):
    base, server = live_site
    config = tmp_path / "config.yaml"
    config.write_text(textwrap.dedent(f"""\
        user_agent: "safeguarding-news/0.1 (tests; contact: team@example.org)"
        politeness: {{download_delay: 0, autothrottle: false}}
        sources:
          local_news:
            type: feed
            name: Local news
            organisation: Loopback
            allowed_domains: [127.0.0.1]
            feed_url: {base}/feed.xml
        """), encoding="utf-8")
    out = tmp_path / "recorded"
    result = run_cli("record", "--config", str(config), "--source", "local_news", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "recorded 5 responses of local_news" in result.output
    server.shutdown()  # from here on nothing is live

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest[f"{base}/feed.xml"]["file"] == "127.0.0.1_{}/feed.xml".format(base.rsplit(":", 1)[1])
    assert manifest[f"{base}/posts/second"] == {"status": 301, "headers": {"Location": f"{base}/posts/second/"}}
    assert manifest[f"{base}/robots.txt"]["status"] == 404
    assert set(manifest[f"{base}/posts/first.html"]["headers"]) == {"Content-Type", "Last-Modified"}
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["source"] == "local_news" and metadata["origin"] == "recorded"
    assert metadata["recorded_at"][:2] == "20" and metadata["recorded_at"].endswith("Z")
    assert_no_secrets(out)
    assert not any(k.lower() in ("cookie", "authorization") for h in LiveHandler.seen for k in h)

    db = tmp_path / "x.db"
    result = run_cli("crawl", "--config", str(config), "--source", "local_news", "--replay", str(out), "--db", str(db))
    assert result.exit_code == 0, result.output
    rows = query(db, "select url, title, published_at from publications order by published_at")
    https = "https" + base[len("http"):]  # canonical URLs are https
    assert rows == [{"url": f"{https}/posts/first.html", "title": "First post", "published_at": "2024-01-01T12:00:00Z"},
                    {"url": f"{https}/posts/second/", "title": "Second post",
                     "published_at": "2024-01-02T12:00:00Z"}]


# -- a coded spider, recorded through the replay download handler -----------------------------------

@pytest.mark.e2e
def test_record_a_coded_spider_and_replay_it_back(tmp_path):
    config = load_config(CONFIG)
    out = tmp_path / "csprp_govuk"
    summary = record_source(config, config.source("csprp_govuk"), out, replay=[str(FIXTURES / "csprp_govuk")])
    expected = {(p.id, p.title, p.published_at)
                for p in crawl_offline(CsprpGovukSpider, FIXTURES / "csprp_govuk",
                                       dict(config.source("csprp_govuk").options)).publications("strip")}
    assert summary["items"] == len(expected) and summary["responses"] > len(expected)

    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", "csprp_govuk", "--replay", str(out), "--db", str(db))
    assert result.exit_code == 0, result.output
    stored = {(r["id"], r["title"], r["published_at"]) for r in query(db, "select * from publications")}
    assert stored == expected
