"""What the benchmark scripts share: the machine line, figures printed beside their targets, a config for
crawling synthetic sites, and crawls through the production code.

Every figure is printed as ``MET`` or ``NOT MET`` beside its target. These machines are shared and noisy,
so a missed performance target does not fail the script (exit 0) unless ``--strict`` is given; comparisons
are ratios measured in the same run. In ``--smoke`` mode sizes are tiny and timing targets do not apply
(printed as ``smoke``); counts that do not depend on timing are still judged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine() -> str:
    """``2 CPUs, 23.5 GiB RAM, Python 3.11.7, Linux 6.1 x86_64`` (the load average says how busy it was)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        ram = f"{pages / 2**30:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram = "RAM unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs (nproc), {ram}, Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()} {platform.machine()}; "
            f"load average {load:.2f} at start")


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[-1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks the script works")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    p.add_argument("--workdir", help="where to put the synthetic sites and databases (default: a temporary "
                                     "folder, removed afterwards)")
    return p


def sized_parser(doc: str, publications: int, meaning: str, shapes: Iterable[str] = ()) -> argparse.ArgumentParser:
    """The common options plus ``--publications`` (how many, ``meaning`` says of what) and, for the benchmarks
    that crawl synthetic sites, ``--sources`` (which shapes)."""
    p = parser(doc)
    p.add_argument("--publications", type=int, default=publications, help=f"{meaning} (default {publications})")
    if shapes:
        p.add_argument("--sources", nargs="+", default=list(shapes), choices=list(shapes))
    return p


@contextlib.contextmanager
def workdir(path: str | None) -> Iterator[Path]:
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        yield Path(path)
    else:
        with tempfile.TemporaryDirectory(prefix="sgn-bench-") as tmp:
            yield Path(tmp)


@dataclass
class Report:
    """Figures beside their targets; ``finish`` prints the verdict line and gives the exit status."""

    title: str
    smoke: bool = False
    figures: list[tuple[str, bool | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        print(f"== {self.title}{'  [SMOKE: tiny sizes, timing targets not judged]' if self.smoke else ''}")
        print(f"   machine: {machine()}")
        print(f"   date:    {now_utc()}")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        print(f"   {text}")
        sys.stdout.flush()

    def figure(self, name: str, value: float, op: str, target: float, unit: str = "", fmt: str = "{:.2f}",
               timing: bool = True) -> bool | None:
        """Print ``name: value (target op target) MET`` and remember the verdict (None in smoke mode when
        the figure is a timing)."""
        met = {"<=": value <= target, "<": value < target, ">=": value >= target, "==": value == target}[op]
        verdict: bool | None = None if (self.smoke and timing) else met
        shown = "smoke" if verdict is None else "MET" if met else "NOT MET"
        u = f" {unit}" if unit else ""
        print(f"   {name:<64} {fmt.format(value)}{u:<6} target {op} {fmt.format(target)}{u:<6} {shown}")
        sys.stdout.flush()
        self.figures.append((name, verdict))
        return verdict

    def finish(self, strict: bool) -> int:
        judged = [(n, v) for n, v in self.figures if v is not None]
        missed = [n for n, v in judged if not v]
        if missed:
            print(f"   {len(missed)} of {len(judged)} targets NOT MET: {'; '.join(missed)}")
        else:
            print(f"   all {len(judged)} judged targets met")
        return 1 if (strict and missed) else 0


# ---------------------------------------------------------------- crawling synthetic sites


def bench_config(folder: Path, db: Path, source_options: dict[str, dict[str, Any]]) -> Path:
    """config.yaml as it is, with the database in ``folder`` and the given source options added (a synthetic
    site of 5,000 IWF articles has more listing pages than ``max_listing_pages`` allows)."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["database"] = str(db)
    for slug, options in source_options.items():
        config["sources"][slug].setdefault("options", {}).update(options)
    path = folder / "bench-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def child_output_to(log: Path) -> Iterator[None]:
    """Send this process's stderr (and so its crawl children's, which inherit it) to ``log``: a crawl of
    5,000 pages logs at INFO as in production, without flooding the terminal."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "ab") as out:
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def watched_replay_servers() -> Iterator[list]:
    """The replay servers that ``crawl_sources`` starts, kept for their ``hits`` (what the site saw)."""
    from pipeline.ops import runner
    from pipeline.replay import ReplayServer

    started: list[ReplayServer] = []

    class Watched(ReplayServer):
        def start(self) -> ReplayServer:
            started.append(self)
            return super().start()

    original = runner.ReplayServer
    runner.ReplayServer = Watched
    try:
        yield started
    finally:
        runner.ReplayServer = original


@dataclass
class CrawlResult:
    seconds: float
    run: dict[str, Any]
    hits: list  # pipeline.replay.Hit, robots.txt left out

    @property
    def pages(self) -> int:
        return len(self.hits)

    @property
    def full_downloads(self) -> int:
        """Responses that carried a body: not 304, not HEAD."""
        return sum(1 for h in self.hits if h.status != 304 and h.method == "GET")

    @property
    def stats(self) -> dict[str, Any]:
        return json.loads(self.run.get("stats") or "{}")


def crawl(config_path: Path, slug: str, db: Path, site: Path, log: Path) -> CrawlResult:
    """One ``safeguarding-news crawl --source SLUG --replay SITE`` (``pipeline.ops.runner.crawl_sources``: the
    crawl process, then story matching and health checks), timed from start to end."""
    from pipeline.config import load_config
    from pipeline.ops.runner import crawl_sources

    config = load_config(config_path, db_override=str(db))
    with watched_replay_servers() as servers, child_output_to(log):
        started = time.monotonic()
        runs = crawl_sources(config, [config.source(slug)], str(db), replay=[str(site)])
        seconds = time.monotonic() - started
    hits = [h for s in servers for h in s.hits if not h.url.endswith("/robots.txt")]
    return CrawlResult(seconds, runs[0], hits)


def replay_note() -> str:
    """A warning when the replay server still stalls responses (see pipeline/replay.py)."""
    import inspect

    from pipeline import replay

    problems = []
    if not getattr(replay._Handler, "disable_nagle_algorithm", False):
        problems.append("Nagle's algorithm on (each response waits ~40 ms for a delayed ACK)")
    if "request_queue_size" not in inspect.getsource(replay.ReplayServer.start):
        problems.append("listen backlog of 5 (dropped connections stall a crawl 1 s every dozen requests)")
    if not problems:
        return "replay server: TCP_NODELAY, listen backlog 128"
    return f"WARNING: the replay server has {' and '.join(problems)}: crawl figures measure those stalls"


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
