"""The digest, in the manner of a CASPAR alert: one section per story with its heading, a "Source: … ·
Date published: …" line per organisation, a summary and "Read the …" links; Markdown or one
self-contained HTML page. Every value is escaped for the format it goes into."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pipeline.items.topics import Vocabulary
from pipeline.outputs.period import Period
from pipeline.outputs.present import Link, SourceLine, StoryView, present
from storage.queries import Story

FORMATS = ("md", "html")
# Markdown that changes meaning anywhere in a line; block markers matter only at its start. Brackets
# and backslashes would make links, < and & would make HTML or entities.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>&~])")
_MD_BLOCK_MARK = re.compile(r"^([#+\-=])")
_MD_LIST_NUMBER = re.compile(r"^(\d+)([.)])")
_URL_UNSAFE = re.compile(r"[\s()<>\"\\]")

STYLE = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;max-width:46rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.3rem}
h2{font-size:1.25rem;margin:2.2rem 0 .6rem;padding-top:1rem;border-top:1px solid #b1b4b6}
.intro,.source{color:#505a5f}
.topic{margin:2.2rem 0 0;padding-top:1rem;border-top:1px solid #b1b4b6;font-weight:bold;color:#1d70b8}
.topic+h2{border-top:0;margin-top:.2rem;padding-top:0}
h2.group{font-size:1.5rem}
h3{font-size:1.15rem;margin:1.6rem 0 .5rem}
.source{margin:.15rem 0}
.links{list-style:none;padding:0}
.links li{margin:.3rem 0}
a{color:#1d70b8}
""".strip()
# No script can run even if a value slipped through: the page allows only its own inline style.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"


NO_TOPIC = "Other news"  # the heading of a story none of the vocabulary's topics applies to


def render_digest(stories: list[Story], names: Mapping[str, str], period: Period, fmt: str,
                  member_topics: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                  vocabulary: Vocabulary | None = None, group_by_topic: bool = False) -> str:
    views = [present(s, names, member_topics, vocabulary) for s in stories]
    if group_by_topic:
        views = grouped(views, vocabulary)
    return (digest_html(views, period, group_by_topic) if fmt == "html"
            else digest_markdown(views, period, group_by_topic))


def grouped(views: list[StoryView], vocabulary: Vocabulary | None) -> list[StoryView]:
    """Stories by primary topic in the vocabulary's order (those without one last), newest first within."""
    vocab = vocabulary or Vocabulary(())
    order = {v.id: i for i, v in enumerate(views)}
    return sorted(views, key=lambda v: (not v.topic_ids, vocab.position(v.topic_ids[0]) if v.topic_ids else 0,
                                        order[v.id]))


def topic_heading(view: StoryView) -> str:
    return view.topic or NO_TOPIC


def sections(views: list[StoryView], group_by_topic: bool) -> list[tuple[str, list[StoryView]]]:
    """(topic heading, stories under it): one per story as in the seed page, or one per topic."""
    if not group_by_topic:
        return [(topic_heading(v), [v]) for v in views]
    out: list[tuple[str, list[StoryView]]] = []
    for v in views:
        if out and out[-1][0] == topic_heading(v):
            out[-1][1].append(v)
        else:
            out.append((topic_heading(v), [v]))
    return out


def period_text(period: Period) -> str:
    first, last = period.first_day(), period.last_day()
    fmt = lambda d: d.strftime("%d %B %Y")  # noqa: E731
    if first and last:
        return fmt(first) if first == last else f"{fmt(first)} to {fmt(last)}"
    return f"since {fmt(first)}" if first else f"up to {fmt(last)}" if last else "all dates"


def intro_text(views: list[StoryView], period: Period) -> str:
    if not views:
        return f"No publications dated {period_text(period)}: nothing new in this period."
    organisations = {s.organisation for v in views for s in v.sources}
    stories = "1 story" if len(views) == 1 else f"{len(views)} stories"
    sources = "1 source" if len(organisations) == 1 else f"{len(organisations)} sources"
    return f"{stories} from {sources}, published {period_text(period)}."


def source_text(line: SourceLine) -> str:
    where = f" on {line.where}" if line.where else ""
    return f"Source: {line.organisation}{where}" + (f" · Date published: {line.published}" if line.published else "")


