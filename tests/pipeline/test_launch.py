"""The one launcher of crawl processes (pipeline.ops.launch): its command line and environment."""

import os
import sys

from pipeline.ops.launch import ROOT, crawl_command, crawl_env


def test_the_command_runs_the_crawl_entry_with_its_run():
    cmd = crawl_command("c.yaml", "iwf", "x.db", 7, replay_address="127.0.0.1:9", extra=["--record-limit", "3"],
                        python_args=["-X", "dev"])
    assert cmd == [sys.executable, "-X", "dev", "-m", "pipeline.crawl.process", "--config", "c.yaml", "--source",
                   "iwf", "--db", "x.db", "--run-id", "7", "--replay-address", "127.0.0.1:9", "--record-limit", "3"]


def test_the_child_imports_this_checkout_first():
    env = crawl_env()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    assert (ROOT / "pipeline" / "crawl" / "process.py").exists()
