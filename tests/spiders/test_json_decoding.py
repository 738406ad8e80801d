"""Issue 22: a JSON document with one invalid UTF-8 byte was decoded as a whole in another encoding
(every curly quote garbled). It is decoded as UTF-8 with U+FFFD in place of the bad byte only, and
counted (``sgn/json_invalid_utf8``). Input: a real GOV.UK content API answer (shared realdata)."""

import json

from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from spiders._base import SourceSpider
from tests.support import REALDATA

REAL = REALDATA / "govuk" / "content_api" / "news_article" / "frontend" / "news_article_press_release.json"


class JsonSpider(SourceSpider):
    name = "json_test"


def load(body: bytes):
    crawler = get_crawler(JsonSpider)
    spider = JsonSpider.from_crawler(crawler)
    response = TextResponse("https://www.gov.uk/api/content/x", body=body,
                            headers={"Content-Type": "application/json"})
    return spider.load_json(response), crawler.stats.get_value("sgn/json_invalid_utf8"), response


def test_one_bad_byte_spoils_one_field_not_the_document():
    raw = REAL.read_bytes()
    good = json.loads(raw)
    accented = "\u2019"  # the curly apostrophe of the real title and description
    first = raw.index(b'"description":') + len(b'"description": "')
    broken = raw[:first] + b"\xff" + raw[first:]
    data, counted, response = load(broken)
    assert accented not in response.text, "before: the whole document was re-guessed as another encoding"
    assert counted == 1
    assert data["description"] == "\ufffd" + good["description"]
    assert data["title"] == good["title"] and accented in data["title"]
    data.pop("description"), good.pop("description")
    assert data == good, "every other field exactly as in the valid document"


def test_valid_json_is_read_as_it_is_and_not_counted():
    data, counted, _ = load(REAL.read_bytes())
    assert data == json.loads(REAL.read_bytes()) and counted is None
