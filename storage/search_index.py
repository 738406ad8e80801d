"""The search index beside the database: a ``tantivy`` index of the publications' text in the folder
``<database>.search/``, which answers ``safeguarding-news search`` in milliseconds where SQLite FTS5 must
score every match (a word in most publications: 200,000 bm25 scores per query).

It is a cache. The SQLite file stays the one file analysts open and the only truth: the index is built
from it (``rebuild``), brought up to date from it (``update``: publications above its rowid mark, and the
rows that ``search_index_changes`` says changed their text or were deleted, migration m011), and every
search checks it against the database first. When it is missing, behind by more than a quick catch-up,
locked by another process's update, unreadable, or asked FTS5 syntax it does not read (column filters,
NEAR, prefix*, ^), the search runs on FTS5 as before and says why (``Answer.engine``, ``Answer.note``).

Ranking: one text field holds the title ten times, the summary four times and the body once, so that a
word's weighted count is FTS5's ``bm25(publications_fts, 10.0, 4.0, 1.0)`` count; tantivy's bm25 then
scores it against that field's length. Two differences from FTS5 (docs/analysts.md): the length counts
the title and summary with their weights, and a word found in more than half the publications keeps a
small positive weight (FTS5 gives every such word the same weight, 1e-6, so that in "online
exploitation" neither word counts more than the other). Filters are checked in SQLite on the ranked
candidates. Snippets are FTS5's, for the rows shown only. Nothing here writes the database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.queries import (
    _FTS_TOKEN,
    Filters,
    QueryError,
    search_match,
    search_snippets,
)
from storage.queries import (
    search as fts5_search,
)

if TYPE_CHECKING:
    from sqlite_utils import Database

FORMAT = 1  # the layout of the folder and its state file; another value is rebuilt
STATE_FILE = "sgn-search-state.json"
WEIGHTS = (10, 4, 1)  # repeats of title, summary, body_text: the bm25 weights of queries.RANK
TOKENIZER = "sgn_english"
# A search brings the index up to date itself when at most this many publications are new or changed
# (about a second); beyond, it answers with FTS5 and says to run `safeguarding-news search-index`.
CATCH_UP_MAX = 5_000
MAX_CANDIDATES = 8_000  # with filters, ranked candidates checked in SQLite before falling back to FTS5
_SLACK = 20
_BUILD_HEAP = 200_000_000
_UPDATE_HEAP = 20_000_000


class IndexUnavailable(Exception):
    """The index cannot answer this search; the message says why, for ``--verbose``."""


class _Missing(IndexUnavailable):
    """There is no index (or no database file): FTS5 answers, as it always did."""


@dataclass
class Answer:
    """A search's rows (as ``storage.queries.search`` gives them), which engine answered, and why FTS5
    answered when the index could not."""

    rows: list[dict[str, Any]]
    engine: str  # "tantivy" or "fts5"
    note: str = ""
    problem: bool = False  # an index is there but could not answer (behind, locked, unreadable)


def index_dir(db_path: str | Path) -> Path:
    """The index folder of a database file: ``<database>.search`` beside it."""
    return Path(f"{db_path}.search")


def database_path(db: Database) -> Path | None:
    """The file a connection reads (None for an in-memory database)."""
    path = getattr(db, "_sgn_path", None)
    if path is None:
        for _, name, file in db.execute("pragma database_list").fetchall():
            if name == "main":
                path = file or None
    return Path(path) if path else None


# ---------------------------------------------------------------- the index itself


def _tantivy() -> Any:
    import tantivy  # imported when a search or a build runs, never at start-up

    return tantivy


def _schema(tantivy: Any) -> Any:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("rowid", stored=False, indexed=True, fast=True)
    builder.add_text_field("text", stored=False, tokenizer_name=TOKENIZER, index_option="position")
    return builder.build()


def _open(tantivy: Any, folder: Path, create: bool = False) -> Any:
    """The index in ``folder`` with its tokenizer registered: words split on anything not a letter or
    digit, lower-cased, accents folded, stemmed (English); as FTS5's ``porter`` tokenizer reads them,
    but for a few words whose stems differ between Porter and its successor, Snowball English."""
    if not create and not (folder / "meta.json").is_file():
        raise IndexUnavailable(f"no search index at {folder}")
    index = tantivy.Index(_schema(tantivy), path=str(folder), reuse=not create)
    analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                .filter(tantivy.Filter.remove_long(40))
                .filter(tantivy.Filter.lowercase())
                .filter(tantivy.Filter.ascii_fold())
                .filter(tantivy.Filter.stemmer("english"))
                .build())
    index.register_tokenizer(TOKENIZER, analyzer)
    return index


def _document(tantivy: Any, rowid: int, title: str | None, summary: str | None, body: str | None) -> Any:
    text = [title or ""] * WEIGHTS[0] + [summary or ""] * WEIGHTS[1] + [body or ""] * WEIGHTS[2]
    return tantivy.Document(rowid=rowid, text=text)


def _read_state(folder: Path) -> dict[str, Any]:
    try:
        state = json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        raise IndexUnavailable(f"the search index at {folder} has no readable state: rebuild it") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise IndexUnavailable(f"the search index at {folder} is of another format: rebuild it")
    return state


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    part = folder / f"{STATE_FILE}.{os.getpid()}"
    part.write_text(json.dumps(state))
    os.replace(part, folder / STATE_FILE)


def _marks(db: Database) -> dict[str, Any]:
    """Where the database is now: its highest publication rowid (and that row's id, which tells another
    database at the same path), and the last entry of ``search_index_changes``."""
    top = db.execute("select rowid, id from publications order by rowid desc limit 1").fetchone()
    change = db.execute("select coalesce(max(id), 0) from search_index_changes").fetchone()[0]
    return {"format": FORMAT, "max_rowid": top[0] if top else 0, "max_id": top[1] if top else None,
            "change_id": change}


def _has_change_log(db: Database) -> bool:
    return bool(db.execute("select 1 from sqlite_master where name = 'search_index_changes'").fetchone())


def rebuild(db: Database, folder: Path | None = None,
            progress: Callable[[int], None] | None = None) -> int:
    """Build the index of every publication from the database, in a new folder that then replaces the
    old one (a search meanwhile reads the old one, or FTS5); return the number of publications."""
    tantivy = _tantivy()
    folder = folder or _folder_of(db)
    if not _has_change_log(db):
        raise IndexUnavailable("the database predates the search index (migration m011): open it with "
                               "this version once")
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        index = _open(tantivy, building, create=True)
        writer = index.writer(heap_size=_BUILD_HEAP, num_threads=1)
        count = 0
        # rows written after the marks are read are above them, or in the change log after them
        marks = _marks(db)
        for rowid, title, summary, body in db.execute(
                "select rowid, title, summary, body_text from publications where rowid <= ?", [marks["max_rowid"]]):
            writer.add_document(_document(tantivy, rowid, title, summary, body))
            count += 1
            if progress and count % 10_000 == 0:
                progress(count)
        writer.commit()
        writer.wait_merging_threads()
        _write_state(building, marks)
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.replace(folder, old)
        os.replace(building, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return count


def _folder_of(db: Database) -> Path:
    path = database_path(db)
    if path is None:
        raise _Missing("an in-memory database has no search index")
    return index_dir(path)


def behind(db: Database, state: dict[str, Any]) -> int:
    """How many publications the index has still to read (new, changed or deleted since its marks)."""
    if state["max_rowid"]:
        same = db.execute("select id from publications where rowid = ?", [state["max_rowid"]]).fetchone()
        if (same[0] if same else None) != state["max_id"] and not _changed_since(db, state, state["max_rowid"]):
            raise IndexUnavailable("the search index was built from another database: rebuild it")
    new = db.execute("select count(*) from publications where rowid > ?", [state["max_rowid"]]).fetchone()[0]
    changed = db.execute("select count(distinct pub_rowid) from search_index_changes where id > ?",
                         [state["change_id"]]).fetchone()[0]
    return int(new + changed)


def _changed_since(db: Database, state: dict[str, Any], rowid: int) -> bool:
    return bool(db.execute("select 1 from search_index_changes where id > ? and pub_rowid = ?",
                           [state["change_id"], rowid]).fetchone())


def update(db: Database, folder: Path | None = None, most: int | None = None) -> int:
    """Bring the index up to date with the database: add the publications above its rowid mark and
    re-read those ``search_index_changes`` names (changed or deleted); return how many were read.
    ``IndexUnavailable`` when it is missing, of another database, locked by another process's update,
    or (with ``most``) more than ``most`` publications behind."""
    tantivy = _tantivy()
    folder = folder or _folder_of(db)
    if not _has_change_log(db):
        raise IndexUnavailable("the database predates the search index (migration m011)")
    index = _open(tantivy, folder)
    state = _read_state(folder)
    pending = behind(db, state)
    if not pending:
        return 0
    if most is not None and pending > most:
        raise IndexUnavailable(f"the search index is {pending:,} publications behind the database: run "
                               "`safeguarding-news search-index` to bring it up to date")
    try:
        writer = index.writer(heap_size=_UPDATE_HEAP, num_threads=1)
    except (ValueError, OSError) as exc:
        raise IndexUnavailable(f"the search index is being written by another process ({exc})") from None
    marks = _marks(db)  # what changes after this is above these marks: read next time
    changed = [r[0] for r in db.execute(
        "select distinct pub_rowid from search_index_changes where id > ? and id <= ?",
        [state["change_id"], marks["change_id"]])]
    select = "select rowid, title, summary, body_text from publications"
    rows = db.execute(f"{select} where rowid > ? and rowid <= ?", [state["max_rowid"], marks["max_rowid"]]).fetchall()
    for first in range(0, len(changed), 500):
        part = [r for r in changed[first:first + 500] if r <= state["max_rowid"]]
        rows += db.execute(f"{select} where rowid in ({','.join('?' * len(part)) or 'null'})", part).fetchall()
    for rowid in changed:  # deleted or changed: out first, then in again if still there
        writer.delete_documents_by_term("rowid", rowid)
    for rowid, title, summary, body in rows:
        if rowid > state["max_rowid"]:
            writer.delete_documents_by_term("rowid", rowid)  # a crash after a commit read them already
        writer.add_document(_document(tantivy, rowid, title, summary, body))
    writer.commit()
    writer.wait_merging_threads()
    _write_state(folder, marks)
    return len(rows) + len(changed)


# ---------------------------------------------------------------- queries


class _Unsupported(Exception):
    pass


def _translate(tantivy: Any, index: Any, match: str) -> Any:
    """The tantivy query of an FTS5 expression (``queries.fts_query``'s output, already checked): quoted
    phrases and words, AND, OR, NOT and brackets, with FTS5's precedence (NOT, then AND, then OR).
    ``_Unsupported`` for column filters, NEAR, prefix* and ^."""
    tokens = [t for t in _FTS_TOKEN.findall(match) if t != ","]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def leaf(token: str) -> Any:
        if token.startswith('"'):
            words = token[1:-1].replace('""', '"')
        elif re.fullmatch(r"\w+", token) and token not in ("NEAR",):
            words = token
        else:
            raise _Unsupported(token)
        words = re.sub(r'[\\"]', " ", words).strip()
        if not any(ch.isalnum() for ch in words):
            return tantivy.Query.empty_query()
        return index.parse_query(f'"{words}"', ["text"])

    def primary() -> Any:
        token = peek()
        if token is None or token in ("AND", "OR", "NOT", ")"):
            raise _Unsupported(str(token))
        take()
        if token == "(":
            inner = either()
            if take() != ")":
                raise _Unsupported("(")
            return inner
        return leaf(token)

    def negated() -> Any:
        query = primary()
        while peek() == "NOT":
            take()
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                                 (tantivy.Occur.MustNot, primary())])
        return query

    def both() -> Any:
        parts = [negated()]
        while peek() not in (None, "OR", ")"):
            if peek() == "AND":
                take()
            parts.append(negated())
        return parts[0] if len(parts) == 1 else tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, p) for p in parts])

    def either() -> Any:
        parts = [both()]
        while peek() == "OR":
            take()
            parts.append(both())
        return parts[0] if len(parts) == 1 else tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, p) for p in parts])

    try:
        query = either()
    except IndexError:
        raise _Unsupported(match) from None
    if pos != len(tokens):
        raise _Unsupported(match)
    return query


_COLUMNS = """p.rowid, p.id, p.source, p.title, p.url, p.content_type, p.published_at, p.published_precision,
              p.withdrawn_at, p.cluster_id"""


def search(db: Database, text: str, filters: Filters | None = None, limit: int = 20,
           folder: Path | None = None) -> Answer:
    """``storage.queries.search`` through the search index when it can answer, else through FTS5: the
    same rows and fields (``score`` is minus tantivy's bm25, so lower is better as with FTS5's); the
    same ``QueryError`` for a search that cannot be read."""
    match = search_match(text, limit)
    filters = filters or Filters()
    problem = False
    try:
        rows = _indexed(db, match, filters, limit, folder)
        return Answer(rows, "tantivy")
    except _Unsupported:
        note = "FTS5 syntax the search index does not read (a column filter, NEAR, prefix* or ^)"
    except _Missing as exc:
        note = str(exc)
    except IndexUnavailable as exc:
        note, problem = str(exc), True
    except ImportError:
        note, problem = "tantivy is not installed", True
    except (OSError, ValueError, RuntimeError) as exc:
        note, problem = (f"the search index could not be read ({exc}): rebuild it with "
                         "`safeguarding-news search-index --rebuild`"), True
    return Answer(fts5_search(db, text, filters, limit), "fts5", note, problem)


def _indexed(db: Database, match: str, filters: Filters, limit: int, folder: Path | None) -> list[dict[str, Any]]:
    tantivy = _tantivy()
    folder = folder or _folder_of(db)
    if not folder.is_dir():
        raise _Missing(f"no search index at {folder}: `safeguarding-news search-index` builds it")
    if not _has_change_log(db):
        raise _Missing("the database predates the search index (migration m011)")
    index = _open(tantivy, folder)
    query = _translate(tantivy, index, match)
    state = _read_state(folder)
    if behind(db, state):
        update(db, folder, most=CATCH_UP_MAX)
        index.reload()
    searcher = index.searcher()
    where, params = filters.where("p")
    wanted = limit + _SLACK if where == "1" else max(8 * (limit + _SLACK), 200)
    while True:
        hits = searcher.search(query, wanted, count=False).hits
        rowids = searcher.fast_field_values("rowid", [address for _, address in hits])
        score = {rowid: -float(s) for (s, _), rowid in zip(hits, rowids, strict=True)}
        rows: dict[int, dict[str, Any]] = {}
        for first in range(0, len(rowids), 500):
            part = rowids[first:first + 500]
            rows.update((r["rowid"], r) for r in db.query(
                f"select {_COLUMNS} from publications p where p.rowid in ({','.join('?' * len(part))}) "
                f"and {where}", [*part, *params]))
        if len(hits) < wanted:
            break  # every match seen
        kept = sorted(score[r] for r in rows)
        if len(kept) >= limit and kept[limit - 1] != score[rowids[-1]]:
            break  # enough, and no tie on score at the limit runs past the candidates (broken by date, id)
        if wanted >= MAX_CANDIDATES:
            raise IndexUnavailable(f"the filters keep fewer than {limit} of the {wanted:,} best matches, or "
                                   "they tie on score")
        wanted = min(8 * wanted, MAX_CANDIDATES)
    ordered = sorted(rows.values(), key=lambda r: r["id"])
    ordered.sort(key=lambda r: r["published_at"] or "", reverse=True)
    ordered.sort(key=lambda r: score[r["rowid"]])
    shown = ordered[:limit]
    snippets = search_snippets(db, match, [r["rowid"] for r in shown])
    out = []
    for r in shown:
        rowid = r.pop("rowid")
        out.append({**r, "snippet": snippets.get(rowid), "score": score[rowid]})
    return out


__all__ = ["Answer", "IndexUnavailable", "QueryError", "index_dir", "rebuild", "search", "update"]
