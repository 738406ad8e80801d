"""Named read queries for analysts' outputs: full-text search, streamed export, stories for the feed and
the digest. Nothing here writes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: quick reads (status, search) do not load sqlite_utils
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
    # topic ids (publication_topics): a publication matches when it has any of them
    topics: tuple[str, ...] = ()

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
        if self.topics:
            clauses.append(f"exists (select 1 from publication_topics pt where pt.publication_id = {p}.id "
                           f"and pt.topic in ({','.join('?' * len(self.topics))}))")
            params += self.topics
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


_FTS_TOKEN = re.compile(r'"(?:[^"]|"")*(?:"|$)|[(),]|[^\s(),"]+')
_FTS_PHRASE = re.compile(r'"(?:[^"]|"")*"')
_FTS_OPERATORS = ("AND", "OR", "NOT")
_FTS_COLUMNS = ("title", "summary", "body_text")


def fts_problem(match: str) -> str | None:
    """What is wrong, in words, with an FTS5 expression (``fts_query``'s output), or None when nothing is
    seen to be: a dangling or leading operator, an unclosed quote or bracket, an unknown column, a bare
    word with punctuation."""
    tokens = _FTS_TOKEN.findall(match)
    kinds: list[str] = []
    depth = 0
    for token in tokens:
        if token.startswith('"'):
            if not _FTS_PHRASE.fullmatch(token):
                return f"the double quote before {token[1:][:30]!r} is not closed: add one after the phrase"
            kinds.append("term")
        elif token == "(":
            depth += 1
            kinds.append("(")
        elif token == ")":
            if depth == 0:
                return "a closing bracket ')' has no '(' before it"
            depth -= 1
            kinds.append(")")
        elif token in _FTS_OPERATORS:
            kinds.append(token)
        elif token == ",":  # between a NEAR group's phrases and its distance
            continue
        elif token == "NEAR" or token.startswith("NEAR"):
            kinds.append("term")
        else:
            column, _, word = token.rpartition(":")
            if column and column.lstrip("-{") not in _FTS_COLUMNS and "{" not in column:
                return (f"{column + ':'!r} is not a field that can be searched: use title:, summary: or "
                        f"body_text: (or put {token!r} in double quotes to search for it as written)")
            bare = word.lstrip("^").rstrip("*")
            if bare and not all(ch.isalnum() or ch == "_" or ord(ch) > 127 for ch in bare):
                return (f"put {bare!r} in double quotes: with OR, AND, NOT or other search syntax, a word "
                        f"outside quotes can hold only letters and digits")
            kinds.append("term" if word else "column")
    if depth:
        return "a bracket '(' is not closed: add ')' after what it groups"
    for i, kind in enumerate(kinds):
        if kind not in _FTS_OPERATORS:
            continue
        before = kinds[i - 1] if i else None
        after = kinds[i + 1] if i + 1 < len(kinds) else None
        if before is None and kind == "NOT":
            return ("'NOT' at the start needs a word before it: FTS5 has no NOT on its own, write e.g. "
                    "'children NOT abuse'")
        if before is None or before in (*_FTS_OPERATORS, "(", "column"):
            return f"{kind!r} needs a word before it, e.g. 'neglect {kind} abuse'"
        if after is None:
            return f"{kind!r} at the end needs a word after it, e.g. '... {kind} abuse'"
        if after in (*_FTS_OPERATORS, ")"):
            return f"{kind!r} needs a word after it, not {'a closing bracket' if after == ')' else repr(after)}"
    if kinds and kinds[-1] == "column":
        return f"{tokens[-1]!r} needs a word after it, e.g. '{tokens[-1]}review'"
    return None


MAX_LIMIT = 10_000  # more results than anyone reads; a huge number would only overflow SQLite's integer
# Candidates ranked inside the full-text index before anything is joined: the limit plus this many, so that
# a tie on score at the limit (broken by date, then id, as always) is seen whole; when the tie runs past
# the candidates the search falls back to ranking every match with the tie-break.
_TIE_SLACK = 20


def search(db: Database, text: str, filters: Filters = Filters(), limit: int = 20) -> list[dict[str, Any]]:
    """Publications matching ``text``, best match first (bm25, then newest, then id), each with a
    ``snippet`` whose matching terms are wrapped in ``**``; raise ``QueryError`` for a query the FTS engine
    cannot parse, said in words, and for a limit outside 1..``MAX_LIMIT``.

    The ranking runs inside the full-text index with a LIMIT (only the best candidates are joined to
    ``publications``), and snippets are made only for the rows returned.
    """
    match = search_match(text, limit)
    try:
        return _search(db, match, filters, limit)
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "fts5" in message or "syntax" in message or "no such column" in message or "unterminated" in message:
            raise QueryError(
                f"cannot search for {text!r}: the search engine could not read it ({message}); put words in "
                f"double quotes to search for them as written, e.g. '\"{text.strip(chr(34))}\"'"
            ) from None
        raise


def search_match(text: str, limit: int) -> str:
    """The checked FTS5 expression of a search (``fts_query``), or ``QueryError`` said in words: nothing
    to search for, a mistake of syntax, a limit outside 1..``MAX_LIMIT``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"the number of results must be between 1 and {MAX_LIMIT:,} (got {limit:,})")
    match = fts_query(text)
    if not match.strip():
        raise QueryError(f"nothing to search for in {text!r}: give at least one word")
    problem = fts_problem(match)
    if problem:
        raise QueryError(f"cannot search for {text!r}: {problem}")
    return match


