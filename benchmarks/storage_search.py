"""Storage and search: 100,000 publications stored with their full-text index, and search latency at
20,000 and 200,000 publications.

    python benchmarks/storage_search.py [--repeat 20] [--smoke] [--strict] [--workdir DIR]

Synthetic publications of five sources with realistic text (benchmarks/synthetic.py: a title, a summary, a
body of a few hundred words, topics, documents, links) are stored into fresh databases, with their
full-text index, two ways: ``storage.publications.store_batch`` in batches of ``crawl.batch_size`` (100 in
config.yaml, as a crawl writes them), and ``storage.publications.store_many`` (one transaction, as a bulk
load, import or rebuild writes them). Only the storing is timed, not the generation of the text. Target:
100,000 stored with the index in at most 15 s, each way.

At 20,000 and at 200,000 publications, ``storage.queries.search`` (what ``safeguarding-news search``
runs: bm25 ranking, snippets, the default limit of 20) is timed for common terms (in most publications)
and rare ones (in a handful), each query ``--repeat`` times after one warm-up run, on a fresh connection.
Target: p95 at most 50 ms, for common and for rare terms, at both sizes. The top 10 of a fixed query set
(with and without filters) must be those of the ranking before it moved inside the index
(``reference_search``: every match joined to ``publications``, then sorted). At 200,000, the same common
and rare queries are also timed with ``tantivy`` (an index built from the database, bm25 with the same
column weights), side by side, when it is installed.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ROOT, Report, parser, workdir
from benchmarks.synthetic import text_maker

STORE_TARGET_S = 15.0
STORE_AT = 100_000
SEARCH_TARGETS_MS = {20_000: 50.0, 200_000: 50.0}
SOURCES = {"csprp_govuk": "https://www.gov.uk/government/publications/",
           "nspcc_learning": "https://learning.nspcc.org.uk/news/2024/",
           "childrens_commissioner": "https://www.childrenscommissioner.gov.uk/resource/",
           "csprp_panel_site": "https://childsafeguarding.independent-panel.uk/publications/",
           "iwf": "https://www.iwf.org.uk/news-media/news/"}
LABELS = [("report", "corporate_report"), ("news", "news_story"), ("guidance", "guidance"), ("blog", "Blog"),
          ("review", "independent_report"), ("briefing", "CASPAR briefing"), ("statistics", "official_statistics"),
          ("podcast", "Podcast"), ("press_release", "press_release")]
TOPICS = ["Child protection", "Online safety", "Child sexual exploitation", "Neglect", "Social care",
          "Safeguarding in schools", "Domestic abuse", "Criminal exploitation", "Early help", "Mental health"]
COMMON = ["children", "safeguarding practice", "online exploitation"]
# The fixed query set whose top 10 must not change (plain words, phrases, FTS syntax; with filters below).
FIXED = ["children", "safeguarding practice", "online exploitation", "neglect OR abuse", '"serious case"',
         "title:review", "exploit*", "domestic abuse NOT online"]


def publication(i: int, seed: int = 1):
    """The i-th synthetic publication: the same for the same ``i`` and seed."""
    from pipeline.items.normalise import content_hash
    from pipeline.items.schema import Document, Publication

    maker = text_maker(seed)
    rng = random.Random(f"store:{seed}:{i}")
    source = list(SOURCES)[i % len(SOURCES)]
    title = maker.title(rng)
    url = f"{SOURCES[source]}{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')[:70]}-{i}"
    content_type, label = LABELS[rng.randrange(len(LABELS))]
    day = f"{2012 + rng.randrange(14)}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"
    documents = tuple(Document(f"{title} (part {k + 1})", f"https://assets.example.org/{i}/{k}.pdf", "PDF",
                               f"{rng.randint(80, 4000)} KB") for k in range(rng.choice((0, 0, 1, 2))))
    fields = {"title": title, "summary": maker.summary(rng), "body_text": maker.body_text(rng),
              "published_at": day, "updated_at": None, "documents": [d.__dict__ for d in documents],
              "withdrawn_at": None}
    return Publication(
        id=f"{source}:{url}", source=source, url=url, title=title, summary=fields["summary"],
        body_text=fields["body_text"], content_type=content_type, source_type=label, published_at=day,
        published_precision="day", updated_at=None, topics=tuple(rng.sample(TOPICS, rng.randint(1, 3))),
        documents=documents, withdrawn_at=None, language="en",
        links=tuple(f"https://www.gov.uk/government/publications/link-{rng.randrange(10 * (i + 1))}"
                    for _ in range(rng.choice((0, 0, 0, 1, 2)))),
        content_hash=content_hash(fields),
    )


def rare_terms(seed: int = 1) -> list[str]:
    """Two names (each in about one publication in 100,000) and two of the rarest words of the tail, taken
    from the first publications, so that every rare query finds something at any size."""
    names = [re.search(r"\bIn ([A-Z][a-z]+),", publication(i, seed).body_text).group(1) for i in (3, 5)]
    tail = [w for w in text_maker(seed).words[-30_000:] if len(w) > 7]
    body = publication(11, seed).body_text.lower()
    return names + [w for w in reversed(tail) if re.search(rf"\b{w}\b", body)][:2]


def store(db, pubs: list, batch: int | None) -> float:
    """Store ``pubs`` with ``store_batch`` in batches of ``batch``, or with ``store_many`` when ``batch`` is
    None; return the seconds spent storing."""
    from storage.publications import store_batch, store_many

    now = "2026-01-01T00:00:00Z"
    started = time.perf_counter()
    if batch is None:
        store_many(db, pubs, now)
    else:
        for first in range(0, len(pubs), batch):
            store_batch(db, pubs[first:first + batch], now)
    return time.perf_counter() - started


def reference_search(db, text: str, filters=None, limit: int = 10) -> list[str]:
    """The ids the search gave before its ranking moved inside the index: every match joined to
    ``publications``, sorted by bm25, then newest, then id."""
    from storage import queries

    where, params = (filters or queries.Filters()).where("p")
    return [r[0] for r in db.execute(
        f"""select p.id from publications_fts join publications p on p.rowid = publications_fts.rowid
            where publications_fts match ? and {where}
            order by {queries.RANK}, p.published_at desc, p.id limit ?""",
        [queries.fts_query(text), *params, limit])]


def same_top10(path: Path) -> tuple[int, int, list[str]]:
    """How many queries of the fixed set (each alone and with three filters) give the reference's top 10."""
    from storage import queries
    from storage.db import open_db

    db = open_db(path)
    filters = [queries.Filters(), queries.Filters(sources=("iwf", "csprp_govuk")),
               queries.Filters(content_types=("report", "guidance")),
               queries.Filters(since=("2020-01-01T00:00:00Z", "2020-01-01"),
                               until=("2022-01-01T00:00:00Z", "2022-01-01"))]
    same, differ = 0, []
    try:
        for text in FIXED:
            for f in filters:
                got = [r["id"] for r in queries.search(db, text, f, limit=10)]
                if got == reference_search(db, text, f):
                    same += 1
                else:
                    differ.append(f"{text!r} {f}")
    finally:
        db.close()
    return same, len(FIXED) * len(filters), differ


