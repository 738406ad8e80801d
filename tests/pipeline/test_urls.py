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
