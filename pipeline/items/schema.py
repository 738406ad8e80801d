"""The item schema shared by spiders (``RawItem``) and storage (``Publication``).

Spiders and storage import only this module from ``pipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONTENT_TYPES: tuple[str, ...] = (
    "news",
    "press_release",
    "blog",
    "podcast",
    "report",
    "review",
    "briefing",
    "guidance",
    "statistics",
    "consultation",
    "correspondence",
    "other",
)
PRECISIONS: tuple[str, ...] = ("datetime", "day", "month", "year")
RUN_STATUSES: tuple[str, ...] = ("running", "ok", "partial", "failed", "interrupted")


@dataclass
class RawItem:
    """What a spider yields: values as the site gives them, before normalisation.

    Dates are raw strings in any format the site uses ("05 Oct 2020", "2024-01-25T00:00:00+00:00",
    "2020/october"); ``content_type`` may be left empty so that the normaliser maps ``source_type``.
    """

    source: str
    url: str
    title: str = ""
    natural_key: str = ""
    summary: str = ""
    body_html: str = ""
    body_text: str = ""
    source_type: str = ""
    content_type: str = ""
    published: str = ""
    updated: str = ""
    withdrawn: str = ""
    language: str = ""
    topics: list[str] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """A file a publication offers. ``size`` as the site shows it (``1.7 MB``); ``pages`` the page count
    where the site or API states one (GOV.UK ``number_of_pages``, the Panel's "Number of pages: 168"), else
    None. ``pages`` is stored in the ``documents`` JSON only when known and never enters the content hash
    (pipeline.items.normalise.content_hash), so publications stored before it existed hash as before."""

    title: str
    url: str
    file_type: str = ""
    size: str = ""
    pages: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored form: ``pages`` only when known (the JSON of a document without one is unchanged)."""
        data: dict[str, Any] = {"title": self.title, "url": self.url, "file_type": self.file_type,
                                "size": self.size}
        if self.pages is not None:
            data["pages"] = self.pages
        return data


@dataclass(frozen=True)
class Publication:
    """One normalised publication: the columns of the ``publications`` table that a crawl sets.

    ``first_seen_at``, ``last_seen_at``, ``version`` and ``cluster_id`` are kept by storage.
    """

    id: str
    source: str
    url: str
    title: str
    summary: str
    body_text: str
    content_type: str
    source_type: str
    published_at: str | None
    published_precision: str | None
    updated_at: str | None
    topics: tuple[str, ...]
    documents: tuple[Document, ...]
    withdrawn_at: str | None
    language: str
    links: tuple[str, ...]
    content_hash: str


# Columns of `publications`, in table order, with the README's description of each. A test checks that the
# README's schema table, this mapping and the dataclass agree.
PUBLICATION_COLUMNS: dict[str, str] = {
    "id": "stable id: `<source>:<natural key>` (the platform's own id where one exists, else the URL)",
    "source": "source slug, e.g. `csprp_govuk`",
    "url": "canonical URL of the publication",
    "title": "title as published",
    "summary": "standfirst, description or excerpt, as plain text",
    "body_text": "main text, markup removed",
    "content_type": "one of " + ", ".join(f"`{t}`" for t in CONTENT_TYPES),
    "source_type": "the site's own label, e.g. `corporate_report`, `Podcast`",
    "published_at": "ISO 8601: `YYYY-MM-DD`, a UTC datetime, or `YYYY-MM` / `YYYY` when the site gives no more",
    "published_precision": "`datetime`, `day`, `month` or `year`",
    "updated_at": "when the site says it last changed (ISO 8601), if it says",
    "topics": "JSON array of topic labels",
    "documents": "JSON array of `{title, url, file_type, size}`, plus `pages` (an integer) when the site states "
                 "a page count; `pages` is not part of `content_hash` (a row stored before page counts were kept "
                 "gets them with its next change)",
    "first_seen_at": "UTC time this pipeline first stored it",
    "last_seen_at": "UTC time a crawl last saw it",
    "content_hash": "hash of the normalised fields that matter; a change bumps `version`",
    "version": "1, then +1 for each change (earlier versions in `publication_versions`)",
    "cluster_id": "the story it belongs to (`clusters.id`), if grouped",
    "withdrawn_at": "when the site withdrew it (GOV.UK withdrawn notices)",
    "language": "language code, e.g. `en`",
    "links": "JSON array of outbound links to other sources' pages (for grouping stories)",
}
