"""Storage and search: 100,000 publications stored with their full-text index, and search latency at
20,000 and 200,000 publications.

    python benchmarks/storage_search.py [--repeat 20] [--smoke] [--strict] [--workdir DIR] [--store-only]

Synthetic publications of five sources with realistic text (benchmarks/synthetic.py: a title, a summary, a
body of a few hundred words, topics, documents, links) are stored into fresh databases, with their
full-text index, two ways: ``storage.publications.store_batch`` in batches of ``crawl.batch_size`` (100 in
config.yaml, as a crawl writes them), and ``storage.publications.store_many`` (one transaction, as a bulk
load, import or rebuild writes them). Only the storing is timed, not the generation of the text. Target:
100,000 stored with the index in at most 15 s, each way.

At 20,000 and at 200,000 publications, ``storage.search_index.search`` (what ``safeguarding-news search``
runs: the search index beside the database, ``<db>.search/``, built from it first and timed; snippets; the
default limit of 20) is timed for common terms (in most publications) and rare ones (in a handful), each
query ``--repeat`` times after one warm-up run, on a fresh connection. Target: p95 at most 50 ms, for
common and for rare terms, at both sizes. Side by side, the same queries through SQLite FTS5 alone
(``storage.queries.search``, what answers without the index), and the first search after 100 new
publications are stored (it brings the index up to date). The top 10 of a fixed query set (with and
without filters), through the search index and through FTS5 alone, must be those of the ranking before it
moved inside the FTS5 index (``reference_search``: every match joined to ``publications``, then sorted).
``--reuse`` keeps the search
databases of ``--workdir`` between runs (``storage-search-<size>.db``), ``--search-only`` leaves out
the storing figures and ``--store-only`` the search ones. Each storing figure is printed with the CPU time
it took and the load average before it: the wall clock on a shared machine follows its load.
"""

from __future__ import annotations

import os
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


def _filter_sets() -> list:
    from storage.queries import Filters

    return [Filters(), Filters(sources=("iwf", "csprp_govuk")), Filters(content_types=("report", "guidance")),
            Filters(since=("2020-01-01T00:00:00Z", "2020-01-01"), until=("2022-01-01T00:00:00Z", "2022-01-01"))]


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


def store(db, pubs: list, batch: int | None) -> tuple[float, float]:
    """Store ``pubs`` with ``store_batch`` in batches of ``batch``, or with ``store_many`` when ``batch`` is
    None; return the seconds spent storing, wall clock and CPU (this process's, SQLite's included)."""
    from storage.publications import store_batch, store_many

    now = "2026-01-01T00:00:00Z"
    started, cpu = time.perf_counter(), time.process_time()
    if batch is None:
        store_many(db, pubs, now)
    else:
        for first in range(0, len(pubs), batch):
            store_batch(db, pubs[first:first + batch], now)
    return time.perf_counter() - started, time.process_time() - cpu


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


def same_top10(path: Path, engine: str = "index") -> tuple[int, int, list[str], dict[str, int]]:
    """How many queries of the fixed set (each alone and with three filters) give the reference's top 10,
    through what ``safeguarding-news search`` runs (``engine`` "index") or FTS5 alone ("fts5"); and how
    many each engine answered."""
    from storage import queries, search_index
    from storage.db import open_db

    db = open_db(path)
    filters = _filter_sets()
    same, differ, engines = 0, [], {"tantivy": 0, "fts5": 0}
    try:
        for text in FIXED:
            for f in filters:
                if engine == "fts5":
                    rows, engines["fts5"] = queries.search(db, text, f, limit=10), engines["fts5"] + 1
                else:
                    answer = search_index.search(db, text, f, limit=10)
                    rows, engines[answer.engine] = answer.rows, engines[answer.engine] + 1
                got = [r["id"] for r in rows]
                if got == reference_search(db, text, f):
                    same += 1
                else:
                    differ.append(f"{text!r} {f}")
    finally:
        db.close()
    return same, len(FIXED) * len(filters), differ, engines


def build_index(report: Report, path: Path, label: str, reuse: bool = False) -> None:
    from storage import search_index
    from storage.db import open_db

    db = open_db(path)
    try:
        if reuse:
            try:
                if search_index.update(db) == 0:
                    report.note(f"  {label}: search index kept from an earlier run (--reuse), up to date")
                    return
            except search_index.IndexUnavailable:
                pass
        started = time.perf_counter()
        count = search_index.rebuild(db)
        spent = time.perf_counter() - started
    finally:
        db.close()
    size = sum(f.stat().st_size for f in search_index.index_dir(path).iterdir())
    report.note(f"  {label}: search index of {count:,} publications built in {spent:.1f} s (one thread), "
                f"{size / 1e6:.0f} MB")


