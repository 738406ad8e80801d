"""docs/hardening.md is kept current: every test it names exists, every row has the four columns, and no
row claims an observed behaviour without a test (or a test without an observation)."""

import ast
import re

import pytest

from tests.support import ROOT

PAGE = ROOT / "docs" / "hardening.md"
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> list[list[str]]:
    found = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("|---") and not line.startswith("| Input or fault"):
            found.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return found


def defined_tests(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_the_table_has_rows_of_four_columns():
    table = rows()
    assert len(table) >= 19, "every input and fault of the hardening survey has a row"
    assert all(len(r) == 4 and all(r) for r in table), [r for r in table if len(r) != 4 or not all(r)]


@pytest.mark.parametrize("row", rows(), ids=lambda r: r[0][:60])
def test_every_named_test_exists_and_every_observation_has_one(row):
    _, _, observed, test = row
    named = NAMED.findall(test)
    if test == "pending":
        assert observed == "pending", "an observation needs the test that proves it"
        return
    assert named, f"name tests as `tests/…py::test_name` (got {test!r})"
    for path, name in named:
        assert (ROOT / path).is_file(), path
        assert name in defined_tests(path), f"{path} has no test {name}"
