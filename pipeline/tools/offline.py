"""Drive a spider through a recorded site in-process, without the Scrapy engine or a network: what the spider
tests, the story-quality benchmark and a maintainer checking a parser use to see what a spider makes of
recorded pages. Every request is answered from the recorded site's manifests (404 for a URL not in them).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from pipeline.items.normalise import normalise
from pipeline.items.schema import Publication, RawItem
from pipeline.replay import load_manifests, url_key


def fake_response(url: str, body: bytes | str, status: int = 200, headers: dict[str, str] | None = None,
                  request: Request | None = None) -> Response:
    """A Scrapy response for parser tests: JSON and XML as text, everything else as HTML."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    headers = dict(headers or {})
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    cls = (TextResponse if "json" in ctype or url.split("?")[0].endswith(".json")
           else XmlResponse if "xml" in ctype else HtmlResponse)
    return cls(url=url, body=data, status=status, headers=headers, encoding="utf-8",
               request=request or Request(url))


class _HttpError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


@dataclass
class OfflineResult:
    items: list[RawItem] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    spider: Any = None

    def publications(self, trailing_slash: str = "keep") -> list[Publication]:
        return [normalise(i, trailing_slash) for i in self.items]

    def by_url(self, url: str) -> RawItem:
        matches = [i for i in self.items if i.url == url]
        if not matches:
            raise LookupError(f"no item with url {url}; got {[i.url for i in self.items]}")
        return matches[0]


def crawl_offline(spider_cls: type[Spider], site: Path | str | list[Path | str], options: dict[str, Any] | None = None,
                  max_requests: int = 2000, spider_kwargs: dict[str, Any] | None = None,
                  settings: dict[str, Any] | None = None) -> OfflineResult:
    """Drive a spider through a recorded site in-process, without the Scrapy engine or a network.

    Requests are answered from the manifests (404 for missing URLs); non-2xx answers go to the errback
    unless the request's meta allows the status, as in Scrapy. Duplicate URLs are fetched once.
    ``spider_kwargs`` go to the spider too (e.g. ``known=..., full_walk=False`` for an incremental walk);
    ``settings`` to its crawler (e.g. ``{"SGN_TRAILING_SLASH": "strip"}``, the source's URL rule).
    """
    folders = site if isinstance(site, list) else [site]
    entries = load_manifests(folders)
    crawler = get_crawler(spider_cls, settings_dict=settings)
    spider = spider_cls.from_crawler(crawler, options=options or {}, **(spider_kwargs or {}))
    result = OfflineResult(spider=spider)
    queue: deque[Request] = deque()
    seen: set[str] = set()

    def absorb(outputs: Any) -> None:
        if outputs is None:
            return
        if inspect.isasyncgen(outputs):
            outputs = _drain_async(outputs)
        for out in outputs:
            if isinstance(out, Request):
                queue.append(out)
            elif isinstance(out, RawItem):
                result.items.append(out)

    absorb(spider.start())
    while queue and len(result.requested) < max_requests:
        request = queue.popleft()
        key = url_key(request.url)
        if key in seen and not request.dont_filter:
            continue
        seen.add(key)
        result.requested.append(request.url)
        entry = entries.get(key)
        status = entry.status if entry else 404
        body = entry.body() if entry else b"not found"
        headers = {"Content-Type": entry.content_type()} if entry else {"Content-Type": "text/plain"}
        if entry:
            headers.update(entry.headers)
        response = fake_response(request.url, body, status, headers, request)
        allowed = request.meta.get("handle_httpstatus_list", []) + list(
            getattr(spider, "handle_httpstatus_list", []))
        if 200 <= status < 300 or status in allowed or request.meta.get("handle_httpstatus_all"):
            callback = request.callback or spider.parse
            absorb(callback(response, **request.cb_kwargs))
        elif request.errback:
            failure = Failure(_HttpError(response))
            failure.request = request  # type: ignore[attr-defined]
            absorb(request.errback(failure))
    return result


def _drain_async(agen: Any) -> list[Any]:
    async def collect() -> list[Any]:
        return [x async for x in agen]

    return asyncio.run(collect())
