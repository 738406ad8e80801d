"""Start-up: how long `--help`, `status` and `search` take from the command line to their answer.

    python benchmarks/startup.py [--repeat 10] [--smoke] [--strict] [--workdir DIR]

A database is made once by crawling the demo's recorded csprp_govuk site; then each command runs
``--repeat`` times as ``python -m pipeline ...`` in a fresh interpreter, and the fastest run is the figure
(the least disturbed by the other work of a shared machine; the median is printed beside it). Target:
under 0.2 s each. Also judged in every mode (not a timing): which heavy modules each command imports
(``--help``: none; ``status``: none either (the quick view of config.yaml, plain sqlite3, cron times without
APScheduler); ``search``: no pydantic, no numpy, no scrapy).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ROOT, Report, parser, workdir

TARGET_SECONDS = 0.2
HEAVY = ("pydantic", "sqlite_utils", "numpy", "scrapy", "twisted", "rich", "apscheduler")
FORBIDDEN = {"--help": set(HEAVY),
             "status": set(HEAVY),
             "search": {"pydantic", "numpy", "scrapy", "twisted", "rich", "apscheduler"}}
PROBE = """
import runpy, sys, json
sys.argv = ["safeguarding-news", *json.loads(sys.argv[1])]
try:
    runpy.run_module("pipeline", run_name="__main__")
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def commands(db: Path) -> dict[str, list[str]]:
    return {"--help": ["--help"], "status": ["status", "--db", str(db)],
            "search": ["search", "neglect", "--db", str(db)]}


def timed(args: list[str], cpu: list[float] | None = None) -> float:
    """Seconds from command to answer; the child's CPU seconds (user + system) are appended to ``cpu``:
    on a loaded shared machine they show what the command itself costs, the wall clock what it waited."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, check=False)
    spent = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return spent


def heavy_imports(args: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    return json.loads(out.stderr.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--repeat", type=int, default=10, help="runs of each command (default 10; smoke: 3)")
    args = p.parse_args(argv)
    repeat = 3 if args.smoke else args.repeat
    report = Report("start-up of --help, status and search (benchmarks/startup.py)", smoke=args.smoke)
    with workdir(args.workdir) as work:
        db = work / "startup.db"
        site = ROOT / "pipeline" / "tools" / "demo" / "sites" / "csprp_govuk"
        subprocess.run([sys.executable, "-m", "pipeline", "crawl", "--source", "csprp_govuk", "--replay", str(site),
                        "--db", str(db), "--quiet"], cwd=ROOT, capture_output=True, check=True)
        report.note(f"database: a crawl of {site.relative_to(ROOT)}; each command run {repeat} times, fastest shown")
        for name, cmd in commands(db).items():
            timed(cmd)  # the first run fills the file cache and writes .pyc files
            cpu: list[float] = []
            times = [timed(cmd, cpu) for _ in range(repeat)]
            report.note(f"{name}: median {statistics.median(times):.3f} s, slowest {max(times):.3f} s; CPU time "
                        f"(user + system) least {min(cpu):.3f} s, median {statistics.median(cpu):.3f} s")
            report.figure(f"{name}: seconds from command to answer (fastest of {repeat})", min(times), "<",
                          TARGET_SECONDS, "s", "{:.3f}")
            loaded = heavy_imports(cmd)
            bad = sorted(set(loaded) & FORBIDDEN[name])
            report.note(f"{name}: heavy modules imported: {', '.join(loaded) or 'none'}")
            report.figure(f"{name}: modules it should not import ({', '.join(sorted(FORBIDDEN[name]))})", len(bad),
                          "==", 0, "", "{:.0f}", timing=False)
    return report.finish(args.strict)


if __name__ == "__main__":
    sys.exit(main())
