"""Memory: peak resident memory of the crawl process during a full crawl of 5,000 publications.

    python benchmarks/memory.py [--publications 5000] [--sources csprp_govuk iwf] [--smoke] [--strict]
                                [--workdir DIR]

For each source shape, a synthetic recorded site (benchmarks/synthetic.py) is crawled into a fresh database
by ``crawl_sources`` (what ``safeguarding-news crawl --source S --replay SITE`` runs), inside a helper
process of its own, so that ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` there is the peak resident set of that
one crawl process (Linux reports it in KiB). Target: at most 300 MB (10^6 bytes) per crawl process. The
helper's own peak (the runner, with the replay server and story matching after the crawl) is printed too.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic
from benchmarks._common import ROOT, Report, bench_config, crawl, replay_note, sized_parser, workdir

TARGET_MB = 300


def helper(argv: list[str]) -> int:
    """Run one crawl and print the peak RSS of its crawl process and of this process, in bytes."""
    config_path, slug, db, site, log = argv
    result = crawl(Path(config_path), slug, Path(db), Path(site), Path(log))
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    print(json.dumps({
        "child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale,
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
        "seconds": result.seconds, "pages": result.pages,
        "run": {k: result.run[k] for k in ("status", "items", "new", "errors")},
    }))
    return 0


def measure(report: Report, slug: str, n: int, work: Path) -> None:
    site = synthetic.build(work / "sites", slug, n)
    db = work / f"{slug}.db"
    config_path = bench_config(work, db, {slug: site.options})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--helper", str(config_path), slug, str(db),
                          str(site.folder), str(work / f"memory-{slug}.log")],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    report.note(f"{slug}: {data['pages']} pages in {data['seconds']:.1f} s, run {data['run']}; runner process "
                f"(replay server, story matching) peaked at {data['self'] / 1e6:.0f} MB")
    report.figure(f"{slug}: peak RSS of the crawl process, {n} publications", data["child"] / 1e6, "<=", TARGET_MB,
                  "MB", "{:.0f}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--helper"]:
        return helper(argv[1:])
    p = sized_parser(__doc__, 5000, "per source", synthetic.SHAPES)
    args = p.parse_args(argv)
    n = 40 if args.smoke else args.publications
    report = Report("memory: peak RSS of a full crawl (benchmarks/memory.py)", args.smoke)
    report.note(f"{n} publications per source, one crawl process each; {replay_note()}")
    with workdir(args.workdir) as work:
        for slug in args.sources:
            measure(report, slug, n, work)
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
