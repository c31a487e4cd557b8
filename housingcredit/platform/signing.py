"""Request signatures between the sender and the platform: HMAC-SHA256 over method, path, timestamp and body with
the shared secret (`PLATFORM_SECRET`); the receiver refuses a wrong signature or a timestamp outside its window."""
from __future__ import annotations

import hashlib
import hmac

TS_HEADER = "X-HC-Timestamp"
SIG_HEADER = "X-HC-Signature"
PREFIX = "hmac-sha256="


def signature(secret: str, method: str, path: str, ts: int | str, body: bytes) -> str:
    msg = f"{method.upper()}\n{path}\n{ts}\n".encode() + (body or b"")
    return PREFIX + hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def headers(secret: str, method: str, path: str, ts: int, body: bytes) -> dict:
    return {TS_HEADER: str(ts), SIG_HEADER: signature(secret, method, path, ts, body)}


def check(secret: str, method: str, path: str, ts_header: str | None, sig_header: str | None, body: bytes,
          now: float, window: int) -> str | None:
    """Why the request is refused (a short code), or None when it is signed and fresh."""
    if not ts_header or not sig_header:
        return "unsigned"
    try:
        ts = int(ts_header)
    except ValueError:
        return "bad_timestamp"
    if abs(now - ts) > window:
        return "replay_window"
    if not hmac.compare_digest(signature(secret, method, path, ts, body), sig_header):
        return "bad_signature"
    return None
