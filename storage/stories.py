"""Stories across sources in SQL: which story each publication belongs to (``publications.cluster_id``, the
story id; one ``clusters`` row per story of two or more) and the index that makes matching incremental."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np
from sqlite_utils import Database

from storage.db import insert_row, marks

CHUNK = 500  # SQLite's default limit on bound parameters is far above this; chunks keep statements small

_DOC_COLUMNS = ("id, source, url, title, summary, published_at, first_seen_at, links, documents, cluster_id, "
                "content_hash, rowid")


def _chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def load_docs(db: Database, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Publications as story matching needs them (links and documents decoded, and their ``rowid``)."""
    if ids is None:
        return list(iter_docs(db))
    rows: list[dict[str, Any]] = []
    for part in _chunks(sorted(set(ids))):
        rows += map(_decoded, db.query(f"select {_DOC_COLUMNS} from publications where id in "
                                       f"({','.join('?' * len(part))})", part))
    return rows


def iter_docs(db: Database) -> Iterator[dict[str, Any]]:
    """Every publication as ``load_docs`` gives it, one at a time, in rowid order (a rebuild keeps what it
    needs of each, not 200,000 rows at once)."""
    return map(_decoded, db.query(f"select {_DOC_COLUMNS} from publications"))


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    links, documents = row["links"], row["documents"]  # most hold none: "[]" is not parsed
    row["links"] = json.loads(links) if links and links != "[]" else []
    row["documents"] = json.loads(documents) if documents and documents != "[]" else []
    return row


def pending_ids(db: Database) -> list[str]:
    """Publications new or changed since they were last matched."""
    return [r["id"] for r in db.query(
        "select p.id from publications p left join story_indexed s on s.publication_id = p.id "
        "where s.content_hash is null or s.content_hash != p.content_hash")]


def index_entries(db: Database, entries: list[dict[str, Any]]) -> None:
    """Replace the index rows of these publications: ``{id, content_hash, bands, links, doc_keys}``."""
    with db.atomic():
        for part in _chunks(entries):  # every old row first: a rowid may have passed to another publication
            ids = [e["id"] for e in part]
            marks = ",".join("?" * len(ids))
            _delete_bands(db, ids)
            for table in ("story_links", "story_documents"):
                db.execute(f"delete from {table} where publication_id in ({marks})", ids)
        for part in _chunks(entries):
            _insert_entries(db, part)


def _delete_bands(db: Database, ids: list[str]) -> None:
    """Delete the ``story_bands`` rows of these publications, found by their keys (``story_indexed.band_keys``)
    and the rowid they were indexed under (``story_indexed.publication_rowid``): the table is keyed by band
    key, then publication rowid, with no index by publication (migrations m012, m013)."""
    rows: list[tuple[int, int]] = []
    unknown: list[int] = []
    for blob, rowid in db.execute(f"select band_keys, publication_rowid from story_indexed where publication_id in "
                                  f"({','.join('?' * len(ids))})", ids):
        if rowid is None:  # gone before m013, which kept no band row of it
            continue
        if blob is None:
            unknown.append(rowid)
        else:
            rows += [(k, rowid) for k in struct.unpack(f"<{len(blob) // 8}q", blob)]
    db.conn.executemany("delete from story_bands where band_key = ? and publication_rowid = ?", rows)
    if unknown:  # indexed before its keys were kept beside it (none since m012): the whole table is read
        db.execute(f"delete from story_bands where publication_rowid in ({','.join('?' * len(unknown))})", unknown)


_INDEX_TABLES = ("story_bands", "story_links", "story_documents", "story_indexed")


def indexed_bands(db: Database, publications: list[tuple[int, str, str]]) -> list[bytes | None]:
    """The stored LSH band keys (``story_indexed.band_keys``: 32 signed 64-bit integers, little-endian) of
    each publication given as (rowid, id, content hash), as ``load_docs`` read them, in that order: None
    unless it was indexed with the content hash and under the rowid it still has (what a rebuild need not
    hash again). One row per publication, not its 32 ``story_bands`` rows. A publication whose rowid is no
    longer the one its band rows name (a ``VACUUM`` may renumber) is indexed again. Matched by rowid, then
    checked by id and hash: no dictionary of every publication id is made."""
    at = {rowid: i for i, (rowid, _, _) in enumerate(publications)}
    found: list[bytes | None] = [None] * len(publications)
    for pid, content_hash, rowid, keys in db.execute(
            "select publication_id, content_hash, publication_rowid, band_keys from story_indexed "
            "where band_keys is not null"):
        i = at.get(rowid)
        if i is not None and publications[i][1] == pid and publications[i][2] == content_hash:
            found[i] = keys
    return found


