"""Precision and recall of the primary topic on the hand-labelled real items (tests/topics/labelled.yaml),
with the vocabulary of config.yaml (topics.yaml). A test pins the floors.

    python benchmarks/topic_quality.py [--vocabulary topics.yaml] [--labels tests/topics/labelled.yaml]

Precision: of the items given a primary topic, the share whose primary topic is the labelled one.
Recall: of the items labelled with a topic, the share given that topic as primary. Accuracy: all items,
where an item labelled "no topic" is right when it is given none. Every miss is listed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from pipeline.items.topics import Vocabulary, assign  # noqa: E402
from pipeline.topics import load_vocabulary  # noqa: E402

PRECISION_FLOOR = 0.80  # the target; floors may only rise (tests/pipeline/test_topics.py pins them)
RECALL_FLOOR = 0.80
LABELS = ROOT / "tests" / "topics" / "labelled.yaml"
VOCABULARY = ROOT / "topics.yaml"


@dataclass
class Quality:
    items: int = 0
    precision: float = 0.0
    recall: float = 0.0
    accuracy: float = 0.0
    misses: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # title, labelled, given


def load_labels(path: Path = LABELS) -> list[dict]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["items"])


def evaluate(vocabulary: Vocabulary, items: list[dict]) -> Quality:
    known = set(vocabulary.ids())
    given_n = labelled_n = right_given = right_labelled = right_all = 0
    q = Quality(items=len(items))
    for item in items:
        want = item.get("primary")
        if want is not None and want not in known:
            raise ValueError(f"labelled topic {want!r} is not in the vocabulary ({item['title'][:60]})")
        found = assign(vocabulary, title=item.get("title") or "", summary=item.get("summary") or "",
                       tags=item.get("tags") or [], source=item.get("source") or "")
        got = found[0].topic if found else None
        given_n += got is not None
        labelled_n += want is not None
        right_given += got is not None and got == want
        right_labelled += want is not None and got == want
        right_all += got == want
        if got != want:
            q.misses.append(((item.get("title") or item.get("summary") or "")[:90], want, got))
    q.precision = right_given / given_n if given_n else 1.0
    q.recall = right_labelled / labelled_n if labelled_n else 1.0
    q.accuracy = right_all / len(items) if items else 1.0
    return q


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary", default=str(VOCABULARY))
    parser.add_argument("--labels", default=str(LABELS))
    args = parser.parse_args(argv)
    q = evaluate(load_vocabulary(args.vocabulary), load_labels(Path(args.labels)))
    met = q.precision >= PRECISION_FLOOR and q.recall >= RECALL_FLOOR
    print("benchmarks/topic_quality.py: the primary topic against hand labels")
    print(f"items {q.items}  precision {q.precision:.3f} (target >= {PRECISION_FLOOR})  "
          f"recall {q.recall:.3f} (target >= {RECALL_FLOOR})  accuracy {q.accuracy:.3f}  "
          f"{'MET' if met else 'NOT MET'}")
    for title, want, got in q.misses:
        print(f"  miss: labelled {want or '(none)'}, given {got or '(none)'}: {title}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
