"""The one-way imports of docs/architecture.md, stated as import-linter contracts in pyproject.toml and
checked here with the real `lint-imports` over the real tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("pipeline", "storage", "spiders", "benchmarks", "tests")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
               "sys.exit(lint_imports_command())", "--no-cache"]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root)},
                          timeout=120)


def test_the_tree_keeps_every_import_contract():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    contracts = pyproject_contracts()
    assert f"Contracts: {len(contracts)} kept, 0 broken." in run.stdout
    for name in contracts:
        assert f"{name} KEPT" in run.stdout


def pyproject_contracts() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def _copy_of_the_tree(tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__", "fixtures", "*.db"))
    shutil.copyfile(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_a_spider_that_imports_storage_breaks_a_contract(tmp_path):
    copy = _copy_of_the_tree(tmp_path)
    base = copy / "spiders" / "_base.py"
    base.write_text(base.read_text(encoding="utf-8") + "\nimport storage.db  # a spider reaching the database\n",
                    encoding="utf-8")
    run = lint_imports(copy)
    assert run.returncode != 0
    assert "spiders reach the pipeline only through items and the run log BROKEN" in run.stdout
    assert "spiders._base -> storage.db" in run.stdout


def test_the_parent_importing_the_crawl_breaks_a_contract(tmp_path):
    copy = _copy_of_the_tree(tmp_path)
    status = copy / "pipeline" / "ops" / "status.py"
    status.write_text(status.read_text(encoding="utf-8") + "\nimport pipeline.crawl.process\n", encoding="utf-8")
    run = lint_imports(copy)
    assert run.returncode != 0
    assert "the parent reaches the crawl only through its subprocess entry BROKEN" in run.stdout
