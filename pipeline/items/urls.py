"""URLs: the canonical form every publication is stored under, and whether a host is one of a source's."""

from __future__ import annotations

import re
from collections.abc import Iterable

from w3lib.url import canonicalize_url, url_query_cleaner

TRACKING_PARAMS = ("fbclid", "gclid", "mc_cid", "mc_eid", "_ga", "_gl")
# A URL that w3lib's canonicalize_url would give back unchanged (once its fragment is dropped): lower-case
# host, no port, no query, a path of unreserved characters only and no dot segment. Most links on a page are
# like this; for them canonical_url skips w3lib's parse-and-rebuild (tests/pipeline/test_urls.py checks the
# two agree on every URL the pattern matches).
_ALREADY_CANONICAL = re.compile(r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?:/(?!\.)[A-Za-z0-9._~-]*)+")
_QUERY_PARAM = re.compile(r"[?&]([^=&#]+)")


def canonical_url(url: str, trailing_slash: str = "keep") -> str:
    """Scheme and host normalised, fragment and tracking parameters dropped, query sorted.

    ``trailing_slash`` is the site's rule for paths: ``keep`` as given, ``strip`` or ``add``.
    """
    url = url.strip()
    if not url:
        return ""
    base = url.split("#", 1)[0]
    if _ALREADY_CANONICAL.fullmatch(base):
        url = base
    else:
        query_params = _QUERY_PARAM.findall(url)
        tracking = [p for p in query_params if p.lower().startswith("utm_") or p.lower() in TRACKING_PARAMS]
        if tracking:
            url = url_query_cleaner(url, tracking, remove=True, keep_fragments=True)
        url = canonicalize_url(url, keep_fragments=False)
    if url.startswith("http://"):
        url = "https://" + url[len("http://") :]
    return _apply_slash_rule(url, trailing_slash)


def _apply_slash_rule(url: str, rule: str) -> str:
    head, sep, query = url.partition("?")
    scheme_host, _, path = head.partition("://")
    host, slash, rest = path.partition("/")
    if not rest or rule == "keep":
        return url
    last = rest.rsplit("/", 1)[-1]
    if rule == "strip":
        rest = rest.rstrip("/")
    elif rule == "add" and not rest.endswith("/") and "." not in last:
        rest += "/"
    return f"{scheme_host}://{host}/{rest}{sep}{query}"


def host_in_domains(host: str, domains: Iterable[str]) -> bool:
    """True when ``host`` is one of ``domains`` or a subdomain of one (case-insensitive)."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (str(d).lower().rstrip(".") for d in domains) if d)
