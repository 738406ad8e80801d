"""Schema migrations (sqlite-utils ``Migrations``). Append new steps; never edit an applied one."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("safeguarding-news")


@migrations()
def m001_contract_tables(db: Database) -> None:
    db.table("publications").create(
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
    db.table("publications").create_index(["source", "published_at"])
    db.table("publications").create_index(["url"])
    db.table("publications").create_index(["cluster_id"])
    db.table("publication_versions").create(
        {
            "id": int, "publication_id": str, "version": int, "seen_at": str, "replaced_at": str,
            "changed_fields": str, "title": str, "summary": str, "body_text": str, "published_at": str,
            "updated_at": str, "documents": str, "withdrawn_at": str, "content_hash": str,
        },
        pk="id",
        foreign_keys=[("publication_id", "publications", "id")],
    )
    db.table("publication_versions").create_index(["publication_id", "version"], unique=True)
    db.table("publication_versions").create_index(["replaced_at"])
    db.table("runs").create(
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
    db.table("runs").create_index(["source", "started_at"])
    db.table("alerts").create(
        {"id": int, "source": str, "run_id": int, "kind": str, "message": str, "raised_at": str,
         "resolved_at": str},
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("alerts").create_index(["source", "kind", "resolved_at"])
    db.table("clusters").create({"id": int, "title": str, "first_published_at": str, "size": int}, pk="id")


@migrations()
def m002_search_and_run_details(db: Database) -> None:
    db.table("publications").add_column("language", str)
    db.table("publications").add_column("links", str, not_null_default="[]")
    db.table("runs").add_column("pid", int)
    db.table("runs").add_column("door", str)
    db.table("runs").add_column("skipped", int, not_null_default=0)
    db.table("runs").add_column("duplicates", int, not_null_default=0)
    db.table("runs").add_column("stats", str, not_null_default="{}")
    db.table("publications").enable_fts(["title", "summary", "body_text"], create_triggers=True, tokenize="porter")


# The UK month of `published_at`: UTC datetimes move to British Summer Time between 01:00 UTC on the last
# Sundays of March and October (GOV.UK publishes at 00:01 BST, the previous day in UTC); dates, months and
# years stay as the site gave them (a year-only date gives `YYYY`).
_UK_MONTH = """case when length(p.published_at) > 10 then substr(datetime(p.published_at, case
      when p.published_at >= date(substr(p.published_at, 1, 4) || '-03-31', '-6 days', 'weekday 0')
                             || 'T01:00:00Z'
       and p.published_at < date(substr(p.published_at, 1, 4) || '-10-31', '-6 days', 'weekday 0')
                             || 'T01:00:00Z'
      then '+1 hour' else '+0 hours' end), 1, 7)
    else substr(p.published_at, 1, 7) end"""

ANALYST_VIEWS = {
    "latest_publications": """
        select p.published_at, p.published_precision, p.source, p.title, p.content_type, p.url, p.summary,
               p.cluster_id, c.title as story_title, p.updated_at, p.withdrawn_at, p.first_seen_at, p.id
        from publications p left join clusters c on c.id = p.cluster_id
        order by p.published_at is null, p.published_at desc, p.first_seen_at desc, p.id""",
    # A publication without a cluster is a story of its own.
    "story_members": """
        select case when p.cluster_id is null then 'publication:' || p.id
                    else 'cluster:' || p.cluster_id end as story_id,
               p.cluster_id, p.id as publication_id, p.source, p.title, p.content_type, p.published_at,
               p.published_precision, p.url
        from publications p""",
    "stories": """
        select m.story_id, m.cluster_id,
               coalesce(c.title, json_extract(json_group_array(m.title), '$[0]')) as title,
               min(m.published_at) as first_published_at, max(m.published_at) as latest_published_at,
               count(*) as size, group_concat(distinct m.source) as sources,
               json_group_array(json_object('id', m.publication_id, 'source', m.source, 'title', m.title,
                                            'url', m.url, 'content_type', m.content_type,
                                            'published_at', m.published_at)) as members
        from (select * from story_members
              order by published_at is null, published_at, publication_id) m
        left join clusters c on c.id = m.cluster_id
        group by m.story_id
        order by latest_published_at desc, m.story_id""",
    "publication_changes": """
        select v.replaced_at as changed_at, v.publication_id, p.source, p.title, v.version as old_version,
               v.version + 1 as new_version, v.changed_fields, v.title as old_title,
               v.published_at as old_published_at, v.updated_at as old_updated_at,
               v.withdrawn_at as old_withdrawn_at, p.url
        from publication_versions v join publications p on p.id = v.publication_id
        order by v.replaced_at desc, v.publication_id""",
    "monthly_counts": f"""
        select {_UK_MONTH} as month, p.source, count(*) as publications
        from publications p
        group by month, p.source
        order by month desc, p.source""",
}


@migrations()
def m003_analyst_views(db: Database) -> None:
    for name, sql in ANALYST_VIEWS.items():
        db.create_view(name, sql.strip())


@migrations()
def m004_story_index(db: Database) -> None:
    """What incremental story matching looks up: LSH band keys of each publication's title and summary,
    its outbound links, and its documents (by URL and by a normalised title)."""
    db.table("story_bands").create({"band_key": int, "publication_id": str})
    db.table("story_bands").create_index(["band_key"])
    db.table("story_bands").create_index(["publication_id"])
    db.table("story_links").create({"url": str, "publication_id": str})
    db.table("story_links").create_index(["url"])
    db.table("story_links").create_index(["publication_id"])
    db.table("story_documents").create({"key": str, "publication_id": str})
    db.table("story_documents").create_index(["key"])
    db.table("story_documents").create_index(["publication_id"])
    # the content hash each publication had when it was indexed: a different one means "match it again"
    db.table("story_indexed").create({"publication_id": str, "content_hash": str}, pk="publication_id")


@migrations()
def m005_health_and_alert_delivery(db: Database) -> None:
    """Per-run field coverage for the health checks, one open alert per source and kind, and an outbox of
    alert notifications so that a failed delivery is retried later."""
    db.table("runs").add_column("date_coverage", float)
    db.table("runs").add_column("summary_coverage", float)
    db.execute("create unique index alerts_one_open on alerts (source, kind) where resolved_at is null")
    db.table("alert_deliveries").create(
        {"id": int, "alert_id": int, "event": str, "channel": str, "created_at": str, "attempts": int,
         "next_attempt_at": str, "delivered_at": str, "gave_up_at": str, "last_error": str},
        pk="id",
        foreign_keys=[("alert_id", "alerts", "id")],
        not_null={"alert_id", "event", "channel", "created_at", "next_attempt_at"},
        defaults={"attempts": 0, "last_error": ""},
    )
    db.table("alert_deliveries").create_index(["delivered_at", "gave_up_at", "next_attempt_at"])


@migrations()
def m006_incremental_crawling(db: Database) -> None:
    """Conditional requests (what each URL answered last time) and pages deliberately not stored
    (redirects, translations), remembered with the site's date so that they are not fetched again."""
    db.table("http_validators").create(
        {"url": str, "source": str, "etag": str, "last_modified": str, "seen_at": str}, pk="url")
    db.table("http_validators").create_index(["source"])
    db.table("skipped_pages").create({"url": str, "source": str, "reason": str, "source_date": str, "seen_at": str},
                               pk="url")
    db.table("skipped_pages").create_index(["source"])


