"""Separating ICY (SHOUTcast/Icecast) metadata from the audio it is interleaved with.

With ``Icy-MetaData: 1`` the server answers ``icy-metaint: N``; the body is then N audio
bytes, one length byte L, L x 16 bytes of metadata (NUL padded, L = 0 most of the time),
N audio bytes again, and so on.  Left in, the metadata would corrupt the audio.
"""

from __future__ import annotations

import re

from zamio.streams.errors import StreamTooLarge

METADATA_UNIT_BYTES = 16
MAX_METAINT_BYTES = 1 << 20  # real servers use 8192-32768; beyond 1 MiB is not ICY
# Metadata normally costs a few hundred bytes per song.  Allow a fixed allowance plus
# a share of the audio; a server that sends more is padding the stream with junk.
METADATA_ALLOWANCE_BYTES = 16 * 1024
METADATA_MAX_SHARE = 0.10
STREAM_TITLE = re.compile(r"StreamTitle='(.*?)';", re.S)


def parse_metaint(value: str | None) -> int | None:
    """Given the ``icy-metaint`` header value, return the interval in bytes, or None when
    absent, zero or unparseable; raise StreamTooLarge for an absurd interval."""
    try:
        metaint = int((value or "").strip())
    except ValueError:
        return None
    if metaint > MAX_METAINT_BYTES:
        raise StreamTooLarge(f"icy-metaint {metaint} exceeds {MAX_METAINT_BYTES} bytes; "
                             "the server is broken or hostile")
    return metaint if metaint > 0 else None


def decode_metadata(block: bytes) -> str:
    """Decode one metadata block: UTF-8, else Latin-1 (the charset is never declared)."""
    raw = block.rstrip(b"\x00")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def stream_title(text: str) -> str | None:
    """Given decoded metadata, return its StreamTitle (stripped), or None if it has none."""
    match = STREAM_TITLE.search(text)
    return match.group(1).strip() if match else None


class IcyDemuxer:
    """Feed it body bytes, get audio bytes back; it keeps the last StreamTitle, and in
    ``titles`` each title that differs from the one before with the count of audio bytes
    received when it arrived (where the station's item changed, give or take its encoder's buffer).

    ``where`` names the stream (redacted URL) in error messages.  Raise StreamTooLarge
    when metadata outgrows METADATA_ALLOWANCE_BYTES plus METADATA_MAX_SHARE of the audio.
    """

    def __init__(self, metaint: int, where: str) -> None:
        self.metaint = metaint
        self.where = where
        self.title: str | None = None
        self.titles: list[tuple[int, str]] = []
        self.audio_bytes = 0
        self.metadata_bytes = 0
        self._audio_left = metaint  # audio bytes until the next length byte
        self._meta_left = 0  # metadata bytes still to come in the current block
        self._meta = bytearray()

    def feed(self, data: bytes) -> bytes:
        """Given the next body bytes, return the audio bytes among them."""
        audio = bytearray()
        i = 0
        while i < len(data):
            if self._audio_left:
                take = min(self._audio_left, len(data) - i)
                audio += data[i:i + take]
                self.audio_bytes += take
                self._audio_left -= take
                i += take
            elif self._meta_left:
                take = min(self._meta_left, len(data) - i)
                self._meta += data[i:i + take]
                self._meta_left -= take
                i += take
                if not self._meta_left:
                    self._end_block()
            else:
                self._start_block(data[i])
                i += 1
        return bytes(audio)

    def _start_block(self, length_byte: int) -> None:
        self._meta_left = length_byte * METADATA_UNIT_BYTES
        self.metadata_bytes += 1 + self._meta_left
        if self.metadata_bytes > METADATA_ALLOWANCE_BYTES + METADATA_MAX_SHARE * self.audio_bytes:
            raise StreamTooLarge(f"{self.where} sent {self.metadata_bytes} bytes of ICY "
                                 f"metadata against {self.audio_bytes} bytes of audio; the "
                                 "server is broken or hostile", reason="icy_metadata_abuse")
        if not self._meta_left:
            self._audio_left = self.metaint

    def _end_block(self) -> None:
        title = stream_title(decode_metadata(bytes(self._meta)))
        if title is not None:
            if title != self.title:
                self.titles.append((self.audio_bytes, title))
            self.title = title
        self._meta.clear()
        self._audio_left = self.metaint
