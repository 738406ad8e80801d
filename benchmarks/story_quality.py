"""Precision and recall of story grouping on the labelled pairs (tests/fixtures/_stories/pairs.json): pairs
of publication URLs from the recorded sites marked ``same`` (one story) or not, with hard negatives (the
Panel's annual report 2022 to 2023 against 2023 to 2024; two press notices). A test pins the floors.

    python benchmarks/story_quality.py

Every coded source's recorded site is parsed offline into a temporary database, stories are derived
(full rebuild, then again incrementally from scratch), and each labelled pair is checked.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importlib  # noqa: E402
import json  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from pipeline import stories  # noqa: E402
from pipeline.config import Config, load_config  # noqa: E402
from pipeline.items.normalise import normalise  # noqa: E402
from storage.db import open_db  # noqa: E402
from storage.publications import store_batch  # noqa: E402

PRECISION_FLOOR = 0.95  # floors may only rise (tests/pipeline/test_story_quality.py pins them)
RECALL_FLOOR = 0.90
PAIRS = ROOT / "tests" / "fixtures" / "_stories" / "pairs.json"


@dataclass(frozen=True)
class Quality:
    pairs: int
    precision: float
    recall: float
    false_positives: list[tuple[str, str]]
    false_negatives: list[tuple[str, str]]


def load_recorded_sites(config: Config, fixtures: Path, db_path: Path) -> None:
    """Every coded source's recorded site parsed offline (no engine, no network) into a database."""
    from pipeline.tools.offline import crawl_offline

    database = open_db(db_path)
    for slug, source in config.sources.items():
        module = importlib.import_module(f"spiders.{slug}")
        spider_cls = next(v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", None) == slug)
        result = crawl_offline(spider_cls, fixtures / slug, dict(source.options))
        pubs = {}
        for item in result.items:
            try:
                pub = normalise(item, source.trailing_slash)
            except ValueError:
                continue
            pubs.setdefault(pub.id, pub)
        store_batch(database, pubs.values(), "2026-01-01T00:00:00Z")
    database.close()


def evaluate(db_path: Path, pairs_path: Path, rebuild: bool = True) -> Quality:
    database = open_db(db_path)
    (stories.rebuild if rebuild else stories.match_pending)(database)
    cluster = {r["url"]: r["cluster_id"] for r in database.query("select url, cluster_id from publications")}
    database.close()
    labelled = json.loads(pairs_path.read_text(encoding="utf-8"))["pairs"]
    tp = fp = fn = 0
    false_pos, false_neg = [], []
    for pair in labelled:
        a, b = pair["a"], pair["b"]
        missing = [u for u in (a, b) if u not in cluster]
        if missing:
            raise ValueError(f"labelled URL not in the recorded sites: {missing[0]}")
        predicted = cluster[a] is not None and cluster[a] == cluster[b]
        if predicted and pair["same"]:
            tp += 1
        elif predicted:
            fp += 1
            false_pos.append((a, b))
        elif pair["same"]:
            fn += 1
            false_neg.append((a, b))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Quality(len(labelled), precision, recall, false_pos, false_neg)


def main() -> int:
    config = load_config(ROOT / "config.yaml")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for mode, rebuild in (("rebuild", True), ("incremental", False)):
            db = Path(tmp) / f"{mode}.db"
            load_recorded_sites(config, ROOT / "tests" / "fixtures", db)
            q = evaluate(db, PAIRS, rebuild=rebuild)
            met = q.precision >= PRECISION_FLOOR and q.recall >= RECALL_FLOOR
            ok &= met
            print(f"{mode:12} pairs {q.pairs}  precision {q.precision:.3f} (target >= {PRECISION_FLOOR})  "
                  f"recall {q.recall:.3f} (target >= {RECALL_FLOOR})  {'met' if met else 'NOT MET'}")
            for a, b in q.false_positives:
                print(f"  false positive: {a} ~ {b}")
            for a, b in q.false_negatives:
                print(f"  false negative: {a} ~ {b}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