def catch_up(report: Report, path: Path, first: int, label: str) -> None:
    """100 new publications stored (a crawl's batch), then the first search, which reads them into the
    index, and the second."""
    from storage import search_index
    from storage.db import open_db

    db = open_db(path)
    try:
        store(db, [publication(i) for i in range(first, first + 100)], 100)
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            answer = search_index.search(db, COMMON[0])
            runs.append(1000 * (time.perf_counter() - started))
        report.note(f"  {label}: 100 new publications stored, then {COMMON[0]!r}: first search {runs[0]:.0f} ms "
                    f"(brings the index up to date), second {runs[1]:.1f} ms ({answer.engine})")
        with db.conn:  # as it was: the same database for the next run with --reuse
            db.execute("delete from publications where rowid > (select max(rowid) - 100 from publications)")
        search_index.update(db)
    finally:
        db.close()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def time_searches(path: Path, terms: list[str], repeat: int, engine: str = "index"
                  ) -> dict[str, tuple[list[float], int, str]]:
    """Milliseconds per run of each term, and its number of matches; ``engine`` "index" is what
    ``safeguarding-news search`` runs (the search index, FTS5 when it cannot answer), "fts5" FTS5 alone."""
    from storage import queries, search_index
    from storage.db import open_db

    db = open_db(path)
    out = {}

    answered: dict[str, str] = {}

    def run(term: str) -> None:
        if engine == "fts5":
            queries.search(db, term)
        else:
            answered[term] = search_index.search(db, term).engine

    try:
        for term in terms:
            run(term)  # warm-up: pages into the cache, as for a second search of the day
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                run(term)
                runs.append(1000 * (time.perf_counter() - started))
            matches = db.execute("select count(*) from publications_fts where publications_fts match ?",
                                 [queries.fts_query(term)]).fetchone()[0]
            out[term] = (runs, matches, answered.get(term, "fts5"))
    finally:
        db.close()
    return out


def report_search(report: Report, path: Path, size: int, target: float, terms: dict[str, list[str]],
                  repeat: int, label: str) -> None:
    for kind, words in terms.items():
        fts5 = time_searches(path, words, repeat, "fts5")
        timed = time_searches(path, words, repeat)
        for term, (runs, matches, answered) in timed.items():
            alone = fts5[term][0]
            report.note(f"  {label} {kind:6} {term!r:26} {matches:>7} matches: search ({answered:7}) median "
                        f"{statistics.median(runs):6.1f} ms, p95 {p95(runs):6.1f} ms | FTS5 alone median "
                        f"{statistics.median(alone):6.1f} ms, p95 {p95(alone):6.1f} ms")
        everything = [ms for runs, _, _ in timed.values() for ms in runs]
        report.note(f"  {label} {kind:6} FTS5 alone, all terms: p95 "
                    f"{p95([ms for runs, _, _ in fts5.values() for ms in runs]):.1f} ms")
        report.figure(f"search p95 at {label} publications, {kind} terms", p95(everything), "<=", target, "ms",
                      "{:.1f}")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--repeat", type=int, default=20, help="timed runs of each query (default 20)")
    p.add_argument("--reuse", action="store_true",
                   help="keep the search databases of --workdir between runs (storage-search-<size>.db)")
    p.add_argument("--search-only", action="store_true", help="leave out the storing figures")
    p.add_argument("--store-only", action="store_true", help="leave out the search figures")
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
        pubs = [publication(i) for i in range(store_at)] if not args.search_only else []
        for name, size in (("store_batch", batch), ("store_many", None)) if not args.search_only else ():
            path = work / f"storage-{name}.db"
            path.unlink(missing_ok=True)
            db = open_db(path)
            load = os.getloadavg()[0]
            spent, cpu = store(db, pubs, size)
            count = db.execute("select count(*) from publications_fts where publications_fts match 'children'"
                               ).fetchone()[0]
            db.close()
            report.note(f"{name}: {store_at} publications stored in {spent:.1f} s ({store_at / spent:.0f}/s; "
                        f"CPU {cpu:.1f} s; load average {load:.2f} before), {count} found by the index for 'children'; "
                        f"database {path.stat().st_size / 1e6:.0f} MB")
            report.figure(f"store {store_at:,} publications with the index ({name})", spent, "<=",
                          STORE_TARGET_S, "s", "{:.1f}")
        del pubs
        for size in sorted(checkpoints) if not args.store_only else ():
            path = work / f"storage-search-{size}.db"
            db = open_db(path)
            kept = args.reuse and db.execute("select count(*) from publications").fetchone()[0] == size
            db.close()
            if not kept:
                for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    stale.unlink(missing_ok=True)
                db = open_db(path)
                for first in range(0, size, 10_000):
                    store(db, [publication(i) for i in range(first, min(first + 10_000, size))], None)
                db.execute("pragma wal_checkpoint(TRUNCATE)")
                db.close()
            label = f"{size:,}"
            report.note(f"  {label}: database {'kept from an earlier run (--reuse)' if kept else 'stored'}, "
                        f"{path.stat().st_size / 1e6:.0f} MB")
            build_index(report, path, label, args.reuse)
            report_search(report, path, size, checkpoints[size], terms, args.repeat, label)
            catch_up(report, path, size, label)
            same, total, differ, _ = same_top10(path, "fts5")
            report.note(f"  {label}: FTS5 alone: top 10 as before on {same} of {total} fixed queries"
                        + (f"; differ: {'; '.join(differ)}" if differ else ""))
            same, total, differ, engines = same_top10(path)
            report.note(f"  {label}: search (index {engines['tantivy']}, FTS5 {engines['fts5']}: syntax the "
                        f"index does not read, or few matches): top 10 as before on {same} of {total} fixed queries"
                        + (f"; differ: {'; '.join(differ)}" if differ else ""))
            report.figure(f"top 10 as the reference ranking at {label} (fixed queries x filters)", same, "==",
                          total, "", "{:.0f}", timing=False)
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
