"""The Children's Commissioner for England (SOURCES.md 3): reports and resources, news and blogs.

A WordPress site: the base class takes the REST API (posts, and reports as the custom type `resource`),
then the feed, then the HTML listings (/resource/ and /news-and-blogs/, cards dated "16 April 2024").
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pipeline.items.schema import RawItem
from spiders._wordpress import WordPressSpider

# Title prefixes seen on /news-and-blogs/ (2025): "Press notice: ...", "Statement from the Children's
# Commissioner on ...".
PRESS_NOTICE = re.compile(r"^\s*press\s+notice\b", re.I)
STATEMENT = re.compile(r"^\s*statement\b", re.I)
# Paths by kind, including the older ones still linked (/news/, /blog/, /statement/, /publication/).
REPORT_PATHS = ("/resource/", "/publication/")
BLOG_PATHS = ("/blog/",)


class ChildrensCommissionerSpider(WordPressSpider):
    name = "childrens_commissioner"
    base_url = "https://www.childrenscommissioner.gov.uk"
    post_types = ("post", "resource")
    listings = ("/resource/", "/news-and-blogs/")
    detail_pattern = r"^/(?:resource|news-and-blogs)/[^/]+/$"
    # Uploads are served from a separate host: assets.childrenscommissioner.gov.uk/wpuploads/YYYY/MM/.
    document_hosts = ("assets.childrenscommissioner.gov.uk", "www.childrenscommissioner.gov.uk")

    def finish_item(self, item: RawItem) -> RawItem:
        item.content_type = self._content_type(item.title, item.url)
        return item

    @staticmethod
    def _content_type(title: str, url: str) -> str:
        path = urlsplit(url).path
        if PRESS_NOTICE.match(title):
            return "press_release"
        if STATEMENT.match(title):
            return "news"
        if path.startswith(REPORT_PATHS):
            return "report"
        return "blog" if path.startswith(BLOG_PATHS) else "news"
