import http.client
import json
import logging
import time

import pytest

from pipeline.replay import ReplayError, ReplayServer, url_key


@pytest.fixture
def site(tmp_path):
    (tmp_path / "a.html").write_text("<h1>A</h1>", encoding="utf-8")
    (tmp_path / "d.json").write_text('{"ok": true}', encoding="utf-8")
    manifest = {
        "https://example.org/a": {"file": "a.html"},
        "https://example.org/api?x=1&y=2": {"file": "d.json"},
        "https://example.org/broken": {"status": 500},
        "https://example.org/slow": {"file": "a.html", "delay": 0.3},
        "https://example.org/etag": {"file": "a.html", "headers": {"ETag": '"v1"'}},
        "https://example.org/lm": {"file": "a.html",
                                   "headers": {"Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}},
        "https://example.org/typed": {"file": "a.html", "headers": {"Content-Type": "application/xml"}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with ReplayServer([tmp_path]) as server:
        yield server


def get(server, url, headers=None):
    host, port = server.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/ignored", headers={"X-Replay-Url": url, **(headers or {})})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def test_serves_files_with_types_from_extension(site):
    status, headers, body = get(site, "https://example.org/a")
    assert (status, body) == (200, b"<h1>A</h1>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert get(site, "https://example.org/typed")[1]["Content-Type"] == "application/xml"


def test_query_order_does_not_matter(site):
    status, headers, body = get(site, "https://example.org/api?y=2&x=1")
    assert status == 200 and json.loads(body) == {"ok": True}
    assert headers["Content-Type"] == "application/json"


def test_status_delay_and_missing(site, caplog):
    assert get(site, "https://example.org/broken")[0] == 500
    started = time.monotonic()
    assert get(site, "https://example.org/slow")[0] == 200
    assert time.monotonic() - started >= 0.3
    with caplog.at_level(logging.WARNING, logger="pipeline.replay"):
        assert get(site, "https://example.org/missing")[0] == 404
    assert "no recording for https://example.org/missing" in caplog.text
    assert [(h.url, h.status) for h in site.hits][-1] == ("https://example.org/missing", 404)


def test_conditional_requests(site):
    assert get(site, "https://example.org/etag", {"If-None-Match": '"v1"'})[0] == 304
    assert get(site, "https://example.org/etag", {"If-None-Match": '"v0"'})[0] == 200
    assert get(site, "https://example.org/lm", {"If-Modified-Since": "Thu, 02 Jan 2025 00:00:00 GMT"})[0] == 304
    assert get(site, "https://example.org/lm", {"If-Modified-Since": "Tue, 31 Dec 2024 00:00:00 GMT"})[0] == 200
    assert get(site, "https://example.org/a", {"If-None-Match": '"v1"'})[0] == 200


def test_url_key_sorts_query_and_drops_fragment():
    assert url_key("https://Example.org/p?b=2&a=1#x") == url_key("https://example.org/p?a=1&b=2")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "no manifest.json"),
        ("{not json", "not valid JSON"),
        ('["a"]', "expected an object"),
        ('{"relative/url": {"file": "a.html"}}', "must be an absolute URL"),
        ('{"https://example.org/": {"file": "missing.html"}}', "file not found"),
    ],
)
def test_bad_recorded_sites_are_clear_errors(tmp_path, manifest, message):
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(ReplayError, match=message):
        ReplayServer([tmp_path])


@pytest.mark.parametrize("file", ["../outside.html", "sub/../../outside.html", "ABSOLUTE"])
def test_a_manifest_entry_outside_its_folder_is_refused(tmp_path, file):
    """A recorded site holds its own files: an entry whose file is absolute or resolves outside the manifest's
    folder (even to a file that exists) is a ReplayError naming the manifest and the entry."""
    (tmp_path / "outside.html").write_text("<html></html>", encoding="utf-8")
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    target = str(tmp_path / "outside.html") if file == "ABSOLUTE" else file
    (site / "manifest.json").write_text(json.dumps({"https://example.org/a": {"file": target}}), encoding="utf-8")
    with pytest.raises(ReplayError) as caught:
        ReplayServer([site])
    message = str(caught.value)
    assert str(site / "manifest.json") in message and "https://example.org/a" in message
    assert "outside the recorded site's folder" in message
