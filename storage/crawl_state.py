"""What an incremental crawl remembers between runs: ``http_validators`` (conditional requests),
``skipped_pages``, the publications already known, and when the last full walk was."""

from __future__ import annotations

from sqlite_utils import Database

Validators = dict[str, tuple[str | None, str | None]]  # URL → (ETag, Last-Modified)


def load_validators(db: Database, source: str) -> Validators:
    """The ETag and Last-Modified each URL of a source answered with last time."""
    return {r["url"]: (r["etag"], r["last_modified"])
            for r in db.query("select url, etag, last_modified from http_validators where source = ?", [source])}


def save_validators(db: Database, source: str, rows: Validators, now: str) -> None:
    with db.atomic():
        db.conn.executemany(
            "insert or replace into http_validators (url, source, etag, last_modified, seen_at) "
            "values (?, ?, ?, ?, ?)",
            [(url, source, etag, modified, now) for url, (etag, modified) in rows.items()],
        )


def known_publications(db: Database, source: str) -> dict[str, str]:
    """Canonical URL → the latest date stored for it (updated or published), for skipping unchanged pages;
    pages skipped on purpose count as known with the date the site gave them."""
    known = {r["url"]: r["source_date"] or "" for r in db.query(
        "select url, source_date from skipped_pages where source = ?", [source])}
    known.update({r["url"]: r["latest"] or "" for r in db.query(
        "select url, max(coalesce(updated_at, ''), coalesce(published_at, '')) as latest "
        "from publications where source = ?", [source])})
    return known


def save_skipped(db: Database, source: str, rows: list[tuple[str, str, str | None]], now: str) -> None:
    """Pages deliberately not stored: ``(url, reason, source_date)``."""
    with db.atomic():
        db.conn.executemany(
            "insert or replace into skipped_pages (url, source, reason, source_date, seen_at) values (?, ?, ?, ?, ?)",
            [(url, source, reason, date, now) for url, reason, date in rows])


def last_full_walk(db: Database, source: str) -> str | None:
    """When the source's last complete (unconditional) walk that ended ok or partial started."""
    row = db.execute(
        "select max(started_at) from runs where source = ? and status in ('ok', 'partial') "
        "and json_extract(stats, '$.\"sgn/full_walk\"') = 1", [source]).fetchone()
    return row[0] if row else None
