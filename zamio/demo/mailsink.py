"""A local mail sink for the demo: a tiny SMTP server that accepts every message and files it.

Just enough of SMTP (RFC 5321) for ``smtplib``: greeting, EHLO/HELO, MAIL,
RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT.  Each accepted message is
written to ``<folder>/<n>.eml`` so a person can open what zamio sent.
"""

from __future__ import annotations

import socketserver
import threading
from pathlib import Path


class _Session(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.reply("220 zamio-demo mail sink")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 zamio-demo")
            elif verb == b"DATA":
                self.reply("354 end data with <CR><LF>.<CR><LF>")
                sink = self.server
                assert isinstance(sink, MailSink)  # the only server this handler serves
                sink.file(self.read_data())
                self.reply("250 accepted")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")

    def read_data(self) -> bytes:
        lines = []
        for line in iter(self.rfile.readline, b""):
            if line.rstrip(b"\r\n") == b".":
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


class MailSink(socketserver.ThreadingTCPServer):
    """``with MailSink(folder) as sink:`` listens on 127.0.0.1:``sink.port`` until the block ends."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def file(self, message: bytes) -> None:
        with self.lock:
            self.count += 1
            (self.folder / f"{self.count:03d}.eml").write_bytes(message)

    def __enter__(self) -> MailSink:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
