"""Named read queries for analysts' outputs: full-text search, streamed export, stories for the feed and
the digest. Nothing here writes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from pipeline.items.schema import PUBLICATION_COLUMNS

EXPORT_COLUMNS: tuple[str, ...] = tuple(PUBLICATION_COLUMNS)
# bm25 weights of the indexed columns (title, summary, body_text): a match in the title counts most.
RANK = "bm25(publications_fts, 10.0, 4.0, 1.0)"
HIGHLIGHT = ("**", "**")
SNIPPET_TOKENS = 16
STORY_KEY = "case when {p}.cluster_id is null then 'publication:' || {p}.id else 'cluster:' || {p}.cluster_id end"


class QueryError(ValueError):
    """A search the full-text engine cannot read; phrased for the analyst (the CLI exits 2)."""


@dataclass(frozen=True)
class Filters:
    """Filters shared by search, export and the digest.

    ``since`` and ``until`` are pairs (UTC instant ``YYYY-MM-DDTHH:MM:SSZ``, UK date ``YYYY-MM-DD``):
    a datetime is compared with the instant (``since`` inclusive, ``until`` exclusive); a date, month or
    year matches when it overlaps the bound's UK day (so "December 2024" is in a week of December).
    Publications without a date never match a date filter.
    """

    sources: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    since: tuple[str, str] | None = None
    until: tuple[str, str] | None = None
    # For digests: a publication dated only by month or year overlaps many periods; it counts only in
    # those that began before the pipeline first found it, so that it is news once, not every week.
    coarse_found_since: bool = False

    def where(self, p: str = "p") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.sources:
            clauses.append(f"{p}.source in ({','.join('?' * len(self.sources))})")
            params += self.sources
        if self.content_types:
            clauses.append(f"{p}.content_type in ({','.join('?' * len(self.content_types))})")
            params += self.content_types
        if self.since:
            clauses.append(f"(case when length({p}.published_at) > 10 then {p}.published_at >= ? "
                           f"else {p}.published_at >= substr(?, 1, length({p}.published_at)) end)")
            params += self.since
            if self.coarse_found_since:
                clauses.append(f"(length({p}.published_at) >= 10 or {p}.first_seen_at >= ?)")
                params.append(self.since[0])
        if self.until:
            clauses.append(f"(case when length({p}.published_at) > 10 then {p}.published_at < ? "
                           f"else {p}.published_at <= substr(?, 1, length({p}.published_at)) end)")
            params += self.until
        return " and ".join(clauses) or "1", params


# ---------------------------------------------------------------- search

# FTS5 syntax a user may mean on purpose: operators in capitals, prefix stars, column filters, NEAR
# groups, or an unbalanced double quote. Anything else (brackets included) is read as plain words.
_FTS_SYNTAX = re.compile(r'\b(AND|OR|NOT|NEAR)\b|\w\*|\b(title|summary|body_text)\s*:')
_PHRASE_OR_WORD = re.compile(r'"([^"]*)"|(\S+)')


def fts_query(text: str) -> str:
    """The MATCH expression for a user's search text.

    Plain text (``child's "safety" - online``) becomes quoted terms and phrases that must all match, so
    punctuation never reaches the FTS parser; text using FTS5 syntax (``exploitation OR abuse``,
    ``safeguard*``, ``title:review``) is passed through, and its mistakes are reported by ``search``.
    """
    if _FTS_SYNTAX.search(text) or text.count('"') % 2:
        return text
    terms = []
    for phrase, word in _PHRASE_OR_WORD.findall(text):
        term = phrase or word
        if any(ch.isalnum() for ch in term):  # a bare "-" would be an empty phrase that matches nothing
            terms.append('"' + term.replace('"', '""') + '"')
    return " ".join(terms)


def search(db: Database, text: str, filters: Filters = Filters(), limit: int = 20) -> list[dict[str, Any]]:
    """Publications matching ``text``, best match first, each with a ``snippet`` whose matching terms are
    wrapped in ``**``; raise ``QueryError`` for a query the FTS engine cannot parse."""
    match = fts_query(text)
    if not match.strip():
        raise QueryError(f"nothing to search for in {text!r}: give at least one word")
    where, params = filters.where("p")
    sql = f"""
        select p.id, p.source, p.title, p.url, p.content_type, p.published_at, p.published_precision,
               p.withdrawn_at, p.cluster_id,
               snippet(publications_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}) as snippet, {RANK} as score
        from publications_fts join publications p on p.rowid = publications_fts.rowid
        where publications_fts match ? and {where}
        order by score, p.published_at desc, p.id
        limit ?"""
    try:
        return list(db.query(sql, [*HIGHLIGHT, match, *params, limit]))
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "fts5" in message or "syntax" in message or "no such column" in message or "unterminated" in message:
            raise QueryError(
                f"cannot search for {text!r}: {message}; put words in double quotes to search for them as "
                f"written, e.g. '\"{text.strip(chr(34))}\"'"
            ) from None
        raise


# ---------------------------------------------------------------- export


def iter_publications(db: Database, filters: Filters = Filters(),
                      columns: Sequence[str] = EXPORT_COLUMNS) -> Iterator[dict[str, Any]]:
    """Publications in date order (undated last), streamed from the cursor one row at a time."""
    where, params = filters.where("p")
    cols = ", ".join(f"p.[{c}]" for c in columns)
    sql = (f"select {cols} from publications p where {where} "
           "order by p.published_at is null, p.published_at, p.id")
    yield from db.query(sql, params)


def count_publications(db: Database, filters: Filters = Filters()) -> int:
    where, params = filters.where("p")
    return db.execute(f"select count(*) from publications p where {where}", params).fetchone()[0]


def known_sources(db: Database) -> list[str]:
    return [r[0] for r in db.execute("select distinct source from publications order by source")]


# ---------------------------------------------------------------- stories

STORY_MEMBER_COLUMNS = (
    "id", "source", "url", "title", "summary", "body_text", "content_type", "source_type", "published_at",
    "published_precision", "updated_at", "documents", "first_seen_at", "cluster_id",
)


@dataclass
class Story:
    """A story: the publications of one cluster, or a publication without a cluster on its own.

    ``members`` are in date order (undated last); ``matched`` holds the ids of the members that met the
    filters the story was selected by (all of them for ``newest_stories``).
    """

    id: str
    cluster_id: int | None
    cluster_title: str | None
    members: list[dict[str, Any]] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)


def newest_stories(db: Database, limit: int = 50) -> list[Story]:
    """The ``limit`` stories with the most recently published members, newest first. Withdrawn
    publications are left out."""
    key = STORY_KEY.format(p="p")
    rows = db.execute(
        f"""select {key} as story_id from publications p where p.withdrawn_at is null
            group by story_id order by max(p.published_at) is null, max(p.published_at) desc, story_id
            limit ?""",
        [limit],
    ).fetchall()
    stories = _load_stories(db, [r[0] for r in rows])
    for story in stories:
        story.matched = {m["id"] for m in story.members}
    return stories


def stories_between(db: Database, filters: Filters) -> list[Story]:
    """Stories with at least one (not withdrawn) publication meeting ``filters``, newest first by their
    matching members; each story carries all its members, and ``matched`` names those that met them."""
    where, params = filters.where("p")
    key = STORY_KEY.format(p="p")
    matched: dict[str, set[str]] = {}
    for story_id, pub_id in db.execute(
        f"select {key}, p.id from publications p where p.withdrawn_at is null and {where}", params
    ):
        matched.setdefault(story_id, set()).add(pub_id)
    stories = _load_stories(db, list(matched))
    for story in stories:
        story.matched = matched[story.id]
    latest = {s.id: max(m["published_at"] or "" for m in s.members if m["id"] in s.matched) for s in stories}
    return sorted(stories, key=lambda s: (latest[s.id], s.id), reverse=True)


def _load_stories(db: Database, story_ids: list[str]) -> list[Story]:
    """The stories named by ``story_ids`` with their members, in the order given."""
    cluster_ids = [int(s.split(":", 1)[1]) for s in story_ids if s.startswith("cluster:")]
    pub_ids = [s.split(":", 1)[1] for s in story_ids if s.startswith("publication:")]
    if not story_ids:
        return []
    stories = {s: Story(id=s, cluster_id=None, cluster_title=None) for s in story_ids}
    cols = ", ".join(f"p.[{c}]" for c in STORY_MEMBER_COLUMNS)
    for chunk_clusters, chunk_pubs in _chunks(cluster_ids, pub_ids):
        sql = f"""
            select {cols}, c.title as cluster_title
            from publications p left join clusters c on c.id = p.cluster_id
            where p.withdrawn_at is null
              and (p.cluster_id in ({','.join('?' * len(chunk_clusters))})
                   or (p.cluster_id is null and p.id in ({','.join('?' * len(chunk_pubs))})))
            order by p.published_at is null, p.published_at, p.id"""
        for row in db.query(sql, [*chunk_clusters, *chunk_pubs]):
            story = stories[story_key(row)]
            story.cluster_id = row["cluster_id"]
            story.cluster_title = row.pop("cluster_title")
            story.members.append(row)
    return [stories[s] for s in story_ids if stories[s].members]


def story_key(row: dict[str, Any]) -> str:
    """The Python twin of ``STORY_KEY``."""
    return f"publication:{row['id']}" if row["cluster_id"] is None else f"cluster:{row['cluster_id']}"


def _chunks(clusters: list[int], pubs: list[str], size: int = 500) -> Iterator[tuple[list[int], list[str]]]:
    """Bound the number of SQL variables per query (SQLite's limit is 32766, older builds 999)."""
    for start in range(0, max(len(clusters), len(pubs)), size):
        yield clusters[start:start + size], pubs[start:start + size]
