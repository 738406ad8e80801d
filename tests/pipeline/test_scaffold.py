"""``new-source``: run against a copy of the repository in tmp_path (its own output is never committed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from pipeline.config import Source
from pipeline.tools.scaffold import append_config_block
from tests.support import ROOT, run_cli

URL = "https://www.gov.uk/search/news-and-communications?organisations[]=ofsted"


@pytest.fixture
def repo(tmp_path):
    """The parts of the repository a new source touches, copied."""
    copy = tmp_path / "repo"
    for package in ("spiders", "pipeline", "storage"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tests" / "spiders").mkdir(parents=True)
    (copy / "tests" / "fixtures").mkdir()
    for name in ("tests/__init__.py", "tests/support.py", "tests/spiders/__init__.py", "config.yaml",
                 "pyproject.toml"):
        shutil.copyfile(ROOT / name, copy / name)
    return copy


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_new_source_writes_the_four_files_and_the_config_block(repo):
    before = (repo / "config.yaml").read_text(encoding="utf-8")
    result = run_cli("new-source", "ofsted_news", URL, "--root", str(repo))
    assert result.exit_code == 0, result.output
    for name in ("spiders/ofsted_news.py", "tests/fixtures/ofsted_news/manifest.json",
                 "tests/fixtures/ofsted_news/metadata.json", "tests/spiders/test_ofsted_news.py"):
        assert (repo / name).is_file(), name
    after = (repo / "config.yaml").read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))  # appended; every line and comment of the file kept
    block = yaml.safe_load(after)["sources"]["ofsted_news"]
    source = Source.model_validate({**block, "slug": "ofsted_news"})
    assert source.allowed_domains == ("www.gov.uk",) and source.options["start_url"] == URL
    assert "record --source ofsted_news" in result.output
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "spiders/ofsted_news.py",
                           "tests/spiders/test_ofsted_news.py"], cwd=repo, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_the_scaffolded_test_fails_until_the_spider_is_written(repo):
    assert run_cli("new-source", "ofsted_news", URL, "--root", str(repo)).exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(repo)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not e2e",
                          "tests/spiders/test_ofsted_news.py"], cwd=repo, env=env, capture_output=True, text=True)
    assert run.returncode == 1, run.stdout
    assert "2 failed" in run.stdout
    assert "record the site (safeguarding-news record --source ofsted_news" in run.stdout


@pytest.mark.parametrize(("slug", "url", "message"), [
    ("iwf", "https://www.iwf.org.uk/", "source 'iwf' exists already: spiders/iwf.py"),
    ("Ofsted-News", URL, "invalid slug 'Ofsted-News'"),
    ("_base", URL, "invalid slug '_base'"),
    ("class", URL, "invalid slug 'class'"),
    ("ofsted_news", "www.gov.uk/news", "invalid URL 'www.gov.uk/news'"),
])
def test_refusals_are_one_line_exit_2_and_write_nothing(repo, slug, url, message):
    before = tree(repo)
    result = run_cli("new-source", slug, url, "--root", str(repo))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {message}") and result.output.count("\n") == 1
    assert tree(repo) == before


def test_a_slug_only_in_config_is_taken(repo):
    config = repo / "config.yaml"
    config.write_text(config.read_text() + "  ofsted_news:\n    name: x\n", encoding="utf-8")
    result = run_cli("new-source", "ofsted_news", URL, "--root", str(repo))
    assert result.exit_code == 2 and "config.yaml: sources.ofsted_news" in result.output


def test_config_block_goes_inside_sources_when_other_sections_follow(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("user_agent: x\nsources:\n  a:\n    name: A\n\n# alerting\nalerts:\n  retry_minutes: 5\n")
    append_config_block(config, "  b:\n    name: B\n")
    assert config.read_text() == ("user_agent: x\nsources:\n  a:\n    name: A\n  b:\n    name: B\n\n# alerting\n"
                                  "alerts:\n  retry_minutes: 5\n")


@pytest.mark.parametrize("url", [
    'https://example.org/news"; import os; os.system("touch pwned"); x="',
    "https://example.org/news'\nimport os\n",
    "https://example.org/a\\b",
    "https://user:secret@example.org/news",
    "https://exa mple.org/news",
])
def test_a_url_that_could_break_out_of_generated_code_is_refused(repo, url):
    before = tree(repo)
    result = run_cli("new-source", "ofsted_news", url, "--root", str(repo))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: invalid URL") and result.output.count("\n") == 1
    assert tree(repo) == before


def test_generated_code_holds_the_url_as_a_literal(repo):
    """Whatever the URL, the spider module reads it back as data: parsed, not executed."""
    url = "https://www.gov.uk/search?organisations[]=ofsted&q=(a+b)*;$x=1&y=%22"
    assert run_cli("new-source", "ofsted_news", url, "--root", str(repo)).exit_code == 0
    import ast

    module = ast.parse((repo / "spiders" / "ofsted_news.py").read_text(encoding="utf-8"))
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in module.body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert values["START_URL"] == url
    block = yaml.safe_load((repo / "config.yaml").read_text(encoding="utf-8"))["sources"]["ofsted_news"]
    assert block["options"]["start_url"] == url
