"""Beyond one machine: how far SQLite's single writer carries many sources crawling at once.

    python benchmarks/writers.py [--publications 20000] [--writers 1 2 4 8] [--smoke] [--strict] [--workdir DIR]

Each crawl process writes its publications in batches (``store_batch``, ``crawl.batch_size``), in
transactions of its own; SQLite lets one transaction write at a time and the others wait
(``busy_timeout``). Here K processes (K = ``--writers``) each store their share of the same synthetic
publications (benchmarks/storage_search.py's: realistic text, full-text index) into one fresh database at
once, as K sources crawling together would; the generation of the text is done before the clock starts.

Figures: the aggregate publications per second at each K, beside one writer's, and the longest wait for the
write lock. A politeness-bound source (config.yaml: one request at a time, ``download_delay`` 2 s) brings at
most 0.5 pages per second, so the number of sources one database can take is the aggregate rate divided by
that. Target (a floor for 50 sources): the aggregate rate at the largest K at least 50 x 0.5 = 25 per second.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ROOT, Report, parser, workdir

POLITE_RATE = 0.5  # pages per second per source: one request at a time, 2 s apart (config.yaml politeness)
SOURCES_FLOOR = 50


def _writer(path: str, first: int, count: int, batch: int, start_at: float, out) -> None:
    from benchmarks.storage_search import publication
    from storage.db import open_db
    from storage.publications import store_batch

    pubs = [publication(i) for i in range(first, first + count)]
    db = open_db(path)
    waits = []
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.perf_counter()
    for i in range(0, len(pubs), batch):
        t = time.perf_counter()
        store_batch(db, pubs[i:i + batch], "2026-01-01T00:00:00Z")
        waits.append(time.perf_counter() - t)
    out.put((time.perf_counter() - started, max(waits)))
    db.close()


def run(path: Path, writers: int, total: int, batch: int) -> tuple[float, float]:
    """Wall seconds for ``writers`` processes to store ``total`` publications together; longest batch."""
    from storage.db import open_db

    open_db(path).close()  # migrated once, before the writers
    share = total // writers
    out: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 2 + 0.0004 * share  # after every writer has generated its text
    procs = [multiprocessing.Process(target=_writer, args=(str(path), k * share, share, batch, start_at, out))
             for k in range(writers)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return max(r[0] for r in results), max(r[1] for r in results)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--publications", type=int, default=20_000, help="stored in all, at each K (default 20000)")
    p.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8])
    args = p.parse_args(argv)
    total = 400 if args.smoke else args.publications
    report = Report("one database, many writers (benchmarks/writers.py)", args.smoke)
    from pipeline.config import load_config

    batch = load_config(ROOT / "config.yaml").crawl.batch_size
    report.note(f"{total} publications stored at each K, batches of {batch}; politeness-bound source: "
                f"{POLITE_RATE} pages/s")
    rates = {}
    with workdir(args.workdir) as work:
        for k in args.writers:
            path = work / f"writers-{k}.db"
            seconds, longest = run(path, k, total, batch)
            stored = total // k * k
            rates[k] = stored / seconds
            report.note(f"{k} writer(s): {stored} in {seconds:.1f} s, {rates[k]:.0f} publications/s together; "
                        f"longest batch (lock wait included) {longest:.2f} s; one database could take "
                        f"{rates[k] / POLITE_RATE:,.0f} politeness-bound sources")
    first, last = min(args.writers), max(args.writers)
    report.note(f"aggregate rate, {last} writers / {first} writer: {rates[last] / rates[first]:.2f} (one writer at a "
                f"time: more processes add no write throughput)")
    report.figure(f"aggregate rate at {last} writers (publications/s) vs {SOURCES_FLOOR} polite sources",
                  rates[last], ">=", SOURCES_FLOOR * POLITE_RATE, "/s", "{:.0f}")
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
