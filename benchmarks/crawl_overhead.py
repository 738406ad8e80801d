"""Crawl overhead: the full pipeline against a bare Scrapy spider on the same pages, in the same run.

    python benchmarks/crawl_overhead.py [--publications 5000] [--sources csprp_govuk iwf ...] [--repeat 1]
                                        [--smoke] [--strict] [--workdir DIR]

For each source shape, a synthetic recorded site (benchmarks/synthetic.py) is served by one replay server,
and crawled twice:

- **pipeline**: the production crawl process, ``python -m pipeline.crawl.process`` exactly as
  ``crawl_sources`` spawns it (the source's spider, parsing, normalising, in-run de-duplication and storing
  in batched transactions into a fresh database);
- **bare**: a bare Scrapy spider (``baseline_spider``) that follows the same links with Scrapy's own
  ``LinkExtractor`` (the Search API's own fields for GOV.UK) and yields the raw fields with the production
  spider's selectors, with Scrapy's default settings plus the same politeness, concurrency and replay
  download handler, and no item pipeline.

Throughput is pages per second of the crawl process's whole life (start to exit, robots.txt not counted);
the figure is pipeline / bare, target at least 0.85; CPU per page of each is printed beside it, the
pipeline's split into its main (reactor) thread and its other threads (the writer thread's SQLite and
full-text index work), read from /proc while it runs. Story
matching and health checks, which ``crawl_sources`` runs after the crawl processes, are not part of it
(benchmarks/clustering.py times them). Every source has its shape (benchmarks/synthetic.py), and the bare
spider follows it as any crawler would: GOV.UK's Search API (``results[].link``, ``start``); the
Commissioner's WordPress REST API (``/wp-json/``, the type list's ``wp:items``, ``X-WP-TotalPages``); the
IWF's, the Panel site's and NSPCC Learning's HTML listings (LinkExtractor: their article links and next
pages). Both crawls must yield the same number of items (a judged figure). With ``--repeat N`` the two
alternate N times and the fastest of each counts.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic
from benchmarks._common import (
    ROOT,
    Report,
    bench_config,
    child_output_to,
    query,
    replay_note,
    sized_parser,
    workdir,
)

TARGET = 0.85


@dataclass
class Crawl:
    seconds: float
    pages: int
    cpu: float  # user + system seconds of the crawl process
    span: float  # first to last request the server saw
    urls: list[str]
    main_cpu: float | None = None  # the main (reactor) thread's share of ``cpu``, from /proc; None elsewhere

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], server, log: Path) -> tuple[Crawl, str]:
    from pipeline.ops.launch import crawl_env

    env = crawl_env()
    before, cpu = len(server.hits), _child_cpu()
    with open(log, "ab") as err, open(log.with_suffix(".stdout"), "w+b") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        threads = _thread_cpu(proc)  # polled until it exits
        seconds = time.monotonic() - started
        out.seek(0)
        stdout = out.read().decode()
    if proc.returncode:
        raise SystemExit(f"crawl process failed ({proc.returncode}): {' '.join(cmd)}; see {log}")
    hits = [h for h in server.hits[before:] if not h.url.endswith("/robots.txt")]
    span = hits[-1].at - hits[0].at if len(hits) > 1 else 0.0
    main = threads.get(proc.pid) if threads else None
    return Crawl(seconds, len(hits), _child_cpu() - cpu, span, [h.url for h in hits], main), stdout


def _thread_cpu(proc: subprocess.Popen) -> dict[int, float]:
    """Wait for ``proc``, reading each of its threads' CPU seconds (user + system) from /proc every 20 ms:
    thread id → its last reading (the main thread's id is the process's). Empty without /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seen: dict[int, float] = {}
    while proc.poll() is None:
        try:
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                seen[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, ValueError, IndexError):
            pass  # a thread (or the process) ended while being read
        time.sleep(0.02)
    return seen


