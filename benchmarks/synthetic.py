"""Large synthetic recorded sites (DESIGN 3.3) in the shape of the sources, for the benchmarks.

    python benchmarks/synthetic.py OUT [--shape csprp_govuk|iwf|all] [--publications 5000] [--seed 1]
                                   [--change 0.01] [--validators detail|all|none]

writes ``OUT/<shape>/manifest.json`` and the response bodies beside it, to be served by ``crawl --replay
OUT/<shape>`` or ``pipeline.replay.ReplayServer``:

- ``csprp_govuk``: GOV.UK Search API pages (``/api/search.json?...&count=N&start=K``, newest
  ``public_timestamp`` first) and one Content API document per publication (``/api/content/<path>``), with
  the fields, attachments and links of real Content API documents;
- ``iwf``: the IWF's listings (``/news-media/news/?page=N`` and ``/news-media/blogs/?page=N``, newest first,
  an empty page after the last) and article pages ("Published:  Sun 2 Feb 2025", standfirst, body, tags,
  related articles, a site header and footer of realistic weight).

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

import numpy as np

SHAPES = ("csprp_govuk", "iwf")
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
            detail: bool) -> None:
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
        self.manifest[url] = {"file": path, "headers": headers}

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