def _search(db: Database, match: str, filters: Filters, limit: int) -> list[dict[str, Any]]:
    where, params = filters.where("p")
    wanted = limit + _TIE_SLACK
    ranked = f"select publications_fts.rowid, {RANK} as score from publications_fts"
    if where != "1":  # the filters need the publication's columns: joined, still ranked before reading any
        ranked += " join publications p on p.rowid = publications_fts.rowid"
    ranked += f" where publications_fts match ? and {where}"
    candidates = db.execute(f"{ranked} order by score limit ?", [match, *params, wanted]).fetchall()
    if len(candidates) == wanted and candidates[limit - 1][1] == candidates[-1][1]:
        # the tie at the limit runs past the candidates: take every match with that score
        tied = candidates[limit - 1][1]
        candidates = [c for c in candidates if c[1] < tied] + db.execute(
            f"{ranked} and {RANK} = ?", [match, *params, tied]).fetchall()
    if not candidates:
        return []
    score = dict(candidates)
    rowids = list(score)
    rows = {r["rowid"]: r for r in db.query(
        f"""select p.rowid, p.id, p.source, p.title, p.url, p.content_type, p.published_at,
                   p.published_precision, p.withdrawn_at, p.cluster_id
            from publications p where p.rowid in ({','.join('?' * len(rowids))})""", rowids)}
    return ranked_with_snippets(db, match, list(rows.values()), score, limit)


def ranked_with_snippets(db: Database, match: str, rows: list[dict[str, Any]], score: Mapping[int, float],
                         limit: int) -> list[dict[str, Any]]:
    """``rows`` (each with its ``rowid``) in FTS5's order: bm25 ``score``, then newest, then id; the first
    ``limit`` with their snippet and score (the rowid taken out)."""
    ordered = sorted(rows, key=lambda r: r["id"])
    ordered.sort(key=lambda r: r["published_at"] or "", reverse=True)  # stable: newest first, then id
    ordered.sort(key=lambda r: score[r["rowid"]])  # None dates sort last among ties, as NULLs in SQL
    shown = ordered[:limit]
    snippets = search_snippets(db, match, [r["rowid"] for r in shown])
    out = []
    for r in shown:
        rowid = r.pop("rowid")
        out.append({**r, "snippet": snippets.get(rowid), "score": score[rowid]})
    return out


def search_snippets(db: Database, match: str, rowids: list[int]) -> dict[int, str]:
    """FTS5's snippet (matching terms in ``**``) of each of ``rowids`` (the rows shown) for ``match``."""
    if not rowids:
        return {}
    return dict(db.execute(
        f"""select rowid, snippet(publications_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}) from publications_fts
            where publications_fts match ? and rowid in ({','.join('?' * len(rowids))})""",
        [*HIGHLIGHT, match, *rowids]).fetchall())


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


def newest_stories(db: Database, limit: int = 50, filters: Filters = Filters()) -> list[Story]:
    """The ``limit`` stories with the most recently published members (that meet ``filters``: the feed's
    ``--topic``), newest first. Withdrawn publications are left out."""
    key = STORY_KEY.format(p="p")
    where, params = filters.where("p")
    rows = db.execute(
        f"""select {key} as story_id from publications p where p.withdrawn_at is null and {where}
            group by story_id order by max(p.published_at) is null, max(p.published_at) desc, story_id
            limit ?""",
        [*params, limit],
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
