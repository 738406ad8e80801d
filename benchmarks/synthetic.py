"""Large synthetic recorded sites (DESIGN 3.3) in the shape of the sources, for the benchmarks.

    python benchmarks/synthetic.py OUT [--shape csprp_govuk|iwf|childrens_commissioner|csprp_panel_site|
                                   nspcc_learning|all] [--publications 5000] [--seed 1]
                                   [--change 0.01] [--validators detail|all|none]

writes ``OUT/<shape>/manifest.json`` and the response bodies beside it, to be served by ``crawl --replay
OUT/<shape>`` or ``pipeline.replay.ReplayServer``:

- ``csprp_govuk``: GOV.UK Search API pages (``/api/search.json?...&count=N&start=K``, newest
  ``public_timestamp`` first) and one Content API document per publication (``/api/content/<path>``), with
  the fields, attachments and links of real Content API documents;
- ``iwf``: the IWF's listings (``/news-media/news/?page=N`` and ``/news-media/blogs/?page=N``, newest first,
  an empty page after the last) and article pages ("Published:  Sun 2 Feb 2025", standfirst, body, tags,
  related articles, a site header and footer of realistic weight);
- ``childrens_commissioner`` (WordPress, its first door): the REST API, ``/wp-json/``, ``/wp-json/wp/v2/types``
  and the ``posts`` and ``resource`` collections, 100 posts a page with ``X-WP-TotalPages``;
- ``csprp_panel_site`` (WordPress, the HTML door): no REST API, feed or wp-sitemap.xml (404), a home page whose
  navigation links the listings (``/publications/``, ``/news/``, paged ``/page/N/``), publication pages with
  a type label, "Published 2 February 2024" and each file's size, type and pages;
- ``nspcc_learning``: no sitemap (404), the listings ``/news`` and ``/research-resources`` (``?page=N``) and
  their articles (``/news/<yyyy>/<month>/<slug>``, ``/research-resources/<yyyy>/<slug>``).

Body text is a few hundred words drawn from a vocabulary with a Zipf-like distribution (common function
words, the field's own words, a long tail of rarer words and a larger pool of rare names), from a fixed
seed: the same arguments give the same bytes. ``--change F`` rewrites the site with a fraction F of its
publications changed (new summary and body, a newer timestamp or date), as a site changes between two
crawls; everything else keeps its bytes, ETag and Last-Modified.

``--validators`` says which responses carry ``ETag`` and ``Last-Modified`` (the replay server answers
conditional requests with 304): ``detail`` (default: documents and articles; listings and search pages are
dynamic), ``all`` or ``none``.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import html
import json
import random
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import zip_longest
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np

SHAPES = ("csprp_govuk", "iwf", "childrens_commissioner", "csprp_panel_site", "nspcc_learning")
GOVUK_ORG = "child-safeguarding-practice-review-panel"
GOVUK_FIELDS = ("title", "link", "description", "public_timestamp", "content_store_document_type")
NEWEST = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)
OLDEST = datetime(2012, 1, 1, 9, 30, tzinfo=UTC)
CHANGED_AT = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)  # after every original date: a change is always newer

# ---------------------------------------------------------------- vocabulary

def _words(text: str) -> list[str]:
    return text.split()


FUNCTION_WORDS = _words(
    "the of and to in a is that for on with as by be are this it from at or have an was were which their has "
    "been not they who will more can all also these its but had when would there other about into than some "
    "what so may them should our how most where each only such through between after those both many over "
    "during while because before under across within however including whether where any new must could "
    "further well very still against without one two three first last same often every"
)
CORE_WORDS = _words(
    "children child safeguarding practice review local families support services young people social care "
    "abuse risk harm national panel report learning online safety"
)
DOMAIN_WORDS = _words(
    "authority authorities agencies agency partnership partnerships police health school schools education "
    "professionals practitioners parents carers neglect exploitation criminal sexual county lines serious "
    "incident incidents notification notifications case cases findings recommendations evidence research "
    "guidance statutory framework government department minister ministers policy policies legislation "
    "bill act duty duties assessment assessments plan plans protection protective vulnerable vulnerability "
    "adolescents adolescent babies infants baby infant domestic violence mental wellbeing emotional physical "
    "injury injuries death deaths serious harm thresholds referral referrals early help intervention "
    "interventions multi-agency working information sharing records supervision leadership workforce "
    "training staff frontline managers inspectors inspection ofsted judgement judgements improvement "
    "outcomes needs disabilities disabled special educational unaccompanied asylum seeking migrant "
    "trafficking grooming images material imagery internet platforms industry technology companies "
    "regulation regulator reports hotline analysts content removal webpages websites urls sites apps "
    "devices generated artificial intelligence deepfake nudify sextortion financially motivated campaign "
    "charity helpline calls contacts survey data figures statistics rise increase decrease trend trends "
    "year years month months annual quarterly published publishes launched launches announced calls urges "
    "warns welcomes responds response consultation evaluation pilot programme funding investment "
    "commissioner commissioners rights voice voices experiences lived listening hearing views "
    "bereavement sudden unexpected sleeping co-sleeping bruising fractures head trauma fathers mothers "
    "siblings household households housing poverty deprivation substance alcohol drug misuse "
    "transitions adulthood leaving care looked after foster fostering residential homes kinship adoption "
    "courts family justice proceedings legal order orders placement placements missing runaway gangs "
    "knife crime youth offending custody secure accommodation restraint harmful sexual behaviour peer "
    "relationships consent education curriculum teachers designated leads governors trustees boards "
    "chairs independent scrutiny themes thematic rapid reviews practice reviews serious case reviews "
    "quality assurance audits tools resources briefings podcasts webinars events conference summit"
)
ONSETS = _words("b br c ch cl d dr f fl g gr h j k l m n p pr qu r s sh st t tr v w z")
VOWELS = _words("a e i o u ai ea ou")
CODAS = ["", "n", "r", "l", "s", "m", "t", "nd", "rt", "ck"]
SYLLABLES = [o + v + c for o in ONSETS for v in VOWELS for c in CODAS]
TAIL_WORDS = 30_000  # rarer words: each turns up in roughly 0.02-0.2 % of documents
RARE_NAMES = 200_000  # names of places and people: each in about one document in 100,000
SENTENCE_POOL = 40_000
TITLE_POOL = 20_000
TAIL_SHARE = 0.3  # the tail's weight in running text (about a sixth of the words), and in titles:
TAIL_SHARE_TITLES = 0.1


def tail_word(i: int) -> str:
    n = len(SYLLABLES)
    j = (i * 2_654_435_761 + 12_345) % (n * n)  # scattered over the syllable pairs
    return SYLLABLES[j % n] + SYLLABLES[j // n]


def rare_name(i: int) -> str:
    n = len(SYLLABLES)
    j = (i * 2_246_822_519 + 977) % (n * n * n)
    return (SYLLABLES[j % n] + SYLLABLES[(j // n) % n] + SYLLABLES[j // n // n]).capitalize()


class TextMaker:
    """Sentences, titles and summaries in the words of the field; deterministic for a seed."""

    def __init__(self, seed: int = 1) -> None:
        shuffler = random.Random(seed)
        rest = FUNCTION_WORDS[30:] + DOMAIN_WORDS
        shuffler.shuffle(rest)
        # the commonest words of the field rank among the function words, from the 11th place on
        pairs = zip_longest(FUNCTION_WORDS[10:30], CORE_WORDS)
        head = FUNCTION_WORDS[:10] + [w for pair in pairs for w in pair if w]
        self.words = head + rest + [tail_word(i) for i in range(TAIL_WORDS)]
        zipf = 1.0 / np.arange(1, len(self.words) + 1, dtype=float)
        tail = np.arange(len(self.words)) >= len(self.words) - TAIL_WORDS
        rng = np.random.default_rng(seed)
        self.sentences = self._phrases(rng, np.where(tail, zipf * TAIL_SHARE, zipf), SENTENCE_POOL, 6, 28, True)
        function = np.isin(np.array(self.words, dtype=object), FUNCTION_WORDS)
        title_weights = np.where(function, 0.0, np.where(tail, zipf * TAIL_SHARE_TITLES, zipf))
        self.titles = self._phrases(rng, title_weights, TITLE_POOL, 4, 10, period=False)

    def _phrases(self, rng: np.random.Generator, weights: np.ndarray, count: int, low: int, high: int,
                 period: bool) -> list[str]:
        lengths = rng.integers(low, high, size=count)
        picks = rng.choice(len(self.words), size=int(lengths.sum()), p=weights / weights.sum())
        words = self.words
        out, at = [], 0
        for n in lengths:
            chunk = [words[k] for k in picks[at : at + n]]
            at += n
            if period and n > 12:
                chunk[n // 2] += ","
            text = " ".join(chunk)
            out.append(text[0].upper() + text[1:] + ("." if period else ""))
        return out

    def title(self, rng: random.Random) -> str:
        return self.titles[rng.randrange(TITLE_POOL)]

    def summary(self, rng: random.Random) -> str:
        return " ".join(self.sentences[rng.randrange(SENTENCE_POOL)] for _ in range(rng.randint(1, 2)))

    def paragraphs(self, rng: random.Random, low: int = 18, high: int = 40) -> list[str]:
        """A body of ``low``..``high`` sentences (a few hundred words) in paragraphs of 2 to 6 sentences,
        one sentence naming a rare place or person."""
        sentences = [self.sentences[rng.randrange(SENTENCE_POOL)] for _ in range(rng.randint(low, high))]
        named = rng.randrange(len(sentences))
        sentences[named] = f"In {rare_name(rng.randrange(RARE_NAMES))}, {sentences[named][0].lower()}" \
                           f"{sentences[named][1:]}"
        paragraphs, at = [], 0
        while at < len(sentences):
            size = rng.randint(2, 6)
            paragraphs.append(" ".join(sentences[at : at + size]))
            at += size
        return paragraphs

    def body_text(self, rng: random.Random, low: int = 18, high: int = 40) -> str:
        return "\n".join(self.paragraphs(rng, low, high))


@cache
def text_maker(seed: int = 1) -> TextMaker:
    return TextMaker(seed)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:90].rstrip("-")


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'  # an ETag, not security


# ---------------------------------------------------------------- publications


@dataclass
class SynthPub:
    index: int
    slug: str
    title: str
    summary: str
    paragraphs: list[str]
    published: datetime
    updated: datetime
    kind: str
    changed: bool
    extra: dict = field(default_factory=dict)

    @property
    def stamp(self) -> datetime:
        return max(self.published, self.updated)


def changed_indices(n: int, fraction: float, seed: int) -> set[int]:
    """Which publications a ``--change`` of this fraction rewrites (at least one when the fraction is > 0)."""
    if fraction <= 0:
        return set()
    count = max(1, round(n * fraction))
    return set(random.Random(f"change:{seed}").sample(range(n), min(n, count)))


def publications(shape: str, n: int, seed: int, changed: set[int], kinds: list[str]) -> list[SynthPub]:
    maker = text_maker(seed)
    span = (NEWEST - OLDEST) / max(n, 1)
    slugs: set[str] = set()
    changed_order = sorted(changed)
    pubs = []
    for i in range(n):
        rng = random.Random(f"{shape}:{seed}:{i}")
        title = maker.title(rng)
        slug = slugify(title)
        while slug in slugs:
            slug += f"-{rng.randint(2, 9)}"
        slugs.add(slug)
        published = NEWEST - span * i - timedelta(minutes=rng.randrange(600))
        kind = kinds[rng.randrange(len(kinds))]
        summary, paragraphs = maker.summary(rng), maker.paragraphs(rng)
        updated = published
        if i in changed:
            rev = random.Random(f"{shape}:{seed}:{i}:changed")
            summary, paragraphs = maker.summary(rev), maker.paragraphs(rev)
            updated = CHANGED_AT + timedelta(minutes=changed_order.index(i))
        pubs.append(SynthPub(i, slug, title, summary, paragraphs, published, updated, kind, i in changed,
                             extra={"rng": rng}))
    return pubs


# ---------------------------------------------------------------- sites


@dataclass
class Site:
    folder: Path
    shape: str
    publications: int
    pages: int  # manifest entries apart from robots.txt
    publication_urls: list[str]
    changed_urls: list[str]
    options: dict = field(default_factory=dict)  # source options the site needs (listing pages, page size)


class _Writer:
    def __init__(self, folder: Path, validators: str) -> None:
        self.folder = folder
        self.validators = validators
        self.manifest: dict[str, dict] = {}

    def add(self, url: str, path: str, body: str, content_type: str, modified: datetime | None,
            detail: bool, extra: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        headers = {"Content-Type": content_type}
        if self.validators == "all" or (self.validators == "detail" and detail):
            headers["ETag"] = etag(data)
            if modified is not None:
                headers["Last-Modified"] = http_date(modified)
        self.manifest[url] = {"file": path, "headers": headers | (extra or {})}

    def missing(self, url: str, status: int = 404) -> None:
        """A URL the site answers with an error (a door switched off: no REST API, no feed, no sitemap)."""
        self.manifest[url] = {"status": status}

    def close(self) -> None:
        (self.folder / "manifest.json").write_text(json.dumps(self.manifest, indent=1), encoding="utf-8")


ROBOTS = "User-agent: *\nDisallow: /search/\nDisallow: /*/print$\nSitemap: {host}/sitemap.xml\n"


def build(out: Path | str, shape: str, n: int = 5000, seed: int = 1, change: float = 0.0,
          validators: str = "detail", page_size: int = 20, per_page: int = 20) -> Site:
    """Write the synthetic recorded site of one shape to ``out/<shape>`` and describe it."""
    folder = Path(out) / shape
    folder.mkdir(parents=True, exist_ok=True)
    changed = changed_indices(n, change, seed)
    if shape == "csprp_govuk":
        return _govuk(folder, n, seed, changed, validators, page_size)
    if shape == "iwf":
        return _iwf(folder, n, seed, changed, validators, per_page)
    if shape == "childrens_commissioner":
        return _commissioner(folder, n, seed, changed, validators)
    if shape == "csprp_panel_site":
        return _panel_site(folder, n, seed, changed, validators, per_page)
    if shape == "nspcc_learning":
        return _nspcc(folder, n, seed, changed, validators, per_page)
    raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")


# ---------------------------------------------------------------- GOV.UK Search + Content APIs

GOVUK = "https://www.gov.uk"
GOVUK_KINDS = ["corporate_report", "independent_report", "independent_report", "news_story", "press_release",
               "guidance", "research", "policy_paper", "transparency", "official_statistics"]
TAXONS = ["Children's social care", "Safeguarding and social care for children", "Child protection",
          "Looked-after children and childcare", "Education, training and skills", "Crime, justice and law",
          "Online safety", "Health and social care"]


def govuk_search_url(start: int, page_size: int) -> str:
    params = [("filter_organisations", GOVUK_ORG), ("order", "-public_timestamp"), ("count", str(page_size)),
              ("start", str(start)), *(("fields", f) for f in GOVUK_FIELDS)]
    return f"{GOVUK}/api/search.json?{urlencode(params)}"


def _govuk_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _govuk_path(pub: SynthPub) -> str:
    section = "news" if pub.kind in ("news_story", "press_release") else "publications"
    return f"/government/{section}/{pub.slug}"


def _govuk_document(pub: SynthPub) -> dict:
    rng: random.Random = pub.extra["rng"]
    path = _govuk_path(pub)
    body = ['<div class="govspeak">']
    for k, para in enumerate(pub.paragraphs):
        if k and k % 3 == 0:
            body.append(f'<h2 id="section-{k}">{html.escape(para.split(",")[0][:60].rstrip("."))}</h2>')
        body.append(f"<p>{html.escape(para)}</p>")
    if rng.random() < 0.3:
        body.append('<p>Read the <a href="https://www.gov.uk/government/publications/working-together-to-'
                    'safeguard-children--2">statutory guidance</a>.</p>')
    body.append("</div>")
    uuid = hashlib.md5(path.encode()).hexdigest()  # a stable id, not security
    content_id = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:32]}"
    attachments = []
    if pub.kind not in ("news_story", "press_release"):
        for a in range(rng.randint(1, 3)):
            name = f"{pub.slug[:40]}-{a + 1}.pdf"
            attachments.append({
                "attachment_type": "file", "id": f"{pub.index}-{a}",
                "title": f"{pub.title}{'' if a == 0 else f' (annex {a})'}", "content_type": "application/pdf",
                "url": f"https://assets.publishing.service.gov.uk/media/{uuid[:24]}/{name}", "filename": name,
                "file_size": rng.randint(80_000, 4_000_000), "number_of_pages": rng.randint(4, 180),
                "accessible": rng.random() < 0.5})
    history = [{"public_timestamp": _govuk_stamp(pub.published), "note": "First published."}]
    if pub.changed:
        history.insert(0, {"public_timestamp": _govuk_stamp(pub.updated), "note": "Updated the report."})
    organisation = {"title": "Child Safeguarding Practice Review Panel", "content_id": "c8b3fa6e-2b7e-4fc2-9d0a",
                    "base_path": f"/government/organisations/{GOVUK_ORG}", "document_type": "organisation",
                    "api_path": f"/api/content/government/organisations/{GOVUK_ORG}", "locale": "en",
                    "schema_name": "organisation", "withdrawn": False,
                    "details": {"brand": "department-for-education", "logo": {"formatted_title": "Child "
                                "Safeguarding<br/>Practice Review<br/>Panel", "crest": "single-identity"}}}
    taxons = [{"title": t, "base_path": "/" + slugify(t), "content_id": hashlib.md5(t.encode()).hexdigest(),
               "document_type": "taxon", "locale": "en"} for t in rng.sample(TAXONS, rng.randint(1, 3))]
    return {
        "analytics_identifier": None, "base_path": path, "content_id": content_id,
        "document_type": pub.kind, "first_published_at": _govuk_stamp(pub.published),
        "locale": "en", "phase": "live", "public_updated_at": _govuk_stamp(pub.updated),
        "publishing_app": "whitehall", "rendering_app": "frontend",
        "schema_name": "news_article" if pub.kind in ("news_story", "press_release") else "publication",
        "title": pub.title, "description": pub.summary, "updated_at": _govuk_stamp(pub.updated),
        "withdrawn_notice": {},
        "details": {"body": "\n".join(body), "attachments": attachments,
                    "documents": [], "change_history": history, "political": False,
                    "first_public_at": _govuk_stamp(pub.published), "emphasised_organisations": [content_id]},
        "links": {"organisations": [organisation], "primary_publishing_organisation": [organisation],
                  "original_primary_publishing_organisation": [organisation], "taxons": taxons,
                  "government": [{"title": "2024 Labour government", "base_path": "/government/2024-labour-"
                                  "government", "document_type": "government", "locale": "en",
                                  "details": {"current": True, "started_on": "2024-07-05T00:00:00+00:00"}}],
                  "document_collections": [{"title": "Child Safeguarding Practice Review Panel: reports",
                                            "base_path": f"/government/collections/{GOVUK_ORG}-reports",
                                            "document_type": "document_collection", "locale": "en"}],
                  "available_translations": [{"base_path": path, "locale": "en", "title": pub.title,
                                              "api_path": f"/api/content{path}", "web_url": GOVUK + path}]},
    }


def _govuk(folder: Path, n: int, seed: int, changed: set[int], validators: str, page_size: int) -> Site:
    pubs = publications("csprp_govuk", n, seed, changed, GOVUK_KINDS)
    w = _Writer(folder, validators)
    w.add(f"{GOVUK}/robots.txt", "robots.txt", ROBOTS.format(host=GOVUK), "text/plain", None, False)
    for pub in pubs:
        path = _govuk_path(pub)
        w.add(f"{GOVUK}/api/content{path}", f"content/{pub.slug}.json", json.dumps(_govuk_document(pub), indent=1),
              "application/json", pub.stamp, True)
    ordered = sorted(pubs, key=lambda p: p.stamp, reverse=True)
    for start in range(0, max(n, 1), page_size):
        results = [{"title": p.title, "link": _govuk_path(p), "description": p.summary,
                    "public_timestamp": _govuk_stamp(p.stamp), "content_store_document_type": p.kind}
                   for p in ordered[start : start + page_size]]
        page = {"results": results, "total": n, "start": start, "aggregates": {}, "suggested_queries": [],
                "suggested_autocomplete": [], "es_cluster": "A", "reranked": False}
        w.add(govuk_search_url(start, page_size), f"search/start-{start}.json", json.dumps(page, indent=1),
              "application/json", ordered[start].stamp if results else None, False)
    w.close()
    return Site(folder, "csprp_govuk", n, len(w.manifest) - 1, [GOVUK + _govuk_path(p) for p in pubs],
                [GOVUK + _govuk_path(p) for p in pubs if p.changed], {"page_size": page_size})


# ---------------------------------------------------------------- IWF listings + articles

IWF = "https://www.iwf.org.uk"
IWF_SECTIONS = {"news": "News", "blogs": "Blog"}
IWF_MENU = [("About us", "/about-us/"), ("Our people", "/about-us/our-people/"), ("Our members", "/our-members/"),
            ("Become a member", "/become-a-member/"), ("Report", "/report/"), ("News and media", "/news-media/"),
            ("News", "/news-media/news/"), ("Blogs", "/news-media/blogs/"), ("Podcasts", "/news-media/podcasts/"),
            ("Annual report", "/annual-report-2024/"), ("Research", "/about-us/why-we-exist/our-research/"),
            ("Services", "/our-technology/"), ("Hash list", "/our-technology/our-services/image-hash-list/"),
            ("URL list", "/our-technology/our-services/url-list/"), ("Keywords", "/our-technology/keywords/"),
            ("Careers", "/about-us/careers/"), ("Contact", "/contact-us/"), ("Policies", "/policies/"),
            ("Privacy", "/privacy-notice/"), ("Cookies", "/cookie-policy/"), ("Accessibility", "/accessibility/")]


def _iwf_date(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"  # "Sun 2 Feb 2025"


def _iwf_card_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"  # "2 February 2025"


SUBMENU = ("Overview", "How we work", "Resources", "Frequently asked questions", "Case studies", "Data",
           "Policy", "Get involved")
ICONS = "".join(f'<symbol id="icon-{k}" viewBox="0 0 24 24"><path d="M{k} 2l{k % 7 + 3}.{k}9 6.{k}3 7.{k % 5}1 '
                f'1.0{k}-5 4.8{k} 1.1{k} 7.0{k}L12 {k % 9 + 10}.{k}7l-6.{k}2 3.27 1.18-7.0{k}-5-4.87 6.{k}1-1.02L12 '
                f'2zM{k}.5 {k % 4}h{k % 8 + 1}v{k % 6 + 2}H{k}.5z"/></symbol>' for k in range(40))


def _iwf_chrome(title: str, inner: str, extra_head: str = "") -> str:
    """The page around the content: head, cookie banner, a mega-menu, a search form and a footer, at about
    the weight of a CMS page (the menu alone is most of it)."""
    menu = "".join(
        f'<li class="menu__item"><a class="menu__link" href="{u}">{t}</a><div class="menu__panel"><ul>'
        + "".join(f'<li><a href="/{slugify(s)}{u}"><span class="menu__title">{s}</span><span class="menu__text">'
                  f"{s} for {t.lower()}: what the Internet Watch Foundation does and how to take part.</span></a></li>"
                  for s in SUBMENU)
        + "</ul></div></li>" for t, u in IWF_MENU)
    footer = "".join(f'<li><a href="{u}">{t}</a></li>' for t, u in IWF_MENU)
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} | IWF</title>\n"
        f'<meta property="og:title" content="{html.escape(title)}">\n'
        '<meta property="og:image" content="https://www.iwf.org.uk/media/34c808d0/social-card.jpg">\n'
        '<link rel="stylesheet" href="/dist/css/main.min.css?v=20250101">\n<link rel="icon" href="/favicon.ico">\n'
        f"{extra_head}"
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
        "gtag('js',new Date());gtag('config','G-XXXXXXX',{anonymize_ip:true});</script>\n"
        "</head>\n<body>\n"
        f'<svg xmlns="http://www.w3.org/2000/svg" style="display:none">{ICONS}</svg>\n'
        '<a class="skip-link" href="#main">Skip to main content</a>\n'
        '<div class="cookie-banner" role="dialog"><p>We use cookies to make this website work and to understand '
        'how it is used.</p><button>Accept</button><button>Reject</button></div>\n'
        '<header class="site-header">\n<a href="/"><img src="/images/iwf-logo.svg" alt="Internet Watch Foundation">'
        f'</a>\n<nav aria-label="Main"><ul class="menu">{menu}</ul></nav>\n'
        '<form class="search" action="/search/"><input name="q" aria-label="Search"><button>Search</button></form>\n'
        f'</header>\n<main id="main">\n{inner}\n</main>\n'
        '<section class="newsletter"><h2>Sign up to our newsletter</h2><form action="/newsletter/"><label>Email '
        '<input type="email" name="email"></label><button>Sign up</button></form></section>\n'
        f'<footer class="site-footer"><ul>{footer}</ul><img src="/images/footer-logo.png" alt="">'
        "<p>Internet Watch Foundation, registered charity number 1112398. Company number 03426366.</p></footer>\n"
        '<script src="/dist/js/main.min.js?v=20250101" defer></script>\n</body>\n</html>\n'
    )


def _iwf_url(pub: SynthPub) -> str:
    return f"{IWF}/news-media/{pub.kind}/{pub.slug}/"


def _iwf_article(pub: SynthPub, related: list[SynthPub]) -> str:
    rng: random.Random = pub.extra["rng"]
    label = IWF_SECTIONS[pub.kind]
    parts = []
    for k, para in enumerate(pub.paragraphs):
        if k == 2:
            parts.append(f'<blockquote><p>"{html.escape(para.split(".")[0])}," said a spokesperson.</p></blockquote>')
        if k and k % 4 == 0:
            parts.append(f"<h2>{html.escape(para.split(',')[0][:50].rstrip('.'))}</h2>")
        parts.append(f"<p>{html.escape(para)}</p>")
    if rng.random() < 0.3:
        parts.append('<p>Read the <a href="https://www.gov.uk/government/publications/online-safety-act-explainer">'
                     "Online Safety Act explainer</a> and <a href=\"/about-us/why-we-exist/our-research/"
                     'annual-data-and-insights/">our annual data</a>.</p>')
    tags = "".join(f'<li><a href="/news-media/{pub.kind}/?tag={t.replace(" ", "+")}">{t}</a></li>'
                   for t in rng.sample(["Annual report", "Parliament", "AI", "Hotline", "Online safety act",
                                        "Sextortion", "Partnerships", "Research", "Policy"], 2))
    cards = "".join(f'<a href="{_iwf_url(r)[len(IWF):]}"><img src="/media/{r.index:08x}/related-thumb.jpg" alt="">'
                    f"{html.escape(r.title)}</a>\n  <p>Published:  {_iwf_date(r.stamp)}</p>\n" for r in related)
    jsonld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": pub.title,
                         "datePublished": pub.stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "publisher": {"@type": "Organization", "name": "Internet Watch Foundation"}})
    inner = (
        '<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>'
        f'<li><a href="/news-media/{pub.kind}/">{label}</a></li></ol></nav>\n'
        '<article class="article">\n  <div class="article__header">\n'
        f'    <h1 class="article__title">{html.escape(pub.title)}</h1>\n'
        f'    <p class="article__date">Published:  {_iwf_date(pub.stamp)}</p>\n  </div>\n'
        '  <picture class="article__hero"><source srcset="/media/hero.webp 1x, /media/hero@2x.webp 2x" '
        'type="image/webp"><img src="/media/hero.jpg" alt=""></picture>\n'
        f'  <p class="article__standfirst">{html.escape(pub.summary)}</p>\n'
        f'  <div class="rich-text">\n{chr(10).join(parts)}\n  </div>\n'
        f'  <div class="article__tags"><h2>Tags</h2><ul>{tags}</ul></div>\n</article>\n'
        f'<aside class="related"><h2>Related</h2>\n  {cards}</aside>'
    )
    return _iwf_chrome(pub.title, inner, f'<script type="application/ld+json">{jsonld}</script>\n')


def _iwf_listing(section: str, page: int, cards: list[SynthPub], last: bool) -> str:
    items = "".join(
        f'  <li class="card">\n    <a class="card__link" href="{_iwf_url(p)[len(IWF):]}">\n'
        f'      <picture><source srcset="/media/{p.index:08x}/thumb.webp 480w" type="image/webp">'
        f'<img src="/media/{p.index:08x}/thumb.jpg" alt=""></picture>\n'
        f'      <h3 class="card__title">{html.escape(p.title)}</h3>\n    </a>\n'
        f'    <p class="card__summary">{html.escape(p.summary)}</p>\n'
        f'    <p class="card__meta">{_iwf_card_date(p.stamp)} {IWF_SECTIONS[section]}</p>\n  </li>\n'
        for p in cards) or '  <li class="no-results">No results found.</li>\n'
    following = f'<a href="/news-media/{section}/?page={page + 1}">Next page</a>'
    pager = "" if last and not cards else f'<nav class="pagination" aria-label="Pages">{following}</nav>'
    title = "News" if section == "news" else "Blogs"
    return _iwf_chrome(title, f'<h1>{title}</h1>\n<ul class="cards">\n{items}</ul>\n{pager}')


def _iwf(folder: Path, n: int, seed: int, changed: set[int], validators: str, per_page: int) -> Site:
    pubs = publications("iwf", n, seed, changed, ["news", "news", "blogs"])
    w = _Writer(folder, validators)
    w.add(f"{IWF}/robots.txt", "robots.txt", ROBOTS.format(host=IWF), "text/plain", None, False)
    for pub in pubs:
        rng: random.Random = pub.extra["rng"]
        related = [pubs[j] for j in rng.sample(range(n), min(3, n)) if j != pub.index][:2]
        w.add(_iwf_url(pub), f"{pub.kind}/{pub.slug}.html", _iwf_article(pub, related), "text/html; charset=utf-8",
              pub.stamp, True)
    pages = 0
    for section in IWF_SECTIONS:
        listed = sorted((p for p in pubs if p.kind == section), key=lambda p: p.stamp, reverse=True)
        count = -(-len(listed) // per_page)
        for page in range(1, count + 2):  # and one empty page after the last, as the site answers
            cards = listed[(page - 1) * per_page : page * per_page]
            w.add(f"{IWF}/news-media/{section}/?page={page}", f"{section}/page-{page}.html",
                  _iwf_listing(section, page, cards, page > count), "text/html; charset=utf-8",
                  cards[0].stamp if cards else None, False)
        pages = max(pages, count + 1)
    w.close()
    return Site(folder, "iwf", n, len(w.manifest) - 1, [_iwf_url(p) for p in pubs],
                [_iwf_url(p) for p in pubs if p.changed], {"max_listing_pages": pages + 1})


# ---------------------------------------------------------------- WordPress: the Children's Commissioner's REST API

LONDON_TZ = ZoneInfo("Europe/London")
COMMISSIONER = "https://www.childrenscommissioner.gov.uk"
COMMISSIONER_ASSETS = "https://assets.childrenscommissioner.gov.uk"
WP_PER_PAGE = 100  # the sources' `per_page` option (config.yaml): WordPress's maximum


def _wp_local(moment: datetime) -> str:
    return moment.astimezone(LONDON_TZ).strftime("%Y-%m-%dT%H:%M:%S")  # `date`: the site's local time


def _wp_gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")  # `date_gmt`: UTC without an offset


def _wp_typographic(text: str) -> str:
    """WordPress's rendered text: entities for quotes and dashes (``&#8217;``, ``&#8211;``)."""
    return html.escape(text, quote=False).replace("'", "&#8217;").replace(" - ", " &#8211; ")


