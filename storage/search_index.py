"""The search index beside the database: a ``tantivy`` index of the publications' text in the folder
``<database>.search/``, which answers ``safeguarding-news search`` in milliseconds where SQLite FTS5 must
score every match (a word in most publications: 200,000 bm25 scores per query).

It is a cache. The SQLite file stays the one file analysts open and the only truth: the index is built
from it (``rebuild``), brought up to date from it (``update``: publications above its rowid mark, and the
rows that ``search_index_changes`` says changed their text or were deleted, migration m011), and every
search checks it against the database first. When it is missing, behind by more than a quick catch-up,
locked by another process's update, unreadable, or asked FTS5 syntax it does not read (column filters,
NEAR, prefix*, ^), the search runs on FTS5 as before and says why (``Answer.engine``, ``Answer.note``).

Ranking: FTS5's. One text field holds the title ten times, the summary four times and the body once (the
weights of ``queries.RANK``), each query phrase is weighed with FTS5's idf, and the index's ``RESCORE``
best candidates are scored again exactly as FTS5's bm25 scores them (``_fts5_scores``), then ordered by
that score, newest first, then id, as ``storage.queries.search`` orders them. Filters are checked in
SQLite on the ranked candidates. Snippets are FTS5's, for the rows shown only. Nothing here writes the
database.
"""

from __future__ import annotations

import json
import math
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
    ranked_with_snippets,
    search_match,
)
from storage.queries import (
    search as fts5_search,
)

if TYPE_CHECKING:
    from sqlite_utils import Database

FORMAT = 1  # the layout of the folder and its state file; another value is rebuilt
STATE_FILE = "sgn-search-state.json"
WEIGHTS = (10, 4, 1)  # repeats of title, summary, body_text: the bm25 weights of queries.RANK
RANK_WEIGHTS = (10.0, 4.0, 1.0)  # FTS5's column weights (queries.RANK), for its score of the candidates
RESCORE = 100  # the index's best candidates scored again exactly as FTS5 scores them
# FTS5 scores every match, about 1.5-2.5 microseconds each; the index costs 10-20 ms whatever the number
# (its candidates scored again): below this many matches (an upper bound from the index), FTS5 answers.
FTS5_BELOW = 10_000
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


class _Few(Exception):
    """Few enough matches that FTS5 ranks them all faster than the index answers (exactly, by definition)."""


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
    index.register_tokenizer(TOKENIZER, _analyzer(tantivy))
    return index


def _analyzer(tantivy: Any) -> Any:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("english"))
            .build())


_READERS: dict[str, tuple[tuple[int, int, int], Any]] = {}  # folder → (its meta.json's stamp, open index)


def _reader(tantivy: Any, folder: Path) -> Any:
    """The index in ``folder``, opened once per process while its ``meta.json`` (rewritten by every commit
    and every rebuild) stays the same file: opening costs a few milliseconds, a search about as much."""
    try:
        st = (folder / "meta.json").stat()
    except OSError:
        raise IndexUnavailable(f"no search index at {folder}") from None
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _READERS.get(str(folder))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    index = _open(tantivy, folder)
    _READERS[str(folder)] = (stamp, index)
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
    for stale in folder.parent.glob(f"{folder.name}.building-*"):  # a build killed half-way
        if not _alive(stale.name.rsplit("-", 1)[1]):
            shutil.rmtree(stale, ignore_errors=True)
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


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


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


@dataclass
class _Leaf:
    tokens: list[str]  # the phrase's words as the index reads them
    idf: float  # FTS5's idf of the phrase: log((N - n + 0.5) / (n + 0.5)), at least 1e-6


