"""Text only, for every source: the media guard refuses media by URL and aborts it by its headers."""

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers, Response
from scrapy.utils.test import get_crawler

from pipeline.config import load_config
from pipeline.crawl.guards import MediaAborted, MediaGuard, MediaRefused
from pipeline.crawl.process import scrapy_settings
from pipeline.items.files import is_media_type, media_extension
from pipeline.replay import ReplayServer, load_manifests
from storage.db import open_db
from storage.runs import start_run
from tests.pipeline._guard_probe import PROBES, REDIRECT_TARGET, GuardProbeSpider, probe_site_manifest
from tests.support import CONFIG, FIXTURES, ROOT, query

IWF = FIXTURES / "iwf"


@pytest.mark.parametrize("url, ext", [
    ("https://www.iwf.org.uk/media/abcd1234/photo.jpg", "jpg"),
    ("https://www.iwf.org.uk/media/abcd1234/PHOTO.JPEG", "jpeg"),
    ("https://example.org/img/a.png?width=300&height=200", "png"),
    ("https://example.org/img/a.webp#top", "webp"),
    ("https://example.org/img/a.avif", "avif"),
    ("https://example.org/favicon.ico", "ico"),
    ("https://example.org/scan.tiff", "tiff"),
    ("https://example.org/IMG_0001.HEIC", "heic"),
    ("https://example.org/logo.svg", "svg"),
    ("https://example.org/film.mp4", "mp4"),
    ("https://example.org/film.webm", "webm"),
    ("https://example.org/film.mov", "mov"),
    ("https://example.org/stream/index.m3u8", "m3u8"),
    ("https://example.org/talk.mp3", "mp3"),
    ("https://example.org/talk.m4a", "m4a"),
    ("https://example.org/talk.ogg", "ogg"),
    ("https://example.org/a/photo.jpg;jsessionid=abc", "jpg"),
    ("https://example.org/a/photo%2Ejpg", "jpg"),
    ("https://example.org/a/photo.jpg/", "jpg"),
])
def test_media_urls_are_recognised(url, ext):
    assert media_extension(url) == ext


@pytest.mark.parametrize("url", [
    "https://www.iwf.org.uk/news-media/news/new-ai-child-sexual-abuse-laws-announced-following-iwf-campaign",
    "https://www.iwf.org.uk/news-media/news/?page=2",
    "https://www.iwf.org.uk/media/abcd1234/annual-report.pdf",
    "https://www.gov.uk/api/search.json?count=20",
    "https://example.org/feed.xml",
    "https://example.org/wp-json/wp/v2/posts",
    "https://example.org/getimage?file=photo.jpg",  # the query is not looked at: Content-Type catches it
    "https://example.org/news/jpg-and-png-explained/",
    "https://example.org/robots.txt",
    "https://example.org/",
])
def test_text_urls_are_allowed(url):
    assert media_extension(url) == ""


@pytest.mark.parametrize("content_type, media", [
    ("image/jpeg", True), ("IMAGE/PNG; charset=binary", True), ("image/svg+xml", True), ("video/mp4", True),
    ("audio/mpeg", True), ("application/ogg", True), ("application/vnd.apple.mpegurl", True),
    (b"image/webp", True), ("text/html; charset=utf-8", False), ("application/pdf", False),
    ("application/json", False), ("application/xml", False), ("application/rss+xml", False),
    ("text/plain", False), ("application/octet-stream", False), ("", False), (None, False),
])
def test_media_content_types(content_type, media):
    assert is_media_type(content_type) is media


@pytest.fixture
def guard():
    crawler = get_crawler(GuardProbeSpider)
    crawler.stats.open_spider()
    return MediaGuard.from_crawler(crawler), crawler.stats


def test_a_media_url_is_refused_before_it_is_sent(guard, caplog):
    mw, stats = guard
    with pytest.raises(MediaRefused) as refused:
        mw.process_request(Request("https://www.iwf.org.uk/media/abcd1234/photo.jpg"))
    assert isinstance(refused.value, IgnoreRequest)
    assert "https://www.iwf.org.uk/media/abcd1234/photo.jpg" in caplog.text
    assert mw.process_request(Request("https://www.iwf.org.uk/media/abcd1234/report.pdf")) is None
    assert mw.process_request(Request("https://www.iwf.org.uk/news-media/news/?page=1")) is None
    assert stats.get_value("media/refused_url") == 1


@pytest.mark.parametrize("headers, stat", [
    ({"Content-Type": "image/jpeg"}, "media/aborted_content_type"),
    ({"Content-Type": "video/mp4"}, "media/aborted_content_type"),
    ({"Content-Type": "audio/mpeg"}, "media/aborted_content_type"),
    ({"Content-Type": "application/octet-stream", "Content-Disposition": 'attachment; filename="a.PNG"'},
     "media/aborted_filename"),
    ({"Content-Type": "application/octet-stream", "Content-Disposition": "attachment; filename*=UTF-8''clip.mp4"},
     "media/aborted_filename"),
])
def test_a_media_response_is_aborted_on_its_headers(guard, headers, stat):
    mw, stats = guard
    request = Request("https://www.iwf.org.uk/guard/no-extension")
    with pytest.raises(StopDownload) as stop:
        mw.headers_received(headers=Headers(headers), body_length=1000, request=request, spider=None)
    assert isinstance(stop.value, MediaAborted) and stop.value.fail, "fail=True: the errback, never the callback"
    with pytest.raises(MediaRefused):  # what the spider's errback then receives, counted once
        mw.process_exception(request, stop.value)
    assert stats.get_value(stat) == 1


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/pdf", "application/json",
                                          "application/xml", "text/plain"])
