"""Uploads kept while a form is corrected (待提交的上传): a record form refused for one field keeps the evidence files
already chosen, under a random token, so the user fixes the field without choosing the files again.

Kept files are those `storage.check` accepts (refused files are not kept), under `<EVIDENCE_DIR>/.pending/<token>/`
with a manifest naming the user and household they belong to; a token of another user or household reads as
nothing. They are dropped once the record is saved, and any left behind are removed after PENDING_HOURS.
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from pathlib import Path

from ..errors import InvalidInput
from . import storage

PENDING_HOURS = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _base() -> Path:
    return storage.root() / ".pending"


def _dir(token: str) -> Path | None:
    if not _TOKEN.match(token or ""):
        return None
    return _base() / token


def load(token: str | None, who, household_id: int) -> list[tuple[str, bytes]]:
    """The kept files of this token, as (filename, bytes), if they belong to this user and household."""
    folder = _dir(token or "")
    if folder is None or not (folder / "manifest.json").is_file():
        return []
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("user_id") != who.id or manifest.get("household_id") != household_id:
        return []
    return [(f["filename"], (folder / f["name"]).read_bytes()) for f in manifest["files"]
            if (folder / f["name"]).is_file()]


def keep(files: list[tuple[str, bytes]], who, household_id: int, token: str | None = None) -> tuple[str | None,
                                                                                                     list[str]]:
    """Keep the acceptable files among `files` (replacing what the token held); (token, kept file names)."""
    _sweep()
    good = []
    for f in files:
        try:
            good.extend(storage.check([f]))
        except InvalidInput:
            continue
    drop(token)
    if not good:
        return None, []
    token = secrets.token_urlsafe(24)
    folder = _base() / token
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, upload in enumerate(good):
        name = f"{i:02d}"
        (folder / name).write_bytes(upload.data)
        entries.append({"name": name, "filename": upload.filename})
    (folder / "manifest.json").write_text(json.dumps({"user_id": who.id, "household_id": household_id,
                                                      "files": entries}, ensure_ascii=False), encoding="utf-8")
    return token, [u.filename for u in good]


def drop(token: str | None) -> None:
    folder = _dir(token or "")
    if folder is not None and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def _sweep() -> None:
    base = _base()
    if not base.is_dir():
        return
    cutoff = time.time() - PENDING_HOURS * 3600
    for folder in base.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
