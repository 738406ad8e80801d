"""GOV.UK organisations through the documented Search and Content APIs (SOURCES.md 2a)."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response
from scrapy.selector import Selector

from pipeline.items.schema import RawItem
from spiders._base import SourceSpider

WWW = "https://www.gov.uk"
SEARCH_FIELDS = ("title", "link", "description", "public_timestamp", "content_store_document_type")
NOT_PUBLICATIONS = {"redirect", "gone", "vanish", "unpublishing"}


class GovukOrganisationSpider(SourceSpider):
    """All documents of one GOV.UK organisation, newest first; options: ``organisation_slug``,
    ``page_size`` and ``locales`` (English only by default)."""

    def search_url(self, start: int) -> str:
        params = [
            ("filter_organisations", self.options["organisation_slug"]),
            ("order", "-public_timestamp"),
            ("count", str(int(self.options.get("page_size", 50)))),
            ("start", str(start)),
            *(("fields", f) for f in SEARCH_FIELDS),
        ]
        return f"{WWW}/api/search.json?{urlencode(params)}"

    async def start(self):
        if not self.options.get("organisation_slug"):
            self.record_error(self.name, "option organisation_slug is missing in config.yaml")
            return
        self.use_door("GOV.UK Search API + Content API")
        yield self.request(self.search_url(0), self.parse_search, cb_kwargs={"start": 0})

    def parse_search(self, response: Response, start: int) -> Iterator[Any]:
        data = self.load_json(response)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            if data is not None:
                self.record_error(response.url, "Search API answer has no results list")
            return
        results = [r for r in data["results"] if isinstance(r, dict) and isinstance(r.get("link"), str)]
        fetched = 0
        for result in results:
            link = result["link"]
            if link.startswith("http"):
                self.record_skip(link, "not a GOV.UK path")
            elif self.unchanged_at_source(WWW + link, result.get("public_timestamp")):
                self.record_unchanged(WWW + link)
            else:
                fetched += 1
                yield self.request(f"{WWW}/api/content{link}", self.parse_content, cb_kwargs={"hit": result},
                                   meta={"handle_httpstatus_list": [410]})
        total = data.get("total")
        following = start + len(data["results"])
        if results and not fetched and not self.full_walk:
            self.logger.info("page at start=%d holds only unchanged publications: the walk stops", start)
        elif data["results"] and isinstance(total, int) and following < total:
            yield self.request(self.search_url(following), self.parse_search, cb_kwargs={"start": following})

    def parse_content(self, response: Response, hit: dict[str, Any]) -> Iterator[RawItem]:
        doc = self.load_json(response)
        if doc is None:
            return
        page, stamp = WWW + hit["link"], hit.get("public_timestamp")
        if response.status == 410 or doc.get("schema_name") in NOT_PUBLICATIONS \
                or doc.get("document_type") in NOT_PUBLICATIONS:
            self.record_skip(page, doc.get("schema_name") or "gone", stamp)
            return
        locale = doc.get("locale") or "en"
        if locale not in self.options.get("locales", ["en"]):
            self.record_skip(page, f"translation ({locale})", stamp)
            return
        yield self.item_from_content(doc, hit)

    # -- fields ----------------------------------------------------------------

    def item_from_content(self, doc: dict[str, Any], hit: dict[str, Any]) -> RawItem:
        details = doc.get("details") if isinstance(doc.get("details"), dict) else {}
        body = details.get("body") or ""
        if isinstance(body, list):  # multi-part bodies: [{"content_type": "text/html", "content": ...}]
            body = next((b.get("content", "") for b in body if "html" in b.get("content_type", "")), "")
        base_path = doc.get("base_path") or hit.get("link") or ""
        withdrawn = doc.get("withdrawn_notice") or {}
        return RawItem(
            source=self.name,
            url=WWW + base_path,
            natural_key=f"{doc['content_id']}:{doc.get('locale') or 'en'}" if doc.get("content_id") else "",
            title=doc.get("title") or hit.get("title") or "",
            summary=doc.get("description") or hit.get("description") or "",
            body_html=body,
            source_type=doc.get("document_type") or hit.get("content_store_document_type") or "",
            content_type=self._content_type(doc),
            published=self._published(doc, details),
            updated=doc.get("public_updated_at") or "",
            withdrawn=withdrawn.get("withdrawn_at", "") if isinstance(withdrawn, dict) else "",
            language=doc.get("locale") or "en",
            topics=self._topics(doc),
            documents=self._documents(details),
            links=Selector(text=body).css("a::attr(href)").getall() if body else [],
        )

    def _published(self, doc: dict[str, Any], details: dict[str, Any]) -> str:
        """first_published_at; else (an html_publication often has none) details.first_public_at, then
        details.public_timestamp, then public_updated_at: GOV.UK's own timestamps, kept at their precision
        (a full timestamp is a datetime). The fallback taken is counted (sgn/govuk_published_from/<field>)."""
        for value, origin in ((doc.get("first_published_at"), ""), (details.get("first_public_at"), "first_public_at"),
                              (details.get("public_timestamp"), "public_timestamp"),
                              (doc.get("public_updated_at"), "public_updated_at")):
            if value:
                if origin:
                    self.count(f"govuk_published_from/{origin}")
                return str(value)
        return ""

    def _content_type(self, doc: dict[str, Any]) -> str:
        """Independent reports whose title or description calls them a review are the Panel's reviews."""
        text = f"{doc.get('title') or ''} {doc.get('description') or ''}".lower()
        if doc.get("document_type") == "independent_report" and (
            "national review" in text or "rapid review" in text or "review into" in text
        ):
            return "review"
        return ""

    def _topics(self, doc: dict[str, Any]) -> list[str]:
        links = doc.get("links") if isinstance(doc.get("links"), dict) else {}
        return [t["title"] for t in links.get("taxons", []) + links.get("topics", [])
                if isinstance(t, dict) and t.get("title")]

    def _documents(self, details: dict[str, Any]) -> list[dict[str, Any]]:
        docs = []
        for att in details.get("attachments") or []:
            if not isinstance(att, dict) or not att.get("url"):
                continue
            mime = att.get("content_type") or ""
            ext = (mimetypes.guess_extension(mime) or "").lstrip(".") if mime else ""
            docs.append({"title": att.get("title"), "url": att["url"], "file_type": ext or mime,
                         "size": att.get("file_size"), "pages": att.get("number_of_pages")})
        for fragment in details.get("documents") or []:  # older publications: attachment HTML
            sel = Selector(text=fragment) if isinstance(fragment, str) else None
            for a in sel.css("a[href*='/uploads/'], a[href*='/media/']") if sel else []:
                docs.append({"title": " ".join(a.css("::text").getall()), "url": a.attrib["href"]})
        return docs