def test_text_responses_are_read(guard, content_type):
    mw, stats = guard
    request = Request("https://www.iwf.org.uk/x")
    assert mw.headers_received(headers=Headers({"Content-Type": content_type}), body_length=10,
                               request=request, spider=None) is None
    response = Response(request.url, headers={"Content-Type": content_type}, request=request)
    assert mw.process_response(request, response) is response
    assert mw.process_exception(request, ValueError("unrelated")) is None
    assert not [k for k in stats.get_stats() if k.startswith("media/")]


def test_a_media_body_delivered_anyway_never_reaches_a_spider(guard):
    """A download handler that ignored StopDownload would deliver the body: it is dropped, and counted."""
    mw, stats = guard
    request = Request("https://www.iwf.org.uk/guard/no-extension")
    with pytest.raises(MediaRefused):
        mw.process_response(request, Response(request.url, headers={"Content-Type": "image/gif"}, body=b"GIF89a"))
    assert stats.get_value("media/dropped_response") == 1


@pytest.mark.parametrize("replay", [None, "127.0.0.1:9"])
def test_every_crawl_has_the_guard_first_in_its_downloader_chain(replay, tmp_path):
    config = load_config(CONFIG)
    for source in config.sources.values():
        settings = scrapy_settings(config, source, str(tmp_path / "x.db"), 1, replay)
        chain = settings["DOWNLOADER_MIDDLEWARES"]
        guard_priority = chain["pipeline.crawl.guards.MediaGuard"]
        others = [p for name, p in chain.items() if p is not None and name != "pipeline.crawl.guards.MediaGuard"]
        # 50 is Scrapy's first default downloader middleware (OffsiteMiddleware)
        assert guard_priority < min([50, *others]), source.slug


# -- end to end: real crawl processes against a replay server this test owns ----------------------------------


def crawl_process(module_args: list[str], server: ReplayServer, db, source: str) -> dict:
    """Create the run row as the runner does, run the crawl process, return the closed run."""
    database = open_db(db)
    run_id = start_run(database, source, "2026-01-01T00:00:00Z", pid=None)
    database.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", *module_args, "--db", str(db), "--run-id", str(run_id),
                    "--replay-address", server.address], cwd=ROOT, env=env, check=True, timeout=120)
    return query(db, "select * from runs where id = ?", (run_id,))[0]


@pytest.mark.e2e
def test_a_spider_that_asks_for_media_gets_none(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "manifest.json").write_text(json.dumps(probe_site_manifest()))
    (site / "page.html").write_text("<html><body><h1>A text page</h1></body></html>")
    (site / "data.json").write_text('{"ok": true}')
    (site / "text.txt").write_text("Plain text; served with whatever Content-Type the manifest says.")
    with ReplayServer([site]) as server:
        run = crawl_process(["tests.pipeline._guard_probe"], server, tmp_path / "x.db", "guard_probe")
        asked = {urlsplit(h.url)._replace(fragment="").geturl() for h in server.hits}

    stats = json.loads(run["stats"])
    for url, outcome in PROBES.items():
        path = urlsplit(url).path
        if outcome == "refused_url":
            assert urlsplit(url)._replace(fragment="").geturl() not in asked, f"the server was asked for {url}"
            assert stats.get(f"sgn/probe/MediaRefused{path}") == 1, url
        elif outcome == "fetched":
            assert url in asked and stats.get(f"sgn/probe/fetched{path}") == 1, url
        else:  # the request went out; the body was refused on its headers and never reached the callback
            assert url in asked and f"sgn/probe/fetched{path}" not in stats, url
    assert REDIRECT_TARGET not in asked
    assert stats.get(f"sgn/probe/MediaRefused{urlsplit(REDIRECT_TARGET).path}") == 1
    assert stats["media/refused_url"] == 5  # four asked for directly, one reached by a redirect
    assert stats["media/aborted_content_type"] == 1 and stats["media/aborted_filename"] == 1
    assert "media/dropped_response" not in stats, "the bodies were stopped in headers_received, not later"


MEDIA_ATTRIBUTE = re.compile(r"""(?:src|href|srcset|poster|data-src|data|content|url)\s*[=(]\s*["']?([^"')>]+)""")


def media_urls_in(folder) -> set[str]:
    """Every media URL the recorded pages refer to (src, srcset, href, poster, og:image, CSS url(...))."""
    found = set()
    for entry in load_manifests([folder]).values():
        if entry.file is None:
            continue
        for value in MEDIA_ATTRIBUTE.findall(entry.file.read_text(encoding="utf-8")):
            for candidate in value.split(","):
                url = candidate.strip().split(" ")[0]
                if media_extension(url):
                    found.add(url if url.startswith("http") else "https://www.iwf.org.uk" + url)
    return found


@pytest.mark.e2e
def test_iwf_crawl_requests_no_image_video_or_audio(tmp_path):
    """The recorded IWF site is full of <img>, <picture>/<source srcset>, <video>, <audio> and links to .jpg
    files; crawled end to end, the replay server is asked for none of them."""
    referenced = media_urls_in(IWF)
    assert len(referenced) >= 40, "the fixture must keep plenty of media references to be a proof"
    with ReplayServer([IWF]) as server:
        run = crawl_process(["pipeline.crawl.process", "--config", str(CONFIG), "--source", "iwf"], server,
                            tmp_path / "x.db", "iwf")
        asked = [h.url for h in server.hits]
    assert run["items"] == 14, "the crawl ran through the whole site"
    assert sum("/news-media/" in u and "?page=" not in u and "feed" not in u for u in asked) == 14
    assert not referenced & set(asked)
    assert [u for u in asked if media_extension(u)] == []
    assert not [k for k in json.loads(run["stats"]) if k.startswith("media/")], "nothing to refuse: none asked"
