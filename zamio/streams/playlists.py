"""Station playlists: ``.pls`` (INI style) and ``.m3u``/``.m3u8`` (one URL a line).

A station link often names a playlist rather than the stream itself, sometimes nested
(a ``.pls`` pointing at an ``.m3u8``).  HLS playlists are ``.m3u8`` files with
``#EXT-X-`` tags and are handed to :mod:`zamio.streams.hls`.

A playlist comes from a third party's server, so it is read line by line in one pass
(its size is capped, and no pattern here backtracks across a line): lines end at CR, LF
or CRLF only, never at the other characters ``str.splitlines`` breaks on, which a URL
may hold.  An entry that cannot be resolved against the playlist's URL (``http://[x``)
is kept as written: the capture refuses it naming it, and tries the next.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from zamio.streams.formats import media_type

MAX_PLAYLIST_BYTES = 256 * 1024  # a radio playlist is a few hundred bytes; HLS a few KiB
MAX_PLAYLIST_ENTRIES = 5  # mirrors tried in order before giving up
PLAYLIST_TYPES = {
    "audio/x-scpls": "pls", "application/pls+xml": "pls", "audio/scpls": "pls",
    "audio/x-mpegurl": "m3u", "audio/mpegurl": "m3u", "application/x-mpegurl": "m3u",
    "application/vnd.apple.mpegurl": "m3u", "application/mpegurl": "m3u",
    "audio/x-mpequrl": "m3u",
}
PLAYLIST_EXTENSIONS = {".pls": "pls", ".m3u": "m3u", ".m3u8": "m3u"}
PLS_ENTRY = re.compile(r"File([0-9]+)\s*=(.*)", re.S)  # matched against one stripped line
LINE_BREAK = re.compile(r"\r\n|\r|\n")
URL_LINE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def declared_kind(content_type: str | None, url: str) -> str | None:
    """Given the Content-Type and URL, return 'pls' or 'm3u' if they declare a playlist."""
    kind = PLAYLIST_TYPES.get(media_type(content_type))
    if kind:
        return kind
    path = urlsplit(url).path.lower()
    for extension, kind in PLAYLIST_EXTENSIONS.items():
        if path.endswith(extension):
            return kind
    return None


def body_kind(head: bytes) -> str | None:
    """Given the first bytes of a body, return 'pls', 'hls' or 'm3u' if it is a playlist."""
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:10].lower() == b"[playlist]":
        return "pls"
    if text.startswith(b"#EXTM3U"):
        return "hls" if b"#EXT-X-" in head else "m3u"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and all(line.startswith(b"#") or URL_LINE.match(line.decode("latin-1"))
                     for line in lines[:20]):
        return "m3u" if any(not line.startswith(b"#") for line in lines) else None
    return None


def decode_text(body: bytes) -> str:
    """Decode a playlist body: UTF-8 (with or without BOM), else Latin-1."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def text_lines(text: str) -> list[str]:
    """Given a playlist text, return its lines, split at CR, LF and CRLF only."""
    return LINE_BREAK.split(text)


def parse_pls(text: str) -> list[str]:
    """Given a ``.pls`` text, return its non-empty ``FileN=`` entries in N order."""
    numbered = []
    for line in text_lines(text):
        match = PLS_ENTRY.fullmatch(line.strip())
        if match and match.group(2).strip():
            digits = match.group(1).lstrip("0")
            # N compared as digits: int() refuses a number of more than 4300 digits.
            numbered.append((len(digits), digits, match.group(2).strip()))
    return [url for _, _, url in sorted(numbered)]


def parse_m3u(text: str) -> list[str]:
    """Given an ``.m3u`` text, return its entries (non-comment, non-empty lines)."""
    return [line.strip() for line in text_lines(text)
            if line.strip() and not line.strip().startswith("#")]


def resolve(base_url: str, entry: str) -> str:
    """Given a playlist's URL and one of its entries, return the entry made absolute, or as written
    when it cannot be (a malformed host such as ``http://[x``: reading it then refuses it, naming it)."""
    try:
        return urljoin(base_url, entry)
    except ValueError:
        return entry


def playlist_entries(kind: str, body: bytes, base_url: str) -> list[str]:
    """Given a playlist kind ('pls' or 'm3u') and body, return absolute entry URLs
    (relative entries resolved against ``base_url``), at most MAX_PLAYLIST_ENTRIES."""
    text = decode_text(body)
    entries = parse_pls(text) if kind == "pls" else parse_m3u(text)
    return [resolve(base_url, entry) for entry in entries[:MAX_PLAYLIST_ENTRIES]]


def is_hls(body: bytes) -> bool:
    """Return True if a playlist body is an HLS playlist (it has ``#EXT-X-`` tags)."""
    return b"#EXT-X-" in body
