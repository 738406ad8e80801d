"""The ``publications`` table and ``publication_versions``: storing a batch, touching what was seen."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
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


def _row(pub: Publication) -> dict[str, Any]:
    row: dict[str, Any] = {c: getattr(pub, c) for c in _PUB_COLUMNS}
    row["topics"] = json.dumps(list(pub.topics), ensure_ascii=False)
    row["documents"] = json.dumps([asdict(d) for d in pub.documents], ensure_ascii=False)
    row["links"] = json.dumps(list(pub.links), ensure_ascii=False)
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
    with db.atomic(), deferred_indexing(db):
        _store(db, pubs, now, result)
    return result


def store_many(db: Database, pubs: Iterable[Publication], now: str, chunk: int = 1000) -> BatchResult:
    """Store any number of publications (a first load, an import, a rebuild) in one transaction: batched
    writes of ``chunk`` rows, and the full-text index filled once at the end for every new row."""
    result = BatchResult()
    with db.atomic(), deferred_indexing(db):
        part: list[Publication] = []
        for pub in pubs:
            part.append(pub)
            if len(part) >= chunk:
                _store(db, part, now, result)
                part = []
        if part:
            _store(db, part, now, result)
    return result


@contextmanager
def deferred_indexing(db: Database) -> Iterator[None]:
    """Inside a transaction: rows inserted meanwhile are added to the full-text index by one
    ``insert ... select`` at the end instead of one trigger call each (the triggers skip rows above
    ``fts_deferred.after_rowid``, migration m010); about twice as fast as the triggers, and the same
    index. Nested use is a no-op."""
    if next(iter(db.execute("select after_rowid from fts_deferred").fetchone() or [None])) is not None:
        yield
        return
    after = db.execute("select coalesce(max(rowid), 0) from publications").fetchone()[0]
    db.execute("update fts_deferred set after_rowid = ?", [after])
    yield
    db.execute("insert into publications_fts (rowid, title, summary, body_text) "
               "select rowid, title, summary, body_text from publications where rowid > ?", [after])
    db.execute("update fts_deferred set after_rowid = null")


def _store(db: Database, pubs: list[Publication], now: str, result: BatchResult) -> None:
    existing: dict[str, dict[str, Any]] = {}
    by_url: dict[tuple[str, str], dict[str, Any]] = {}
    for i in range(0, len(pubs), CHUNK):
        part = pubs[i : i + CHUNK]
        for r in db.query(f"select * from publications where id in ({marks(part)})", [p.id for p in part]):
            existing[r["id"]] = r
        # The same publication reached through another door (a feed's link instead of the API's id) keeps
        # the row it already has: matched by source and canonical URL.
        for r in db.query(f"select * from publications where url in ({marks(part)})", [p.url for p in part]):
            by_url[(r["source"], r["url"])] = r
    new_rows: list[dict[str, Any]] = []
    seen: list[tuple[str, str]] = []
    for pub in pubs:
        old = existing.get(pub.id) or by_url.get((pub.source, pub.url))
        if old is None and any(r["id"] == pub.id or (r["source"], r["url"]) == (pub.source, pub.url)
                               for r in new_rows[-1:]):
            old = None  # (the scan below handles repeats within the batch)
        row = _row(pub)
        if old is None:
            row.update(first_seen_at=now, last_seen_at=now, version=1)
            new_rows.append(row)
            result.new += 1
        elif old["content_hash"] == pub.content_hash and not old.get("_pending"):
            row["id"] = old["id"]
            seen.append((now, old["id"]))
            result.unchanged += 1
        else:
            if old.get("_pending"):  # first stored in this batch, not yet written: write it now
                _insert(db, new_rows)
                new_rows = []
            row = _store_one(db, pub, old, now, result)
        existing[row["id"]] = by_url[(pub.source, pub.url)] = {**(old or {}), **row, "_pending": old is None}
    _insert(db, new_rows)
    if seen:
        db.conn.executemany("update publications set last_seen_at = ? where id = ?", seen)


def _insert(db: Database, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row.pop("_pending", None)
    for i in range(0, len(rows), 1000):
        part = rows[i : i + 1000]
        cols = list(part[0])
        db.conn.executemany(f"insert into publications ({', '.join(f'[{c}]' for c in cols)}) "
                            f"values ({', '.join('?' * len(cols))})", [[r[c] for c in cols] for r in part])
    for existing in rows:
        existing["_pending"] = False


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