def pack_bands(keys: list[int]) -> bytes:
    """Band keys as ``story_indexed.band_keys`` holds them."""
    return struct.pack(f"<{len(keys)}q", *keys)


def rewrite_index(db: Database, entries: list[dict[str, Any]], keep: set[str]) -> None:
    """A rebuild's index: the rows of the publications in ``keep`` stay as they are, ``entries`` are
    (re)written, every other row goes. On an empty index the B-trees are built once after the inserts."""
    with db.atomic():
        if not keep:
            indexes = [r[0] for r in db.execute(
                "select sql from sqlite_master where type = 'index' and sql is not null and tbl_name in "
                f"({','.join('?' * len(_INDEX_TABLES))})", _INDEX_TABLES)]
            for table in _INDEX_TABLES:
                db.execute(f"delete from {table}")
            for name in [r[0] for r in db.execute(
                    "select name from sqlite_master where type = 'index' and sql is not null and tbl_name in "
                    f"({','.join('?' * len(_INDEX_TABLES))})", _INDEX_TABLES)]:
                db.execute(f"drop index [{name}]")
            _insert_entries(db, entries)
            for sql in indexes:
                db.execute(sql)
            return
        gone = [pid for (pid,) in db.execute("select publication_id from story_indexed") if pid not in keep]
        for part in _chunks(gone):
            _delete_bands(db, part)
            for table in ("story_links", "story_documents"):
                db.execute(f"delete from {table} where publication_id in ({','.join('?' * len(part))})", part)
            db.execute(f"delete from story_indexed where publication_id in ({','.join('?' * len(part))})", part)
        index_entries(db, entries)


def _rowids(db: Database, ids: list[str]) -> dict[str, int]:
    if len(ids) > 5 * CHUNK:  # most of the table: one scan of the id index
        return dict(db.execute("select id, rowid from publications"))
    found: dict[str, int] = {}
    for part in _chunks(ids):
        found.update(db.execute(f"select id, rowid from publications where id in ({','.join('?' * len(part))})",
                                part))
    return found


def _insert_entries(db: Database, part: list[dict[str, Any]]) -> None:
    rowids = _rowids(db, [e["id"] for e in part])
    present = [e for e in part if e["id"] in rowids]  # a publication deleted meanwhile is not indexed
    keys = np.fromiter(chain.from_iterable(e["bands"] for e in present), dtype=np.int64)
    owners = np.repeat(np.array([rowids[e["id"]] for e in present], dtype=np.int64),
                       [len(e["bands"]) for e in present])
    # in key order: each row goes at the end of the table's B-tree (keyed by band key, then publication rowid)
    order = np.lexsort((owners, keys))
    db.conn.executemany("insert or ignore into story_bands (band_key, publication_rowid) values (?, ?)",
                        zip(keys[order].tolist(), owners[order].tolist(), strict=True))
    db.conn.executemany("insert into story_links (url, publication_id) values (?, ?)",
                        [(u, e["id"]) for e in present for u in e["links"]])
    db.conn.executemany("insert into story_documents (key, publication_id) values (?, ?)",
                        [(k, e["id"]) for e in present for k in e["doc_keys"]])
    db.conn.executemany("insert or replace into story_indexed (publication_id, content_hash, band_keys, "
                        "publication_rowid) values (?, ?, ?, ?)",
                        [(e["id"], e["content_hash"], pack_bands(e["bands"]), rowids[e["id"]]) for e in present])


def text_verdicts(db: Database) -> dict[tuple[str, str], bool]:
    """The text rule's kept verdicts (``story_pairs``): (content hash, content hash), the lower first → joined.
    A verdict depends only on the two titles and summaries, which a content hash stands for, so it holds
    for as long as both contents do, whatever publications hold them."""
    return {(a, b): bool(joined)
            for a, b, joined in db.execute("select first_hash, second_hash, joined from story_pairs")}


def keep_text_verdicts(db: Database, verdicts: dict[tuple[str, str], bool],
                       before: dict[tuple[str, str], bool]) -> None:
    """Make ``story_pairs`` hold ``verdicts`` (a rebuild's), writing only the difference from ``before``."""
    with db.atomic():
        db.conn.executemany("delete from story_pairs where first_hash = ? and second_hash = ?",
                            [pair for pair in before if pair not in verdicts])
        db.conn.executemany("insert or replace into story_pairs (first_hash, second_hash, joined) values (?, ?, ?)",
                            sorted((a, b, int(j)) for (a, b), j in verdicts.items() if before.get((a, b)) != j))