def pipeline_crawl(config_path: Path, slug: str, db: Path, server, log: Path,
                   profile: Path | None = None) -> tuple[Crawl, dict]:
    from pipeline.clock import system_clock
    from pipeline.items.dates import iso
    from storage.db import open_db
    from storage.runs import start_run

    database = open_db(db)
    run_id = start_run(database, slug, iso(system_clock()), pid=os.getpid())
    database.close()
    from pipeline.ops.launch import crawl_command

    profiling = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = crawl_command(config_path, slug, db, run_id, replay_address=server.address, python_args=profiling,
                        extra=["--parent-pid", str(os.getpid())])  # dies with the benchmark, like a crawl
    result, _ = _timed(cmd, server, log)
    cols = ("status", "pages", "items", "new", "errors", "message")
    row = dict(zip(cols, query(db, f"select {', '.join(cols)} from runs where id = ?", (run_id,))[0], strict=True))
    return result, row


def bare_crawl(config_path: Path, slug: str, db: Path, server, log: Path,
               profile: Path | None = None) -> tuple[Crawl, dict]:
    profiling = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *profiling, str(Path(__file__).resolve()), "--bare-child", "--config", str(config_path),
           "--source", slug, "--db", str(db), "--replay-address", server.address]
    result, out = _timed(cmd, server, log)
    return result, json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------- the bare crawl process

# What the baseline follows with Scrapy's LinkExtractor on an HTML listing: its articles and its next pages.
# (A JSON API has no links in markup: there the baseline follows the API's own fields, as any crawler must.)
IWF_ARTICLES = r"/news-media/(news|blogs)/[a-z0-9]+(-[a-z0-9]+)*/?$"
IWF_PAGES = r"/news-media/(news|blogs)/\?page=\d+$"
# The Panel's site: its two listings (found by the pipeline in the home page's navigation), the publication
# links of their cards (in <main>, outside the pagination) and their further pages (/<listing>/page/N/).
PANEL_LISTINGS = ("/publications/", "/news/")
PANEL_ARTICLES = r"^https://[^/]+/(publications|news)/[a-z0-9-]+/$"
PANEL_PAGES = r"/(publications|news)/page/\d+/$"
# NSPCC Learning: its two listings, their articles and their ?page=N pages.
NSPCC_LISTINGS = ("/news", "/research-resources")
NSPCC_ARTICLES = r"^https://[^/]+/(news/\d{4}/[a-z]+|research-resources/\d{4})/[a-z0-9-]+$"
NSPCC_PAGES = r"/(news|research-resources)\?page=\d+$"


def bare_settings(config, source, db: str, replay_address: str) -> dict:
    """Scrapy's own defaults with the same politeness and concurrency as the pipeline and the same replay
    download handler (the network of these benchmarks), but none of the project's middlewares, extensions
    or item pipelines."""
    from pipeline.crawl.process import scrapy_settings

    ours = scrapy_settings(config, source, db, 0, replay_address, full_walk=True)
    kept = ("BOT_NAME", "USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN",
            "AUTOTHROTTLE_ENABLED", "DOWNLOAD_TIMEOUT", "RETRY_TIMES", "REDIRECT_MAX_TIMES", "DOWNLOAD_MAXSIZE",
            "DOWNLOAD_WARNSIZE", "COOKIES_ENABLED", "TELNETCONSOLE_ENABLED", "LOG_LEVEL", "REPLAY_ADDRESS",
            "CONCURRENT_ITEMS",  # tuning any crawler would do: 100 item tasks per response only cost CPU
            "WARN_ON_GENERATOR_RETURN_VALUE",  # likewise: a development check that re-parses callbacks' source
            "DOWNLOAD_HANDLERS")
    return {k: ours[k] for k in kept if k in ours} | {"LOG_ENABLED": True}