@migrations()
def m007_fts_update_trigger_on_text_only(db: Database) -> None:
    """sqlite-utils' update trigger re-indexed a publication's text whenever any column changed: every
    crawl's ``last_seen_at`` and every ``cluster_id`` rewrote the full-text index. Now only a change of
    the indexed columns does."""
    db.execute("drop trigger if exists publications_au")
    db.execute(
        "create trigger publications_au after update of title, summary, body_text on publications begin "
        "insert into publications_fts (publications_fts, rowid, title, summary, body_text) "
        "values ('delete', old.rowid, old.title, old.summary, old.body_text); "
        "insert into publications_fts (rowid, title, summary, body_text) "
        "values (new.rowid, new.title, new.summary, new.body_text); end"
    )


@migrations()
def m008_run_log_path(db: Database) -> None:
    """Each crawl process writes its Scrapy log to a file of its own; the run keeps where."""
    db.table("runs").add_column("log_path", str)


@migrations()
def m009_topics_and_digest_outbox(db: Database) -> None:
    """The topic vocabulary as last applied, the topics of each publication with how each was assigned,
    and the outbox of the weekly digest e-mail: one row per period and recipient, so each is sent once."""
    db.table("topics").create(
        {"id": str, "label": str, "description": str, "position": int, "rules": str, "vocabulary_version": str,
         "saved_at": str}, pk="id")
    db.table("publication_topics").create(
        {"publication_id": str, "topic": str, "method": str, "matched": str, "score": float, "is_primary": int,
         "vocabulary_version": str, "assigned_at": str},
        pk=("publication_id", "topic"), not_null={"method", "is_primary"}, defaults={"is_primary": 0})
    db.table("publication_topics").create_index(["topic", "publication_id"])
    # the vocabulary file as last applied, verbatim: what the crawl assigns new publications with
    db.table("topic_vocabulary").create({"version": str, "text": str, "saved_at": str}, pk="version")
    db.table("digest_deliveries").create(
        {"id": int, "period_start": str, "period_end": str, "recipient": str, "message_id": str, "created_at": str,
         "attempts": int, "sent_at": str, "last_error": str},
        pk="id", not_null={"period_start", "period_end", "recipient", "message_id", "created_at"},
        defaults={"attempts": 0, "last_error": ""})
    db.table("digest_deliveries").create_index(["period_start", "period_end", "recipient"], unique=True)


