"""The ``publications`` table and ``publication_versions``: storing a batch, touching what was seen."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from pipeline.items.schema import Publication
from storage.db import insert_row, marks

TRACKED_FIELDS = ("title", "summary", "body_text", "published_at", "updated_at", "documents", "withdrawn_at")
_PUB_COLUMNS = (
    "id", "source", "url", "title", "summary", "body_text", "content_type", "source_type", "published_at",
    "published_precision", "updated_at", "withdrawn_at", "content_hash", "language",
)
CHUNK = 500


# A stored body is not replaced by an empty one, nor by one under this share of its length (a 0-byte or
# truncated 200 answer): the old text is kept and the page named in the run (``BatchResult.kept_body``).
SHRUNK_SHARE = 0.5
SHRUNK_MIN_CHARS = 200  # bodies shorter than this are compared only for emptiness


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_body: list[str] = field(default_factory=list)  # URLs whose empty or shrunken new body was refused


# json.dumps(value, ensure_ascii=False) makes a new encoder per call: one kept, the same text
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _row(pub: Publication) -> dict[str, Any]:
    row: dict[str, Any] = {c: getattr(pub, c) for c in _PUB_COLUMNS}
    row["topics"] = _to_json(list(pub.topics)) if pub.topics else "[]"
    row["documents"] = _to_json([d.as_json() for d in pub.documents]) if pub.documents else "[]"  # pages when known
    row["links"] = _to_json(list(pub.links)) if pub.links else "[]"
    return row


def store_batch(db: Database, pubs: Iterable[Publication], now: str) -> BatchResult:
    """Upsert publications in one transaction.

    New → version 1. Same content hash → only ``last_seen_at`` moves. Changed → the earlier version is
    copied to ``publication_versions`` with the names of the fields that changed, and ``version`` + 1.
    New rows are written with one statement and their text indexed with one more at the end (see
    ``deferred_indexing``), not one full-text trigger call per row.
    """
    pubs = list(pubs)
    result = BatchResult()
    if not pubs:
        return result
    with _writing(db), deferred_indexing(db):
        _store(db, pubs, now, result)
    return result


def store_many(db: Database, pubs: Iterable[Publication], now: str, chunk: int = 1000) -> BatchResult:
    """Store any number of publications (a first load, an import, a rebuild) in one transaction: batched
    writes of ``chunk`` rows, and the full-text index filled once at the end for every new row. Into an
    empty table, only what this load already stored can be there: the ids and URLs stored so far are kept in
    memory and only those met again are read back (100,000 lookups fewer of each)."""
    result = BatchResult()
    with _bulk_cache(db), _writing(db), _fts_hash(db), deferred_indexing(db):
        empty = db.execute("select not exists (select 1 from publications)").fetchone()[0]
        stored = _Stored() if empty else None
        part: list[Publication] = []
        for pub in pubs:
            part.append(pub)
            if len(part) >= chunk:
                _store(db, part, now, result, stored)
                part = []
        if part:
            _store(db, part, now, result, stored)
    return result


@dataclass
class _Stored:
    """What a load into an empty table has stored so far: row ids, and (source, URL) pairs."""
    ids: set[str] = field(default_factory=set)
    urls: set[tuple[str, str]] = field(default_factory=set)

    def may_hold(self, pub: Publication) -> bool:
        return pub.id in self.ids or (pub.source, pub.url) in self.urls


BULK_CACHE_KIB = 128 * 1024


@contextmanager
def _bulk_cache(db: Database) -> Iterator[None]:
    """A page cache of ``BULK_CACHE_KIB`` for a bulk load (SQLite's default is 2 MiB): the id and URL
    indexes, written in no particular order, and the new full-text segments stay in memory instead of
    being spilled and read again (100,000 publications: about 1 s of CPU less). The connection's own
    setting is put back after."""
    previous = db.execute("pragma cache_size").fetchone()[0]
    page = db.execute("pragma page_size").fetchone()[0]
    held_kib = -previous if previous < 0 else previous * page // 1024
    if held_kib >= BULK_CACHE_KIB:
        yield
        return
    db.execute(f"pragma cache_size = {-BULK_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute(f"pragma cache_size = {int(previous)}")


# FTS5 gathers new terms in memory and writes them out as a segment of its index each time they pass
# ``hashsize`` (1 MiB by default); the segments are then merged, again and again as they pile up. A bulk
# load gathers up to this much before writing a segment: 100,000 publications make a few large segments
# instead of hundreds of small ones to merge (about a third less CPU for the whole load; the same index
# contents and search results, tested). The setting is FTS5's own (``hashsize``, kept in
# ``publications_fts_config``) and is put back, inside the same transaction, when the load ends.
BULK_FTS_HASH_BYTES = 64 * 1024 * 1024
FTS_DEFAULT_HASH_BYTES = 1024 * 1024


@contextmanager
def _fts_hash(db: Database) -> Iterator[None]:
    row = db.execute("select v from publications_fts_config where k = 'hashsize'").fetchone()
    previous = int(row[0]) if row is not None else FTS_DEFAULT_HASH_BYTES
    if previous >= BULK_FTS_HASH_BYTES:
        yield
        return
    _fts_setting(db, "hashsize", BULK_FTS_HASH_BYTES)
    yield  # on an error, rolling the transaction back undoes the setting with the rest
    _fts_setting(db, "hashsize", previous)


def _fts_setting(db: Database, name: str, value: int) -> None:
    db.execute("insert into publications_fts (publications_fts, rank) values (?, ?)", [name, value])


@contextmanager
def _writing(db: Database) -> Iterator[None]:
    """A write transaction that takes the write lock at its start (``BEGIN IMMEDIATE``), so that a writer
    waits its turn (``busy_timeout``) instead of failing with "database is locked" when another process
    wrote between its first read and its first write; inside a transaction already, a savepoint."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


@contextmanager
def deferred_indexing(db: Database) -> Iterator[None]:
    """Inside a transaction: rows inserted meanwhile are added to the full-text index by one
    ``insert ... select`` at the end instead of one trigger call each (the triggers skip rows above
    ``fts_deferred.after_rowid``, migration m010); about twice as fast as the triggers, and the same
    index. Nested use is a no-op."""
    state = db.execute("select after_rowid from fts_deferred").fetchone()
    if state is not None and state[0] is not None:
        yield
        return
    after = db.execute("select coalesce(max(rowid), 0) from publications").fetchone()[0]
    db.execute("update fts_deferred set after_rowid = ?", [after])
    yield
    db.execute("insert into publications_fts (rowid, title, summary, body_text) "
               "select rowid, title, summary, body_text from publications where rowid > ?", [after])
    db.execute("update fts_deferred set after_rowid = null")


def _store(db: Database, pubs: list[Publication], now: str, result: BatchResult,
           stored: _Stored | None = None) -> None:
    """Store one batch; ``stored`` (a load into an empty table) names the only publications worth looking up."""
    existing: dict[str, dict[str, Any]] = {}
    by_url: dict[tuple[str, str], dict[str, Any]] = {}
    lookup = pubs if stored is None else [p for p in pubs if stored.may_hold(p)]
    for i in range(0, len(lookup), CHUNK):
        part = lookup[i : i + CHUNK]
        existing.update((r["id"], r) for r in db.query(
            f"select * from publications where id in ({marks(part)})", [p.id for p in part]))
        # The same publication reached through another door (a feed's link instead of the API's id) keeps
        # the row it already has: matched by source and canonical URL.
        by_url.update(((r["source"], r["url"]), r) for r in db.query(
            f"select * from publications where url in ({marks(part)})", [p.url for p in part]))
    new_rows: list[dict[str, Any]] = []  # written together, with one statement
    pending: set[str] = set()
    seen: list[tuple[str, str]] = []
    for pub in pubs:
        old = existing.get(pub.id) or by_url.get((pub.source, pub.url))
        if old is not None and old["id"] in pending:  # met twice in one batch: write the first one now
            _insert(db, new_rows)
            new_rows, pending = [], set()
        row = _row(pub)
        if old is None:
            row.update(first_seen_at=now, last_seen_at=now, version=1)
            new_rows.append(row)
            pending.add(row["id"])
            result.new += 1
        elif old["content_hash"] == pub.content_hash:
            row["id"] = old["id"]
            seen.append((now, old["id"]))
            result.unchanged += 1
        else:
            row = _store_one(db, pub, old, now, result)
        existing[row["id"]] = by_url[(pub.source, pub.url)] = {**(old or {}), **row}
        if stored is not None:
            stored.ids.add(row["id"])
            stored.urls.add((pub.source, pub.url))
    _insert(db, new_rows)
    if seen:
        db.conn.executemany("update publications set last_seen_at = ? where id = ?", seen)


def _insert(db: Database, rows: list[dict[str, Any]]) -> None:
    if rows:
        cols = list(rows[0])
        db.conn.executemany(f"insert into publications ({', '.join(f'[{c}]' for c in cols)}) "
                            f"values ({', '.join('?' * len(cols))})", [[r[c] for c in cols] for r in rows])


def shrunk(old: str | None, new: str | None) -> bool:
    """Whether a new body is empty where the stored one is not, or (for a stored body of at least
    ``SHRUNK_MIN_CHARS``) under ``SHRUNK_SHARE`` of its length: a 0-byte or truncated answer, not an edit."""
    old, new = (old or "").strip(), (new or "").strip()
    if not old:
        return False
    if not new:
        return True
    return len(old) >= SHRUNK_MIN_CHARS and len(new) < SHRUNK_SHARE * len(old)


def _store_one(db: Database, pub: Publication, old: dict[str, Any], now: str,
               result: BatchResult) -> dict[str, Any]:
    """A stored publication whose content hash changed: archive the old version, write the new one. An
    empty or much-shrunken body never replaces the stored one (``BatchResult.kept_body``); when the body
    was the only change, nothing is written but ``last_seen_at``."""
    row = _row(pub)
    row["id"] = old["id"]
    if shrunk(old.get("body_text"), row.get("body_text")):
        result.kept_body.append(pub.url)
        row["body_text"] = old.get("body_text")
        if all((old.get(f) or None) == (row.get(f) or None) for f in TRACKED_FIELDS):
            db.execute("update publications set last_seen_at = ? where id = ?", [now, row["id"]])
            result.unchanged += 1
            row["content_hash"] = old["content_hash"]
            return row
    _archive_version(db, old, row, now)
    row.update(last_seen_at=now, version=old["version"] + 1)
    changes = {k: v for k, v in row.items() if k != "id"}
    sets = ", ".join(f"[{k}] = ?" for k in changes)
    db.execute(f"update publications set {sets} where id = ?", [*changes.values(), row["id"]])
    result.updated += 1
    return row


def _archive_version(db: Database, old: dict[str, Any], new: dict[str, Any], now: str) -> None:
    changed = [f for f in TRACKED_FIELDS if (old.get(f) or None) != (new.get(f) or None)]
    insert_row(db, "publication_versions", {
        "publication_id": old["id"], "version": old["version"], "seen_at": old["last_seen_at"],
        "replaced_at": now, "changed_fields": json.dumps(changed), "content_hash": old["content_hash"],
        **{f: old.get(f) for f in TRACKED_FIELDS},
    })


def touch_seen(db: Database, source: str, urls: list[str], now: str) -> int:
    """Publications seen unchanged without being parsed (304, or not newer at the source)."""
    touched = 0
    with db.atomic():
        for i in range(0, len(urls), CHUNK):
            part = urls[i : i + CHUNK]
            cur = db.execute(f"update publications set last_seen_at = ? where source = ? and url in ({marks(part)})",
                             [now, source, *part])
            touched += cur.rowcount
    return touched


def newest_first_seen(db: Database, source: str) -> str | None:
    """When the source's newest publication was first found."""
    return next(db.query("select max(first_seen_at) as t from publications where source = ?", [source]))["t"]
