"""A story as readers see it, shared by the digest and the feed: a heading, one "Source: … · Date
published: …" line per organisation, one summary, and "Read the …" links. Formats escape; this does not."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline.config import Config
from pipeline.items.dates import LONDON, parse_iso, start_of
from storage.queries import Story

MAX_SUMMARY_WORDS = 150
MAX_DOCUMENTS = 5  # per publication: a statistics release can carry dozens of tables
# "Read the <label>: <title>" by content type; types without a label get "Read more: <title>".
LINK_LABELS = {
    "news": "news story", "press_release": "press release", "blog": "blog post", "podcast": "podcast",
    "report": "report", "review": "review", "briefing": "briefing", "guidance": "guidance",
    "statistics": "statistics", "consultation": "consultation", "correspondence": "letter",
}
# A document attached to one of these is the thing itself ("Read the report: <PDF title>"); attachments
# of news and the like are just documents.
DOCUMENT_TYPES = {"report", "review", "briefing", "guidance", "statistics", "consultation", "correspondence"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Link:
    label: str  # "Read the report", "Read more"
    title: str
    url: str
    note: str = ""  # "PDF, 1.7 MB"


@dataclass(frozen=True)
class SourceLine:
    organisation: str
    published: str  # "12 December 2024", "December 2024", "2024" or ""


@dataclass(frozen=True)
class StoryView:
    id: str
    heading: str
    sources: tuple[SourceLine, ...]
    summary: str
    links: tuple[Link, ...]
    published: datetime | None
    updated: datetime


def organisations(config: Config) -> dict[str, str]:
    """Source slug → organisation name, from config.yaml."""
    return {slug: source.organisation for slug, source in config.sources.items()}


def clean(text: Any) -> str:
    """Text with control characters (terminal escapes, characters XML forbids) removed and whitespace
    folded; every value from the database goes through this before any format sees it."""
    return " ".join(_CONTROL.sub("", str(text or "")).split())


def safe_url(url: Any) -> str | None:
    """The URL if it is http(s), else None: a ``javascript:`` link never reaches a page."""
    text = clean(url)
    return text if urlsplit(text).scheme in ("http", "https") and urlsplit(text).netloc else None


def date_text(published_at: str | None) -> str:
    """``12 December 2024`` for a day or a datetime (its UK date), ``December 2024``, ``2024``."""
    value = (published_at or "").strip()
    try:
        if len(value) > 10:
            return parse_iso(value).astimezone(LONDON).strftime("%d %B %Y")
        if len(value) == 10:
            return date.fromisoformat(value).strftime("%d %B %Y")
        if len(value) == 7:
            return date.fromisoformat(value + "-01").strftime("%B %Y")
        if len(value) == 4 and value.isdigit():
            return value
    except ValueError:
        pass
    return ""


def link_label(content_type: str | None) -> str:
    label = LINK_LABELS.get(content_type or "")
    return f"Read the {label}" if label else "Read more"


def present(story: Story, names: Mapping[str, str]) -> StoryView:
    """The reader's view of a story. Its summary comes from the earliest member that met the story's
    filters (in a weekly digest, this week's news), falling back to the opening of its text."""
    members = story.members
    lead = next((m for m in members if m["id"] in story.matched), members[0])
    org = lambda m: clean(names.get(m["source"]) or m["source"])  # noqa: E731
    sources: dict[str, str] = {}
    for m in members:
        sources.setdefault(org(m), date_text(m["published_at"]))
    links = [link for m in members for link in _links(m, "" if org(m) == org(lead) else org(m))]
    published = [t for t in (start_of(m["published_at"]) for m in members) if t]
    updated = [start_of(m["updated_at"]) or start_of(m["published_at"]) or start_of(m["first_seen_at"])
               for m in members]
    return StoryView(
        id=story.id,
        heading=clean(story.cluster_title) or clean(members[0]["title"]),
        sources=tuple(SourceLine(o, d) for o, d in sources.items()),
        summary=_words(clean(lead["summary"]) or clean(lead["body_text"])),
        links=tuple(links),
        published=min(published) if published else None,
        updated=max(t for t in updated if t) if any(updated) else datetime(1970, 1, 1, tzinfo=UTC),
    )


def _links(member: dict[str, Any], elsewhere: str) -> list[Link]:
    """The publication's own link, then its documents (at most MAX_DOCUMENTS). ``elsewhere`` names the
    organisation when it differs from the story's lead ("Read the briefing on NSPCC Learning")."""
    on = f" on {elsewhere}" if elsewhere else ""
    docs = [d for d in _documents(member) if safe_url(d.get("url")) and d.get("url") != member["url"]]
    # A report's page with the report attached: the attachment is "the report", the page is "more".
    is_document = member["content_type"] in DOCUMENT_TYPES
    page_label = "Read more" if is_document and docs else link_label(member["content_type"])
    doc_label = link_label(member["content_type"]) if is_document else "Read the document"
    links = []
    if url := safe_url(member["url"]):
        links.append(Link(page_label + on, clean(member["title"]), url))
    for doc in docs[:MAX_DOCUMENTS]:
        note = ", ".join(x for x in (clean(doc.get("file_type")), clean(doc.get("size"))) if x)
        links.append(Link(doc_label + on, clean(doc.get("title")) or clean(doc["url"]), safe_url(doc["url"]) or "",
                          note))
    if len(docs) > MAX_DOCUMENTS and links and links[0].url == safe_url(member["url"]):
        links.append(Link("More documents" + on, clean(member["title"]), links[0].url,
                          f"{len(docs) - MAX_DOCUMENTS} more"))
    return links


def _documents(member: dict[str, Any]) -> list[dict[str, Any]]:
    raw = member.get("documents")
    try:
        docs = json.loads(raw) if isinstance(raw, str) else raw or []
    except ValueError:
        return []
    return [d for d in docs if isinstance(d, dict)] if isinstance(docs, list) else []


def _words(text: str, limit: int = MAX_SUMMARY_WORDS) -> str:
    words = text.split()
    return text if len(words) <= limit else " ".join(words[:limit]) + " …"
