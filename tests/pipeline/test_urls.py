import pytest

from pipeline.items.files import document_extension, media_extension, url_extension
from pipeline.items.urls import host_in_domains


@pytest.mark.parametrize(("host", "domains", "inside"), [
    ("www.iwf.org.uk", ["iwf.org.uk"], True),
    ("iwf.org.uk", ["iwf.org.uk"], True),
    ("WWW.IWF.ORG.UK", ["iwf.org.uk"], True),
    ("evil-iwf.org.uk", ["iwf.org.uk"], False),
    ("iwf.org.uk.evil.test", ["iwf.org.uk"], False),
    ("assets.publishing.service.gov.uk", ("www.gov.uk", "publishing.service.gov.uk"), True),
    ("example.org", [], False),
    ("", ["iwf.org.uk"], False),
])
def test_host_in_domains_takes_the_domain_and_its_subdomains_only(host, domains, inside):
    assert host_in_domains(host, domains) is inside


@pytest.mark.parametrize(("url", "ext", "document", "media"), [
    ("https://x.org/files/Report%20final.PDF", "pdf", "pdf", ""),
    ("https://x.org/a/photo.jpg?w=300", "jpg", "", "jpg"),
    ("https://x.org/data.xlsx/", "xlsx", "xlsx", ""),
    ("https://x.org/news/a-story", "", "", ""),
    ("https://x.org/v.mp4;jsessionid=1", "mp4", "", "mp4"),
])
def test_one_table_says_what_is_a_document_and_what_is_media(url, ext, document, media):
    assert (url_extension(url), document_extension(url), media_extension(url)) == (ext, document, media)


def test_canonical_url_fast_path_gives_what_w3lib_gives():
    """URLs already in canonical form skip w3lib's canonicalize_url; for every URL the fast path takes, the
    result must be the one w3lib gives (a changed URL would change publication ids and content hashes)."""
    import random

    from w3lib.url import canonicalize_url

    from pipeline.items.urls import _ALREADY_CANONICAL, canonical_url

    rng = random.Random(19)
    alphabet = "aZ09.-_~/%?#:@+;=& é"
    taken = 0
    for _ in range(20000):
        host = rng.choice(["www.gov.uk", "WWW.gov.uk", "x.org.", "-x.org", "xn--bcher-kva.ch", "1.2.3.4", "a..b"])
        path = "/" + "".join(rng.choice(alphabet if rng.random() < 0.5 else alphabet[:9])
                             for _ in range(rng.randint(0, 14)))
        url = rng.choice(["https://", "http://"]) + host + path + rng.choice(["", "#", "#x?y=1", "#/../"])
        expected = canonicalize_url(url, keep_fragments=False).replace("http://", "https://", 1)
        if _ALREADY_CANONICAL.fullmatch(url.split("#", 1)[0]):
            taken += 1
            assert canonical_url(url) == expected, url
    assert taken > 2000  # the fast path was exercised, not only the slow one
    for url in ("https://www.gov.uk/a/../b", "https://x.org/a/./b", "https://x.org/a%2f", "https://x.org",
                "https://X.org/a", "https://x.org:443/a", "https://x.org/a?utm_source=x&b=1#f"):
        assert not _ALREADY_CANONICAL.fullmatch(url.split("#", 1)[0])
        assert canonical_url(url) == canonicalize_url(
            url if "utm_" not in url else "https://x.org/a?b=1", keep_fragments=False)