def _translate(tantivy: Any, index: Any, match: str, searcher: Any, rows: int,
               leaves: list[_Leaf]) -> tuple[Any, int]:
    """The tantivy query of an FTS5 expression (``queries.fts_query``'s output, already checked): quoted
    phrases and words, AND, OR, NOT and brackets, with FTS5's precedence (NOT, then AND, then OR); and
    at most how many publications it matches (from each phrase's count: the fewest of an AND, the sum of
    an OR). ``_Unsupported`` for column filters, NEAR, prefix* and ^."""
    tokens = [t for t in _FTS_TOKEN.findall(match) if t != ","]
    analyzer = _analyzer(tantivy)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def leaf(token: str) -> tuple[Any, int]:
        if token.startswith('"'):
            words = token[1:-1].replace('""', '"')
        elif re.fullmatch(r"\w+", token) and token not in ("NEAR",):
            words = token
        else:
            raise _Unsupported(token)
        words = re.sub(r'[\\"]', " ", words).strip()
        tokens = [t for t in analyzer.analyze(words)] if any(ch.isalnum() for ch in words) else []
        if not tokens:
            return tantivy.Query.empty_query(), 0
        query = index.parse_query(f'"{words}"', ["text"])
        # weighed by FTS5's idf instead of tantivy's, so that the candidates are ranked nearly as FTS5
        # ranks them (FTS5 gives a phrase in half the rows or more 1e-6; tantivy's idf stays positive)
        frequencies = [searcher.doc_freq("text", t) for t in tokens]
        hits = frequencies[0] if len(tokens) == 1 else searcher.search(query, 1, count=True).count
        leaf = _Leaf(tokens, max(math.log((rows - hits + 0.5) / (hits + 0.5)), 1e-6) if rows else 1e-6)
        leaves.append(leaf)
        docs = searcher.num_docs
        own = sum(math.log(1 + (docs - f + 0.5) / (f + 0.5)) for f in frequencies)
        return (tantivy.Query.boost_query(query, leaf.idf / own) if own > 0 else query), hits

    def primary() -> tuple[Any, int]:
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

    def negated() -> tuple[Any, int]:
        query, most = primary()
        while peek() == "NOT":
            take()
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                                 (tantivy.Occur.MustNot, primary()[0])])
        return query, most

    def both() -> tuple[Any, int]:
        parts = [negated()]
        while peek() not in (None, "OR", ")"):
            if peek() == "AND":
                take()
            parts.append(negated())
        return parts[0] if len(parts) == 1 else (tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, p) for p, _ in parts]), min(m for _, m in parts))

    def either() -> tuple[Any, int]:
        parts = [both()]
        while peek() == "OR":
            take()
            parts.append(both())
        return parts[0] if len(parts) == 1 else (tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, p) for p, _ in parts]), sum(m for _, m in parts))

    try:
        translated = either()
    except IndexError:
        raise _Unsupported(match) from None
    if pos != len(tokens):
        raise _Unsupported(match)
    return translated


_COLUMNS = """p.rowid, p.id, p.source, p.title, p.url, p.content_type, p.published_at, p.published_precision,
              p.withdrawn_at, p.cluster_id"""


def search(db: Database, text: str, filters: Filters | None = None, limit: int = 20,
           folder: Path | None = None) -> Answer:
    """``storage.queries.search`` through the search index when it can answer, else through FTS5: the
    same rows, fields and order (``score`` is FTS5's bm25, computed for the index's best candidates); the
    same ``QueryError`` for a search that cannot be read."""
    match = search_match(text, limit)
    filters = filters or Filters()
    problem = False
    try:
        rows = _indexed(db, match, filters, limit, folder)
        return Answer(rows, "tantivy")
    except _Unsupported:
        note = "FTS5 syntax the search index does not read (a column filter, NEAR, prefix* or ^)"
    except _Few as exc:
        note = str(exc)
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
    folder = folder or _folder_of(db)
    if not folder.is_dir():  # before tantivy is loaded: a database without an index pays nothing for it
        raise _Missing(f"no search index at {folder}: `safeguarding-news search-index` builds it")
    if not _has_change_log(db):
        raise _Missing("the database predates the search index (migration m011)")
    tantivy = _tantivy()
    index = _reader(tantivy, folder)
    _translate(tantivy, index, match, _NoSearcher(), 0, [])  # FTS5 syntax it does not read: before any work
    state = _read_state(folder)
    if behind(db, state):
        update(db, folder, most=CATCH_UP_MAX)
        index.reload()
    searcher = index.searcher()
    totals = _fts5_totals(db)
    leaves: list[_Leaf] = []
    query, most = _translate(tantivy, index, match, searcher, totals[0], leaves)
    if most < FTS5_BELOW:
        raise _Few(f"at most {most:,} matches: FTS5 ranks them faster than the index")
    where, params = filters.where("p")
    needed = max(limit + _SLACK, RESCORE)  # candidates scored again as FTS5 scores them
    wanted = needed if where == "1" else 4 * needed
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
        if len(hits) < wanted or len(rows) >= needed:
            break  # every match seen, or enough candidates that pass the filters
        if wanted >= MAX_CANDIDATES:
            if len(rows) >= limit:
                break
            raise IndexUnavailable(f"the filters keep fewer than {limit} of the {wanted:,} best matches")
        wanted = min(8 * wanted, MAX_CANDIDATES)
    ranked = sorted(rows, key=lambda r: score[r])[:needed]
    score = _fts5_scores(db, tantivy, ranked, leaves, totals)
    return ranked_with_snippets(db, match, [rows[r] for r in ranked], score, limit)


