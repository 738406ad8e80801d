"""``probe``: the first contact with a source's site, before the first scheduled crawl. Each source's own spider is
driven in-process (as ``pipeline.tools.offline`` does) against the live site or recorded sites, and the answer is
a report: which doors answered (API, feed, sitemap, HTML listings), article links per listing page, field
coverage (title, date, summary, content type) on N sampled detail pages, article-like links matching no pattern,
robots.txt verdicts, and a one-line verdict per source (ok / degraded / broken).
"""

from __future__ import annotations

import asyncio
import inspect
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from scrapy import Request
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from pipeline.items.normalise import InvalidItem, normalise
from pipeline.items.schema import RawItem
from pipeline.replay import load_manifests, url_key
from pipeline.tools.offline import fake_response

Fetch = Callable[[str], tuple[int, dict[str, str], bytes]]
FIELDS = ("title", "date", "summary", "content_type")
DOOR_WORDS = {"api": ("api", "rest", "search"), "feed": ("feed", "rss"), "sitemap": ("sitemap",),
              "html": ("listing", "html")}


@dataclass
class SourceReport:
    source: str
    verdict: str = "broken"
    doors: dict[str, bool] = field(default_factory=dict)
    door: str = ""
    listing_links: dict[str, int] = field(default_factory=dict)
    sampled: int = 0
    coverage: dict[str, int] = field(default_factory=dict)
    missing_fields: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    robots: dict[str, str] = field(default_factory=dict)
    items: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        missing = f"; missing: {', '.join(self.missing_fields)}" if self.missing_fields else ""
        return (f"{self.source}: {self.verdict} ({self.items} items via {self.door or 'no door'}; "
                f"{self.sampled} sampled{missing}; {len(self.unmatched)} unmatched links; "
                f"{len(self.errors)} errors)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def replay_fetch(folders: list[str | Path]) -> Fetch:
    entries = load_manifests(folders)

    def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
        entry = entries.get(url_key(url))
        if entry is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return entry.status, {"Content-Type": entry.content_type(), **entry.headers}, entry.body()
    return fetch


def live_fetch(user_agent: str, timeout: float = 30.0) -> Fetch:
    def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": user_agent})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # http(s) URLs of the sources only
                return answer.status, dict(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            return 599, {"Content-Type": "text/plain"}, str(exc).encode()
    return fetch


class _HttpError(Exception):
    def __init__(self, response: Any) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


def probe_source(slug: str, spider_cls: Any, options: dict[str, Any], fetch: Fetch, sample: int = 5,
                 user_agent: str = "*", max_requests: int = 400) -> SourceReport:
    """Drive the source's spider with ``fetch`` (full walk, bounded by ``max_requests``) and report."""
    report = SourceReport(source=slug)
    crawler = get_crawler(spider_cls)
    spider = spider_cls.from_crawler(crawler, options=options)
    queue: deque[Request] = deque()
    seen: set[str] = set()
    answered: dict[str, int] = {}
    items: list[RawItem] = []

    def absorb(outputs: Any) -> list[Request]:
        if outputs is None:
            return []
        if inspect.isasyncgen(outputs):
            outputs = asyncio.run(_drain(outputs))
        made = []
        for out in outputs:
            if isinstance(out, Request):
                made.append(out)
                queue.append(out)
            elif isinstance(out, RawItem):
                items.append(out)
        return made

    absorb(spider.start())
    while queue and len(seen) < max_requests:
        request = queue.popleft()
        key = url_key(request.url)
        if key in seen:
            continue
        seen.add(key)
        status, headers, body = fetch(request.url)
        answered[request.url] = status
        response = fake_response(request.url, body, status, headers, request)
        allowed = request.meta.get("handle_httpstatus_list", [])
        if 200 <= status < 300 or status in allowed or request.meta.get("handle_httpstatus_all"):
            made = absorb((request.callback or spider.parse)(response, **request.cb_kwargs))
            if "listing" in getattr(request.callback, "__name__", ""):
                report.listing_links[request.url] = sum(1 for r in made if "listing" not in getattr(
                    r.callback, "__name__", ""))
        elif request.errback:
            failure = Failure(_HttpError(response))
            failure.request = request  # type: ignore[attr-defined]
            absorb(request.errback(failure))
    report.door = spider.door
    report.items = len(items)
    report.errors = list(spider.errors)
    report.unmatched = sorted(getattr(spider.run_log, "unmatched", {}))
    for name, words in DOOR_WORDS.items():
        probed = [s for u, s in answered.items() if any(w in u.lower() for w in words)]
        if probed:
            report.doors[name] = any(200 <= s < 300 for s in probed)
    report.doors["used"] = bool(report.door)
    _coverage(report, items[:sample])
    _robots(report, {u for u in answered}, fetch, user_agent)
    report.verdict = ("broken" if not items else
                      "degraded" if report.missing_fields or report.errors or report.unmatched else "ok")
    return report


def _coverage(report: SourceReport, sampled: list[RawItem]) -> None:
    report.sampled = len(sampled)
    counts = dict.fromkeys(FIELDS, 0)
    for raw in sampled:
        try:
            pub = normalise(raw)
        except InvalidItem:
            continue
        counts["title"] += bool(pub.title)
        counts["date"] += bool(pub.published_at)
        counts["summary"] += bool(pub.summary)
        counts["content_type"] += pub.content_type not in ("", "other")
    report.coverage = counts
    report.missing_fields = [f for f, n in counts.items() if sampled and n < len(sampled)]


def _robots(report: SourceReport, urls: set[str], fetch: Fetch, user_agent: str) -> None:
    for host in sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls}):
        status, _, body = fetch(f"{host}/robots.txt")
        if status >= 400:
            report.robots[host] = f"no robots.txt (HTTP {status}): everything allowed"
            continue
        parser = RobotFileParser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        refused = [u for u in urls if u.startswith(host) and not parser.can_fetch(user_agent, u)]
        report.robots[host] = f"{len(refused)} of the probed URLs disallowed" if refused else "allowed"


async def _drain(agen: Any) -> list[Any]:
    return [x async for x in agen]