@migrations()
def m010_deferred_full_text_indexing(db: Database) -> None:
    """Storing many publications indexes their text in one statement at the end of the transaction
    (``storage.publications``) instead of one trigger call per row, about twice as fast. While
    ``fts_deferred.after_rowid`` is set (only inside that transaction), rows above it are not yet in the
    index and the triggers leave them alone; any other writer (it is null) is indexed by the triggers as
    before."""
    db.table("fts_deferred").create({"after_rowid": int})
    db.execute("insert into fts_deferred (after_rowid) values (null)")
    indexed = "(select after_rowid from fts_deferred) is null or {row}.rowid <= (select after_rowid from fts_deferred)"
    for name in ("publications_ai", "publications_ad", "publications_au"):
        db.execute(f"drop trigger if exists {name}")
    db.execute(
        "create trigger publications_ai after insert on publications "
        f"when {indexed.format(row='new')} begin "
        "insert into publications_fts (rowid, title, summary, body_text) "
        "values (new.rowid, new.title, new.summary, new.body_text); end"
    )
    db.execute(
        "create trigger publications_ad after delete on publications "
        f"when {indexed.format(row='old')} begin "
        "insert into publications_fts (publications_fts, rowid, title, summary, body_text) "
        "values ('delete', old.rowid, old.title, old.summary, old.body_text); end"
    )
    db.execute(
        "create trigger publications_au after update of title, summary, body_text on publications "
        f"when {indexed.format(row='old')} begin "
        "insert into publications_fts (publications_fts, rowid, title, summary, body_text) "
        "values ('delete', old.rowid, old.title, old.summary, old.body_text); "
        "insert into publications_fts (rowid, title, summary, body_text) "
        "values (new.rowid, new.title, new.summary, new.body_text); end"
    )


@migrations()
def m011_search_index_changes(db: Database) -> None:
    """The search index beside the database (``storage.search_index``, a cache rebuilt from this file)
    finds new publications by rowid; this log tells it which stored rows changed their text or were
    deleted since it was last brought up to date. Inserts are not logged (they are above its rowid mark),
    so storing many new publications costs nothing more."""
    db.table("search_index_changes").create({"id": int, "pub_rowid": int}, pk="id", not_null={"pub_rowid"})
    db.execute(
        "create trigger search_index_changes_au after update of title, summary, body_text on publications "
        "begin insert into search_index_changes (pub_rowid) values (old.rowid); end"
    )
    db.execute(
        "create trigger search_index_changes_ad after delete on publications "
        "begin insert into search_index_changes (pub_rowid) values (old.rowid); end"
    )


