"""A story as readers see it, shared by the digest and the feed: a heading, one "Source: … · Date
published: …" line per organisation, one summary, and "Read the …" links. Formats escape; this does not."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.items.dates import LONDON, parse_iso, start_of
from pipeline.items.topics import Vocabulary
from storage.queries import Story

if TYPE_CHECKING:  # `search` shows results without loading pydantic (start-up)
    from pipeline.config import Config

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
    note: str = ""  # "PDF, 1.7 MB, 168 pages"


@dataclass(frozen=True)
class SourceLine:
    organisation: str
    published: str  # "12 December 2024", "December 2024", "2024" or ""
    where: str = ""  # "GOV.UK", a site's host: only when one organisation published the story in two places


@dataclass(frozen=True)
class StoryView:
    id: str
    heading: str
    sources: tuple[SourceLine, ...]
    summary: str
    links: tuple[Link, ...]
    published: datetime | None
    updated: datetime
    topic: str = ""  # the primary topic's label: the heading over the story ("" when it has none)
    topics: tuple[str, ...] = ()  # every topic's label, the primary first
    topic_ids: tuple[str, ...] = ()


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


def precision_rank(published_at: str | None) -> int:
    """3 for a day or a moment, 2 for a month, 1 for a year, 0 without a date."""
    value = (published_at or "").strip()
    return 3 if len(value) >= 10 else 2 if len(value) == 7 else 1 if len(value) == 4 else 0


def site_name(url: Any) -> str:
    """Where a publication is, for a reader: "GOV.UK", or the site's host without "www."."""
    host = (urlsplit(clean(url)).hostname or "").lower()
    if host in ("gov.uk", "www.gov.uk", "assets.publishing.service.gov.uk"):
        return "GOV.UK"
    return host.removeprefix("www.")


def story_topics(story: Story, member_topics: Mapping[str, Sequence[Mapping[str, Any]]],
                 vocabulary: Vocabulary | None) -> tuple[str, ...]:
    """The story's topic ids, the primary first: a story takes its publications' topics, and its primary
    topic has the highest score summed over them (ties: the vocabulary's order)."""
    scores: dict[str, float] = {}
    for m in story.members:
        for t in member_topics.get(m["id"], ()):
            scores[t["topic"]] = scores.get(t["topic"], 0.0) + float(t["score"] or 0)
    if not scores:
        return ()
    vocab = vocabulary or Vocabulary(())
    return tuple(sorted(scores, key=lambda t: (-scores[t], vocab.position(t), t)))


def present(story: Story, names: Mapping[str, str],
            member_topics: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
            vocabulary: Vocabulary | None = None) -> StoryView:
    """The reader's view of a story. Its publications are listed each with its own organisation, date and
    place (GOV.UK or the organisation's site, when one organisation published it in two places): the most
    precisely dated first (a day before a month before a year), and among those the ones that put the
    story in the period (its news) first; the first leads, and the summary is the first non-empty one in
    that order."""
    members = story.members
    order = sorted(members, key=lambda m: (-precision_rank(m["published_at"]), m["id"] not in story.matched,
                                           m["published_at"] or "", m["id"]))
    lead = order[0]
    org = lambda m: clean(names.get(m["source"]) or m["source"])  # noqa: E731
    places: dict[str, set[str]] = {}
    for m in members:
        places.setdefault(org(m), set()).add(site_name(m["url"]))
    where = lambda m: site_name(m["url"]) if len(places[org(m)]) > 1 else ""  # noqa: E731
    sources: dict[tuple[str, str], str] = {}
    for m in order:
        sources.setdefault((org(m), where(m)), date_text(m["published_at"]))
    links = [link for m in order for link in _links(m, _elsewhere(org(m), where(m), org(lead)))]
    published = [t for t in (start_of(m["published_at"]) for m in members) if t]
    updated = [start_of(m["updated_at"]) or start_of(m["published_at"]) or start_of(m["first_seen_at"])
               for m in members]
    summary = next((clean(m["summary"]) for m in order if clean(m["summary"])), "") or clean(lead["body_text"])
    topic_ids = story_topics(story, member_topics or {}, vocabulary)
    label = (vocabulary.label if vocabulary else str)
    return StoryView(
        id=story.id,
        heading=clean(story.cluster_title) or clean(lead["title"]),
        sources=tuple(SourceLine(o, d, w) for (o, w), d in sources.items()),
        summary=_words(summary),
        links=tuple(links),
        published=min(published) if published else None,
        updated=max(t for t in updated if t) if any(updated) else datetime(1970, 1, 1, tzinfo=UTC),
        topic=clean(label(topic_ids[0])) if topic_ids else "",
        topics=tuple(clean(label(t)) for t in topic_ids),
        topic_ids=topic_ids,
    )


def _elsewhere(organisation: str, where: str, lead_organisation: str) -> str:
    """What a link says of where it goes: nothing for the lead's organisation in one place; "GOV.UK" or
    the site when that organisation has two; the organisation (and its place) for another one."""
    if organisation == lead_organisation:
        return where
    return f"{organisation} ({where})" if where else organisation


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
        pages = doc.get("pages")  # a page count where the site states one
        count = f"{pages} page{'s' if pages != 1 else ''}" if type(pages) is int and pages > 0 else ""
        note = ", ".join(x for x in (clean(doc.get("file_type")), clean(doc.get("size")), count) if x)
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


def topics_by_member(db: Any, stories: Sequence[Story]) -> dict[str, list[dict[str, Any]]]:
    """publication id → its stored topics, for every member of these stories."""
    from storage.topics import topics_of

    return topics_of(db, [m["id"] for s in stories for m in s.members])


def with_topics(stories: Sequence[Story], member_topics: Mapping[str, Sequence[Mapping[str, Any]]],
                wanted: Sequence[str]) -> list[Story]:
    """The stories that have one of the ``wanted`` topics (a story has its publications' topics)."""
    if not wanted:
        return list(stories)
    return [s for s in stories
            if any(t["topic"] in wanted for m in s.members for t in member_topics.get(m["id"], ()))]
