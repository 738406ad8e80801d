"""Stories across sources: each joining rule, the hard negatives, and incremental = rebuild."""

import pytest

from pipeline import stories
from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from storage.db import open_db
from storage.publications import store_batch

GOVUK = "https://www.gov.uk/government/publications/"
PDF = ("https://assets.publishing.service.gov.uk/media/675a9c1e4f2b3d0011c8e7a1/"
       "CSPRP_annual_report_2023_to_2024.pdf")
ANNUAL = dict(source="csprp_govuk", url=GOVUK + "annual-report-2023-to-2024", published="2024-12-12",
              title="Child Safeguarding Practice Review Panel: annual report 2023 to 2024",
              summary="The panel's annual report on serious incidents notified in 2023 to 2024.",
              documents=[{"title": "Child Safeguarding Practice Review Panel annual report 2023 to 2024", "url": PDF}])
REVIEW = dict(source="csprp_govuk", url=GOVUK + "i-wanted-them-all-to-notice", published="2024-11-26",
              title="\u201cI wanted them all to notice\u201d: national review into child sexual abuse "
                    "within the family",
              summary="A national review of child sexual abuse within the family environment.")


def item(**kw):
    return normalise(RawItem(**kw))


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "s.db")
    yield database
    database.close()


def add(db, *items, now="2025-01-01T00:00:00Z"):
    store_batch(db, [item(**i) for i in items], now)


def cluster_of(db, url):
    return db.execute("select cluster_id from publications where url = ?", [url]).fetchone()[0]


# the story index's band rows as (band key, publication id): story_bands holds the publication's rowid (m013)
BAND_ROWS = "select b.band_key, p.id from story_bands b join publications p on p.rowid = b.publication_rowid"


def groups(db):
    rows = db.execute("select cluster_id, group_concat(url, ' ') from publications where cluster_id is not null "
                      "group by cluster_id order by cluster_id").fetchall()
    return sorted(sorted(r[1].split(" ")) for r in rows)


def test_same_document_title_in_two_homes_is_one_story(db):
    panel_site = dict(source="csprp_panel_site", url="https://childsafeguarding.independent-panel.uk/annual-report/",
                      title="Annual report 2023 to 2024", published="2024-02-02",
                      documents=[{"title": "Child Safeguarding Practice Review Panel annual report 2023 to 2024",
                                  "url": "https://childsafeguarding.independent-panel.uk/wp-content/ar.pdf"}])
    add(db, ANNUAL, panel_site)
    stories.match_pending(db)
    assert cluster_of(db, ANNUAL["url"]) == cluster_of(db, panel_site["url"]) is not None
    cluster = db.execute("select title, first_published_at, size from clusters").fetchone()
    assert cluster == ("Annual report 2023 to 2024", "2024-02-02", 2), "titled by its earliest member"


def test_same_file_url_joins_even_within_a_source(db):
    a = dict(source="s", url="https://example.org/a", title="Landing page", documents=[{"url": PDF}])
    b = dict(source="s", url="https://example.org/b", title="Another page", documents=[{"url": PDF}])
    add(db, a, b)
    stories.match_pending(db)
    assert cluster_of(db, a["url"]) == cluster_of(db, b["url"]) is not None


def test_generic_document_titles_join_nothing(db):
    a = dict(source="s", url="https://example.org/a", title="Report on neglect",
             documents=[{"title": "Full report", "url": "https://example.org/a.pdf"}])
    b = dict(source="t", url="https://example.net/b", title="Report on exploitation",
             documents=[{"title": "Full report", "url": "https://example.net/b.pdf"}])
    add(db, a, b)
    stories.match_pending(db)
    assert groups(db) == []


def test_summary_linking_to_the_report_joins_it_and_only_it(db):
    nspcc = dict(source="nspcc_learning", url="https://learning.nspcc.org.uk/research-resources/2025/summary",
                 title="Summary of the Child Safeguarding Practice Review Panel annual report 2023/24",
                 published="2025-01-06", links=[ANNUAL["url"], REVIEW["url"]])
    add(db, ANNUAL, REVIEW, nspcc)
    stories.match_pending(db)
    assert groups(db) == [sorted([ANNUAL["url"], nspcc["url"]])]


def test_links_within_one_source_join_nothing(db):
    annual = {**ANNUAL, "links": [REVIEW["url"]]}
    add(db, annual, REVIEW)
    stories.match_pending(db)
    assert groups(db) == []