def tantivy_side_by_side(report: Report, path: Path, terms: dict[str, list[str]], repeat: int, label: str) -> None:
    """The same queries through tantivy (bm25 per field, title x10, summary x4, body x1), built from the
    database: build time and p95, beside FTS5's."""
    try:
        import tantivy
    except ImportError:
        report.note("tantivy not installed: no side-by-side figures (pip install tantivy)")
        return
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sgn-tantivy-") as folder:
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("rowid", stored=True, indexed=True, fast=True)
        for name in ("title", "summary", "body_text"):
            builder.add_text_field(name, stored=False, tokenizer_name="en_stem")
        index = tantivy.Index(builder.build(), path=folder)
        con = sqlite3.connect(path)
        started = time.perf_counter()
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        for rowid, title, summary, body in con.execute("select rowid, title, summary, body_text from publications"):
            writer.add_document(tantivy.Document(rowid=rowid, title=title or "", summary=summary or "",
                                                 body_text=body or ""))
        writer.commit()
        writer.wait_merging_threads()
        built = time.perf_counter() - started
        con.close()
        index.reload()
        searcher = index.searcher()
        report.note(f"  tantivy: index of {label} publications built in {built:.1f} s (one thread)")
        for kind, words in terms.items():
            runs = []
            for term in words:
                q = index.parse_query(term, ["title", "summary", "body_text"], conjunction_by_default=True,
                                      field_boosts={"title": 10.0, "summary": 4.0, "body_text": 1.0})
                searcher.search(q, 20)
                for _ in range(repeat):
                    started = time.perf_counter()
                    searcher.search(q, 20)
                    runs.append(1000 * (time.perf_counter() - started))
            report.note(f"  {label} {kind:6} tantivy top 20 (ids only, no snippets): p95 {p95(runs):6.1f} ms, "
                        f"median {statistics.median(runs):6.1f} ms")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def time_searches(path: Path, terms: list[str], repeat: int) -> dict[str, tuple[list[float], int]]:
    """Milliseconds per run of each term, and its number of matches."""
    from storage import queries
    from storage.db import open_db

    db = open_db(path)
    out = {}
    try:
        for term in terms:
            queries.search(db, term)  # warm-up: pages into the cache, as for a second search of the day
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                queries.search(db, term)
                runs.append(1000 * (time.perf_counter() - started))
            matches = db.execute("select count(*) from publications_fts where publications_fts match ?",
                                 [queries.fts_query(term)]).fetchone()[0]
            out[term] = (runs, matches)
    finally:
        db.close()
    return out


