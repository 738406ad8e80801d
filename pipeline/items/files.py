"""Files linked from a page: the one table of which extensions are documents we keep (a report's PDF, a
data sheet) and which are media we refuse to download (images, video, audio: the crawl is text only)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote, urlsplit

DOCUMENT_EXTENSIONS = frozenset(
    ["pdf", "doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "csv", "ppt", "pptx", "epub", "zip"]
)
_MEDIA_BY_KIND = {
    "image": "jpg jpeg jpe jfif pjpeg pjp png apng gif webp svg svgz avif bmp dib ico cur tif tiff heic heif jxl "
             "jp2 psd raw dng cr2 nef",
    "video": "mp4 m4v mov qt webm avi mkv wmv asf flv f4v mpg mpeg mpe 3gp 3g2 ogv m3u8 mpd ts m2ts vob",
    "audio": "mp3 m4a m4b wav ogg oga opus flac aac wma aif aiff mid midi amr",
    "other": "swf",
}
MEDIA_EXTENSIONS = frozenset(ext for group in _MEDIA_BY_KIND.values() for ext in group.split())
MEDIA_TYPE_PREFIXES = ("image/", "video/", "audio/", "model/")
MEDIA_TYPES = frozenset({
    "application/ogg", "application/mp4", "application/x-mpegurl", "application/vnd.apple.mpegurl",
    "application/dash+xml", "application/x-shockwave-flash", "application/vnd.rn-realmedia",
    "application/vnd.ms-asf",
})


def url_extension(url: str) -> str:
    """The lower-case extension of the URL path's last segment (``"pdf"``), or ``""``; the query string is
    not looked at."""
    path = unquote(urlsplit(url).path).rstrip("/")
    last = path.rsplit("/", 1)[-1].split(";", 1)[0]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


def document_extension(url: str) -> str:
    """The document extension the URL ends in (``"pdf"``), or ``""``."""
    ext = url_extension(url)
    return ext if ext in DOCUMENT_EXTENSIONS else ""


def media_extension(url: str) -> str:
    """The media extension the URL ends in (``"jpg"``), or ``""``."""
    ext = url_extension(url)
    return ext if ext in MEDIA_EXTENSIONS else ""


@lru_cache(maxsize=1024)  # a crawl sees a handful of Content-Type values, each checked twice per response
def is_media_type(content_type: str | bytes | None) -> bool:
    """True for image/*, video/*, audio/* and the other media types; HTML, PDF, JSON, XML, text are not."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime.startswith(MEDIA_TYPE_PREFIXES) or mime in MEDIA_TYPES