def test_near_identical_words_in_two_sources(db):
    a = dict(source="iwf", url="https://www.iwf.org.uk/news-media/news/ai-laws/", published="2025-02-02",
             title="New AI child sexual abuse laws announced following IWF campaign",
             summary="The government announces new offences for AI tools made to create child sexual abuse material.")
    b = dict(source="nspcc_learning", url="https://learning.nspcc.org.uk/news/2025/february/ai-laws",
             published="2025-02-10", title="New AI child sexual abuse laws announced following IWF campaign",
             summary="The government announces new offences for AI tools made to create child sexual abuse imagery.")
    add(db, a, b)
    stories.match_pending(db)
    assert groups(db) == [sorted([a["url"], b["url"]])]


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Child Safeguarding Practice Review Panel: annual report 2022 to 2023",
         "summary": "The panel's annual report on serious incidents notified in 2022 to 2023."},  # other year
        {"published": "2022-01-01"},  # same words, years apart
        {"source": "csprp_govuk", "url": GOVUK + "annual-report-copy"},  # same source: two publications
    ],
)
def test_hard_negatives(db, change):
    a = {**ANNUAL, "documents": []}
    b = {**a, "source": "csprp_panel_site", "url": "https://childsafeguarding.independent-panel.uk/ar/", **change}
    add(db, a, b)
    stories.match_pending(db)
    assert groups(db) == []


def test_press_notices_on_different_subjects(db):
    a = dict(source="childrens_commissioner", url="https://www.childrenscommissioner.gov.uk/a/", published="2025-04-01",
             title="Press notice: Most headteachers restrict mobile phones in school hours",
             summary="A major new survey shows online harms are still among their biggest concerns.")
    b = dict(source="iwf", url="https://www.iwf.org.uk/b/", published="2025-04-02",
             title="Press notice: Children's Commissioner responds to school absence figures",
             summary="Figures published today show persistent absence remains high.")
    add(db, a, b)
    stories.match_pending(db)
    assert groups(db) == []


def test_incremental_merge_keeps_lowest_cluster_and_matches_rebuild(db):
    pdf2 = "https://example.org/other.pdf"
    add(db, dict(source="a", url="https://a.org/1", title="One", documents=[{"url": PDF}]),
        dict(source="b", url="https://b.org/1", title="Two", documents=[{"url": PDF}]),
        dict(source="a", url="https://a.org/2", title="Three", documents=[{"url": pdf2}]),
        dict(source="b", url="https://b.org/2", title="Four", documents=[{"url": pdf2}]))
    stories.match_pending(db)
    first, second = sorted({cluster_of(db, "https://a.org/1"), cluster_of(db, "https://a.org/2")})
    assert first != second
    add(db, dict(source="c", url="https://c.org/1", title="Bridge", documents=[{"url": PDF}, {"url": pdf2}]))
    assert stories.match_pending(db)["matched"] == 1, "only the new publication is matched"
    assert {cluster_of(db, u) for u in ("https://a.org/1", "https://b.org/2", "https://c.org/1")} == {first}
    assert [r[0] for r in db.execute("select id from clusters")] == [first], "the absorbed cluster is gone"
    assert db.execute("select size from clusters").fetchone()[0] == 5
    incremental = groups(db)
    stories.rebuild(db)
    assert groups(db) == incremental
    assert [r[0] for r in db.execute("select id from clusters")] == [first], "rebuild keeps cluster ids"


def test_unchanged_publications_are_not_matched_again(db):
    add(db, ANNUAL)
    assert stories.match_pending(db)["matched"] == 1
    add(db, ANNUAL, now="2025-01-02T00:00:00Z")
    assert stories.match_pending(db)["matched"] == 0
    add(db, {**ANNUAL, "summary": "Corrected."}, now="2025-01-03T00:00:00Z")
    assert stories.match_pending(db)["matched"] == 1


def test_rebuild_hashes_only_what_changed_and_gives_the_same_stories_and_index(db):
    add(db, ANNUAL, dict(source="b", url="https://b.org/1", title="Two", documents=[{"url": PDF}]),
        dict(source="c", url="https://c.org/1", title="Three", documents=[{"url": PDF}]))
    indexes = "select name, sql from sqlite_master where type = 'index' and tbl_name like 'story_%' order by name"
    before = db.execute(indexes).fetchall()
    first = stories.rebuild(db)
    assert first["hashed"] == 3, "an empty index: everything is hashed"
    assert db.execute(indexes).fetchall() == before and len(before) == 5, \
        "the B-trees dropped for the bulk insert are back"
    index = sorted(db.execute(BAND_ROWS))
    stored = groups(db)
    again = stories.rebuild(db)
    assert again["hashed"] == 0, "nothing changed: nothing is hashed again"
    assert groups(db) == stored and sorted(db.execute(BAND_ROWS)) == index
    add(db, {**ANNUAL, "summary": "Corrected."}, now="2025-01-03T00:00:00Z")
    assert stories.rebuild(db)["hashed"] == 1
    changed = sorted(db.execute(BAND_ROWS))
    db.execute("delete from story_bands")
    db.execute("delete from story_indexed")
    assert stories.rebuild(db)["hashed"] == 3
    assert sorted(db.execute(BAND_ROWS)) == changed, \
        "the kept keys are the keys hashing gives"


