"""API tokens (接口令牌) of staff clients: issued once, stored as a SHA-256, listed and revoked by their owner,
refused after API_TOKEN_DAYS (default 90) with a 401 that says why."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..audit import service as audit
from ..clock import get_clock
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from . import gate
from .models import ApiToken, Role, User

# Why a bearer token was refused (accounts/auth.py puts it in g.token_refused for the 401's message).
UNKNOWN, REVOKED, EXPIRED, INACTIVE = "unknown", "revoked", "expired", "inactive"
MAX_NAME = 64


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def lifetime_days() -> int:
    return int(current_app.config.get("API_TOKEN_DAYS") or 90)


def expiry(token: ApiToken) -> datetime:
    """When the token stops working: its own expiry, and never later than API_TOKEN_DAYS after it was made (so
    lowering the setting also shortens tokens issued before, e.g. the CLI's former 365-day ones)."""
    cap = token.created_dt + timedelta(days=lifetime_days())
    return min(token.expires_dt, cap) if token.expires_dt is not None else cap


def create_token(user: User, name: str, days: int | None = None) -> str:
    """A bearer token for a staff client; returned once, stored as a hash. Valid for API_TOKEN_DAYS (or fewer
    `days`)."""
    if user.role == Role.household:
        raise InvalidInput(_l("API tokens are for staff clients."), field="user")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_l("Give the token a name (what it is for)."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(_l("At most %(n)s characters.", n=MAX_NAME), field="name")
    days = min(days or lifetime_days(), lifetime_days())
    raw = secrets.token_urlsafe(32)
    now = get_clock().now_utc()
    token = ApiToken(user_id=user.id, name=name, token_hash=_sha(raw), created_dt=now,
                     expires_dt=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", "api_token", token.id, region_code=user.region_code,
                 actor=(user.id, user.username), after={"name": token.name, "expires": token.expires_dt.isoformat()})
    return raw


def check_token(raw: str) -> tuple[User | None, str | None]:
    """The user behind a bearer token, or None with the reason (UNKNOWN, REVOKED, EXPIRED, INACTIVE)."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _sha(raw)))
    if token is None:
        return None, UNKNOWN
    if token.revoked_dt is not None:
        return None, REVOKED
    if expiry(token) <= get_clock().now_utc():
        return None, EXPIRED
    if not token.user.active:
        return None, INACTIVE
    return token.user, None


def user_for_token(raw: str) -> User | None:
    return check_token(raw)[0]


@dataclass
class TokenRow:
    id: int
    name: str
    created_dt: datetime
    expires_dt: datetime
    revoked_dt: datetime | None
    state: str  # active | expired | revoked


def own_tokens(who: User) -> list[TokenRow]:
    """The caller's own tokens, newest first, each with its state."""
    gate.require("token.own", who)
    now = get_clock().now_utc()
    rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == who.id)
                              .order_by(ApiToken.id.desc()).limit(200)).all()
    out = []
    for t in rows:
        ends = expiry(t)
        state = REVOKED if t.revoked_dt is not None else EXPIRED if ends <= now else "active"
        out.append(TokenRow(t.id, t.name, t.created_dt, ends, t.revoked_dt, state))
    return out


def create_own_token(who: User, name: str) -> str:
    gate.require("token.own", who)
    return create_token(who, name)


def revoke_own_token(token_id: int, who: User) -> ApiToken:
    """Revoke one of the caller's own tokens at once (another user's token: 404)."""
    gate.require("token.own", who)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != who.id:
        raise NotFound()
    if token.revoked_dt is not None:
        raise Conflict(_l("This token has already been revoked."))
    token.revoked_dt = get_clock().now_utc()
    db.session.flush()
    audit.record("token.revoke", "api_token", token.id, region_code=who.region_code, actor=(who.id, who.username),
                 after={"name": token.name})
    return token
