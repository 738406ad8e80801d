"""The runner: a crawl process that cannot start, and Ctrl-C during a crawl."""

import json
import shutil

import pytest

import pipeline.ops.runner as runner
from pipeline.config import load_config
from pipeline.ops import launch
from tests.support import CONFIG, FIXTURES, query


def test_a_crawl_process_that_cannot_start_is_a_failed_run(tmp_path, monkeypatch):
    def no_process(*args, **kwargs):
        raise OSError("no such interpreter")

    monkeypatch.setattr(launch.subprocess, "Popen", no_process)
    config = load_config(CONFIG)
    runs = runner.crawl_sources(config, [config.source("csprp_govuk")], str(tmp_path / "x.db"),
                                replay=[str(FIXTURES / "csprp_govuk")])
    assert [(r["status"], r["message"]) for r in runs] == [
        ("failed", "cannot start the crawl process: no such interpreter")]


@pytest.mark.e2e
def test_ctrl_c_stops_crawls_and_closes_their_runs(tmp_path, monkeypatch):
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "csprp_govuk", site)
    manifest = json.loads((site / "manifest.json").read_text())
    for url in manifest:
        if url.endswith("/child-safeguarding-practice-review-panel-first-national-review"):  # listed last
            manifest[url]["delay"] = 60
    (site / "manifest.json").write_text(json.dumps(manifest))
    config = load_config(CONFIG)
    config = config.model_copy(update={"crawl": config.crawl.model_copy(update={"kill_grace_seconds": 2})})
    real_sleep, calls = runner.time.sleep, {"n": 0}

    def sleep_then_interrupt(seconds):
        calls["n"] += 1
        if calls["n"] == 80:  # about four seconds into the crawl: the slow page is being waited for
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(runner.time, "sleep", sleep_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        runner.crawl_sources(config, [config.source("csprp_govuk")], str(tmp_path / "x.db"), replay=[str(site)])
    run = query(tmp_path / "x.db", "select * from runs")[0]
    assert run["status"] == "interrupted" and run["finished_at"]
    assert query(tmp_path / "x.db", "pragma integrity_check")[0]["integrity_check"] == "ok"


@pytest.mark.e2e
def test_a_crawl_brings_a_built_search_index_up_to_date(tmp_path):
    # an analyst built the search index once; the next crawl's publications are read into it by the
    # runner, so that `search` answers from the index at once instead of falling back to FTS5
    from storage import search_index
    from storage.db import open_db

    config = load_config(CONFIG)
    db_path = tmp_path / "x.db"
    search_index.rebuild(open_db(db_path))  # built on the empty database
    state_file = search_index.index_dir(db_path) / search_index.STATE_FILE
    built = json.loads(state_file.read_text())
    [run] = runner.crawl_sources(config, [config.source("csprp_govuk")], str(db_path),
                                 replay=[str(FIXTURES / "csprp_govuk")])
    assert run["status"] == "ok"
    db = open_db(db_path)
    assert search_index.behind(db, built) == 7  # the crawl's seven publications...
    assert search_index.behind(db, json.loads(state_file.read_text())) == 0  # ...read into the index


def test_no_search_index_means_nothing_to_bring_up_to_date(tmp_path):
    from storage import search_index
    from storage.db import open_db

    db = open_db(tmp_path / "x.db")
    runner.search_index_step(load_config(CONFIG), db, [], None)  # type: ignore[arg-type]
    assert not search_index.index_dir(tmp_path / "x.db").exists()
