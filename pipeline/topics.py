"""The topic vocabulary file (``topics.yaml``, named by ``topics_file`` in config.yaml) read into a
:class:`~pipeline.items.topics.Vocabulary`, and topics assigned to stored publications.

Every mistake in the file is one line naming the topic and the key (a ``ConfigError``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlite_utils import Database

from pipeline.config import Config, ConfigError
from pipeline.items.topics import Topic, Vocabulary, assign
from storage import topics as stored

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,40}")


class _TopicModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str = Field(min_length=1)
    description: str = ""
    tags: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    weight: float = Field(1.0, gt=0, le=10)
    within: str = ""

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("must be a short slug of lower-case letters, digits and hyphens (e.g. online-safety)")
        return value

    @field_validator("tags", "phrases", "exclude")
    @classmethod
    def _no_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not str(v).strip() or not str(v).strip("*").strip() for v in value):
            raise ValueError("an empty rule would match everything or nothing")
        return tuple(str(v) for v in value)


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: tuple[str, ...] = ()
    topics: list[_TopicModel] = Field(min_length=1)


def vocabulary_path(config: Config) -> Path:
    """``topics_file`` of config.yaml, relative to the config file's folder."""
    path = Path(config.topics_file)
    return path if path.is_absolute() else Path(config.path or ".").parent / path


def load_vocabulary(path: str | Path) -> Vocabulary:
    """Read and check the vocabulary; ``ConfigError`` with one line naming the problem."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"topic vocabulary not found: {path} (topics_file in config.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read topic vocabulary {path}: {exc}") from None
    return parse_vocabulary(text, str(path))


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def parse_vocabulary(text: str, path: str = "topics.yaml") -> Vocabulary:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}: not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from None
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        if len(loc) >= 2 and loc[0] == "topics" and isinstance(loc[1], int) and isinstance(data, dict):
            items = data.get("topics") or []
            topic_id = items[loc[1]].get("id") if loc[1] < len(items) and isinstance(items[loc[1]], dict) else None
            loc[1] = f"{loc[1]} ({topic_id})" if topic_id else loc[1]
        raise ConfigError(f"{path}: {'.'.join(str(p) for p in loc)}: {err['msg']}") from None
    ids = [t.id for t in model.topics]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise ConfigError(f"{path}: topic id {dupes[0]!r} is used twice")
    for t in model.topics:
        if t.within and (t.within not in ids or t.within == t.id):
            raise ConfigError(f"{path}: topic {t.id}: within: {t.within!r} is not another topic's id")
    topics = tuple(Topic(t.id, t.label.strip(), " ".join(t.description.split()), t.tags, t.phrases, t.exclude,
                         t.sources, t.weight, t.within) for t in model.topics)
    return Vocabulary(topics, scope=model.scope, version=version_of(text), text=text)


def config_vocabulary(config: Config) -> Vocabulary:
    return load_vocabulary(vocabulary_path(config))


def check_topics(vocabulary: Vocabulary, wanted: Iterable[str]) -> tuple[str, ...]:
    """``--topic`` values as topic ids: an id or a label (any case); ``ConfigError`` names the known ones."""
    by_key = {t.id: t.id for t in vocabulary.topics} | {t.label.lower(): t.id for t in vocabulary.topics}
    out = []
    for value in wanted:
        key = value.strip()
        topic = by_key.get(key) or by_key.get(key.lower())
        if topic is None:
            raise ConfigError(f"unknown topic {value!r}; topics: {', '.join(vocabulary.ids())}")
        out.append(topic)
    return tuple(dict.fromkeys(out))


def assign_rows(vocabulary: Vocabulary, rows: Iterable[dict[str, Any]]) -> dict[str, list[stored.TopicRow]]:
    """Topics of publications given as rows (id, source, title, summary, topics as JSON or a list)."""
    import json

    out: dict[str, list[stored.TopicRow]] = {}
    for row in rows:
        tags = row.get("topics") or []
        if isinstance(tags, str):
            try:
                tags = json.loads(tags)
            except ValueError:
                tags = []
        found = assign(vocabulary, title=row.get("title") or "", summary=row.get("summary") or "",
                       tags=[str(t) for t in tags if t] if isinstance(tags, list) else [],
                       source=row.get("source") or "")
        out[row["id"]] = [stored.TopicRow(a.topic, a.method, a.matched, a.score, i == 0)
                          for i, a in enumerate(found)]
    return out


def assign_publications(db: Database, vocabulary: Vocabulary, publication_ids: list[str], now: str) -> int:
    """Assign (again) the topics of these stored publications; the number of publications done."""
    rows = stored.publications_for_assignment(db, publication_ids)
    stored.replace_topics(db, assign_rows(vocabulary, rows), vocabulary.version, now)
    return len(rows)


def stored_vocabulary(db: Database) -> Vocabulary | None:
    """The vocabulary last applied to this database (by ``topics reassign``), or None."""
    saved = stored.stored_vocabulary(db)
    return parse_vocabulary(saved[1], "the database's topic_vocabulary") if saved else None


def assign_new(db: Database, publication_ids: list[str], now: str) -> int:
    """Topics for publications just stored, with the database's vocabulary (none before the first
    ``topics reassign``): the one call of the crawl's store step."""
    vocabulary = stored_vocabulary(db)
    return assign_publications(db, vocabulary, publication_ids, now) if vocabulary and publication_ids else 0


def adopt_vocabulary(db: Database, config: Config, now: str) -> int:
    """Before a crawl: a database with no vocabulary yet (a new one, or one from before topics) takes the
    config's and assigns every stored publication, so that topics never wait for a first ``topics reassign``.
    A vocabulary already adopted is left as it is (changing it is ``topics reassign``). The number assigned."""
    if stored.stored_vocabulary(db) is not None:
        return 0
    return reassign_all(db, config_vocabulary(config), now)


def reassign_all(db: Database, vocabulary: Vocabulary, now: str, batch: int = 500) -> int:
    """Every stored publication re-assigned under ``vocabulary`` (after the file changed)."""
    ids = stored.all_publication_ids(db)
    for start in range(0, len(ids), batch):
        assign_publications(db, vocabulary, ids[start:start + batch], now)
    stored.save_vocabulary(db, [{"id": t.id, "label": t.label, "description": t.description,
                                 "rules": {"tags": t.tags, "phrases": t.phrases, "exclude": t.exclude,
                                           "sources": t.sources, "weight": t.weight, "within": t.within}}
                                for t in vocabulary.topics], vocabulary.version, vocabulary.text, now)
    return len(ids)