def clear_index(db: Database) -> None:
    """Empty the story index and the kept text verdicts (after a change to the joining rules, say)."""
    with db.atomic():
        for table in ("story_bands", "story_links", "story_documents", "story_indexed", "story_pairs"):
            db.execute(f"delete from {table}")


def index_rules(db: Database) -> str | None:
    """The rules the kept index and verdicts were made with (``story_rules``), None before the first."""
    row = db.execute("select rules from story_rules").fetchone()
    return None if row is None else str(row[0])


def set_index_rules(db: Database, rules: str, clear: bool) -> None:
    """Record ``rules`` as those of the kept index, emptying it first when ``clear``; one transaction."""
    with db.atomic():
        if clear:
            clear_index(db)
        db.execute("delete from story_rules")
        db.execute("insert into story_rules (rules) values (?)", [rules])


def _lookup(db: Database, sql: str, values: Iterable[Any]) -> set[str]:
    found: set[str] = set()
    for part in _chunks(sorted(set(values))):
        found.update(r[0] for r in db.execute(sql.format(marks=",".join("?" * len(part))), part))
    return found


def ids_by_band(db: Database, keys: Iterable[int]) -> set[str]:
    return _lookup(db, "select distinct p.id from story_bands b join publications p on p.rowid = b.publication_rowid "
                       "where b.band_key in ({marks})", keys)


def ids_by_url(db: Database, urls: Iterable[str]) -> set[str]:
    return _lookup(db, "select id from publications where url in ({marks})", urls)


def ids_linking_to(db: Database, urls: Iterable[str]) -> set[str]:
    return _lookup(db, "select distinct publication_id from story_links where url in ({marks})", urls)


def shared_documents(db: Database, keys: Iterable[str], more_than: int) -> set[str]:
    """Document keys held by more than ``more_than`` publications."""
    found: set[str] = set()
    for part in _chunks(sorted(set(keys))):
        found.update(r[0] for r in db.execute(
            f"select key from story_documents where key in ({','.join('?' * len(part))}) "
            "group by key having count(distinct publication_id) > ?", [*part, more_than]))
    return found


def ids_by_document(db: Database, keys: Iterable[str]) -> set[str]:
    return _lookup(db, "select distinct publication_id from story_documents where key in ({marks})", keys)


def story_ids(db: Database, ids_by_rowid: dict[int, str] | None = None) -> dict[str, int]:
    """Publication id → its story id (``publications.cluster_id``), for publications in a story.

    With ``ids_by_rowid`` (the publications' rowids and ids, as ``load_docs`` read them) the story ids are
    read by rowid from the ``cluster_id`` index alone, without reading each publication's row for its id;
    a rowid not in it is looked up."""
    if ids_by_rowid is None:
        return {r[0]: r[1] for r in db.execute("select id, cluster_id from publications where cluster_id is not null")}
    rows = db.execute("select rowid, cluster_id from publications where cluster_id is not null").fetchall()
    missing = [rowid for rowid, _ in rows if rowid not in ids_by_rowid]
    if missing:
        ids_by_rowid = dict(ids_by_rowid)
        for part in _chunks(missing):
            ids_by_rowid.update(db.execute(f"select rowid, id from publications where rowid in ({marks(part)})", part))
    return {ids_by_rowid[rowid]: story for rowid, story in rows}


Facts = dict[str, tuple[str, str | None, str]]  # publication id → (title, published_at, first_seen_at)


def set_stories(db: Database, stories: list[list[str]], rebuild: bool = False,
                ids_by_rowid: dict[int, str] | None = None, facts: Facts | None = None) -> None:
    """Give each story (a list of publication ids) one story id: the lowest its members already had, else
    a new row of ``clusters``; stories emptied by a merge are deleted, publications never are. With
    ``rebuild`` every publication first leaves its story, so the stories given are the whole truth.

    A rebuild may pass what it read with the publications (``load_docs``): their ids by rowid (see
    ``story_ids``) and the members' facts (title, ``published_at``, ``first_seen_at``), from which each
    story's ``clusters`` row is worked out in Python and written only where it changes, instead of reading
    every member's row again in SQL."""
    with db.atomic():
        previous = story_ids(db, ids_by_rowid)
        used: set[int] = set()
        assigned: list[tuple[int, str]] = []  # a rebuild moves no story into another: written in one go
        # a rebuild's new stories are numbered as one insert at a time would (the next rowid), then
        # inserted together
        next_id = db.execute("select coalesce(max(id), 0) + 1 from clusters").fetchone()[0]
        new_ids: list[tuple[int]] = []
        for members in stories:
            old = sorted({previous[i] for i in members if i in previous} - used)
            if old:
                keep = old[0]
            elif rebuild:
                keep, next_id = next_id, next_id + 1
                new_ids.append((keep,))
            else:
                keep = insert_row(db, "clusters", {"title": "", "size": 0})
            if rebuild:
                assigned += [(keep, m) for m in members]
            else:
                db.execute(f"update publications set cluster_id = ? where id in ({marks(members)})",
                           [keep, *members])
            if not rebuild and len(old) > 1:
                db.execute(f"update publications set cluster_id = ? where cluster_id in ({marks(old[1:])})",
                           [keep, *old[1:]])
            used.add(keep)
        if rebuild:  # only the rows whose story changes are written (a publication row holds its text)
            db.conn.executemany("insert into clusters (id, title, size) values (?, '', 0)", new_ids)
            final = {m: keep for keep, m in assigned}
            db.conn.executemany("update publications set cluster_id = ? where id = ?",
                                [(final.get(pid), pid) for pid in previous if final.get(pid) != previous[pid]]
                                + [(keep, pid) for pid, keep in final.items() if pid not in previous])
            if facts is not None and all(pid in facts for pid in final):
                _refresh_from_facts(db, final, facts)
                return
        _refresh_stories(db, used, every=rebuild)


