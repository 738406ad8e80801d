"""The ``topics`` table (the vocabulary as last applied) and ``publication_topics`` (each publication's
topics, with how each was assigned); and the reads that outputs and ``stats`` need of them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import marks
from storage.migrations import _UK_MONTH as UK_MONTH

CHUNK = 500


@dataclass(frozen=True)
class TopicRow:
    topic: str
    method: str  # "tag" or "phrase"
    matched: str
    score: float
    is_primary: bool


def publications_for_assignment(db: Database, ids: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows += db.query(f"select id, source, title, summary, topics from publications where id in ({marks(chunk)})",
                         chunk)
    return rows


def all_publication_ids(db: Database) -> list[str]:
    return [r[0] for r in db.execute("select id from publications order by id")]


def replace_topics(db: Database, assigned: dict[str, list[TopicRow]], version: str, now: str) -> None:
    """The topics of these publications, replacing what they had, in one transaction."""
    with db.atomic():
        ids = list(assigned)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            db.execute(f"delete from publication_topics where publication_id in ({marks(chunk)})", chunk)
        for pub_id, rows in assigned.items():
            for r in rows:
                db.execute("insert into publication_topics (publication_id, topic, method, matched, score, is_primary,"
                           " vocabulary_version, assigned_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                           [pub_id, r.topic, r.method, r.matched, r.score, int(r.is_primary), version, now])


def save_vocabulary(db: Database, topics: list[dict[str, Any]], version: str, text: str, now: str) -> None:
    """The vocabulary as applied (``id, label, description, rules``, and the file's text), replacing the
    previous one."""
    with db.atomic():
        db.execute("delete from topic_vocabulary")
        db.execute("insert into topic_vocabulary (version, text, saved_at) values (?, ?, ?)", [version, text, now])
        db.execute("delete from topics")
        for position, t in enumerate(topics):
            db.execute("insert into topics (id, label, description, position, rules, vocabulary_version, saved_at) "
                       "values (?, ?, ?, ?, ?, ?, ?)",
                       [t["id"], t["label"], t["description"], position, json.dumps(t["rules"], ensure_ascii=False),
                        version, now])
        # publications whose topics came from a topic no longer in the vocabulary lose them
        db.execute("delete from publication_topics where topic not in (select id from topics)")


def stored_vocabulary(db: Database) -> tuple[str, str] | None:
    """(version, text) of the vocabulary last applied, or None before the first ``topics reassign``."""
    row = db.execute("select version, text from topic_vocabulary limit 1").fetchone()
    return (row[0], row[1]) if row else None


def topics_of(db: Database, ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """publication id → its topics (topic, method, matched, score, is_primary), best first."""
    wanted = list(dict.fromkeys(ids))
    out: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        for row in db.query("select publication_id, topic, method, matched, score, is_primary from publication_topics "
                            f"where publication_id in ({marks(chunk)}) order by score desc, topic", chunk):
            out.setdefault(row.pop("publication_id"), []).append(row)
    return out


def monthly_counts(db: Database, by: str) -> list[dict[str, Any]]:
    """Publications per UK month (as the ``monthly_counts`` view; undated left out) per source, or per
    primary topic (``by='topic'``; publications without a topic count as ``(none)``)."""
    key = "p.source" if by == "source" else "coalesce(t.topic, '(none)')"
    sql = (f"select {UK_MONTH} as month, {key} as key, count(*) as n from publications p "
           "left join publication_topics t on t.publication_id = p.id and t.is_primary = 1 "
           "where length(p.published_at) >= 7 and p.withdrawn_at is null group by month, key order by month, key")
    return list(db.query(sql))


def topic_counts(db: Database) -> dict[str, tuple[int, int]]:
    """topic → (publications it is the primary topic of, publications it is a topic of)."""
    return {r[0]: (int(r[1]), int(r[2])) for r in db.execute(
        "select topic, sum(is_primary), count(*) from publication_topics group by topic")}