# ---------------------------------------------------------------- Markdown


def md(text: str) -> str:
    """Text that Markdown shows as written: no emphasis, link, HTML tag or entity, no block marker."""
    text = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LIST_NUMBER.sub(r"\1\\\2", _MD_BLOCK_MARK.sub(r"\\\1", text))


def md_url(url: str) -> str:
    return _URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url)


def _md_link(link: Link) -> str:
    note = f" ({md(link.note)})" if link.note else ""
    return f"{md(link.label)}: [{md(link.title)}]({md_url(link.url)}){note}"


def digest_markdown(views: list[StoryView], period: Period, group_by_topic: bool = False) -> str:
    """The seed page's order for each story: topic, source, date, summary, links (the story's title is
    the heading under its topic)."""
    blocks = [f"# Safeguarding digest: {md(period_text(period))}", md(intro_text(views, period))]
    for topic, section in sections(views, group_by_topic):
        blocks.append(f"## {md(topic)}")
        for view in section:
            blocks += _md_story(view)
    return "\n\n".join(blocks) + "\n"


def _md_story(view: StoryView) -> list[str]:
    blocks = [f"### {md(view.heading)}"]
    blocks += [md(source_text(line)) for line in view.sources]
    if view.summary:
        blocks.append(md(view.summary))
    blocks += [_md_link(link) for link in view.links]
    return blocks


# ---------------------------------------------------------------- plain text (the e-mail's alternative)


def digest_text(views: list[StoryView], period: Period, group_by_topic: bool = False) -> str:
    """The digest as plain text, for the e-mail's text/plain part: the Markdown digest's layout with
    nothing escaped (text is never interpreted there) and each link as "Label: title <URL>"."""
    title = f"Safeguarding digest: {period_text(period)}"
    blocks = [f"{title}\n{'=' * len(title)}", intro_text(views, period)]
    for topic, section in sections(views, group_by_topic):
        blocks.append(f"{topic.upper()}")
        for view in section:
            blocks.append(f"{view.heading}\n{'-' * min(len(view.heading), 72)}")
            blocks += [source_text(line) for line in view.sources]
            if view.summary:
                blocks.append(view.summary)
            blocks += [f"{link.label}: {link.title} <{link.url}>" + (f" ({link.note})" if link.note else "")
                       for link in view.links]
    return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------- HTML


def e(text: str) -> str:
    return html.escape(text, quote=True)


def story_html(view: StoryView, heading: bool = True, topic: bool = True) -> str:
    """One story as an HTML fragment: its topic, its title, sources and dates, summary, links; without
    its heading (the title) and topic, the content of its feed entry. Under a topic's own heading (grouped
    by topic, ``topic=False``) the title is one level down."""
    parts = [f'<p class="topic">{e(topic_heading(view))}</p>'] if topic and heading else []
    tag = "h2" if topic else "h3"
    parts += [f"<{tag}>{e(view.heading)}</{tag}>"] if heading else []
    parts += [f'<p class="source">{e(source_text(line))}</p>' for line in view.sources]
    if view.summary:
        parts.append(f"<p>{e(view.summary)}</p>")
    if view.links:
        items = "".join(
            f'<li>{e(link.label)}: <a href="{e(link.url)}">{e(link.title)}</a>'
            f"{' (' + e(link.note) + ')' if link.note else ''}</li>"
            for link in view.links
        )
        parts.append(f'<ul class="links">{items}</ul>')
    return "\n".join(parts)


def digest_html(views: list[StoryView], period: Period, group_by_topic: bool = False) -> str:
    title = f"Safeguarding digest: {period_text(period)}"
    if group_by_topic:
        articles = "\n".join(
            f'<section>\n<h2 class="group">{e(topic)}</h2>\n'
            + "\n".join(f"<article>\n{story_html(v, topic=False)}\n</article>" for v in section)
            + "\n</section>" for topic, section in sections(views, True))
    else:
        articles = "\n".join(f"<article>\n{story_html(v)}\n</article>" for v in views)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">
<title>{e(title)}</title>
<style>
{STYLE}
</style>
</head>
<body>
<h1>{e(title)}</h1>
<p class="intro">{e(intro_text(views, period))}</p>
{articles}
</body>
</html>
"""
