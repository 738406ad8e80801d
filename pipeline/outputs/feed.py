"""An Atom 1.0 feed of the newest stories: one entry per story, listing every source's link.

Entry ids are tag: URIs built from a publication id (never the build time), so a reader sees a story once
however often the feed is rebuilt; an entry's ``updated`` is the latest of its members' updated or
published times, and the feed's is the latest of its entries' (the build time only for an empty feed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree

from pipeline.items.topics import Vocabulary
from pipeline.outputs.digest import story_html
from pipeline.outputs.present import StoryView, present, safe_url
from storage.queries import Story

ATOM = "{http://www.w3.org/2005/Atom}"
TAG_AUTHORITY = "tag:safeguarding-news,2025:"
FEED_ID = TAG_AUTHORITY + "feed"
FEED_TITLE = "UK child-safeguarding publications"
FEED_SUBTITLE = "The newest stories, one entry per story, with every source's link"


def entry_id(story: Story) -> str:
    """A tag: URI from the id of the member this pipeline saw first. A publication keeps its entry when
    clustering later groups it with newer ones (and a cluster id, which merges may change, never enters
    it): a reader sees the entry updated rather than a second copy of the story."""
    first = min(story.members, key=lambda m: (m["first_seen_at"] or "", m["id"]))
    return f"{TAG_AUTHORITY}publication/{quote(first['id'], safe='')}"


TOPIC_SCHEME = "tag:safeguarding-news,2025:topics"  # the scheme of entries' <category> terms (topic ids)


def build_feed(stories: list[Story], names: Mapping[str, str], now: datetime,
               self_url: str | None = None,
               member_topics: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
               vocabulary: Vocabulary | None = None) -> bytes:
    """Atom; each entry carries its story's topics as ``<category term="id" label="Label">``, the
    primary topic first."""
    views = [present(s, names, member_topics, vocabulary) for s in stories]
    fg = FeedGenerator()
    fg.id(FEED_ID)
    fg.title(FEED_TITLE)
    fg.subtitle(FEED_SUBTITLE)
    fg.author({"name": "safeguarding-news"})
    fg.language("en-GB")
    fg.generator("safeguarding-news")
    if self_url:
        fg.link(href=self_url, rel="self")
    fg.updated(max((v.updated for v in views), default=now))
    for story, view in zip(stories, views, strict=True):
        _entry(fg, story, view)
    return _relate_links(fg.atom_str(pretty=True))


def _relate_links(document: bytes) -> bytes:
    """Each entry's first link is the story's page (rel alternate, Atom's default); the others are
    rel="related". feedgen 1.0 drops the rel of entry links, and Atom allows one alternate link only."""
    root = etree.fromstring(document)
    for entry in root.iterfind(f"{ATOM}entry"):
        for link in entry.findall(f"{ATOM}link")[1:]:
            link.set("rel", "related")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _entry(fg: FeedGenerator, story: Story, view: StoryView) -> None:
    fe = fg.add_entry(order="append")
    fe.id(entry_id(story))
    fe.title(view.heading)
    fe.updated(view.updated)
    if view.published:
        fe.published(view.published)
    for url in dict.fromkeys(u for u in (safe_url(m["url"]) for m in story.members) if u):
        fe.link(href=url)
    for line in dict.fromkeys(line.organisation for line in view.sources):
        fe.author({"name": line})
    for term, label in zip(view.topic_ids, view.topics, strict=True):
        fe.category(term=term, label=label, scheme=TOPIC_SCHEME)
    fe.content(story_html(view, heading=False), type="html")