def _wp_body(pub: SynthPub, document: str, link_host: str) -> str:
    """A post's ``content.rendered``: paragraphs, a heading every few, a quote, and for a report its PDF."""
    rng: random.Random = pub.extra["rng"]
    parts = []
    for k, para in enumerate(pub.paragraphs):
        if k == 2:
            parts.append(f'<blockquote class="wp-block-quote"><p>&#8220;{html.escape(para.split(".")[0])},&#8221; '
                         "said the Children&#8217;s Commissioner.</p></blockquote>")
        if k and k % 4 == 0:
            parts.append(f'<h2 class="wp-block-heading">{html.escape(para.split(",")[0][:60].rstrip("."))}</h2>')
        parts.append(f"<p>{html.escape(para)}</p>")
    if document:
        parts.append(f'<div class="wp-block-file"><a href="{document}">Download the report (PDF, '
                     f'{rng.randint(2, 60) / 10:.1f} MB)</a></div>')
    if rng.random() < 0.3:
        parts.append(f'<p>Read the <a href="https://{link_host}/government/publications/working-together-to-safeguard-'
                     'children--2">statutory guidance</a>.</p>')
    return "\n".join(parts) + "\n"


def _commissioner_post(pub: SynthPub, post_id: int) -> dict:
    rng: random.Random = pub.extra["rng"]
    post_type = "resource" if pub.kind == "resource" else "post"
    path = f"/resource/{pub.slug}/" if post_type == "resource" else f"/news-and-blogs/{pub.slug}/"
    pdf = (f"{COMMISSIONER_ASSETS}/wpuploads/{pub.published:%Y/%m}/cc-{pub.slug[:60]}.pdf"
           if post_type == "resource" else "")
    rest_base = "resource" if post_type == "resource" else "posts"
    title = _wp_typographic(pub.title)
    return {
        "id": post_id, "date": _wp_local(pub.published), "date_gmt": _wp_gmt(pub.published),
        "guid": {"rendered": f"{COMMISSIONER}/?p={post_id}"},
        "modified": _wp_local(pub.stamp), "modified_gmt": _wp_gmt(pub.stamp), "slug": pub.slug,
        "status": "publish", "type": post_type, "link": COMMISSIONER + path, "title": {"rendered": title},
        "content": {"rendered": _wp_body(pub, pdf, "www.gov.uk"), "protected": False},
        "excerpt": {"rendered": f"<p>{html.escape(pub.summary)} [&hellip;]</p>\n", "protected": False},
        "author": rng.randint(2, 30), "featured_media": rng.choice([0, post_id - 1]), "comment_status": "closed",
        "ping_status": "closed", "template": "", "meta": {"_acf_changed": False},
        **({"resource-type": [rng.choice([31, 32, 33])], "pillar": [rng.randint(40, 48)]}
           if post_type == "resource" else {"categories": [rng.randint(2, 9)], "tags": [], "sticky": False,
                                           "format": "standard"}),
        "class_list": [f"post-{post_id}", post_type, f"type-{post_type}", "status-publish", "hentry"],
        "yoast_head": (f'<title>{title} | Children&#8217;s Commissioner for England</title>\n'
                       f'<meta name="description" content="{html.escape(pub.summary)}" />\n'
                       '<meta name="robots" content="index, follow, max-snippet:-1, max-image-preview:large" />\n'
                       f'<link rel="canonical" href="{COMMISSIONER + path}" />\n'
                       '<meta property="og:locale" content="en_GB" />\n<meta property="og:type" content="article" />\n'
                       f'<meta property="og:title" content="{title}" />\n'
                       f'<meta property="og:url" content="{COMMISSIONER + path}" />\n'
                       f'<meta property="article:modified_time" content="{_wp_gmt(pub.stamp)}+00:00" />\n'
                       '<meta name="twitter:card" content="summary_large_image" />\n'),
        "_links": {"self": [{"href": f"{COMMISSIONER}/wp-json/wp/v2/{rest_base}/{post_id}"}],
                   "collection": [{"href": f"{COMMISSIONER}/wp-json/wp/v2/{rest_base}"}],
                   "about": [{"href": f"{COMMISSIONER}/wp-json/wp/v2/types/{post_type}"}],
                   "wp:attachment": [{"href": f"{COMMISSIONER}/wp-json/wp/v2/media?parent={post_id}"}]},
    }