def test_band_rows_name_publications_by_rowid_and_follow_a_deleted_or_renumbered_one(db):
    add(db, ANNUAL, REVIEW, dict(source="b", url="https://b.org/1", title="Two", documents=[{"url": PDF}]),
        dict(source="c", url="https://c.org/1", title="Three", documents=[{"url": PDF}]))
    stories.rebuild(db)
    rowids = dict(db.execute("select id, rowid from publications"))
    assert {r for (r,) in db.execute("select distinct publication_rowid from story_bands")} == set(rowids.values())
    assert len(db.execute(BAND_ROWS).fetchall()) == 4 * stories.BANDS
    gone = "b:https://b.org/1"
    assert gone in rowids
    db.execute("delete from publications where id = ?", [gone])
    assert stories.rebuild(db)["hashed"] == 0
    left = {r for (r,) in db.execute("select distinct publication_rowid from story_bands")}
    assert left == {r for pid, r in rowids.items() if pid != gone}, "the deleted publication's rows are gone"
    assert gone not in {pid for (pid,) in db.execute("select publication_id from story_indexed")}
    index, stored = sorted(db.execute(BAND_ROWS)), groups(db)
    moved = "c:https://c.org/1"  # as a VACUUM may renumber a publication
    db.execute("update publications set rowid = (select max(rowid) + 10 from publications) where id = ?", [moved])
    assert stories.rebuild(db)["hashed"] == 1, "a publication under another rowid is indexed again"
    assert sorted(db.execute(BAND_ROWS)) == index and groups(db) == stored
    assert db.execute("select count(*) from story_bands where publication_rowid not in "
                      "(select rowid from publications)").fetchone()[0] == 0

def test_band_keys_are_stable_integers():
    doc = stories.to_doc({"id": "x", "source": "s", "url": "u", "title": "A title here", "summary": "and words",
                          "links": [], "documents": []})
    keys = stories.band_keys(stories.signatures([doc]))
    assert keys == stories.band_keys(stories.signatures([doc]))
    assert len(keys[0]) == stories.BANDS and all(-(2**63) <= k < 2**63 for k in keys[0])


def test_a_year_dated_member_does_not_take_the_title_from_a_day_dated_one(db):
    summary = dict(source="nspcc_learning", url="https://learning.nspcc.org.uk/research-resources/2024/summary",
                   title="Summary of the national review", published="2024", links=[REVIEW["url"]])
    add(db, REVIEW, summary)
    stories.match_pending(db)
    assert db.execute("select title, first_published_at from clusters").fetchone() == (
        REVIEW["title"], "2024-11-26")


@pytest.mark.parametrize("incremental", [True, False], ids=["incremental", "rebuild"])
def test_a_document_everything_links_to_joins_nothing(db, incremental):
    hub = "https://www.iwf.org.uk/about-us/why-we-exist/our-research/annual-report/"
    news = [dict(source="iwf", url=f"https://www.iwf.org.uk/news-media/news/item-{i}", title=f"Item {i} on topic {i}",
                 documents=[{"title": "Our research", "url": hub}]) for i in range(stories.MAX_DOCUMENT_SHARE + 2)]
    for one in news:  # one by one, as crawls find them
        add(db, one)
        if incremental:
            stories.match_pending(db)
    if not incremental:
        stories.rebuild(db)
    sizes = [r[0] for r in db.execute("select size from clusters")]
    assert all(size <= stories.MAX_DOCUMENT_SHARE for size in sizes), sizes
    if not incremental:
        assert sizes == []


