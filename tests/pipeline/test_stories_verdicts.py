"""A rebuild keeps the text rule's verdicts by content hashes (``story_pairs``, migration m014): a pair whose
two contents were judged before is not shingled again, a changed publication is judged again, and verdicts
of pairs no longer met are dropped."""

import pytest

from pipeline import stories
from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from storage.db import open_db
from storage.publications import store_batch

A = dict(source="iwf", url="https://www.iwf.org.uk/news-media/news/ai-laws/", published="2025-02-02",
         title="New AI child sexual abuse laws announced following IWF campaign",
         summary="The government announces new offences for AI tools made to create child sexual abuse material.")
B = dict(source="nspcc_learning", url="https://learning.nspcc.org.uk/news/2025/february/ai-laws",
         published="2025-02-10", title="New AI child sexual abuse laws announced following IWF campaign",
         summary="The government announces new offences for AI tools made to create child sexual abuse imagery.")


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "s.db")
    yield database
    database.close()


def add(db, *items, now="2025-01-01T00:00:00Z"):
    store_batch(db, [normalise(RawItem(**i)) for i in items], now)


def clusters(db):
    return db.execute("select count(distinct cluster_id) from publications where cluster_id is not null").fetchone()[0]


def hashes(db):
    return sorted(r[0] for r in db.execute("select content_hash from publications"))


def test_a_rebuild_keeps_the_verdicts_of_the_pairs_it_judged(db):
    add(db, A, B)
    stories.rebuild(db)
    assert clusters(db) == 1
    assert db.execute("select first_hash, second_hash, joined from story_pairs").fetchall() == [(*hashes(db), 1)]
    stories.rebuild(db)  # judged again from the kept verdict: the same story
    assert clusters(db) == 1 and db.execute("select count(*) from story_pairs").fetchone()[0] == 1


def test_a_kept_verdict_is_what_the_rebuild_goes_by(db):
    add(db, A, B)
    stories.rebuild(db)
    # the kept verdict, not the text, decides a pair whose two contents were judged before
    db.execute("update story_pairs set joined = 0")
    db.conn.commit()
    stories.rebuild(db)
    assert clusters(db) == 0


def test_a_changed_publication_is_judged_again_and_old_verdicts_go(db):
    add(db, A, B)
    stories.rebuild(db)
    before = db.execute("select first_hash, second_hash from story_pairs").fetchall()
    # a new wording of B: a new content hash, a pair no verdict names; the text still matches
    add(db, {**B, "summary": B["summary"] + " Read the full announcement."}, now="2025-02-11T00:00:00Z")
    stories.rebuild(db)
    assert clusters(db) == 1
    after = db.execute("select first_hash, second_hash, joined from story_pairs").fetchall()
    assert after == [(*hashes(db), 1)] and [tuple(r[:2]) for r in after] != before


def test_a_change_of_rules_empties_what_was_kept_and_builds_it_again(db, caplog):
    add(db, A, B)
    stories.rebuild(db)
    assert db.execute("select rules from story_rules").fetchall() == [(stories.INDEX_RULES,)]
    assert stories.rebuild(db)["hashed"] == 0  # the same rules: nothing hashed again
    # an index made with other rules (another number of bands, say): a stale verdict and stale band keys
    db.execute("update story_rules set rules = 'minhash 128 permutations seed 1; bands 16x8; ...'")
    db.execute("update story_pairs set joined = 0")
    db.conn.commit()
    result = stories.rebuild(db)
    assert result["hashed"] == 2 and clusters(db) == 1, "the stale verdict was not used"
    assert "made with other rules" in caplog.text
    assert db.execute("select rules from story_rules").fetchall() == [(stories.INDEX_RULES,)]


def test_matching_after_a_change_of_rules_rebuilds(db):
    add(db, A)
    stories.match_pending(db)
    db.execute("update story_rules set rules = 'older rules'")
    db.conn.commit()
    add(db, B, now="2025-01-02T00:00:00Z")
    assert stories.match_pending(db) == {"matched": 2, "stories": 1}
    assert clusters(db) == 1 and db.execute("select count(*) from story_indexed").fetchone()[0] == 2


def test_an_index_from_before_rules_were_recorded_is_kept(db):
    add(db, A, B)
    stories.rebuild(db)
    db.execute("delete from story_rules")
    db.conn.commit()
    assert stories.rebuild(db)["hashed"] == 0
    assert db.execute("select rules from story_rules").fetchall() == [(stories.INDEX_RULES,)]
