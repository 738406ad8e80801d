"""Stories across sources: publications that tell the same story share one story id (``cluster_id``).

Two publications are joined when
- they hold the same document (the same file URL, or a document title of five words or more that two
  sources share: the Panel's site and GOV.UK carry the same PDF) that few publications hold (a document
  that many hold, such as a research page every news item links to, names no one story), or
- one links to the other in another source, and the other is the publication it links to most closely
  (an NSPCC summary linking to the Panel's report on GOV.UK; a page that links to several reports joins
  only the one its title matches best), or
- their titles and summaries are near-identical in words (MinHash LSH proposes candidates; each is
  verified by the exact Jaccard similarity of word bigrams), in different sources, within a date window,
  and their titles name the same numbers ("annual report 2022 to 2023" is not "2023 to 2024").

Matching is incremental: publications new or changed since they were indexed are matched against the
index in the database, and whole stories are merged, never split. ``rebuild`` re-derives every story.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any

import numpy as np
from datasketch import MinHash
from sqlite_utils import Database

from pipeline.clock import Clock
from pipeline.config import Config
from storage import stories

log = logging.getLogger(__name__)

NUM_PERM = 128
BANDS, ROWS = 32, 4  # LSH candidates from an estimated similarity of about 0.42, under the verified 0.5
TEXT_THRESHOLD = 0.5  # exact Jaccard of word bigrams of title + summary
LINK_TITLE_FLOOR = 0.2  # a link to one of several pages needs at least this much title overlap
WINDOW_DAYS = 183  # text matches only within half a year; link and document matches have no window
DOC_TITLE_MIN_WORDS = 5  # "Full report" names nothing; "Child Safeguarding ... annual report 2023 to 2024" does
MAX_BUCKET = 64  # an LSH bucket this full holds boilerplate, not one story: its pairs are not proposed
# A document that many publications hold (a research hub every news item links to) names no one story.
MAX_DOCUMENT_SHARE = 5
_SEED = 1
_MIX = np.arange(1, ROWS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


_NONE: frozenset[str] = frozenset()  # one shared empty set: most publications have no numbers, no shingles yet


@dataclass(slots=True)  # slots: a rebuild holds one per publication
class StoryDoc:
    id: str
    source: str
    url: str
    title: str
    published: date | None
    links: list[str]
    doc_urls: list[str]
    doc_keys: list[str]
    content_hash: str = ""
    shingles: set[str] | frozenset[str] = _NONE
    summary: str = ""  # kept so that shingles can be made later (``shingled=False``)
    numbers: frozenset[str] = _NONE

    @property
    def title_words(self) -> set[str]:
        """The words of the title (made when asked: only links are judged by them)."""
        return set(words(self.title))


_WORD = re.compile(r"[a-z0-9]+")


def words(text: str | None) -> list[str]:
    text = (text or "").lower()
    if not text.isascii():  # NFKD leaves ASCII as it is
        text = unicodedata.normalize("NFKD", text).replace("\u2019", "")
    return _WORD.findall(text.replace("'", ""))


def shingles(title: str, summary: str) -> set[str]:
    tokens = words(f"{title} {summary}")
    return {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)} or set(tokens)


def document_key(title: str | None) -> str | None:
    tokens = words(title)
    return " ".join(tokens) if len(tokens) >= DOC_TITLE_MIN_WORDS else None


def _date(value: str | None) -> date | None:
    if not value or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def to_doc(row: dict, shingled: bool = True) -> StoryDoc:
    """A publication as matching sees it; with ``shingled=False`` its shingles are left empty, to be made
    by ``shingle`` when it is hashed or verified against a candidate (a rebuild needs few of them)."""
    title_words = words(row["title"])
    docs = [d for d in row["documents"] if isinstance(d, dict)]
    return StoryDoc(
        id=row["id"], source=row["source"], url=row["url"], title=row["title"] or "",
        published=_date(row.get("published_at")), links=[u for u in row["links"] if isinstance(u, str)],
        doc_urls=[d["url"] for d in docs if d.get("url")],
        doc_keys=sorted({k for k in (document_key(d.get("title")) for d in docs) if k}),
        content_hash=row.get("content_hash") or "",
        shingles=shingles(row["title"], row.get("summary") or "") if shingled else _NONE,
        summary=row.get("summary") or "",
        numbers=frozenset(numbers) if (numbers := [w for w in title_words if w.isdigit()]) else _NONE,
    )


def shingle(docs: Iterable[StoryDoc]) -> None:
    """Make the shingles of docs made with ``shingled=False``."""
    for d in docs:
        if not d.shingles:
            d.shingles = shingles(d.title, d.summary)


def band_keys(signatures: np.ndarray | Iterable[MinHash]) -> list[list[int]]:
    """Each signature's LSH band keys as signed 64-bit integers (SQLite's integer), stable across runs."""
    return _band_array(signatures).tolist()


def _band_array(signatures: np.ndarray | Iterable[MinHash]) -> np.ndarray:
    """``band_keys`` as an (n, BANDS) array of int64."""
    if isinstance(signatures, np.ndarray):
        values = signatures
    else:
        sigs = list(signatures)
        if not sigs:
            return np.zeros((0, BANDS), dtype=np.int64)
        values = np.stack([s.hashvalues for s in sigs])
    if not len(values):
        return np.zeros((0, BANDS), dtype=np.int64)
    bands = values.astype(np.uint64).reshape(len(values), BANDS, ROWS)
    with np.errstate(over="ignore"):
        keys = (bands * _MIX).sum(axis=2) ^ (np.arange(BANDS, dtype=np.uint64) << np.uint64(56))
    return keys.view(np.int64)


def bucket_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs (i, j), i < j, of the rows of ``keys`` (n, BANDS) that share an LSH bucket of at
    most ``MAX_BUCKET`` members (a fuller one holds boilerplate), each pair once, in (i, j) order: what
    grouping every bucket's members and taking their ``combinations`` gives, computed with numpy.

    The keys are grouped without an argsort of all n x BANDS of them (which grew faster than the corpus):
    each key's high bits and its position are packed into one integer and sorted as values; only the
    entries whose high bits are shared (a few percent) are then compared by their whole key, and sorted by
    whole key where two keys happen to share their high bits."""
    n = len(keys)
    flat = np.ascontiguousarray(keys, dtype=np.int64).reshape(-1)
    empty = np.zeros(0, dtype=np.int64)
    if len(flat) < 2:
        return empty, empty
    low = (len(flat) - 1).bit_length()  # bits of a position in ``flat``
    position_bits = np.uint64((1 << low) - 1)
    packed = (flat.view(np.uint64) & ~position_bits) | np.arange(len(flat), dtype=np.uint64)
    packed.sort()  # by high bits, then position (so by row: a bucket's members come in row order)
    high = packed >> np.uint64(low)
    same = high[1:] == high[:-1]  # an entry's high bits are its predecessor's
    del high
    after, before = np.append(same, False), np.concatenate(([False], same))
    at = np.flatnonzero(after | before)  # the entries of groups of two or more (a few percent)
    group = np.cumsum(~before[at])
    pos = (packed[at] & position_bits).astype(np.int64)
    del packed, same, after, before
    key = flat[pos]
    if (key[1:] != key[:-1])[group[1:] == group[:-1]].any():  # other keys with the same high bits
        order = np.lexsort((pos, key, group))
        pos, key = pos[order], key[order]
    owner = pos // BANDS
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    sizes = np.diff(np.append(starts, len(key)))
    codes = []
    for size in np.unique(sizes[(sizes > 1) & (sizes <= MAX_BUCKET)]).tolist():
        members = owner[starts[sizes == size][:, None] + np.arange(size)]
        first, second = np.triu_indices(size, 1)
        a, b = members[:, first].reshape(-1), members[:, second].reshape(-1)
        codes.append((a * n + b)[a != b])
    every = np.concatenate(codes) if codes else empty
    if not len(every):
        return empty, empty
    every.sort()
    unique = every[np.concatenate(([True], every[1:] != every[:-1]))]
    return unique // n, unique % n