def baseline_spider(slug: str):
    """A bare Scrapy spider for ``slug``'s shape: it follows the same links (Scrapy's ``LinkExtractor`` on
    HTML listings; the API's own fields for GOV.UK) and yields the raw fields with the production spider's
    own selectors (its parse methods), into no item pipeline."""
    import scrapy
    from scrapy.linkextractors import LinkExtractor
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    production = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["spiders"]})).load(slug)

    def listings(starts, articles, pages, callback: str, kwargs=dict):
        """Start at the listings (``starts(spider)``), follow their article links (``articles``: to the
        production method ``callback``, with ``kwargs()``) and their next pages (``pages``)."""

        class ListingBaseline(production):  # type: ignore[misc,valid-type]
            async def start(self):
                for url in starts(self):
                    yield scrapy.Request(url, self.follow)

            def follow(self, response):
                for link in articles.extract_links(response):
                    yield scrapy.Request(link.url, getattr(self, callback), cb_kwargs=kwargs())
                for link in pages.extract_links(response):
                    yield scrapy.Request(link.url, self.follow)

        return ListingBaseline

    if slug == "iwf":
        return listings(lambda spider: [f"https://www.iwf.org.uk/news-media/{section}/?page=1"
                                        for section in ("news", "blogs")],
                        LinkExtractor(allow=IWF_ARTICLES), LinkExtractor(allow=IWF_PAGES), "parse")
    if slug == "csprp_panel_site":
        return listings(lambda spider: [spider.site + path for path in PANEL_LISTINGS],
                        LinkExtractor(allow=PANEL_ARTICLES, restrict_xpaths="//main", deny_extensions=[]),
                        LinkExtractor(allow=PANEL_PAGES), "parse_detail", lambda: {"card": {}})
    if slug == "nspcc_learning":
        return listings(lambda spider: [spider.base + path for path in NSPCC_LISTINGS],
                        LinkExtractor(allow=NSPCC_ARTICLES), LinkExtractor(allow=NSPCC_PAGES), "parse_article")
    if slug == "childrens_commissioner":

        class RestBaseline(production):  # type: ignore[misc,valid-type]
            """The REST API's own links: the index, the type list's ``wp:items`` of the wanted types, then
            each collection's pages as ``X-WP-TotalPages`` counts them."""

            async def start(self):
                yield scrapy.Request(f"{self.site}/wp-json/", self.index)

            def index(self, response):
                if "wp/v2" in json.loads(response.text)["namespaces"]:
                    yield scrapy.Request(f"{self.site}/wp-json/wp/v2/types", self.types)

            def types(self, response):
                for slug, info in json.loads(response.text).items():
                    if slug in self.types_wanted:
                        collection = info["_links"]["wp:items"][0]["href"]
                        yield scrapy.Request(f"{collection}?per_page={self.per_page}&page=1", self.posts,
                                             cb_kwargs={"collection": collection, "post_type": slug, "page": 1})

            def posts(self, response, collection, post_type, page):
                for post in json.loads(response.text):
                    yield self.finish_item(self.item_from_rest(post, post_type))
                if page == 1:
                    for following in range(2, int(response.headers[b"X-WP-TotalPages"]) + 1):
                        yield scrapy.Request(f"{collection}?per_page={self.per_page}&page={following}", self.posts,
                                             cb_kwargs={"collection": collection, "post_type": post_type,
                                                        "page": following})

        return RestBaseline

    class ApiBaseline(production):  # type: ignore[misc,valid-type]
        async def start(self):
            yield scrapy.Request(self.search_url(0), self.search, cb_kwargs={"start": 0})

        def search(self, response, start):
            data = json.loads(response.text)
            for hit in data["results"]:
                yield scrapy.Request(f"https://www.gov.uk/api/content{hit['link']}", self.parse_content,
                                     cb_kwargs={"hit": hit})
            following = start + len(data["results"])
            if data["results"] and following < data["total"]:
                yield scrapy.Request(self.search_url(following), self.search, cb_kwargs={"start": following})

    return ApiBaseline


