"""Topics: a controlled vocabulary across sources, and the pure assignment of its topics to a publication.

A topic is assigned from the source's own tags first (the vocabulary maps them: NSPCC "Child sexual abuse",
IWF "Online safety"), then from phrase rules on the title and the summary, and weakly from the source
itself (every IWF item is about online child sexual abuse). Each assignment carries how it was made
(``tag``, ``phrase`` or ``source``), what matched, and a score:

- a tag 3, a phrase in the title 2, in the summary 1 (however many phrases match), a source 0.5;
- times the topic's ``weight`` (below 1 for broad topics such as "Policy and legislation");
- a narrower topic (``within: child-sexual-abuse``) with evidence of its own adds its broader topic's score,
  so that "child sexual abuse within the family" heads as the narrower topic;
- phrase rules apply only to items in the vocabulary's ``scope`` (about children at all): an off-topic
  GOV.UK item about pig keepers gets no topic from the word "data".

The primary topic of a publication or a story is the one with the highest score, ties going to the topic
listed first. No I/O here: the loader is ``pipeline.topics``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# A source's own tag is the strongest evidence, then a phrase in the title, then one in the summary.
TAG_SCORE = 3.0
TITLE_SCORE = 2.0
SUMMARY_SCORE = 1.0
SOURCE_SCORE = 0.5
METHODS = ("tag", "phrase", "source")


@dataclass(frozen=True)
class Topic:
    id: str  # a short slug, stable: stored in the database and given to --topic
    label: str  # the heading readers see: "Child safeguarding incidents"
    description: str
    tags: tuple[str, ...] = ()  # source tags: "Case reviews" (any source) or "nspcc_learning: Case reviews"
    phrases: tuple[str, ...] = ()  # words or phrases, case-insensitive, whole words; "exploit*" is a prefix
    exclude: tuple[str, ...] = ()  # phrases that veto a phrase match (never a tag match)
    sources: tuple[str, ...] = ()  # sources all of whose items are about this topic (weak evidence)
    weight: float = 1.0
    within: str = ""  # the broader topic this one narrows
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)
    _excludes: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(phrase_pattern(p) for p in self.phrases))
        object.__setattr__(self, "_excludes", tuple(phrase_pattern(p) for p in self.exclude))


@dataclass(frozen=True)
class Vocabulary:
    topics: tuple[Topic, ...]
    scope: tuple[str, ...] = ()  # phrases of which one must occur for phrase rules to apply (none: always)
    version: str = ""  # a hash of the file it was read from: stored with every assignment
    text: str = field(default="", repr=False)  # the file itself, kept in the database when applied

    def in_scope(self, text: str) -> bool:
        patterns = _scope_patterns(self.scope)
        return not patterns or any(p.search(text) for p in patterns)

    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)

    def label(self, topic_id: str) -> str:
        return next((t.label for t in self.topics if t.id == topic_id), topic_id)

    def position(self, topic_id: str) -> int:
        return next((i for i, t in enumerate(self.topics) if t.id == topic_id), len(self.topics))


@dataclass(frozen=True)
class Assignment:
    topic: str
    method: str  # "tag" or "phrase"
    matched: str  # the tag or phrase that matched
    score: float


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A phrase as a case-insensitive whole-word pattern; a trailing ``*`` makes the last word a prefix;
    any run of spaces or hyphens matches any other (``child-on-child`` = ``child on child``)."""
    text = phrase.strip().lower()
    prefix = text.endswith("*")
    words = [re.escape(w) for w in re.split(r"[\s\-‐–]+", text.rstrip("*")) if w]
    body = r"[\s\-‐–]+".join(words)
    return re.compile(r"(?<![\w])" + body + (r"\w*" if prefix else r"(?![\w])"), re.I)


_SCOPE_CACHE: dict[tuple[str, ...], tuple[re.Pattern[str], ...]] = {}


def _scope_patterns(scope: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    if scope not in _SCOPE_CACHE:
        _SCOPE_CACHE[scope] = tuple(phrase_pattern(p) for p in scope)
    return _SCOPE_CACHE[scope]


def _fold(text: str) -> str:
    return (text or "").replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def _tag_matches(rule: str, source: str, tags: set[str]) -> bool:
    scope, _, tag = rule.rpartition(":")
    if scope.strip() and scope.strip() != source:
        return False
    return tag.strip().lower() in tags


def assign(vocabulary: Vocabulary, *, title: str, summary: str = "", tags: Iterable[str] = (),
           source: str = "") -> list[Assignment]:
    """Every topic of the vocabulary that applies, one assignment per topic (its best evidence), best first."""
    own_tags = {_fold(t).strip().lower() for t in tags if t}
    title_text, summary_text = _fold(title), _fold(summary)
    in_scope = vocabulary.in_scope(title_text + "\n" + summary_text)
    found: dict[str, Assignment] = {}
    own_evidence: set[str] = set()
    for topic in vocabulary.topics:
        score, how, matched = 0.0, "", ""
        tag = next((r for r in topic.tags if _tag_matches(_fold(r), source, own_tags)), None)
        if tag is not None:
            score, how, matched = TAG_SCORE, "tag", tag
        vetoed = any(x.search(title_text) or x.search(summary_text) for x in topic._excludes)
        if in_scope and not vetoed:
            in_title = next((p for p, rx in zip(topic.phrases, topic._patterns, strict=True) if rx.search(title_text)),
                            None)
            in_summary = next((p for p, rx in zip(topic.phrases, topic._patterns, strict=True)
                               if rx.search(summary_text)), None)
            score += (TITLE_SCORE if in_title else 0.0) + (SUMMARY_SCORE if in_summary else 0.0)
            if (in_title or in_summary) and not how:
                how, matched = "phrase", str(in_title or in_summary)
        if score:
            own_evidence.add(topic.id)
        if source and source in topic.sources:
            score += SOURCE_SCORE
            if not how:
                how, matched = "source", source
        if score:
            found[topic.id] = Assignment(topic.id, how, matched, round(score * topic.weight, 3))
    for topic in vocabulary.topics:  # a narrower topic with evidence of its own adds its broader topic's
        broader = found.get(topic.within) if topic.within else None
        if topic.id in own_evidence and broader is not None:
            mine = found[topic.id]
            found[topic.id] = Assignment(mine.topic, mine.method, mine.matched, round(mine.score + broader.score, 3))
    return rank(vocabulary, list(found.values()))


def rank(vocabulary: Vocabulary, assignments: Sequence[Assignment]) -> list[Assignment]:
    """Best first: highest score, then the vocabulary's order."""
    return sorted(assignments, key=lambda a: (-a.score, vocabulary.position(a.topic)))


def primary(vocabulary: Vocabulary, scores: dict[str, float]) -> str | None:
    """The primary topic among topics with scores (a story sums its publications'); None when empty."""
    if not scores:
        return None
    return min(scores, key=lambda t: (-scores[t], vocabulary.position(t)))
