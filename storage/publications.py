"""The ``publications`` table and ``publication_versions``: storing a batch, touching what was seen."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
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


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


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
    """
    pubs = list(pubs)
    result = BatchResult()
    if not pubs:
        return result
    with db.atomic():
        existing = {r["id"]: r for r in db.query(f"select * from publications where id in ({marks(pubs)})",
                                                  [p.id for p in pubs])}
        # The same publication reached through another door (a feed's link instead of the API's id) keeps
        # the row it already has: matched by source and canonical URL.
        by_url = {(r["source"], r["url"]): r
                  for r in db.query(f"select * from publications where url in ({marks(pubs)})",
                                    [p.url for p in pubs])}
        for pub in pubs:
            old = existing.get(pub.id) or by_url.get((pub.source, pub.url))
            row = _store_one(db, pub, old, now, result)
            existing[row["id"]] = by_url[(pub.source, pub.url)] = {**(old or {}), **row}
    return result


def _store_one(db: Database, pub: Publication, old: dict[str, Any] | None, now: str,
               result: BatchResult) -> dict[str, Any]:
    row = _row(pub)
    if old is None:
        row.update(first_seen_at=now, last_seen_at=now, version=1)
        insert_row(db, "publications", row)
        result.new += 1
        return row
    row["id"] = old["id"]
    if old["content_hash"] == pub.content_hash:
        db.execute("update publications set last_seen_at = ? where id = ?", [now, row["id"]])
        result.unchanged += 1
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