def _could_join(docs: list[StoryDoc], first: np.ndarray,
                second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The LSH pairs of ``docs`` (by position) that ``_edges`` could join through them: a text match needs two
    sources, the same numbers in both titles and dates within ``WINDOW_DAYS``; a link match needs one of the
    two to link to the other. A pair that shares a document is proposed by the documents' own index (with
    the same first member), so it need not come from here. The rest fail every rule: they are dropped here
    at once (with numpy), not one by one in Python, for chance LSH collisions grow faster than the corpus.
    Returns the pairs kept and, for each, whether one of the two links to the other."""
    if not len(first):
        return first, second, np.zeros(0, dtype=bool)
    sources: dict[str, int] = {}
    numbers: dict[frozenset[str], int] = {}
    source = np.array([sources.setdefault(d.source, len(sources)) for d in docs])
    number = np.array([numbers.setdefault(d.numbers, len(numbers)) for d in docs])
    day = np.array([d.published.toordinal() if d.published else -1 for d in docs])
    a, b = first, second
    far = (day[a] >= 0) & (day[b] >= 0) & (np.abs(day[a] - day[b]) > WINDOW_DAYS)
    keep = (source[a] != source[b]) & (number[a] == number[b]) & ~far
    link = np.zeros(len(a), dtype=bool)
    linking = [(i, d.links) for i, d in enumerate(docs) if d.links]
    if linking:
        at_url: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            at_url[d.url].append(i)
        n = len(docs)
        linked = np.array(sorted({min(i, j) * n + max(i, j) for i, urls in linking for u in urls
                                  for j in at_url.get(u, ()) if j != i}), dtype=np.int64)
        link = np.isin(a * n + b, linked)
        keep |= link
    return a[keep], b[keep], link[keep]


_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=_SEED)
_SIGNATURE_CHUNK = 200_000  # shingles per numpy step: (200,000 x 128) 32-bit values, about 100 MB


def signatures(docs: list[StoryDoc]) -> np.ndarray:
    """The MinHash signatures of the docs' shingles, one row each: the values ``datasketch``'s
    ``MinHash.bulk`` gives (its ``affine32`` scheme: SHA-1 of each shingle, the MurmurHash3 finalizer,
    then ``a * h + b`` modulo 2^32, the minimum per permutation), computed for all docs at once with numpy,
    each distinct shingle hashed once."""
    if _PERMUTATIONS.scheme != "affine32":  # another datasketch default: its own (slower) way
        return np.stack([m.hashvalues for m in MinHash.bulk(
            [[s.encode("utf-8") for s in d.shingles] for d in docs], num_perm=NUM_PERM, seed=_SEED)]) \
            if docs else np.zeros((0, NUM_PERM), dtype=np.uint32)
    from datasketch.minhash import _fmix

    every = [s for d in docs for s in d.shingles]
    index = {s: i for i, s in enumerate(dict.fromkeys(every))}  # each distinct shingle once, first seen first
    flat = [index[s] for s in every]
    sizes = np.fromiter((len(d.shingles) for d in docs), dtype=np.int64, count=len(docs))
    # datasketch's sha1_hash32: the first 4 bytes of the SHA-1, little-endian
    sha1 = hashlib.sha1
    unique = np.frombuffer(b"".join([sha1(s.encode("utf-8")).digest()[:4] for s in index]), dtype="<u4").astype(
        np.uint32)
    mixed = _fmix(unique, 32)[np.asarray(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.uint32)
    a, b = _PERMUTATIONS.permutations
    out = np.full((len(docs), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    first = 0
    while first < len(docs):
        last = first  # docs first..last-1 in this step, at least one
        while last < len(docs) and (last == first or ends[last] - starts[first] <= _SIGNATURE_CHUNK):
            last += 1
        hv = mixed[starts[first]:ends[last - 1]]
        if len(hv):
            with np.errstate(over="ignore"):
                permuted = hv[:, None] * a[None, :] + b[None, :]
            filled = np.nonzero(sizes[first:last])[0]
            offsets = (starts[first:last] - starts[first])[filled]
            out[first + filled] = np.minimum.reduceat(permuted, offsets, axis=0)
        first = last
    return out


def jaccard(a: AbstractSet[Any], b: AbstractSet[Any]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)  # len(a | b), without making the union


def text_match(a: StoryDoc, b: StoryDoc) -> bool:
    if a.source == b.source or a.numbers != b.numbers:
        return False
    if a.published and b.published and abs((a.published - b.published).days) > WINDOW_DAYS:
        return False
    return jaccard(a.shingles, b.shingles) >= TEXT_THRESHOLD


def link_targets(doc: StoryDoc, linked: list[StoryDoc]) -> list[StoryDoc]:
    """The publications in other sources that ``doc`` links to and is about."""
    others = [o for o in linked if o.source != doc.source and o.id != doc.id]
    if len(others) <= 1:
        return others
    scored = [(jaccard(doc.title_words, o.title_words), o) for o in others]
    best = max(score for score, _ in scored)
    return [o for score, o in scored if score == best and score >= LINK_TITLE_FLOOR]


class _StoryUnion:
    """Union-find over publication ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def stories(self) -> list[list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return [sorted(g) for g in out.values() if len(g) > 1]


def _index_entries(docs: list[StoryDoc], keys: list[list[int]]) -> list[dict]:
    return [{"id": d.id, "content_hash": d.content_hash, "bands": k, "links": d.links,
             "doc_keys": d.doc_keys + [f"url:{u}" for u in d.doc_urls]} for d, k in zip(docs, keys, strict=True)]


def _edges(docs: dict[str, StoryDoc], focus: Iterable[str], candidates: dict[str, set[str]],
           hubs: frozenset[str] | set[str] = frozenset()) -> _StoryUnion:
    """Verified edges between each focus publication and its candidates (ids in ``docs``)."""
    by_url = {d.url: d for d in docs.values()}
    found = _StoryUnion()
    for doc_id in focus:
        doc = docs[doc_id]
        for target in link_targets(doc, [by_url[u] for u in doc.links if u in by_url]):
            found.union(doc.id, target.id)
        for other_id in candidates.get(doc_id, ()):
            if other_id != doc_id and _joins(by_url, doc, docs[other_id], hubs):
                found.union(doc.id, other_id)
    return found


def _joins(by_url: dict[str, StoryDoc], doc: StoryDoc, other: StoryDoc, hubs: frozenset[str] | set[str]) -> bool:
    """Whether a candidate pair is joined by one of the rules (a shared document, the text, a link)."""
    # the sets are made only when both hold documents (most pairs hold none)
    shared_doc = (doc.doc_urls and other.doc_urls and {f"url:{u}" for u in doc.doc_urls}
                  & {f"url:{u}" for u in other.doc_urls} - hubs) or (
        other.source != doc.source and doc.doc_keys and other.doc_keys
        and set(doc.doc_keys) & set(other.doc_keys) - hubs)
    links_here = other.url in doc.links or doc.url in other.links
    return bool(shared_doc or text_match(doc, other) or (links_here and _is_link_target(by_url, other, doc)))


def _is_link_target(by_url: dict[str, StoryDoc], a: StoryDoc, b: StoryDoc) -> bool:
    """True when one of the two links to the other as its story (see ``link_targets``)."""
    for src, dst in ((a, b), (b, a)):
        if dst.url in src.links and dst in link_targets(src, [by_url[u] for u in src.links if u in by_url]):
            return True
    return False


# What the kept index (band keys) and the kept text verdicts depend on besides the publications' contents:
# when any of it changes, what is kept is stale, and the next rebuild or match starts from an empty index.
INDEX_RULES = (f"minhash {NUM_PERM} permutations seed {_SEED}; bands {BANDS}x{ROWS}; text rule: Jaccard of word "
               f"bigrams of title and summary >= {TEXT_THRESHOLD}; shingles v1")


def _current_rules(db: Database) -> bool:
    """Whether the kept index was made with ``INDEX_RULES``; if it was made with others, it is emptied (and
    False returned). An index from before rules were recorded was made with today's: they are recorded."""
    kept = stories.index_rules(db)
    if kept == INDEX_RULES:
        return True
    stories.set_index_rules(db, INDEX_RULES, clear=kept is not None)
    if kept is not None:
        log.warning("stories: the story index was made with other rules (%s); it is built again", kept)
    return kept is None


def rebuild(db: Database) -> dict[str, int]:
    """Re-derive every story from scratch and rewrite the index; returns figures for the log.

    Python's cyclic garbage collector is paused meanwhile: a rebuild makes millions of small containers
    (sets of shingles, lists of links) and none of them cyclic, so every full collection would walk them
    all again, which made a rebuild grow faster than the number of publications (200,000 took 2.5 times
    as long as 100,000); reference counting still frees everything."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _rebuild(db)
    finally:
        if paused:
            gc.enable()


def _rebuild(db: Database) -> dict[str, int]:
    _current_rules(db)
    docs: list[StoryDoc] = []
    rowids: list[int] = []
    facts: list[tuple[str, str | None, str]] = []  # for the stories' rows
    for row in stories.iter_docs(db):  # one row at a time: only what is kept of it stays in memory
        docs.append(to_doc(row, shingled=False))
        rowids.append(row["rowid"])
        facts.append((row["title"], row["published_at"], row["first_seen_at"]))
    # publications indexed with the text (and under the rowid) they still have keep their band keys: never
    # hashed again
    stored = stories.indexed_bands(db, [(r, d.id, d.content_hash) for r, d in zip(rowids, docs, strict=True)])
    ids_by_rowid = {r: d.id for r, d in zip(rowids, docs, strict=True)}
    del rowids
    size = BANDS * 8
    kept_rows = [i for i, blob in enumerate(stored) if blob is not None and len(blob) == size]
    changed_rows = [i for i, blob in enumerate(stored) if blob is None or len(blob) != size]
    changed = [docs[i] for i in changed_rows]
    shingle(changed)
    keys = np.zeros((len(docs), BANDS), dtype=np.int64)
    if changed:
        keys[changed_rows] = _band_array(signatures(changed))
    if kept_rows:
        keys[kept_rows] = np.frombuffer(b"".join([b for b in stored if b is not None and len(b) == size]),
                                        dtype="<i8").reshape(-1, BANDS)
    del stored
    known = stories.text_verdicts(db)
    found, verdicts = _rebuild_stories(docs, keys, known)
    if len(changed) * 2 >= len(docs):  # most rows to write: one bulk rewrite (B-trees built once) is faster
        stories.rewrite_index(db, _index_entries(docs, keys.tolist()), set())
    else:
        stories.rewrite_index(db, _index_entries(changed, keys[changed_rows].tolist()), {docs[i].id for i in kept_rows})
    at = {d.id: i for i, d in enumerate(docs)}
    stories.set_stories(db, found, rebuild=True, ids_by_rowid=ids_by_rowid,
                        facts={pid: facts[at[pid]] for story in found for pid in story})
    stories.keep_text_verdicts(db, verdicts, known)
    log.info("stories rebuilt: %d publications (%d hashed, the rest unchanged since indexed), %d stories of two "
             "or more", len(docs), len(changed), len(found))
    return {"publications": len(docs), "hashed": len(changed), "stories": len(found)}


Verdicts = dict[tuple[str, str], bool]  # (content hash, content hash), the lower first → the text rule joins


def _rebuild_stories(docs: list[StoryDoc], keys: np.ndarray, known: Verdicts) -> tuple[list[list[str]], Verdicts]:
    """The stories of ``docs`` (their band keys in ``keys``): what ``_edges`` over every publication, with the
    LSH pairs and the pairs sharing a document as candidates, gives, in the same order, with less work per
    pair. Each verified edge is kept with the publication whose turn finds it there (its "focus": the
    linking publication for a link, the first of a pair); a story's place in the list is its earliest focus,
    so the unions are made in focus order.

    An LSH pair joined by its text alone is judged by its two titles and summaries only: its verdict is
    taken from ``known`` (by the two content hashes) when there, and only the others are shingled and
    verified. Returns the stories and the verdicts of every such pair met."""
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        for doc_key in d.doc_keys + [f"url:{u}" for u in d.doc_urls]:
            by_doc[doc_key].append(i)
    hubs = {k for k, members in by_doc.items() if len(members) > MAX_DOCUMENT_SHARE}
    n = len(docs)
    sharing = {a * n + b for key, members in by_doc.items() if key not in hubs
               for a, b in combinations(members, 2) if a != b}
    first, second, link = _could_join(docs, *bucket_pairs(keys))
    if sharing:  # verified below with every rule
        lsh_only = ~np.isin(first * n + second, np.fromiter(sharing, dtype=np.int64, count=len(sharing)))
        first, second, link = first[lsh_only], second[lsh_only], link[lsh_only]
    by_url = {d.url: d for d in docs}
    at = {d.id: i for i, d in enumerate(docs)}
    edges = [(i, at[t.id]) for i, d in enumerate(docs) if d.links
             for t in link_targets(d, [by_url[u] for u in d.links if u in by_url])]
    pairs = [divmod(code, n) for code in sharing]  # pairs sharing a document, and linked LSH pairs: every rule
    pairs += zip(first[link].tolist(), second[link].tolist(), strict=True)
    shingle(docs[i] for pair in pairs for i in pair)
    edges += [(a, b) for a, b in pairs if _joins(by_url, docs[a], docs[b], hubs)]
    # an LSH pair left by ``_could_join`` with no link between the two is joined by its text alone, and it
    # already has two sources, the same numbers and dates in the window: only the Jaccard is left to check
    text = list(zip(first[~link].tolist(), second[~link].tolist(), strict=True))
    hashes = [d.content_hash for d in docs]
    named = [(hashes[a], hashes[b]) if hashes[a] <= hashes[b] else (hashes[b], hashes[a]) for a, b in text]
    verdict = [known.get(name) if name[0] else None for name in named]  # a publication without a hash: judged
    unknown = [k for k, joined in enumerate(verdict) if joined is None]
    shingle(docs[i] for k in unknown for i in text[k])
    for k in unknown:
        a, b = text[k]
        verdict[k] = jaccard(docs[a].shingles, docs[b].shingles) >= TEXT_THRESHOLD
    edges += [pair for pair, joined in zip(text, verdict, strict=True) if joined]
    found = _StoryUnion()
    for a, b in sorted(edges):
        found.union(docs[a].id, docs[b].id)
    return found.stories(), {name: bool(joined) for name, joined in zip(named, verdict, strict=True) if name[0]}


def match_pending(db: Database) -> dict[str, int]:
    """Match publications new or changed since they were indexed against everything stored (after a change
    of ``INDEX_RULES``: a rebuild, every publication being pending)."""
    if not _current_rules(db):
        result = rebuild(db)
        return {"matched": result["publications"], "stories": result["stories"]}
    pending = [to_doc(r) for r in stories.load_docs(db, stories.pending_ids(db))]
    if not pending:
        return {"matched": 0, "stories": 0}
    keys = band_keys(signatures(pending))
    stories.index_entries(db, _index_entries(pending, keys))
    candidates: dict[str, set[str]] = {}
    hubs = stories.shared_documents(db, {k for d in pending for k in d.doc_keys + [f"url:{u}" for u in d.doc_urls]},
                                  MAX_DOCUMENT_SHARE)
    for doc, doc_keys in zip(pending, keys, strict=True):
        doc_index = [k for k in doc.doc_keys + [f"url:{u}" for u in doc.doc_urls] if k not in hubs]
        candidates[doc.id] = (stories.ids_by_band(db, doc_keys) | stories.ids_by_url(db, doc.links)
                              | stories.ids_linking_to(db, [doc.url]) | stories.ids_by_document(db, doc_index))
    # publications that link to a candidate's neighbours are needed to judge which page a link is about
    wanted = set().union(*candidates.values()) | {d.id for d in pending}
    docs = {r["id"]: to_doc(r) for r in stories.load_docs(db, wanted)}
    extra_urls = {u for d in docs.values() for u in d.links} - {d.url for d in docs.values()}
    docs.update({r["id"]: to_doc(r) for r in stories.load_docs(db, stories.ids_by_url(db, extra_urls))})
    found = _edges(docs, [d.id for d in pending], candidates, hubs).stories()
    stories.set_stories(db, found)
    log.info("stories: %d new or changed publications matched, %d stories touched", len(pending), len(found))
    return {"matched": len(pending), "stories": len(found)}


_MATCHING = threading.Lock()  # the scheduler's jobs are threads: one matches at a time


def after_runs_step(config: Config, db: Database, run_ids: list[int], clock: Clock) -> None:
    """The runner's step after runs (hence its signature): match what the runs stored into stories."""
    with _MATCHING:
        match_pending(db)
