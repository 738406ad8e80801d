"""The crawl process logs at its configured level: Scrapy's debug messages ("Crawled (200)", "Scraped from")
are not even made into records at INFO (pipeline.crawl.process._log_from), and still logged at DEBUG."""

import re
import subprocess
import sys

import pytest

from tests.ops import SITE, SLUG, write_config
from tests.support import ROOT

pytestmark = pytest.mark.e2e


def crawl_log(tmp_path, level: str) -> str:
    folder = tmp_path / level
    folder.mkdir()
    config = write_config(folder, crawl={"log_level": level})
    proc = subprocess.run([sys.executable, "-m", "pipeline", "crawl", "--source", SLUG, "--replay", str(SITE),
                           "--db", str(folder / "x.db"), "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    logs = list((folder / "logs").glob(f"run-*-{SLUG}.log"))
    assert len(logs) == 1, logs
    return logs[0].read_text(encoding="utf-8")


def info_lines(log: str) -> list[str]:
    """INFO and above, without their time stamps and the lines that carry timings or memory."""
    lines = [re.sub(r"^\S+ \S+ ", "", line) for line in log.splitlines() if re.search(r"\] (INFO|WARNING|ERROR)", line)]
    return [line for line in lines if not re.search(r"Telnet|Crawled \d+ pages|elapsed|memory|\d+\.\d+ s", line)]


def test_the_crawl_logs_debug_messages_only_when_configured_and_the_rest_alike(tmp_path):
    info, debug = crawl_log(tmp_path, "INFO"), crawl_log(tmp_path, "DEBUG")
    assert "] DEBUG" not in info and "Crawled (200)" not in info
    assert len(re.findall(r"Crawled \(200\)", debug)) >= 7 and "Scraped from" in debug
    assert "root logger level: DEBUG" in debug  # the level is set once the reactor runs
    assert len(info_lines(info)) == len(info_lines(debug)) > 5
