"""Storage and search: 100,000 publications stored with their full-text index, and search latency at
20,000 and 200,000 publications.

    python benchmarks/storage_search.py [--repeat 20] [--smoke] [--strict] [--workdir DIR]

Synthetic publications of five sources with realistic text (benchmarks/synthetic.py: a title, a summary, a
body of a few hundred words, topics, documents, links) are written into a fresh database with
``storage.publications.store_batch`` in batches of ``crawl.batch_size`` (100 in config.yaml, as the crawl writes them);
the full-text index is kept by its triggers. Only the ``store_batch`` calls are timed, not the generation
of the text. Targets: the first 100,000 stored in at most 20 s.

At 20,000 and at 200,000 publications, ``storage.queries.search`` (what ``safeguarding-news search``
runs: bm25 ranking, snippets, the default limit of 20) is timed for common terms (in most publications)
and rare ones (in a handful), each query ``--repeat`` times after one warm-up run, on a fresh connection.
Targets: p95 at most 50 ms at 20,000 and at most 150 ms at 200,000, for common and for rare terms.
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

STORE_TARGET_S = 20.0
STORE_AT = 100_000
SEARCH_TARGETS_MS = {20_000: 50.0, 200_000: 150.0}
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


def store(db, start: int, end: int, batch: int, seed: int = 1) -> float:
    """Store publications ``start``..``end`` in batches; return the seconds spent in ``store_batch``."""
    from storage.publications import store_batch

    spent = 0.0
    now = "2026-01-01T00:00:00Z"
    for first in range(start, end, batch):
        pubs = [publication(i, seed) for i in range(first, min(first + batch, end))]
        started = time.perf_counter()
        store_batch(db, pubs, now)
        spent += time.perf_counter() - started
    return spent


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
    args = p.parse_args(argv)
    scale = 100 if args.smoke else 1
    checkpoints = {size // scale: target for size, target in SEARCH_TARGETS_MS.items()}
    store_at = STORE_AT // scale
    report = Report("storage and search (benchmarks/storage_search.py)", args.smoke)
    from pipeline.config import load_config
    from storage.db import open_db

    batch = load_config(ROOT / "config.yaml").crawl.batch_size
    terms = {"common": COMMON, "rare": rare_terms()}
    report.note(f"batches of {batch} (crawl.batch_size); searches: {args.repeat} timed runs per term after a "
                f"warm-up, limit 20 (the CLI's default)")
    with workdir(args.workdir) as work:
        path = work / "storage.db"
        db = open_db(path)
        stored, spent = 0, 0.0
        for size in sorted({*checkpoints, store_at}):
            spent += store(db, stored, size, batch)
            stored = size
            if size == store_at:
                mb = path.stat().st_size / 1e6
                report.note(f"{size} publications stored in {spent:.1f} s ({size / spent:.0f}/s); database "
                            f"{mb:.0f} MB (+ WAL)")
                report.figure(f"store {size:,} publications (store_batch, FTS triggers)", spent, "<=",
                              STORE_TARGET_S, "s", "{:.1f}")
            if size in checkpoints:
                db.execute("pragma wal_checkpoint(TRUNCATE)")
                report_search(report, path, size, checkpoints[size], terms, args.repeat, f"{size:,}")
        db.close()
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