@migrations()
def m012_story_band_keys_per_publication(db: Database) -> None:
    """A story rebuild reads back the LSH band keys of the publications it need not hash again: one row of
    ``story_indexed`` each (``band_keys``: 32 signed 64-bit integers, little-endian) instead of 32 rows of
    ``story_bands`` (which stays, for matching new publications by band key). Filled here from
    ``story_bands``; a publication without it is hashed again by the next rebuild."""
    import struct

    db.execute("alter table story_indexed add column band_keys blob")
    keys: dict[str, list[int]] = {}
    for pid, key in db.execute("select publication_id, band_key from story_bands order by rowid"):
        keys.setdefault(pid, []).append(key)
    db.conn.executemany("update story_indexed set band_keys = ? where publication_id = ?",
                        [(struct.pack(f"<{len(k)}q", *k), pid) for pid, k in keys.items()])


@migrations()
def m012_story_bands_keyed_by_band(db: Database) -> None:
    """``story_bands`` as one B-tree keyed by (band key, publication id), ``WITHOUT ROWID``, instead of a
    table and two indexes: a rebuild writes 3.2 million rows at 100,000 publications, now in key order into
    one tree a third of the size. A publication's rows are found by the keys kept beside it
    (``story_indexed.band_keys``, the step before)."""
    db.execute("create table story_bands_keyed (band_key integer not null, publication_id text not null, "
               "primary key (band_key, publication_id)) without rowid")
    db.execute("insert or ignore into story_bands_keyed (band_key, publication_id) "
               "select band_key, publication_id from story_bands order by band_key, publication_id")
    db.execute("drop table story_bands")
    db.execute("alter table story_bands_keyed rename to story_bands")


@migrations()
def m013_story_bands_by_publication_rowid(db: Database) -> None:
    """``story_bands`` keyed by (band key, publication rowid) instead of (band key, publication id): a
    publication id is its source and URL (about 130 bytes), written 32 times per publication; the rowid
    takes a few bytes, and a rebuild of 100,000 writes 3.2 million rows. Lookups join ``publications`` by
    rowid (as the full-text index does). Rows of publications no longer stored are dropped.
    ``story_indexed.publication_rowid`` keeps the rowid a publication's band rows name: they are deleted
    by it, and a rebuild indexes again a publication whose rowid is no longer that one."""
    db.execute("create table story_bands_by_rowid (band_key integer not null, publication_rowid integer not null, "
               "primary key (band_key, publication_rowid)) without rowid")
    db.execute("insert or ignore into story_bands_by_rowid (band_key, publication_rowid) "
               "select b.band_key, p.rowid from story_bands b join publications p on p.id = b.publication_id "
               "order by 1, 2")
    db.execute("drop table story_bands")
    db.execute("alter table story_bands_by_rowid rename to story_bands")
    db.execute("alter table story_indexed add column publication_rowid integer")
    db.execute("update story_indexed set publication_rowid = "
               "(select p.rowid from publications p where p.id = story_indexed.publication_id)")


@migrations()
def m014_story_text_verdicts(db: Database) -> None:
    """``story_pairs``: the text rule's verdict for two contents (the Jaccard similarity of the word bigrams
    of their titles and summaries is 0.5 or more, or not), keyed by the two ``content_hash`` values, so that
    a rebuild verifies again only the LSH pairs whose contents it has not judged yet (shingling every
    candidate again grew faster than the corpus: chance collisions)."""
    db.execute("create table story_pairs (first_hash text not null, second_hash text not null, "
               "joined integer not null, primary key (first_hash, second_hash)) without rowid")


@migrations()
def m015_story_index_rules(db: Database) -> None:
    """``story_rules``: the rules the kept story index and text verdicts were made with (MinHash, LSH bands,
    the text rule; one row, written by ``pipeline.stories``), so that a change to them empties what is kept
    instead of matching by stale band keys and verdicts. Empty until the next rebuild or match, which adopts
    the current rules: every index kept so far was made with them."""
    db.execute("create table story_rules (rules text not null)")
