"""Secrets kept out of what the pipeline writes: URLs without their userinfo and token parameters, a URL
reduced to what may be logged (host and port), and known secret values masked in any text.

Pure functions, no I/O: used by alert delivery (webhook URLs, SMTP passwords), the recorder (redirect
``Location`` headers in a manifest) and configuration checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry credentials or session identities (compared in lower case).
SECRET_PARAMS = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth", "authorization", "key", "api_key", "apikey",
    "api-key", "secret", "client_secret", "password", "passwd", "pwd", "sig", "signature", "session",
    "sessionid", "session_id", "sid", "jsessionid", "phpsessid", "code", "x-amz-signature", "x-amz-credential",
    "x-amz-security-token", "x-goog-signature", "x-goog-credential",
})
MIN_SECRET = 4  # shorter values are not masked in text (a password "a" would mask every "a")
MIN_SEGMENT = 8  # path segments this long may be tokens (Slack's /services/T…/B…/…); "hooks" is not one


def is_secret_param(name: str) -> bool:
    return name.strip().lower() in SECRET_PARAMS


def without_secrets(url: str) -> str:
    """``url`` without userinfo (``user:password@``) and without token-like query parameters; a URL that
    cannot be parsed is returned whole only when it has neither ``@`` nor ``?`` (else nothing is kept)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url if "@" not in url and "?" not in url else ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "") if parts.username is not None or parts.password \
        else parts.netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_param(k) for k, _ in pairs):
            query = urlencode([(k, v) for k, v in pairs if not is_secret_param(k)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def loggable_url(url: str) -> str:
    """What of a secret URL may be shown: its host and port (the path of a webhook is its token)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(not a URL)"
    if not parts.scheme or not parts.hostname:
        return "(not a URL)"
    return parts.hostname + (f":{port}" if port is not None else "")


def secrets_of_url(url: str) -> list[str]:
    """The parts of ``url`` that must never be shown: the URL itself, its userinfo, path, long path
    segments and query, and the values of token-like parameters (each also percent-decoded and re-encoded)."""
    found = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    found += [p for p in (parts.username, parts.password, parts.path.strip("/"), parts.query) if p]
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if is_secret_param(k)]
    found += [s for s in parts.path.split("/") if len(s) >= MIN_SEGMENT]  # a token is one long segment
    variants = {v for s in found for v in (s, unquote(s), quote(s, safe=""), quote(s, safe="/:@"))}
    return sorted(variants, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of at least MIN_SECRET characters) replaced by ``***``, longest first."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL, in words that repeat no part of it; None when it is."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "is not a valid URL (bad host or port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s) URL"
    if any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return "contains spaces or control characters"
    return None
