"""A rebuild's ``clusters`` rows worked out in Python from the members' facts (``set_stories(facts=...)``)
are the rows the SQL refresh writes: the earliest member's title and date (a year or a month taken as its
last day, no date last, then first seen, then id) and the size, after a first rebuild and after stories
change."""

import random

from storage import stories
from storage.db import open_db

DATES = [None, "2024", "2024-11", "2024-11-26", "2024-12-31", "2023-05-01", "2024-12", "2025-01-02"]


def story_rows(db):
    return db.execute("select id, title, first_published_at, size from clusters order by id").fetchall()


def test_clusters_rows_from_facts_are_the_sql_refresh_rows(tmp_path):
    rng = random.Random(5)
    rows = []
    for i in range(400):
        rows.append({"id": f"s{i % 3}:p{i:03d}", "source": f"s{i % 3}", "url": f"https://e.org/p{i}",
                     "title": f"Title {i} \u00e9t\u00e9" if i % 7 == 0 else f"Title {i}",
                     "published_at": rng.choice(DATES),
                     "first_seen_at": rng.choice(["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"]),
                     "last_seen_at": "2025-02-01T00:00:00Z", "content_hash": f"h{i}"})
    ids = [r["id"] for r in rows]
    facts = {r["id"]: (r["title"], r["published_at"], r["first_seen_at"]) for r in rows}
    results = []
    for with_facts in (True, False):
        db = open_db(tmp_path / f"{with_facts}.db")
        db["publications"].insert_all(rows)
        by_rowid = dict(db.execute("select rowid, id from publications"))
        shuffled = random.Random(9)
        seen = []
        for _ in range(3):  # a first rebuild, then two with stories split, merged and moved
            order = ids[:]
            shuffled.shuffle(order)
            found, at = [], 0
            while at < len(order) - 1:
                size = shuffled.choice((2, 2, 3, 5, 9))
                found.append(sorted(order[at:at + size]))
                at += size
            found = [s for s in found if len(s) > 1]
            kept = ({"ids_by_rowid": by_rowid, "facts": {p: facts[p] for s in found for p in s}}
                    if with_facts else {})
            stories.set_stories(db, found, rebuild=True, **kept)
            seen.append((story_rows(db), db.execute("select id, cluster_id from publications order by id").fetchall()))
        results.append(seen)
        db.close()
    assert results[0] == results[1]
    assert all(len(rows_) > 50 for rows_, _ in results[0])


def test_story_ids_by_rowid_looks_up_rowids_it_was_not_given(tmp_path):
    db = open_db(tmp_path / "s.db")
    db["publications"].insert_all([{"id": f"s:p{i}", "source": "s", "url": f"u{i}", "title": "t",
                                    "first_seen_at": "x", "last_seen_at": "x", "content_hash": "h",
                                    "cluster_id": i // 2} for i in range(10)])
    expected = stories.story_ids(db)
    partial = {rowid: pid for rowid, pid in db.execute("select rowid, id from publications where rowid % 3 = 0")}
    assert stories.story_ids(db, partial) == expected == {f"s:p{i}": i // 2 for i in range(10)}
    db.close()