def test_signatures_are_datasketchs_minhash_values():
    import random

    import numpy as np
    from datasketch import MinHash

    rng = random.Random(3)
    vocabulary = [f"word{i}" for i in range(400)] + ["café", "naïve", "2023", "to", "2024"]
    docs = [stories.to_doc({"id": str(i), "source": "s", "url": "u", "links": [], "documents": [],
                            "title": " ".join(rng.choice(vocabulary) for _ in range(rng.choice((0, 1, 2, 7, 30)))),
                            "summary": " ".join(rng.choice(vocabulary) for _ in range(rng.choice((0, 12))))})
            for i in range(700)]
    expected = np.stack([m.hashvalues for m in MinHash.bulk([[s.encode("utf-8") for s in d.shingles] for d in docs],
                                                            num_perm=stories.NUM_PERM, seed=1)])
    assert (stories.signatures(docs) == expected).all()
    assert stories.band_keys(stories.signatures(docs)) == stories.band_keys(
        MinHash.bulk([[s.encode("utf-8") for s in d.shingles] for d in docs], num_perm=stories.NUM_PERM, seed=1))
    assert stories.signatures([]).shape == (0, stories.NUM_PERM) and stories.band_keys(stories.signatures([])) == []


def test_bucket_pairs_are_the_pairs_of_every_small_bucket():
    import random
    from collections import defaultdict
    from itertools import combinations

    import numpy as np

    rng = random.Random(7)
    # few distinct keys: buckets of every size, some over MAX_BUCKET, and a row with one key twice
    keys = np.array([[rng.randrange(40 * stories.BANDS) for _ in range(stories.BANDS)] for _ in range(300)],
                    dtype=np.int64)
    keys[5, 1] = keys[5, 0]
    keys[:70, 3] = 10**6  # boilerplate: one bucket of 70
    buckets = defaultdict(list)
    for row, row_keys in enumerate(keys.tolist()):
        for k in row_keys:
            buckets[k].append(row)
    expected = {(a, b) for members in buckets.values() if 1 < len(members) <= stories.MAX_BUCKET
                for a, b in combinations(members, 2) if a != b}
    assert any(len(m) > stories.MAX_BUCKET for m in buckets.values())
    first, second = stories.bucket_pairs(keys)
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == sorted(expected)
    assert [len(a) for a in stories.bucket_pairs(np.zeros((0, stories.BANDS), dtype=np.int64))] == [0, 0]


def test_band_keys_are_kept_one_blob_per_publication_and_the_m012_migrations_move_an_older_index(db):
    import struct

    from storage import migrations

    add(db, ANNUAL, REVIEW, dict(source="b", url="https://b.org/1", title="Two", documents=[{"url": PDF}]))
    stories.rebuild(db)

    def blobs():
        return {pid: sorted(struct.unpack("<32q", blob))
                for pid, blob in db.execute("select publication_id, band_keys from story_indexed")}

    def rows():
        out = {}
        for key, pid in db.execute(BAND_ROWS):
            out.setdefault(pid, []).append(key)
        return {pid: sorted(k) for pid, k in out.items()}

    assert blobs() == rows() and len(blobs()) == 3 and all(len(k) == stories.BANDS for k in rows().values())
    kept, stored = blobs(), groups(db)
    # the index as it was before m012 (and m013): story_bands a rowid table with two indexes, no band_keys
    db.execute("alter table story_indexed drop column band_keys")
    db.execute("alter table story_indexed drop column publication_rowid")
    db.execute("alter table story_bands rename to story_bands_m012")
    db.execute("create table story_bands (band_key integer, publication_id text)")
    db.execute("insert into story_bands select b.band_key, p.id from story_bands_m012 b "
               "join publications p on p.rowid = b.publication_rowid")
    db.execute("drop table story_bands_m012")
    db.execute("create index story_bands_band_key on story_bands (band_key)")
    db.execute("create index story_bands_publication_id on story_bands (publication_id)")
    migrations.m012_story_band_keys_per_publication(db)
    migrations.m012_story_bands_keyed_by_band(db)
    assert sorted(db.execute("select band_key, publication_id from story_bands")) == sorted(
        (k, pid) for pid, keys in kept.items() for k in keys), "m012: keyed by band key and publication id"
    migrations.m013_story_bands_by_publication_rowid(db)
    assert blobs() == kept and rows() == kept, "the keys are kept, beside each publication and by key"
    assert "without rowid" in db.execute("select sql from sqlite_master where name = 'story_bands'").fetchone()[0]
    assert stories.rebuild(db)["hashed"] == 0 and groups(db) == stored
    db.execute("update story_indexed set band_keys = null")
    assert stories.rebuild(db)["hashed"] == 3, "a publication without its blob is hashed again"
    assert blobs() == kept and rows() == kept and groups(db) == stored
    add(db, {**ANNUAL, "summary": "Corrected and rewritten from the first word to the last."},
        now="2025-01-03T00:00:00Z")
    stories.match_pending(db)
    assert len(rows()) == 3 and all(len(k) == stories.BANDS for k in rows().values()) and rows() == blobs(), \
        "a changed publication's old rows are gone, found by its kept keys"
    assert rows() != kept
