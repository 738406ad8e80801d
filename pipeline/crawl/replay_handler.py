"""The Scrapy download handler of a replayed crawl: every request goes to the replay server
(``pipeline.replay``) over real HTTP, and its response comes back under the request's real URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

from pipeline.replay import URL_HEADER


class ReplayDownloadHandler(HTTP11DownloadHandler):
    """Send each request to the replay server over real HTTP, and give the response back its real URL."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.address = crawler.settings.get("REPLAY_ADDRESS")

    async def download_request(self, request: Any) -> Any:
        parts = urlsplit(request.url)
        headers = request.headers.copy()
        headers[URL_HEADER] = request.url
        local = request.replace(
            url=urlunsplit(("http", self.address, parts.path or "/", parts.query, "")), headers=headers
        )
        response = await super().download_request(local)
        return response.replace(url=request.url, request=request)
