"""The one way the parent starts a crawl: ``python -m pipeline.crawl.process`` in a process of its own.

The parent never imports the crawl (Scrapy, Twisted, spiders): it only knows this command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]  # the checkout holding pipeline/, storage/ and spiders/
ENTRY = "pipeline.crawl.process"

Output = int | IO[bytes] | None  # what Popen takes for stdout and stderr


def crawl_command(config_path: str | Path, source: str, db_path: str | Path, run_id: int, *,
                  replay_address: str | None = None, extra: Sequence[str] = (),
                  python_args: Sequence[str] = ()) -> list[str]:
    """The crawl process's command line; ``python_args`` go before ``-m`` (say a profiler's)."""
    cmd = [sys.executable, *python_args, "-m", ENTRY, "--config", str(config_path), "--source", source,
           "--db", str(db_path), "--run-id", str(run_id)]
    if replay_address:
        cmd += ["--replay-address", replay_address]
    return [*cmd, *extra]


def crawl_env() -> dict[str, str]:
    """This environment, with the checkout first on PYTHONPATH so that the child imports the same code."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def launch_crawl(config_path: str | Path, source: str, db_path: str | Path, run_id: int, *,
                 replay_address: str | None = None, extra: Sequence[str] = (), python_args: Sequence[str] = (),
                 stdout: Output = None, stderr: Output = None, cwd: str | Path | None = None
                 ) -> subprocess.Popen[bytes]:
    """Start one crawl of ``source`` writing to run ``run_id``; OSError when it cannot start.

    Its own session: a Ctrl-C in the terminal reaches the parent, which stops crawls gracefully. It dies
    with this process (``--parent-pid``: Linux ``PR_SET_PDEATHSIG``), even when this one is killed."""
    cmd = crawl_command(config_path, source, db_path, run_id, replay_address=replay_address,
                        extra=[*extra, "--parent-pid", str(os.getpid())], python_args=python_args)
    return subprocess.Popen(cmd, env=crawl_env(), stdout=stdout, stderr=stderr, cwd=cwd, start_new_session=True)