# A date given only as a year or a month could be its last day: a member dated to the day within it is
# taken as the earlier (an NSPCC summary "2024" does not precede the Panel's review of 26 November 2024).
_LATEST_POSSIBLE = ("case length(published_at) when 4 then published_at || '-12-99' "
                    "when 7 then published_at || '-99' else published_at end")


def _latest_possible(published_at: str) -> str:
    """``_LATEST_POSSIBLE`` in Python (``published_at`` is TEXT, compared as SQLite's BINARY collation does:
    by code point, as Python compares strings)."""
    return {4: published_at + "-12-99", 7: published_at + "-99"}.get(len(published_at), published_at)


def _refresh_from_facts(db: Database, final: dict[str, int], facts: Facts) -> None:
    """What ``_refresh_stories(every=True)`` does after a rebuild wrote ``final`` (publication id → story
    id, every publication in a story), from the members' facts: the same rows, in the same order of
    members (``published_at is null``, ``_LATEST_POSSIBLE``, ``first_seen_at``, ``id``), written only where
    a story's title, date or size changes."""
    db.execute("delete from clusters where id not in (select cluster_id from publications "
               "where cluster_id is not null group by cluster_id having count(*) > 1)")
    db.execute("update publications set cluster_id = null where cluster_id not in (select id from clusters)")
    rows = {r[0]: tuple(r[1:]) for r in db.execute("select id, title, first_published_at, size from clusters")}
    members: dict[int, list[str]] = {}
    for pid, story in final.items():
        if story in rows:
            members.setdefault(story, []).append(pid)
    def order(pid: str) -> tuple[bool, str, str, str]:
        _, published, seen = facts[pid]
        return published is None, "" if published is None else _latest_possible(published), seen, pid

    changed = []
    for story, ids in members.items():
        title, published, _ = facts[min(ids, key=order)]
        if rows[story] != (title, published, len(ids)):
            changed.append((title, published, len(ids), story))
    db.conn.executemany("update clusters set title = ?, first_published_at = ?, size = ? where id = ?", changed)


def _refresh_stories(db: Database, ids: set[int], every: bool = False) -> None:
    """A story's title is its earliest member's; delete stories left with fewer than two members. With
    ``every`` (a rebuild) all stories are refreshed by one statement."""
    db.execute("delete from clusters where id not in (select cluster_id from publications "
               "where cluster_id is not null group by cluster_id having count(*) > 1)")
    db.execute("update publications set cluster_id = null where cluster_id not in (select id from clusters)")
    if every:
        db.execute(f"""
            with ranked as (
                select cluster_id, title, published_at, count(*) over (partition by cluster_id) as size,
                       row_number() over (partition by cluster_id order by published_at is null,
                                          {_LATEST_POSSIBLE}, first_seen_at, id) as n
                from publications where cluster_id is not null)
            update clusters set title = ranked.title, first_published_at = ranked.published_at, size = ranked.size
            from ranked where ranked.cluster_id = clusters.id and ranked.n = 1""")
        return
    for story_id in ids:
        first = list(db.query(
            "select title, published_at, (select count(*) from publications where cluster_id = :c) as size "
            "from publications where cluster_id = :c "
            f"order by published_at is null, {_LATEST_POSSIBLE}, first_seen_at, id limit 1", {"c": story_id}))
        if first:
            db.execute("update clusters set title = ?, first_published_at = ?, size = ? where id = ?",
                       [first[0]["title"], first[0]["published_at"], first[0]["size"], story_id])
