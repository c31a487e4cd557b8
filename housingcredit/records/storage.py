"""Evidence files (证据材料) on disk, content-addressed by SHA-256 and never overwritten.

One interface (`check`, `store`, `path_for`) so an object store can stand in later (DESIGN: production shape).
A file's type is judged by its content (magic bytes), not by its name.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import InvalidInput

# Magic bytes of the accepted types, and the file-name extensions each may carry.
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_EXTENSIONS = {"application/pdf": {".pdf"}, "image/png": {".png"}, "image/jpeg": {".jpg", ".jpeg"}}
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Upload:
    """One checked evidence file, ready to store."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, or None for anything not accepted."""
    for magic, content_type in _SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def clean_filename(name: str | None) -> str:
    """The base name only, without path or control characters, at most 200 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "evidence"
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[:200 - len(ext)] + ext
    return name


def _read(file) -> tuple[str, bytes]:
    """(filename, bytes) from a werkzeug FileStorage or a (filename, bytes) pair."""
    if isinstance(file, tuple):
        return file[0], file[1]
    limit = current_app.config["EVIDENCE_MAX_BYTES"]
    data = file.stream.read(limit + 1)
    return file.filename, data


def check(files, field: str = "evidence") -> list[Upload]:
    """Check every file before anything is written: type by content, extension consistent, size within limit."""
    config = current_app.config
    allowed, limit = set(config["EVIDENCE_TYPES"]), config["EVIDENCE_MAX_BYTES"]
    uploads, errors = [], []
    for file in files or ():
        name, data = _read(file)
        name = clean_filename(name)
        if not data:
            errors.append(str(_l("%(name)s is empty.", name=name)))
            continue
        if len(data) > limit:
            errors.append(str(_l("%(name)s is larger than %(mb)s MB.", name=name, mb=limit // (1024 * 1024))))
            continue
        content_type = sniff(data)
        ext = os.path.splitext(name)[1].lower()
        if content_type not in allowed or ext not in _EXTENSIONS.get(content_type, ()):
            errors.append(str(_l("%(name)s is not a PDF, PNG or JPEG file.", name=name)))
            continue
        uploads.append(Upload(filename=name, content_type=content_type, data=data))
    if errors:
        raise InvalidInput(_l("An evidence file was refused."), errors={field: errors})
    return uploads


def root() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


def path_for(sha256: str) -> Path:
    if not _SHA.match(sha256 or ""):
        raise ValueError("not a SHA-256 hex digest")
    return root() / sha256[:2] / sha256


def store(upload: Upload) -> str:
    """Write the bytes under their SHA-256 unless that file exists already; never overwrite. Returns the digest."""
    sha = upload.sha256
    final = path_for(sha)
    if final.exists():
        return sha
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(upload.data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, final)  # atomic and refuses to replace: a concurrent writer of the same bytes wins
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return sha