class _NoSearcher:
    """Stands for a searcher while a query is only checked for syntax the index does not read."""

    num_docs = 0

    def doc_freq(self, field: str, value: str) -> int:
        return 0

    def search(self, query: Any, limit: int, count: bool = False) -> Any:
        return _NoCount()


class _NoCount:
    count = 0


def _varints(blob: bytes) -> list[int]:
    """SQLite's variable-length integers, one after the other (FTS5's records of token counts)."""
    out, i = [], 0
    while i < len(blob):
        value = 0
        for k in range(9):
            byte = blob[i]
            i += 1
            if k == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def _fts5_totals(db: Database) -> tuple[int, float]:
    """FTS5's number of rows and average row length in tokens (its record of averages, rowid 1 of
    ``publications_fts_data``): what its bm25 uses."""
    row = db.execute("select block from publications_fts_data where id = 1").fetchone()
    counts = _varints(row[0]) if row and row[0] else [0]
    return counts[0], (sum(counts[1:]) / counts[0]) if counts[0] else 1.0


def _fts5_scores(db: Database, tantivy: Any, rowids: list[int], leaves: list[_Leaf],
                 totals: tuple[int, float]) -> dict[int, float]:
    """FTS5's ``bm25(publications_fts, 10.0, 4.0, 1.0)`` of each candidate, computed as FTS5 computes it
    (sqlite's fts5_aux.c): for each phrase, its idf x f(weighted count) with the row's length in tokens
    from FTS5's own record of it (``publications_fts_docsize``), k1 1.2, b 0.75; negative, lower is
    better. The phrases are counted in the candidate's words stemmed as the index stems them."""
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    texts = {r[0]: r[1:] for r in db.execute(
        f"select rowid, title, summary, body_text from publications where rowid in ({marks})", rowids)}
    sizes = {r[0]: sum(_varints(r[1] or b"")) for r in db.execute(
        f"select id, sz from publications_fts_docsize where id in ({marks})", rowids)}
    counter = _Counter(_analyzer(tantivy))
    k1, b = 1.2, 0.75
    average = totals[1] or 1.0
    out = {}
    for rowid in rowids:
        columns = [(t or "").lower() for t in texts.get(rowid, ("", "", ""))]
        length = sizes[rowid] if rowid in sizes else sum(len(c.split()) for c in columns)
        score = 0.0
        for leaf in leaves:
            freq = sum(weight * counter.count(column, leaf.tokens)
                       for weight, column in zip(RANK_WEIGHTS, columns, strict=True))
            score += leaf.idf * (freq * (k1 + 1.0)) / (freq + k1 * (1 - b + b * length / average))
        out[rowid] = -1.0 * score
    return out


class _Counter:
    """How many times a phrase (tokens as the index reads them) is in a lower-cased text. One word: only
    the words that begin as its stem does are stemmed (a stem keeps all but at most the last three letters
    of its word); a phrase, or a text with letters outside ASCII (accents are folded): every token."""

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer
        self.stems: dict[str, str] = {}
        self.patterns: dict[str, re.Pattern[str]] = {}

    def stem(self, word: str) -> str:
        found = self.stems.get(word)
        if found is None:
            found = self.stems[word] = " ".join(self.analyzer.analyze(word))
        return found

    def count(self, text: str, phrase: list[str]) -> int:
        if not text:
            return 0
        if len(phrase) > 1 or not text.isascii() or not phrase[0].isascii():
            tokens = self.analyzer.analyze(text)
            n = len(phrase)
            return sum(1 for i, t in enumerate(tokens) if t == phrase[0] and tokens[i:i + n] == phrase)
        token = phrase[0]
        pattern = self.patterns.get(token)
        if pattern is None:
            prefix = re.escape(token[:max(1, len(token) - 3)])
            pattern = self.patterns[token] = re.compile(rf"{prefix}[^\W_]*")  # a literal first: fast
        words = [m.group() for m in pattern.finditer(text)  # each a whole word: nothing of one before it
                 if not m.start() or not (text[m.start() - 1].isalnum())]
        new = list({w for w in words if w not in self.stems})
        if new:  # stemmed together: one call
            stems = self.analyzer.analyze(" ".join(new))
            if len(stems) == len(new):
                self.stems.update(zip(new, stems, strict=True))
        return sum(1 for word in words if self.stem(word) == token)


__all__ = ["Answer", "IndexUnavailable", "QueryError", "index_dir", "rebuild", "search", "update"]
