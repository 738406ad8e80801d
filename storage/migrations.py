"""Schema migrations (sqlite-utils ``Migrations``). Append new steps; never edit an applied one."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("safeguarding-news")


@migrations()
def m001_contract_tables(db: Database) -> None:
    db["publications"].create(
        {
            "id": str, "source": str, "url": str, "title": str, "summary": str, "body_text": str,
            "content_type": str, "source_type": str, "published_at": str, "published_precision": str,
            "updated_at": str, "topics": str, "documents": str, "first_seen_at": str, "last_seen_at": str,
            "content_hash": str, "version": int, "cluster_id": int, "withdrawn_at": str,
        },
        pk="id",
        not_null={"source", "url", "title", "content_hash", "version", "first_seen_at", "last_seen_at"},
        defaults={"version": 1, "topics": "[]", "documents": "[]"},
    )
    db["publications"].create_index(["source", "published_at"])
    db["publications"].create_index(["url"])
    db["publications"].create_index(["cluster_id"])
    db["publication_versions"].create(
        {
            "id": int, "publication_id": str, "version": int, "seen_at": str, "replaced_at": str,
            "changed_fields": str, "title": str, "summary": str, "body_text": str, "published_at": str,
            "updated_at": str, "documents": str, "withdrawn_at": str, "content_hash": str,
        },
        pk="id",
        foreign_keys=[("publication_id", "publications", "id")],
    )
    db["publication_versions"].create_index(["publication_id", "version"], unique=True)
    db["publication_versions"].create_index(["replaced_at"])
    db["runs"].create(
        {
            "id": int, "source": str, "started_at": str, "finished_at": str, "status": str, "pages": int,
            "items": int, "new": int, "updated": int, "unchanged": int, "invalid": int, "errors": int,
            "http_errors": str, "message": str,
        },
        pk="id",
        not_null={"source", "started_at", "status"},
        defaults={"pages": 0, "items": 0, "new": 0, "updated": 0, "unchanged": 0, "invalid": 0,
                  "errors": 0, "http_errors": "{}", "message": ""},
    )
    db["runs"].create_index(["source", "started_at"])
    db["alerts"].create(
        {"id": int, "source": str, "run_id": int, "kind": str, "message": str, "raised_at": str,
         "resolved_at": str},
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["alerts"].create_index(["source", "kind", "resolved_at"])
    db["clusters"].create({"id": int, "title": str, "first_published_at": str, "size": int}, pk="id")


@migrations()
def m002_search_and_run_details(db: Database) -> None:
    db["publications"].add_column("language", str)
    db["publications"].add_column("links", str, not_null_default="[]")
    db["runs"].add_column("pid", int)
    db["runs"].add_column("door", str)
    db["runs"].add_column("skipped", int, not_null_default=0)
    db["runs"].add_column("duplicates", int, not_null_default=0)
    db["runs"].add_column("stats", str, not_null_default="{}")
    db["publications"].enable_fts(["title", "summary", "body_text"], create_triggers=True, tokenize="porter")
