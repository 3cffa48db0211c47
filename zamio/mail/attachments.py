"""Files a queued e-mail carries: recorded by path, size and digest when queued, read back when sent.

The outbox keeps no attachment bytes (``email_outbox.attachments``, sql/0023): a cycle's
statements would weigh on the database and its backups for as long as the sent messages are
kept.  Instead the queue records each file's absolute path, size and SHA-256, and the sender
reads the file when it sends and refuses the message if the file is missing or is no longer
those bytes.  So every delivery attempt of a message (a retry, a ``--requeue``) sends the
same bytes under the same ``Message-ID``, or none.  A locked cycle's files are regenerated
byte for byte from the ledger, so regenerating them does not disturb a waiting message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from zamio.runtime.errors import ItemError


class AttachmentChanged(ItemError):
    """A file a queued message carries is missing, unreadable, or no longer the bytes recorded when queued."""

    reason = "attachment_changed"


@dataclass(frozen=True)
class Attachment:
    """One file as recorded at queueing: the name the recipient sees, its type, where it is, and its bytes' size
    and digest."""

    filename: str
    content_type: str
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Loaded:
    """An attachment read back at sending time: its name, MIME type and subtype, and its bytes."""

    filename: str
    maintype: str
    subtype: str
    content: bytes


def record(path: Path, filename: str, content_type: str) -> Attachment:
    """Given a file, the name it goes by and its MIME type, return it as recorded now (absolute path, size, digest).

    Raise OSError if it cannot be read."""
    content = path.read_bytes()
    return Attachment(filename, content_type, str(path.resolve()), len(content), hashlib.sha256(content).hexdigest())


def encode(attachments: list[Attachment]) -> str | None:
    """The ``email_outbox.attachments`` value of ``attachments`` (None for none)."""
    if not attachments:
        return None
    return json.dumps([a.__dict__ for a in attachments], sort_keys=True)


def decode(stored: str | None) -> list[Attachment]:
    return [Attachment(**item) for item in json.loads(stored)] if stored else []


def load(stored: str | None) -> list[Loaded]:
    """Read the attachments recorded in ``stored``; raise AttachmentChanged if one is missing or changed."""
    loaded = []
    for item in decode(stored):
        try:
            content = Path(item.path).read_bytes()
        except OSError as error:
            raise AttachmentChanged(
                f"attachment {item.filename} cannot be read at {item.path} ({error.strerror or error}); restore "
                "the file (a cycle's files: process-royalty-cycle --regenerate) and requeue the message") from None
        if len(content) != item.size or hashlib.sha256(content).hexdigest() != item.sha256:
            raise AttachmentChanged(
                f"attachment {item.filename} at {item.path} changed since the message was queued (now "
                f"{len(content)} bytes, was {item.size}); not sent, as it is no longer what the message announced")
        maintype, _, subtype = item.content_type.partition("/")
        loaded.append(Loaded(item.filename, maintype, subtype, content))
    return loaded