def bare_child(argv: list[str]) -> int:
    """Crawl the site with the baseline spider and Scrapy's own settings; print the stats."""
    import argparse

    from scrapy.crawler import CrawlerProcess

    from pipeline.config import load_config

    p = argparse.ArgumentParser()
    for name in ("--config", "--source", "--db", "--replay-address"):
        p.add_argument(name, required=True)
    args = p.parse_args(argv)
    config = load_config(args.config, db_override=args.db)
    source = config.source(args.source)
    process = CrawlerProcess(bare_settings(config, source, args.db, args.replay_address), install_root_handler=True)
    crawler = process.create_crawler(baseline_spider(args.source))
    process.crawl(crawler, options=dict(source.options), allowed_domains=list(source.allowed_domains))
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({k: v for k, v in stats.items() if isinstance(v, int | float)}))
    return 0


# ---------------------------------------------------------------- the comparison


def show_profile(report: Report, slug: str, config_path: Path, work: Path, server) -> None:
    """Where the pipeline's crawl process spends its time (cProfile; slower than the timed runs)."""
    import io
    import pstats

    out = work / f"{slug}.prof"
    pipeline_crawl(config_path, slug, work / f"{slug}-profile.db", server, work / f"crawl-overhead-{slug}.log", out)
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(str(out), stream=text).sort_stats(order).print_stats(30)
        report.note(f"{slug}: profile of the pipeline crawl process by {order}:\n" + text.getvalue())
    bare_out = work / f"{slug}-bare.prof"
    log = work / f"crawl-overhead-{slug}.log"
    bare_crawl(config_path, slug, work / f"{slug}-bare-profile.db", server, log, bare_out)
    pipe, bare = _by_module(pstats.Stats(str(out))), _by_module(pstats.Stats(str(bare_out)))
    rows = sorted(set(pipe) | set(bare), key=lambda m: bare.get(m, 0.0) - pipe.get(m, 0.0))[:25]
    report.note(f"{slug}: where the pipeline's main thread spends more than the bare spider's (own time by module, "
                "s, profiled: pipeline - bare = difference; the writer thread is not profiled):\n"
                + "\n".join(f"      {pipe.get(m, 0.0):7.3f} - {bare.get(m, 0.0):7.3f} = "
                            f"{pipe.get(m, 0.0) - bare.get(m, 0.0):7.3f}  {m}" for m in rows))