def _wp_types(site: str, custom: tuple[str, ...]) -> dict:
    """``/wp-json/wp/v2/types``: WordPress's built-in types (which are not publications) and the site's own."""
    types = {"post": "posts", "page": "pages", "attachment": "media", "nav_menu_item": "menu-items",
             "wp_block": "blocks", **{t: t for t in custom}}
    return {slug: {"description": "", "hierarchical": slug == "page", "has_archive": slug in custom,
                   "name": slug.replace("_", " ").title(), "slug": slug, "icon": None, "taxonomies": [],
                   "rest_base": base, "rest_namespace": "wp/v2",
                   "_links": {"collection": [{"href": f"{site}/wp-json/wp/v2/types"}],
                              "wp:items": [{"href": f"{site}/wp-json/wp/v2/{base}"}]}}
            for slug, base in types.items()}


def _commissioner(folder: Path, n: int, seed: int, changed: set[int], validators: str) -> Site:
    """The Commissioner's REST API (its first door: SOURCES.md 3, tests/fixtures/childrens_commissioner):
    ``/wp-json/``, ``/wp-json/wp/v2/types`` and the ``posts`` and ``resource`` collections, 100 a page, newest
    first, with ``X-WP-Total`` and ``X-WP-TotalPages``."""
    pubs = publications("childrens_commissioner", n, seed, changed, ["resource", "resource", "post"])
    w = _Writer(folder, validators)
    w.add(f"{COMMISSIONER}/robots.txt", "robots.txt", ROBOTS.format(host=COMMISSIONER), "text/plain", None, False)
    json_type = "application/json; charset=UTF-8"
    index = {"name": "Children's Commissioner for England", "description": "", "url": COMMISSIONER,
             "home": COMMISSIONER, "gmt_offset": "0", "timezone_string": "Europe/London",
             "namespaces": ["oembed/1.0", "yoast/v1", "wp/v2", "wp-site-health/v1"], "authentication": [],
             "routes": {"/wp/v2/posts": {"namespace": "wp/v2", "methods": ["GET"]},
                        "/wp/v2/resource": {"namespace": "wp/v2", "methods": ["GET"]}}}
    w.add(f"{COMMISSIONER}/wp-json/", "wp-json/index.json", json.dumps(index, indent=1), json_type, None, False)
    w.add(f"{COMMISSIONER}/wp-json/wp/v2/types", "wp-json/types.json",
          json.dumps(_wp_types(COMMISSIONER, ("resource",)), indent=1), json_type, None, False)
    pages = 1
    for post_type, base in (("post", "posts"), ("resource", "resource")):
        listed = sorted((p for p in pubs if (p.kind == "resource") == (post_type == "resource")),
                        key=lambda p: p.published, reverse=True)
        total = max(1, -(-len(listed) // WP_PER_PAGE))
        pages = max(pages, total)
        for page in range(1, total + 1):
            chunk = listed[(page - 1) * WP_PER_PAGE : page * WP_PER_PAGE]
            posts = [_commissioner_post(p, 40_000 + 7 * p.index) for p in chunk]
            w.add(f"{COMMISSIONER}/wp-json/wp/v2/{base}?per_page={WP_PER_PAGE}&page={page}",
                  f"wp-json/{base}-{page}.json", json.dumps(posts), json_type, None, False,
                  {"X-WP-Total": str(len(listed)), "X-WP-TotalPages": str(total)})
    w.close()
    urls = [_commissioner_post(p, 0)["link"] for p in pubs]
    return Site(folder, "childrens_commissioner", n, len(w.manifest) - 1, urls,
                [u for u, p in zip(urls, pubs, strict=True) if p.changed],
                {"per_page": WP_PER_PAGE, "max_pages": max(50, pages)})


# ---------------------------------------------------------------- WordPress: the Panel's own site, HTML only

PANEL = "https://childsafeguarding.independent-panel.uk"
PANEL_LABELS = ["National review", "Annual report", "Practice guidance", "Corporate information", "Local review",
                "Rapid review", "Briefing"]
PANEL_MENU = [("Learning hub", "/learning-hub/"), ("Publications", "/publications/"), ("News", "/news/"),
              ("About the Panel", "/about/")]
WP_HEAD = ('<link rel="stylesheet" id="wp-block-library-css" href="/wp-includes/css/dist/block-library/style.min.css'
           '?ver=6.8.1" media="all" />\n<link rel="stylesheet" id="theme-css" href="/wp-content/themes/panel/dist/'
           'main.css?ver=1.4.2" media="all" />\n<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" '
           'id="jquery-core-js"></script>\n<link rel="https://api.w.org/" href="/wp-json/" />\n'
           '<link rel="EditURI" type="application/rsd+xml" title="RSD" href="/xmlrpc.php?rsd" />\n'
           '<meta name="generator" content="WordPress 6.8.1" />\n<style id="global-styles-inline-css">:root{'
           + "".join(f"--wp--preset--color--c{k}:#{(k * 2_654_435) % 0xFFFFFF:06x};--wp--preset--font-size--s{k}:"
                     f"{10 + k}px;--wp--preset--spacing--{k}0:{k / 4:.2f}rem;" for k in range(40))
           + "}</style>\n")


def _panel_url(pub: SynthPub) -> str:
    return f"{PANEL}/{pub.kind}/{pub.slug}/"


def _panel_chrome(title: str, inner: str, body_class: str, head: str = "") -> str:
    nav = " ".join(f'<a href="{u}">{t}</a>' for t, u in PANEL_MENU)
    return ('<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="UTF-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
            f"<title>{html.escape(title)} &#8211; Child Safeguarding Practice Review Panel</title>\n{head}{WP_HEAD}"
            f'</head>\n<body class="{body_class}">\n<a href="#content">Skip to main content</a>\n'
            '<div class="banner"><p>This is a new site. Please leave your feedback by completing '
            '<a href="/feedback-survey/">this survey</a>.</p></div>\n<header>\n'
            f'<a href="/">Child Safeguarding Practice Review Panel</a>\n<nav aria-label="Main">{nav}</nav>\n</header>\n'
            f'<main id="content">\n{inner}\n</main>\n<footer><a href="/privacy/">Privacy</a> '
            '<a href="/accessibility/">Accessibility</a> <a href="/cookies/">Cookies</a><p>&copy; Crown copyright'
            '</p></footer>\n<script src="/wp-content/themes/panel/dist/main.js?ver=1.4.2" id="theme-js"></script>\n'
            "</body>\n</html>\n")


def _panel_label(pub: SynthPub) -> str:
    return "News" if pub.kind == "news" else PANEL_LABELS[pub.index % len(PANEL_LABELS)]


def _panel_page(pub: SynthPub, post_id: int) -> str:
    """A publication as the real one (/?p=242) shows it: the type label before the <h1>, "Published 2 February
    2024", the body, and for each file "File size / File type / Number of pages" beside its Download link."""
    rng: random.Random = pub.extra["rng"]
    parts = [f"<p>{html.escape(pub.summary)}</p>"]
    for k, para in enumerate(pub.paragraphs):
        if k and k % 4 == 0:
            parts.append(f"<h2>{html.escape(para.split(',')[0][:60].rstrip('.'))}</h2>")
        parts.append(f"<p>{html.escape(para)}</p>")
    if pub.kind == "publications":
        for a in range(rng.randint(1, 2)):
            name = f"{pub.slug[:40].replace('-', '_')}{'' if a == 0 else f'_annex_{a}'}.pdf"
            parts.append(f"<section>\n<h2>{html.escape(pub.title)}{'' if a == 0 else f' (annex {a})'}</h2>\n<dl>\n"
                         f"<dt>File size:</dt>\n<dd>{rng.randint(2, 60) / 10:.1f} MB</dd>\n<dt>File type:</dt>\n"
                         f"<dd>PDF</dd>\n<dt>Number of pages:</dt>\n<dd>{rng.randint(4, 180)}</dd>\n</dl>\n"
                         f'<p><a href="/wp-content/uploads/{pub.published:%Y/%m}/{name}">Download</a></p>\n</section>')
    if rng.random() < 0.3:
        parts.append('<p>Read the <a href="https://www.gov.uk/government/publications/working-together-to-safeguard-'
                     'children--2">statutory guidance</a>.</p>')
    inner = (f"<article>\n<header>\n<p>{_panel_label(pub)}</p>\n<h1>{html.escape(pub.title)}</h1>\n"
             f"<p>Published {_iwf_card_date(pub.stamp)}</p>\n</header>\n" + "\n".join(parts) + "\n</article>")
    head = (f'<meta name="description" content="{html.escape(pub.summary)}">\n'
            f'<meta property="og:title" content="{html.escape(pub.title)}">\n'
            f'<link rel="shortlink" href="{PANEL}/?p={post_id}">\n')
    return _panel_chrome(pub.title, inner, f"single single-{pub.kind} postid-{post_id}", head)


def _panel_listing(section: str, page: int, cards: list[SynthPub], count: int) -> str:
    items = "".join(f"<article>\n<p>{_panel_label(p)}</p>\n<h2><a href=\"/{p.kind}/{p.slug}/\">{html.escape(p.title)}"
                    f"</a></h2>\n<p>Published {_iwf_card_date(p.stamp)}</p>\n<p>{html.escape(p.summary)}</p>\n"
                    "</article>\n" for p in cards)
    links = []
    if page > 1:
        links.append(f'<a rel="prev" href="/{section}/{"" if page == 2 else f"page/{page - 1}/"}">Previous</a>')
    links += [f'<a href="/{section}/{"" if k == 1 else f"page/{k}/"}">{k}</a>'
              for k in range(max(1, page - 2), min(count, page + 2) + 1) if k != page]
    if page < count:
        links.append(f'<a rel="next" href="/{section}/page/{page + 1}/">Next</a>')
    title = "Publications" if section == "publications" else "News"
    paged = f" paged paged-{page}" if page > 1 else ""
    return _panel_chrome(title, f"<h1>{title}</h1>\n{items}<nav aria-label=\"Pagination\">{' '.join(links)}</nav>",
                         f"archive post-type-archive post-type-archive-{section}{paged}")


def _panel_site(folder: Path, n: int, seed: int, changed: set[int], validators: str, per_page: int) -> Site:
    """The Panel's own site as the fixture has it (tests/fixtures/csprp_panel_site): no REST API, no feed and
    no wp-sitemap.xml (404), so the spider takes the HTML door and finds the listings in the home page's
    navigation (/publications/, /news/; /learning-hub/ and /about/ are not listings), each paged
    /<listing>/page/N/, cards as <article>s with a type label, a dated line and an excerpt."""
    pubs = publications("csprp_panel_site", n, seed, changed, ["publications", "publications", "news"])
    w = _Writer(folder, validators)
    w.add(f"{PANEL}/robots.txt", "robots.txt", ROBOTS.format(host=PANEL), "text/plain", None, False)
    for url in ("/wp-json/", "/feed/", "/wp-sitemap.xml"):
        w.missing(PANEL + url)
    page_type = "text/html; charset=UTF-8"
    w.add(f"{PANEL}/", "index.html", _panel_chrome("Home", "<h1>Child Safeguarding Practice Review Panel</h1>\n<p>We "
          "commission national reviews of serious child safeguarding cases and share the learning from local "
          "reviews.</p>", "home page-template-default page"), page_type, None, False)
    for path, title in (("learning-hub", "Learning hub"), ("about", "About the Panel")):
        w.add(f"{PANEL}/{path}/", f"{path}.html", _panel_chrome(title, f"<h1>{title}</h1>\n<p>{title} of the Child "
              "Safeguarding Practice Review Panel.</p>", "page-template-default page"), page_type, None, False)
    for pub in pubs:
        w.add(_panel_url(pub), f"{pub.kind}/{pub.slug}.html", _panel_page(pub, 200 + 3 * pub.index), page_type,
              pub.stamp, True)
    pages = 1
    for section in ("publications", "news"):
        listed = sorted((p for p in pubs if p.kind == section), key=lambda p: p.stamp, reverse=True)
        count = max(1, -(-len(listed) // per_page))
        pages = max(pages, count)
        for page in range(1, count + 1):
            cards = listed[(page - 1) * per_page : page * per_page]
            w.add(f"{PANEL}/{section}/" + ("" if page == 1 else f"page/{page}/"), f"{section}/page-{page}.html",
                  _panel_listing(section, page, cards, count), page_type, cards[0].stamp if cards else None, False)
    w.close()
    return Site(folder, "csprp_panel_site", n, len(w.manifest) - 1, [_panel_url(p) for p in pubs],
                [_panel_url(p) for p in pubs if p.changed], {"max_pages": max(50, pages)})


# ---------------------------------------------------------------- NSPCC Learning: HTML listings + articles

NSPCC = "https://learning.nspcc.org.uk"
NSPCC_TOPICS = ["News", "News", "Blog", "Podcast"]
NSPCC_SUBJECTS = ["Online safety", "Neglect", "Child sexual abuse", "Case reviews", "Schools", "Emotional abuse",
                  "Safer recruitment", "Child protection system"]
NSPCC_MENU = [("Safeguarding and child protection", "/safeguarding-child-protection"),
              ("Research and resources", "/research-resources"), ("Training", "/training"),
              ("Consultancy", "/consultancy"), ("News", "/news"), ("CASPAR", "/caspar")]


def _nspcc_url(pub: SynthPub) -> str:
    if pub.kind == "news":
        return f"{NSPCC}/news/{pub.published.year}/{pub.published:%B}".lower() + f"/{pub.slug}"
    return f"{NSPCC}/research-resources/{pub.published.year}/{pub.slug}"


def _nspcc_chrome(title: str, inner: str) -> str:
    """The fixture's page (tests/fixtures/nspcc_learning) with the weight of a real menu and footer."""
    menu = "".join(f'<li><a href="{u}">{t}</a><ul class="site-nav__sub">'
                   + "".join(f'<li><a href="{u}/{slugify(s)}">{s}</a></li>' for s in SUBMENU) + "</ul></li>"
                   for t, u in NSPCC_MENU)
    return ('<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)} | NSPCC Learning</title>\n"
            '<link rel="stylesheet" href="/dist/css/main.css?v=3">\n</head>\n<body>\n'
            '<header class="site-header"><a class="site-header__logo" href="/">NSPCC Learning</a>\n'
            f'<nav class="site-nav" aria-label="Main"><ul>{menu}</ul></nav></header>\n'
            f'<main id="main-content">\n{inner}\n</main>\n'
            '<footer class="site-footer"><p><a href="/contact-us">Contact us</a> <a href="/privacy">Privacy</a> '
            '<a href="/cookies">Cookies</a> <a href="/accessibility">Accessibility</a>\n</p><p>&copy; NSPCC. '
            "Registered charity England and Wales 216401. Scotland SC037717.</p></footer>\n"
            '<script src="/dist/js/main.js?v=3" defer></script>\n</body>\n</html>\n')


def _nspcc_article(pub: SynthPub) -> str:
    rng: random.Random = pub.extra["rng"]
    news = pub.kind == "news"
    topic = NSPCC_TOPICS[pub.index % len(NSPCC_TOPICS)] if news else NSPCC_SUBJECTS[pub.index % len(NSPCC_SUBJECTS)]
    title = f"Podcast: {pub.title}" if news and topic == "Podcast" else pub.title
    listing = "/news" if news else "/research-resources"
    meta = (f"Last updated: {pub.stamp.day:02d} {pub.stamp:%b %Y} Topics: " if news else
            f"Publication date {pub.published:%B %Y} Topics: ")
    meta += f'<a href="{listing}?topics={topic.replace(" ", "")}">{topic}</a>'
    parts = [f'<p class="standfirst">{html.escape(pub.summary)}</p>']
    for k, para in enumerate(pub.paragraphs):
        if k and k % 4 == 0:
            parts.append(f"<h2>{html.escape(para.split(',')[0][:60].rstrip('.'))}</h2>")
        parts.append(f"<p>{html.escape(para)}</p>")
    if not news or rng.random() < 0.3:
        parts.append(f'<p><a href="/media/{pub.index:08x}/{pub.slug[:50]}.pdf">Download the '
                     f'{"transcript" if news else "briefing"} (PDF)</a></p>')
    if rng.random() < 0.3:
        parts.append('<p>Read the <a href="https://www.gov.uk/government/publications/working-together-to-safeguard-'
                     'children--2">statutory guidance</a>.</p>')
    inner = ('<nav class="breadcrumbs" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>'
             f'<li><a href="{listing}">{"News" if news else "Research and resources"}</a></li></ol></nav>\n'
             '<article class="article">\n<header class="article-header">\n'
             f'<h1 class="article-header__title">{html.escape(title)}</h1>\n'
             f'<div class="article-meta"><p class="article-meta">{meta}</p></div>\n</header>\n'
             f'<div class="rich-text">\n{"".join(parts)}\n</div>\n</article>\n'
             '<aside class="related"><h2>Related</h2><ul><li><a href="/research-resources">More resources</a></li>'
             "</ul></aside>")
    return _nspcc_chrome(title, inner).replace(
        "</title>\n", f'</title>\n<meta name="description" content="{html.escape(pub.summary)}">\n'
                      f'<meta property="og:title" content="{html.escape(title)}">\n', 1)


def _nspcc_listing(path: str, page: int, cards: list[SynthPub], count: int) -> str:
    def href(k: int) -> str:
        return path if k == 1 else f"{path}?page={k}"

    if path == "/news":
        items = "".join(f'<li class="c-card"><a class="c-card__link" href="{_nspcc_url(p)[len(NSPCC):]}"><h3 '
                        f'class="c-card__title">{html.escape(p.title)}</h3></a><p class="c-card__summary">'
                        f"{html.escape(p.summary)}</p></li>\n" for p in cards)
    else:
        items = "".join(f'<li class="resource-card"><h3><a href="{_nspcc_url(p)[len(NSPCC):]}">{html.escape(p.title)}'
                        f"</a></h3><p>(Published {p.published.year})</p><p>{html.escape(p.summary)}</p></li>\n"
                        for p in cards)
    links = ([f'<a href="{href(page - 1)}">Previous</a>'] if page > 1 else []) + [
        f'<a href="{href(k)}">{k}</a>' for k in range(max(1, page - 2), min(count, page + 2) + 1) if k != page] + (
        [f'<a href="{href(page + 1)}">Next</a>'] if page < count else [])
    title = "News" if path == "/news" else "Research and resources"
    return _nspcc_chrome(title, f'<h1>{title}</h1>\n<ul class="c-listing">\n{items}</ul>\n'
                                f'<nav class="c-pagination" aria-label="Pagination">{" ".join(links)}</nav>')


def _nspcc(folder: Path, n: int, seed: int, changed: set[int], validators: str, per_page: int) -> Site:
    """NSPCC Learning as the fixture has it (tests/fixtures/nspcc_learning): no sitemap (404), so the spider
    walks its two listings, /news and /research-resources (``?page=N``), to the articles:
    /news/<yyyy>/<month>/<slug> ("Last updated: 31 May 2024 Topics: News") and
    /research-resources/<yyyy>/<slug> ("Publication date March 2021"; cards "(Published 2021)")."""
    pubs = publications("nspcc_learning", n, seed, changed, ["news", "news", "research"])
    w = _Writer(folder, validators)
    w.add(f"{NSPCC}/robots.txt", "robots.txt", ROBOTS.format(host=NSPCC), "text/plain", None, False)
    w.missing(f"{NSPCC}/sitemap.xml")
    for pub in pubs:
        w.add(_nspcc_url(pub), f"{pub.kind}/{pub.slug}.html", _nspcc_article(pub), "text/html; charset=utf-8",
              pub.stamp, True)
    pages = 0
    for kind, path in (("news", "/news"), ("research", "/research-resources")):
        listed = sorted((p for p in pubs if p.kind == kind), key=lambda p: p.stamp, reverse=True)
        count = max(1, -(-len(listed) // per_page))
        pages += count
        for page in range(1, count + 1):
            cards = listed[(page - 1) * per_page : page * per_page]
            w.add(NSPCC + path + ("" if page == 1 else f"?page={page}"), f"{kind}/page-{page}.html",
                  _nspcc_listing(path, page, cards, count), "text/html; charset=utf-8",
                  cards[0].stamp if cards else None, False)
    w.close()
    return Site(folder, "nspcc_learning", n, len(w.manifest) - 1, [_nspcc_url(p) for p in pubs],
                [_nspcc_url(p) for p in pubs if p.changed], {"max_listing_pages": max(50, pages + 2)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder to write <shape>/manifest.json into")
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--publications", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--change", type=float, default=0.0, help="fraction of publications changed (e.g. 0.01)")
    parser.add_argument("--validators", choices=["detail", "all", "none"], default="detail")
    parser.add_argument("--page-size", type=int, default=20, help="GOV.UK Search API count (config page_size)")
    parser.add_argument("--per-page", type=int, default=20, help="IWF cards per listing page")
    args = parser.parse_args(argv)
    for shape in SHAPES if args.shape == "all" else (args.shape,):
        site = build(args.out, shape, args.publications, args.seed, args.change, args.validators, args.page_size,
                     args.per_page)
        size = sum(f.stat().st_size for f in site.folder.rglob("*") if f.is_file())
        print(f"{shape}: {site.publications} publications, {site.pages} pages, {size / 1e6:.1f} MB, "
              f"{len(site.changed_urls)} changed -> {site.folder}  (source options: {site.options})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
