"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), with scripted replies and hooks.

Usage::

    with SmtpServer() as server:
        server.replies = ["451 4.3.0 try again", "250 OK"]   # one per DATA, then "250 OK"
        server.reject_rcpt["bad@example.org"] = "550 5.1.1 no such user"
        ... run the sender with SMTP_HOST=127.0.0.1 SMTP_PORT=server.port ...
        server.messages  # every accepted message: Received(envelope_from, recipients, message)

``SmtpServer(login=True)`` offers AUTH without TLS, as a server that takes logins in clear
does, and keeps each (user, password) it is sent in ``logins``.

``on_accept`` is called with the accepted message before the server answers
``250``: a test uses it to kill the sender in the window between the server
taking a message and the sender recording it.  ``closed_port()`` gives a port
where nothing listens, for "server down".
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with no listener (connections are refused)."""
    return free_port()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any) -> str:
        rejection = self.server.reject_rcpt.get(address)
        if rejection:
            return rejection
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.server.lock:
            reply = self.server.replies.pop(0) if self.server.replies else "250 OK"
            self.server.data_commands += 1
        if not reply.startswith("250"):
            return reply
        raw = envelope.original_content or envelope.content
        received = Received(envelope.mail_from, list(envelope.rcpt_tos),
                            message_from_bytes(raw, policy=policy.default), raw)  # type: ignore[arg-type]
        with self.server.lock:
            self.server.messages.append(received)
        if self.server.on_accept is not None:
            self.server.on_accept(received)
        return reply


class SmtpServer:
    """An SMTP server in a background thread, listening on 127.0.0.1 at ``.port``."""

    def __init__(self, login: bool = False) -> None:
        self.port = free_port()
        self.logins: list[tuple[str, str]] = []
        self.messages: list[Received] = []
        self.replies: list[str] = []
        self.reject_rcpt: dict[str, str] = {}
        self.on_accept: Callable[[Received], None] | None = None
        self.data_commands = 0
        self.lock = threading.Lock()
        auth: dict[str, Any] = dict(auth_require_tls=False, authenticator=self._login) if login else {}
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **auth)

    def _login(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with self.lock:
            self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()

    def env(self) -> dict[str, str]:
        """The settings a sender needs to reach this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none",
                "SMTP_TIMEOUT_SECONDS": "10"}

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m.message["Message-ID"]) for m in self.messages]
