"""Pure functions that turn a spider's ``RawItem`` into a ``Publication``: content types, documents, the
content hash. URLs, text and dates have modules of their own (``urls``, ``text``, ``dates``).

No I/O and no clock: every function here is table-tested in ``tests/pipeline/test_normalise.py``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.items.dates import date_iso, parse_date
from pipeline.items.schema import CONTENT_TYPES, Document, Publication, RawItem
from pipeline.items.text import clean_text, html_to_text
from pipeline.items.urls import canonical_url


class InvalidItem(ValueError):
    """A RawItem that cannot become a Publication (no title, no URL, ...)."""


# Dates outside these years are a site's mistake or a hostile value (year 0001, year 9999 that would pin a
# feed's first place for ever): the item is invalid, counted and named, never stored.
MIN_YEAR = 1900
MAX_YEAR = 2100
TEXT_FIELDS = ("source", "url", "title", "natural_key", "summary", "body_html", "body_text", "source_type",
               "content_type", "published", "updated", "withdrawn", "language")
LIST_FIELDS = ("topics", "documents", "links")


def _check_types(item: RawItem) -> None:
    """A value of the wrong kind (a title that is a JSON list, a date that is a number) makes the item
    invalid, naming the field; None is read as empty."""
    for name in TEXT_FIELDS:
        value = getattr(item, name)
        if value is None:
            setattr(item, name, "")
        elif not isinstance(value, str):
            raise InvalidItem(f"{name} is {type(value).__name__}, not text ({_short(value)}) at {_short(item.url)}")
    for name in LIST_FIELDS:
        value = getattr(item, name)
        if value is None:
            setattr(item, name, [])
        elif not isinstance(value, list | tuple):
            raise InvalidItem(f"{name} is {type(value).__name__}, not a list ({_short(value)}) at {_short(item.url)}")
        else:
            wanted = dict if name == "documents" else str
            odd = [v for v in value if not isinstance(v, wanted)]
            if odd:
                raise InvalidItem(f"{name} holds a {type(odd[0]).__name__} ({_short(odd[0])}) at {_short(item.url)}")


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _in_range(name: str, value: str | None, url: str) -> str | None:
    """An ISO date whose year is outside MIN_YEAR..MAX_YEAR makes the item invalid."""
    if value is None:
        return None
    year = int(value.split("-", 1)[0])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidItem(f"{name} date out of range (year {year}, not {MIN_YEAR} to {MAX_YEAR}) at {url}")
    return value


# ---------------------------------------------------------------- content types

# Each site's own label (lower case) to the vocabulary of DESIGN 3.2. GOV.UK's document types, WordPress
# post types and the visible labels of the HTML sites share one table; unknown labels become `other`.
CONTENT_TYPE_LABELS: dict[str, str] = {
    # GOV.UK document_type
    "news_story": "news", "world_news_story": "news", "government_response": "news",
    "press_release": "press_release", "speech": "news", "news_article": "news",
    "corporate_report": "report", "independent_report": "report", "research": "report",
    "policy_paper": "report", "impact_assessment": "report", "foi_release": "correspondence",
    "correspondence": "correspondence", "guidance": "guidance", "statutory_guidance": "guidance",
    "detailed_guide": "guidance", "promotional": "guidance", "form": "other", "notice": "other",
    "regulation": "guidance", "national_statistics": "statistics", "official_statistics": "statistics",
    "statistics": "statistics", "transparency": "statistics", "statistical_data_set": "statistics",
    "open_consultation": "consultation", "closed_consultation": "consultation",
    "consultation_outcome": "consultation", "consultation": "consultation",
    # visible labels of the HTML and WordPress sites
    "news": "news", "blog": "blog", "blogs": "blog", "post": "news", "podcast": "podcast",
    "press notice": "press_release", "press release": "press_release", "statement": "news",
    "report": "report", "annual report": "report", "resource": "report", "national review": "review",
    "review": "review", "rapid review": "review", "briefing": "briefing", "caspar briefing": "briefing",
    "newsletter": "news", "data": "statistics", "letter": "correspondence",
}


def content_type_for(label: str | None) -> str:
    key = " ".join((label or "").replace("-", " ").split()).lower()
    if key in CONTENT_TYPES:
        return key
    return CONTENT_TYPE_LABELS.get(key) or CONTENT_TYPE_LABELS.get(key.replace(" ", "_"), "other")


# ---------------------------------------------------------------- items

HASHED_FIELDS = ("title", "summary", "body_text", "published_at", "updated_at", "documents", "withdrawn_at")


def _documents(raw_docs: list[dict[str, Any]]) -> tuple[Document, ...]:
    seen: set[str] = set()
    docs = []
    for d in raw_docs:
        url = canonical_url(str(d.get("url") or ""))
        if not url or url in seen:
            continue
        seen.add(url)
        size = d.get("size")
        if isinstance(size, int | float) and not isinstance(size, bool):
            size = human_size(size)
        docs.append(
            Document(
                title=clean_text(str(d.get("title") or "")) or url.rsplit("/", 1)[-1],
                url=url,
                file_type=clean_text(str(d.get("file_type") or "")).upper(),
                size="" if size in (None, "") else str(size),
                pages=_pages(d.get("pages")),
            )
        )
    return tuple(docs)


def _pages(value: Any) -> int | None:
    """A page count as a positive int (GOV.UK's ``number_of_pages``, a page's "Number of pages: 168"), else
    None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def human_size(n_bytes: float) -> str:
    """Bytes as the sites show sizes: ``1.7 MB``, ``320 KB``."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit in ("bytes", "KB") else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return ""


def content_hash(fields: dict[str, Any]) -> str:
    """Hash of the fields that matter to a reader; markup and fetch times never enter it. A document's
    ``pages`` does not enter it either (``fields["documents"]`` holds title, url, file_type and size only):
    page counts came after publications were first stored, and counting them would make every stored
    publication with a known page count look changed on the next crawl."""
    payload = json.dumps({k: fields.get(k) for k in HASHED_FIELDS}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def normalise(item: RawItem, trailing_slash: str = "keep") -> Publication:
    """A spider's RawItem to a Publication; raises ``InvalidItem`` naming what is missing or wrong."""
    _check_types(item)
    url = canonical_url(item.url, trailing_slash)
    if not url.startswith("https://"):
        named = f" for {_short(clean_text(item.title))}" if item.title.strip() else ""
        raise InvalidItem(f"no usable URL ({item.url!r}){named}")
    title = clean_text(html_to_text(item.title)) if "<" in item.title else clean_text(item.title)
    if not title:
        raise InvalidItem(f"no title at {url}")
    published = parse_date(item.published)
    if item.published.strip() and published is None:
        raise InvalidItem(f"unreadable date {item.published!r} at {url}")
    if published is not None:
        _in_range("published", published.iso, url)
    body = html_to_text(item.body_html) if item.body_html else html_to_text(item.body_text)
    summary = html_to_text(item.summary)
    updated = _in_range("updated", date_iso(item.updated), url)
    if updated and published and updated < published.iso[: len(updated)]:
        updated = published.iso  # GOV.UK's public_updated_at can precede first_published_at (imports)
    summary = " ".join(summary.split())
    published_at = published.iso if published else None
    withdrawn_at = _in_range("withdrawn", date_iso(item.withdrawn), url)
    documents = _documents(item.documents)
    fields = {
        "title": title,
        "summary": summary,
        "body_text": body,
        "published_at": published_at,
        "updated_at": updated,
        "documents": [{k: v for k, v in d.as_json().items() if k != "pages"} for d in documents],
        "withdrawn_at": withdrawn_at,
    }
    natural_key = item.natural_key.strip() or url
    return Publication(
        id=f"{item.source}:{natural_key}",
        source=item.source,
        url=url,
        title=title,
        summary=summary,
        body_text=body,
        content_type=item.content_type if item.content_type in CONTENT_TYPES else content_type_for(item.source_type),
        source_type=clean_text(item.source_type),
        published_at=published_at,
        published_precision=published.precision if published else None,
        updated_at=updated,
        topics=tuple(dict.fromkeys(t for t in (clean_text(x) for x in item.topics) if t)),
        documents=documents,
        withdrawn_at=withdrawn_at,
        language=(item.language or "en").strip().lower(),
        links=tuple(dict.fromkeys(u for u in (canonical_url(x) for x in item.links) if u)),
        content_hash=content_hash(fields),
    )
