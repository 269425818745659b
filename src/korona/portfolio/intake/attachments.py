"""Attachments to inputs: type checked by content, size-limited, stored under data_dir."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import filetype
from sqlalchemy.orm import Session

from korona.db import on_rollback
from korona.errors import N_, InvalidInput

MAX_BYTES = 10 * 1024 * 1024

#: Accepted content types by the extension filetype detects (the file's own name is not trusted).
ALLOWED = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "png": "image/png",
    "jpg": "image/jpeg",
}


@dataclass(frozen=True)
class Upload:
    """A file as received from a form or the API."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks, with what is stored about it."""

    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    content: bytes


def safe_filename(name: str) -> str:
    """Return the file's base name with only harmless characters, at most 200 long."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip(" .") or "vedlegg"
    return cleaned[-200:]


def check(upload: Upload) -> CheckedFile:
    """Return the checked file, or raise if it is too large or not PDF, DOCX, PNG or JPEG."""
    name = safe_filename(upload.filename)
    if len(upload.content) > MAX_BYTES:
        raise InvalidInput(N_("{name} is larger than 10 MB"), field="attachments", name=name)
    if not upload.content:
        raise InvalidInput(N_("{name} is empty"), field="attachments", name=name)
    kind = filetype.guess(upload.content)
    if kind is None or kind.extension not in ALLOWED:
        raise InvalidInput(
            N_("{name} is not a PDF, DOCX, PNG or JPEG file"), field="attachments", name=name
        )
    return CheckedFile(
        filename=name,
        media_type=ALLOWED[kind.extension],
        size_bytes=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
    )


def store(directory: Path, checked: CheckedFile, *, session: Session) -> str:
    """Write the file under a random storage name in ``directory``; return that name.

    The file is removed again if the session's transaction rolls back.
    """
    directory.mkdir(parents=True, exist_ok=True)
    storage_name = uuid.uuid4().hex
    path = directory / storage_name
    path.write_bytes(checked.content)
    on_rollback(partial(path.unlink, missing_ok=True), session=session)
    return storage_name
