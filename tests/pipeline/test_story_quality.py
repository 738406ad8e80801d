"""Story grouping on the labelled pairs of the recorded sites: floors that may only rise."""

import json

import pytest

from benchmarks.story_quality import PRECISION_FLOOR, RECALL_FLOOR, evaluate, load_recorded_sites
from pipeline.config import load_config
from tests.support import CONFIG, FIXTURES

PAIRS = FIXTURES / "_stories" / "pairs.json"


def test_floors_only_rise():
    assert PRECISION_FLOOR >= 0.95 and RECALL_FLOOR >= 0.90


def test_the_labelled_set_is_big_enough_and_has_hard_negatives():
    pairs = json.loads(PAIRS.read_text(encoding="utf-8"))["pairs"]
    assert len(pairs) >= 60
    assert sum(p["same"] for p in pairs) >= 10
    assert sum(p["note"].startswith("hard") for p in pairs if not p["same"]) >= 8


@pytest.mark.parametrize("rebuild", [True, False], ids=["rebuild", "incremental"])
def test_precision_and_recall_meet_their_floors(tmp_path, rebuild):
    db = tmp_path / "stories.db"
    load_recorded_sites(load_config(CONFIG), FIXTURES, db)
    quality = evaluate(db, PAIRS, rebuild=rebuild)
    assert quality.precision >= PRECISION_FLOOR, quality.false_positives
    assert quality.recall >= RECALL_FLOOR, quality.false_negatives
