"""What ``crawl`` shows while it runs and when it ends.

On a terminal: a live table, one line per source, redrawn from the ``runs`` rows the crawl processes
update as they store batches (``rich``). Elsewhere (a pipe, a log file, ``--quiet``, ``--verbose``,
``--log-format json``): one plain line per event (a source started, a source finished). Either way, a
summary table at the end whose columns say what they count, with a legend.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

SUMMARY_COLUMNS = ("source", "status", "pages", "new", "changed", "unchanged", "not seen", "invalid", "errors",
                   "door", "elapsed")
LEGEND = ("new: publications stored for the first time; changed: stored again with a new version; unchanged: "
          "seen as already stored; not seen: stored earlier, not seen by this run; invalid: items that could "
          "not be read (named in the run's message); the full log of each run is in its log file (status "
          "shows where)")


def _elapsed(run: dict[str, Any], now: float, started: dict[int, float]) -> str:
    seconds = int(now - started.setdefault(run["id"], now))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def summary_rows(runs: list[dict[str, Any]], elapsed: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """The summary's cells of each run (``not_seen`` is added by the runner once a run has ended)."""
    from pipeline.items.dates import parse_iso

    rows = []
    for run in runs:
        took = (elapsed or {}).get(run["id"], "")
        if not took and run.get("finished_at") and run.get("started_at"):
            seconds = int((parse_iso(run["finished_at"]) - parse_iso(run["started_at"])).total_seconds())
            took = f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
        not_seen = run.get("not_seen")
        rows.append({"source": run["source"], "status": run["status"], "pages": run.get("pages") or 0,
                     "new": run.get("new") or 0, "changed": run.get("updated") or 0,
                     "unchanged": run.get("unchanged") or 0, "not seen": "" if not_seen is None else not_seen,
                     "invalid": run.get("invalid") or 0, "errors": run.get("errors") or 0,
                     "door": _short(run.get("door") or ""), "elapsed": took})
    return rows


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class LiveDisplay:
    """A rich Live table on stderr, redrawn at each progress call; closed by ``stop``."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=4, transient=True)
        self.started: dict[int, float] = {}
        self.live.start()

    def __call__(self, runs: list[dict[str, Any]]) -> None:
        from rich import box
        from rich.table import Table

        now = time.monotonic()
        # one line per source: `not seen` is known once a run has ended (it is in the summary), and on a
        # narrow terminal the door is left out too
        columns = [c for c in SUMMARY_COLUMNS if c != "not seen" and (c != "door" or self.console.width >= 110)]
        table = Table(title="crawling (Ctrl-C stops every source cleanly)", title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        longest = max((len(r["source"]) for r in runs), default=6)
        for column in columns:
            table.add_column(column, justify="left" if column in ("source", "status", "door") else "right",
                             no_wrap=True, overflow="ellipsis",
                             min_width=longest if column == "source" else 4 if column == "door" else len(column),
                             max_width=30 if column == "door" else None)
        elapsed = {r["id"]: _elapsed(r, now, self.started) for r in runs if r["status"] == "running"}
        for row in summary_rows(runs, elapsed):
            table.add_row(*(str(row[c]) for c in columns))
        self.live.update(table)

    def stop(self) -> None:
        self.live.stop()


class EventLines:
    """One plain line on stderr per event: a source started, a source ended with its figures; with
    ``as_log`` a log record instead (JSON lines under ``--log-format json``)."""

    def __init__(self, as_log: bool = False) -> None:
        self.seen: dict[int, str] = {}
        self.as_log = as_log

    def _say(self, line: str) -> None:
        if self.as_log:
            import logging

            logging.getLogger("pipeline.cli.progress").info("%s", line)
        else:
            click.echo(line, err=True)

    def __call__(self, runs: list[dict[str, Any]]) -> None:
        for run in runs:
            if self.seen.get(run["id"]) == run["status"]:
                continue
            self.seen[run["id"]] = run["status"]
            if run["status"] == "running":
                log = f" (log {run['log_path']})" if run.get("log_path") else ""
                self._say(f"{run['source']}: crawling, run {run['id']}{log}")
            else:
                self._say(f"{run['source']}: {run['status']}: {run.get('pages') or 0} pages, {run.get('new') or 0}"
                           f" new, {run.get('updated') or 0} changed, {run.get('unchanged') or 0} unchanged, "
                           f"{run.get('invalid') or 0} invalid, {run.get('errors') or 0} errors")

    def stop(self) -> None:
        return None


def display(quiet: bool, verbose: bool, log_format: str) -> LiveDisplay | EventLines | None:
    """The live table on a terminal; plain event lines otherwise; nothing with ``--quiet``."""
    if quiet:
        return None
    if sys.stderr.isatty() and not verbose and log_format == "text":
        return LiveDisplay()
    return EventLines(as_log=log_format == "json")