def _by_module(stats) -> dict[str, float]:
    """A profile's own time summed by module (a package's file, a project file, or a builtin)."""
    totals: dict[str, float] = {}
    for (path, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        if "site-packages/" in path:
            module = path.split("site-packages/", 1)[1]
        elif path.startswith(str(ROOT)):
            module = path[len(str(ROOT)) + 1:]
        elif path == "~":
            module = f"builtin {name[:50]}"
        else:
            module = f"stdlib {Path(path).name}"
        totals[module] = totals.get(module, 0.0) + own
    return totals


def _threads(crawl: Crawl) -> str:
    """The main thread's CPU per page and the rest's (the writer thread: SQLite and the full-text index)."""
    if crawl.main_cpu is None:
        return ""
    pages = max(crawl.pages, 1)
    return (f": main thread {1000 * crawl.main_cpu / pages:.2f}, other threads "
            f"{1000 * max(crawl.cpu - crawl.main_cpu, 0.0) / pages:.2f}")


def compare(report: Report, slug: str, config_path: Path, work: Path, server, repeat: int) -> None:
    log = work / f"crawl-overhead-{slug}.log"
    pipes, bares, differences = [], [], []
    for attempt in range(repeat):
        pipe, run = pipeline_crawl(config_path, slug, work / f"{slug}-pipeline-{attempt}.db", server, log)
        bare, stats = bare_crawl(config_path, slug, work / f"{slug}-bare-{attempt}.db", server, log)
        pipes.append(pipe)
        bares.append(bare)
        report.note(f"{slug} #{attempt + 1}: pipeline {pipe.pages} pages in {pipe.seconds:.1f} s ({pipe.rate:.0f}/s, "
                    f"CPU {1000 * pipe.cpu / max(pipe.pages, 1):.2f} ms/page{_threads(pipe)}), run {run['status']}, "
                    f"{run['items']} "
                    f"items, {run['new']} new, {run['errors']} errors; bare {bare.pages} pages in {bare.seconds:.1f} s "
                    f"({bare.rate:.0f}/s, CPU {1000 * bare.cpu / max(bare.pages, 1):.2f} ms/page)")
        report.note(f"  bare spider: {stats.get('item_scraped_count', 0)} items yielded (pipeline: {run['items']})")
        differences.append(abs(int(stats.get("item_scraped_count", 0)) - int(run["items"] or 0)))
        if run["status"] != "ok":
            report.note(f"  pipeline run message: {run['message']!r}")
    pipe, bare = min(pipes, key=lambda c: c.seconds), min(bares, key=lambda c: c.seconds)
    report.note(f"{slug}: from first to last request only (no process start-up): pipeline "
                f"{pipe.pages / max(pipe.span, 1e-9):.0f}/s, bare {bare.pages / max(bare.span, 1e-9):.0f}/s, ratio "
                f"{(pipe.pages / max(pipe.span, 1e-9)) / max(bare.pages / max(bare.span, 1e-9), 1e-9):.2f}")
    cpu_pipe = min(c.cpu / max(c.pages, 1) for c in pipes)
    cpu_bare = min(c.cpu / max(c.pages, 1) for c in bares)
    report.note(f"{slug}: CPU per page, least of each (less noisy than the wall clock on a shared machine): "
                f"pipeline {1000 * cpu_pipe:.2f} ms, bare {1000 * cpu_bare:.2f} ms, bare / pipeline "
                f"{cpu_bare / max(cpu_pipe, 1e-9):.2f} (the pipeline's own work per page: "
                f"{1000 * (cpu_pipe - cpu_bare):.2f} ms)")
    report.figure(f"{slug}: items yielded, |bare - pipeline| (the same work), worst run", max(differences), "==", 0,
                  fmt="{:.0f}", timing=False)
    report.figure(f"{slug}: throughput pipeline / bare ({pipe.rate:.0f} / {bare.rate:.0f} pages/s)",
                  pipe.rate / bare.rate if bare.rate else 0.0, ">=", TARGET)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--bare-child"]:
        return bare_child(argv[1:])
    p = sized_parser(__doc__, 5000, "per source", synthetic.SHAPES)
    p.add_argument("--repeat", type=int, default=1, help="alternate pipeline and bare N times; fastest counts")
    p.add_argument("--profile", action="store_true", help="then profile the pipeline's crawl process (cProfile)")
    args = p.parse_args(argv)
    n = 40 if args.smoke else args.publications
    report = Report("crawl overhead: full pipeline vs bare Scrapy spider (benchmarks/crawl_overhead.py)", args.smoke)
    from pipeline.replay import ReplayServer

    with workdir(args.workdir) as work:
        sites = {s: synthetic.build(work / "sites", s, n) for s in args.sources}
        config_path = bench_config(work, work / "unused.db", {s: site.options for s, site in sites.items()})
        report.note(f"{n} publications per source; sites: "
                    + ", ".join(f"{s} {site.pages} pages" for s, site in sites.items())
                    + f"; crawl logs in {work} (INFO, as in production); {replay_note()}")
        with child_output_to(work / "replay-server.log"), ReplayServer([s.folder for s in sites.values()]) as server:
            for slug in sites:
                compare(report, slug, config_path, work, server, max(1, args.repeat))
                if args.profile:
                    show_profile(report, slug, config_path, work, server)
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