def report_search(report: Report, path: Path, size: int, target: float, terms: dict[str, list[str]],
                  repeat: int, label: str) -> None:
    for kind, words in terms.items():
        timed = time_searches(path, words, repeat)
        for term, (runs, matches) in timed.items():
            report.note(f"  {label} {kind:6} {term!r:26} {matches:>7} matches: median "
                        f"{statistics.median(runs):6.1f} ms, p95 {p95(runs):6.1f} ms")
        everything = [ms for runs, _ in timed.values() for ms in runs]
        report.figure(f"search p95 at {label} publications, {kind} terms", p95(everything), "<=", target, "ms",
                      "{:.1f}")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--repeat", type=int, default=20, help="timed runs of each query (default 20)")
    p.add_argument("--no-tantivy", action="store_true", help="leave out the tantivy side-by-side figures")
    args = p.parse_args(argv)
    scale = 100 if args.smoke else 1
    checkpoints = {size // scale: target for size, target in SEARCH_TARGETS_MS.items()}
    store_at = STORE_AT // scale
    report = Report("storage and search (benchmarks/storage_search.py)", args.smoke)
    from pipeline.config import load_config
    from storage.db import open_db

    batch = load_config(ROOT / "config.yaml").crawl.batch_size
    terms = {"common": COMMON, "rare": rare_terms()}
    report.note(f"store_batch in batches of {batch} (crawl.batch_size) and store_many; searches: {args.repeat} "
                f"timed runs per term after a warm-up, limit 20 (the CLI's default)")
    with workdir(args.workdir) as work:
        pubs = [publication(i) for i in range(store_at)]
        for name, size in (("store_batch", batch), ("store_many", None)):
            path = work / f"storage-{name}.db"
            path.unlink(missing_ok=True)
            db = open_db(path)
            spent = store(db, pubs, size)
            count = db.execute("select count(*) from publications_fts where publications_fts match 'children'"
                               ).fetchone()[0]
            db.close()
            report.note(f"{name}: {store_at} publications stored in {spent:.1f} s ({store_at / spent:.0f}/s), "
                        f"{count} found by the index for 'children'; database {path.stat().st_size / 1e6:.0f} MB")
            report.figure(f"store {store_at:,} publications with the index ({name})", spent, "<=",
                          STORE_TARGET_S, "s", "{:.1f}")
        del pubs
        path = work / "storage-search.db"
        path.unlink(missing_ok=True)
        db = open_db(path)
        stored = 0
        for size in sorted(checkpoints):
            for first in range(stored, size, 10_000):
                store(db, [publication(i) for i in range(first, min(first + 10_000, size))], None)
            stored = size
            db.execute("pragma wal_checkpoint(TRUNCATE)")
            report_search(report, path, size, checkpoints[size], terms, args.repeat, f"{size:,}")
            same, total, differ = same_top10(path)
            report.note(f"  {size:,}: top 10 as before on {same} of {total} fixed queries"
                        + (f"; differ: {'; '.join(differ)}" if differ else ""))
            report.figure(f"top 10 as the reference ranking at {size:,} (fixed queries x filters)", same, "==",
                          total, "", "{:.0f}", timing=False)
            if size == max(checkpoints) and not args.no_tantivy:
                tantivy_side_by_side(report, path, terms, args.repeat, f"{size:,}")
        db.close()
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
