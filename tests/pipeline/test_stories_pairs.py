"""Story rebuild's candidate pairs at scale: ``bucket_pairs`` on realistic 64-bit keys, and the pair filter
(``_could_join``) never drops a pair that a joining rule would join."""

import random
from collections import defaultdict
from itertools import combinations

import numpy as np
import pytest

from benchmarks.clustering import Corpus
from pipeline import stories
from storage.db import open_db
from storage.publications import store_batch


def expected_pairs(keys: np.ndarray) -> list[tuple[int, int]]:
    buckets = defaultdict(list)
    for row, row_keys in enumerate(keys.tolist()):
        for k in row_keys:
            buckets[k].append(row)
    return sorted({(a, b) for members in buckets.values() if 1 < len(members) <= stories.MAX_BUCKET
                   for a, b in combinations(members, 2) if a != b})


@pytest.mark.parametrize("rows", [2, 3, 500, 2000])
def test_bucket_pairs_with_64_bit_keys_some_sharing_their_high_bits(rows):
    rng = random.Random(rows)
    # a pool of 64-bit keys (signed), with neighbours that differ only in their lowest bits: keys whose high
    # bits are the same but that are not the same key (``bucket_pairs`` sorts by high bits first)
    pool = []
    for _ in range(rows * 4):
        k = rng.getrandbits(64) - 2**63
        pool += [k, k ^ 1, k ^ 0x15] if rng.random() < 0.2 else [k]
    keys = np.array([[rng.choice(pool) if rng.random() < 0.3 else rng.getrandbits(64) - 2**63
                      for _ in range(stories.BANDS)] for _ in range(rows)], dtype=np.int64)
    keys[rows // 2, 1] = keys[rows // 2, 0]  # a row with one key twice names no pair with itself
    if rows > 100:
        keys[:70, 3] = 12345  # boilerplate: one bucket of 70
    first, second = stories.bucket_pairs(keys)
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == expected_pairs(keys)


def test_bucket_pairs_of_one_row_or_none():
    for rows in (0, 1):
        assert [len(a) for a in stories.bucket_pairs(np.ones((rows, stories.BANDS), dtype=np.int64))] == [0, 0]


def test_the_pair_filter_drops_only_pairs_no_rule_joins(tmp_path):
    """Every LSH pair the rebuild drops before verifying is one that ``_edges`` (every joining rule, with
    the documents' hubs) does not join, on the clustering benchmark's corpus (several sources, shared PDFs,
    links, series that differ by their years)."""
    db = open_db(tmp_path / "s.db")
    stream = Corpus(seed=3).stories()
    store_batch(db, [next(stream) for _ in range(3000)], "2026-01-01T00:00:00Z")
    from storage import stories as stored

    docs = [stories.to_doc(r) for r in stored.load_docs(db, None)]
    keys = stories._band_array(stories.signatures(docs))
    first, second = stories.bucket_pairs(keys)
    kept_first, kept_second, link = stories._could_join(docs, first, second)
    kept = set(zip(kept_first.tolist(), kept_second.tolist(), strict=True))
    # the link flag: one of the two links to the other
    assert link.tolist() == [docs[b].url in docs[a].links or docs[a].url in docs[b].links
                             for a, b in zip(kept_first.tolist(), kept_second.tolist(), strict=True)]
    assert any(link)
    dropped = [(a, b) for a, b in zip(first.tolist(), second.tolist(), strict=True) if (a, b) not in kept]
    assert kept and dropped
    # a pair that shares a document (not one held by many) is proposed by the documents' index instead
    by_doc = defaultdict(list)
    for i, d in enumerate(docs):
        for key in d.doc_keys + [f"url:{u}" for u in d.doc_urls]:
            by_doc[key].append(i)
    shared = {p for members in by_doc.values() if len(members) <= stories.MAX_DOCUMENT_SHARE
              for p in combinations(members, 2)}
    for a, b in dropped:
        if (a, b) in shared:
            continue
        pair = {docs[a].id: docs[a], docs[b].id: docs[b]}
        for x, y in ((a, b), (b, a)):
            assert not stories._edges(pair, [docs[x].id], {docs[x].id: {docs[y].id}}).stories(), (docs[x], docs[y])
    db.close()
