"""The audit chain's key (审计日志密钥): an HMAC key kept outside the database.

Production refuses to start without `HOUSINGCREDIT_AUDIT_KEY` (as it does without its SECRET_KEY). Elsewhere,
without a configured key, one is generated once into `<instance>/audit.key` (mode 0600) and reused.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

KEY_FILE = "audit.key"


def init_app(app: Flask) -> None:
    key = app.config.get("AUDIT_KEY")
    if app.config.get("ENV_NAME", "development") == "production":
        if not key:
            raise RuntimeError("HOUSINGCREDIT_AUDIT_KEY must be set in production; refusing to start.")
    elif not key:
        app.config["AUDIT_KEY"] = _instance_key(Path(app.instance_path) / KEY_FILE)
    if not app.config.get("AUDIT_CHECKPOINT_FILE"):
        app.config["AUDIT_CHECKPOINT_FILE"] = str(Path(app.instance_path) / "audit-checkpoints.jsonl")


def _instance_key(path: Path) -> str:
    """Read the development key file, creating it (0600) on first use; two processes racing agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    key = path.read_text().strip()
    if not key:  # a concurrent creator has not written yet
        import time
        time.sleep(0.1)
        key = path.read_text().strip()
    return key
