"""Incremental savings: a re-crawl of an unchanged site, then of the site with 1 % of its pages changed.

    python benchmarks/incremental_crawl.py [--publications 5000] [--sources csprp_govuk iwf] [--change 0.01]
                                     [--validators detail|all|none] [--smoke] [--strict] [--workdir DIR]

For each source shape, a synthetic recorded site (benchmarks/synthetic.py) is crawled three times into one
database with ``crawl_sources`` (what ``safeguarding-news crawl --source S --replay SITE`` runs: the crawl
process, then story matching and health checks), timed from start to end:

1. the first crawl: a full walk (no full walk recorded yet);
2. the same site again, unchanged, within ``crawl.full_walk_days``: the spiders skip what the site dates
   show unchanged and the middleware sends ``If-None-Match`` / ``If-Modified-Since`` (the replay server
   answers 304). Targets: full downloads (responses with a body, as the replay server saw them) at most
   10 % of the first crawl's; no new version; wall time at most 25 % of the first crawl's;
3. the site rewritten with ``--change`` of its publications changed (new text, a newer date): exactly those
   publications get a new version (``publication_versions``), no other.

With ``--validators detail`` (default) article pages and API documents carry ETag and Last-Modified, while
listings and search pages, which real sites build on every request, carry none.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic
from benchmarks._common import (
    CrawlResult,
    Report,
    bench_config,
    crawl,
    parser,
    query,
    replay_note,
    workdir,
)

DOWNLOADS_TARGET = 0.10
TIME_TARGET = 0.25


def versions(db: Path) -> int:
    return query(db, "select count(*) from publication_versions")[0][0]


def describe(label: str, r: CrawlResult) -> str:
    run = r.run
    return (f"{label}: {r.seconds:.1f} s, {r.pages} requests, {r.full_downloads} full downloads, "
            f"{r.pages - r.full_downloads} not modified (304); run {run['status']}: {run['items']} parsed, "
            f"{run['new']} new, {run['updated']} updated, {run['unchanged']} unchanged, {run['errors']} errors; "
            f"full walk {r.stats.get('sgn/full_walk')}")


def measure(report: Report, slug: str, n: int, change: float, validators: str, work: Path) -> None:
    from pipeline.config import load_config
    from pipeline.items.urls import canonical_url

    sites = work / "sites"
    site = synthetic.build(sites, slug, n, validators=validators)
    db = work / f"{slug}.db"
    config_path = bench_config(work, db, {slug: site.options})
    trailing = load_config(config_path).source(slug).trailing_slash
    log = work / f"incremental-{slug}.log"

    first = crawl(config_path, slug, db, site.folder, log)
    report.note(describe(f"{slug} first crawl", first))
    before = versions(db)
    second = crawl(config_path, slug, db, site.folder, log)
    report.note(describe(f"{slug} unchanged re-crawl", second))
    new_versions = versions(db) - before
    report.figure(f"{slug}: full downloads, re-crawl / first ({second.full_downloads} / {first.full_downloads})",
                  second.full_downloads / max(first.full_downloads, 1), "<=", DOWNLOADS_TARGET)
    report.figure(f"{slug}: new versions after the unchanged re-crawl (+ new + updated)",
                  new_versions + second.run["new"] + second.run["updated"], "==", 0, fmt="{:.0f}", timing=False)
    report.figure(f"{slug}: wall time, re-crawl / first ({second.seconds:.1f} s / {first.seconds:.1f} s)",
                  second.seconds / first.seconds, "<=", TIME_TARGET)

    changed_site = synthetic.build(sites, slug, n, change=change, validators=validators)
    expected = {canonical_url(u, trailing) for u in changed_site.changed_urls}
    mark = query(db, "select coalesce(max(id), 0) from publication_versions")[0][0]
    third = crawl(config_path, slug, db, site.folder, log)
    report.note(describe(f"{slug} re-crawl after changing {len(expected)} publications", third))
    got = {u for (u,) in query(db, "select p.url from publication_versions v join publications p "
                                   "on p.id = v.publication_id where v.id > ?", (mark,))}
    missing, extra = expected - got, got - expected
    if missing or extra:
        report.note(f"  changed but no new version: {sorted(missing)[:3]}{' ...' if len(missing) > 3 else ''}; "
                    f"new version but not changed: {sorted(extra)[:3]}{' ...' if len(extra) > 3 else ''}")
    report.figure(f"{slug}: publications with a new version, not exactly the {len(expected)} changed",
                  len(missing) + len(extra), "==", 0, fmt="{:.0f}", timing=False)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--publications", type=int, default=5000, help="per source (default 5000)")
    p.add_argument("--sources", nargs="+", default=list(synthetic.SHAPES), choices=synthetic.SHAPES)
    p.add_argument("--change", type=float, default=0.01, help="fraction changed before the third crawl")
    p.add_argument("--validators", choices=["detail", "all", "none"], default="detail")
    args = p.parse_args(argv)
    n = 60 if args.smoke else args.publications
    report = Report("incremental savings: unchanged and 1 %-changed re-crawls (benchmarks/incremental_crawl.py)",
                    args.smoke)
    report.note(f"{n} publications per source, {args.change:.0%} changed before the third crawl, validators on "
                f"{args.validators} pages; wall time is the whole crawl command (start-up, crawl, story matching, "
                f"health checks); {replay_note()}")
    with workdir(args.workdir) as work:
        for slug in args.sources:
            measure(report, slug, n, args.change, args.validators, work)
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
