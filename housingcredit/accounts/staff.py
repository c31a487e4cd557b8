"""Staff administration (人员管理) by supervisors: accounts of their region are created, changed (role, region,
office), deactivated and given a new password — each audited.

A new account has no password: the supervisor hands its holder a one-time activation code (shown once, kept as an
HMAC bound to the account like a household's, `service._activation_digest`), and the holder sets a password at
/activate/staff. A password reset works the same way and also ends the account's sessions and revokes its API
tokens (`service._end_sessions`, the session epoch). Deactivation ends them at once too. A supervisor cannot
deactivate, demote, move or reset themselves, and the last active supervisor stays (`service.keep_a_supervisor`).
"""
from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import generate_password_hash

from ..audit import service as audit
from ..clock import get_clock
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from . import gate, regions, service
from .models import Role, User

STAFF_ROLES = (Role.caseworker, Role.reviewer, Role.supervisor, Role.auditor)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
MAX_NAME, MAX_OFFICE = 64, 80


@dataclass
class Issued:
    """An activation code as the supervisor sees it, once."""
    user: User
    code: str
    expires_dt: datetime


def _hours() -> int:
    return int(current_app.config.get("STAFF_ACTIVATION_HOURS") or 72)


def _issue_code(user: User) -> Issued:
    code = f"{secrets.randbelow(10**8):08d}"
    user.activation_hash = service._activation_digest(user.id, code)
    user.activation_expires_dt = get_clock().now_utc() + timedelta(hours=_hours())
    user.activation_attempts = 0
    return Issued(user, code, user.activation_expires_dt)


def _clean(data: dict, *, new: bool) -> tuple[dict, dict]:
    """The form's values checked together: every problem named by its field at once."""
    errors: dict = {}
    clean = {}
    if new:
        username = (data.get("username") or "").strip()
        if not USERNAME.match(username):
            errors["username"] = [_l("3–64 letters, digits, dots, hyphens or underscores, starting with a letter "
                                     "or digit.")]
        clean["username"] = username
    name = (data.get("display_name") or "").strip()
    if not name:
        errors["display_name"] = [_l("Please fill in the name.")]
    elif len(name) > MAX_NAME:
        errors["display_name"] = [_l("At most %(n)s characters.", n=MAX_NAME)]
    clean["display_name"] = name
    role = data.get("role") or ""
    if role not in {r.value for r in STAFF_ROLES}:
        errors["role"] = [_l("Please choose a role.")]
    else:
        clean["role"] = Role(role)
    code = (data.get("region_code") or "").strip()
    if regions.get(code) is None:
        errors["region_code"] = [_l("Please choose a region.")]
    clean["region_code"] = code
    office = (data.get("office") or "").strip()
    if len(office) > MAX_OFFICE:
        errors["office"] = [_l("At most %(n)s characters.", n=MAX_OFFICE)]
    clean["office"] = office
    return clean, errors


def _refuse(errors: dict):
    raise InvalidInput(_l("The account was not saved: see the marked fields."), errors=errors)


def managed(user_id: int, who: User) -> User:
    """A staff account the supervisor may manage: inside their region (else 404, no hint it exists)."""
    gate.require("account.manage", who)
    user = db.session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES or not regions.covers(who.region_code, user.region_code):
        raise NotFound()
    return user


def list_staff(who: User, q: str | None = None, role: str | None = None, active: bool | None = None,
               page: int = 1, per_page: int = 50) -> tuple[list[User], int]:
    """The staff accounts of the supervisor's region, by username; `q` matches username, name or office."""
    gate.require("account.manage", who)
    where = [User.role.in_(STAFF_ROLES), gate.region_clause(User.region_code, who)]
    if q:
        q = q[:64]
        where.append(sa.or_(User.username.icontains(q, autoescape=True),
                            User.display_name.icontains(q, autoescape=True),
                            User.office.icontains(q, autoescape=True)))
    if role in {r.value for r in STAFF_ROLES}:
        where.append(User.role == Role(role))
    if active is not None:
        where.append(User.active.is_(active))
    total = db.session.scalar(sa.select(sa.func.count(User.id)).where(*where))
    rows = db.session.scalars(sa.select(User).where(*where).order_by(User.username)
                              .offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    return rows, total


def create_account(data: dict, who: User) -> Issued:
    """A new staff account in the supervisor's region, without a password: its holder activates it with the
    code returned here (shown once)."""
    gate.require("account.manage", who)
    clean, errors = _clean(data, new=True)
    if "region_code" not in errors and not regions.covers(who.region_code, clean["region_code"]):
        errors["region_code"] = [_l("This region is outside yours.")]
    if "username" not in errors and db.session.scalar(sa.select(User.id).where(
            sa.func.lower(User.username) == clean["username"].lower())):
        errors["username"] = [_l("This username is taken.")]
    if errors:
        _refuse(errors)
    user = service.create_staff(clean["username"], clean["display_name"], clean["role"], clean["region_code"],
                                None, actor=who, office=clean["office"])
    return _issue_code(user)


def update_account(user_id: int, data: dict, who: User) -> User:
    """Change name, role, region or office. Nobody changes their own role or region; the last active supervisor
    is not demoted. A change of role or region counts from the next request (sessions and tokens load the account
    each time)."""
    user = managed(user_id, who)
    clean, errors = _clean(data, new=False)
    if "region_code" not in errors and not regions.covers(who.region_code, clean["region_code"]):
        errors["region_code"] = [_l("This region is outside yours.")]
    if user.id == who.id:
        if clean.get("role", user.role) != user.role:
            errors["role"] = [_l("You cannot change your own role.")]
        if clean["region_code"] != user.region_code:
            errors["region_code"] = [_l("You cannot change your own region.")]
    if errors:
        _refuse(errors)
    if not user.active:
        raise Conflict(_l("This account is deactivated."))
    if user.role == Role.supervisor and clean["role"] != Role.supervisor:
        service.keep_a_supervisor(user)
    fields = ("display_name", "role", "region_code", "office")
    before = {f: getattr(user, f) for f in fields}
    changed = {f for f in fields if clean[f] != before[f]}
    if not changed:
        return user
    for f in changed:
        setattr(user, f, clean[f])
    db.session.flush()
    plain = lambda v: v.value if isinstance(v, Role) else v  # noqa: E731
    audit.record("user.update", "user", user.id, region_code=user.region_code, actor=who,
                 before={f: plain(before[f]) for f in sorted(changed)},
                 after={f: plain(clean[f]) for f in sorted(changed)})
    return user


def deactivate_account(user_id: int, who: User) -> User:
    """Deactivate: every session ends and every API token is revoked, in this transaction."""
    user = managed(user_id, who)
    return service.deactivate_user(user.username, who)


def reset_password(user_id: int, who: User) -> Issued:
    """The holder forgot the password: the old one stops working, sessions end, tokens are revoked, and a new
    activation code (shown once) lets the holder set a new password."""
    user = managed(user_id, who)
    if user.id == who.id:
        raise InvalidInput(_l("Change your own password on the password page."), field="user")
    if not user.active:
        raise Conflict(_l("This account is deactivated."))
    user.password_hash = None
    service._end_sessions(user)
    issued = _issue_code(user)
    db.session.flush()
    audit.record("user.password_reset", "user", user.id, region_code=user.region_code, actor=who,
                 after={"expires": issued.expires_dt.isoformat()})
    return issued


def activate_staff(username: str, code: str, password: str, repeat: str) -> User:
    """The holder sets the password with the code a supervisor handed over. Wrong codes are counted like a
    household's (ACTIVATION_MAX_ATTEMPTS, then the code is void): `service.ActivationRefused`, the caller commits."""
    if len(password or "") < service.MIN_PASSWORD:
        raise InvalidInput(_l("The password must have at least 8 characters."), field="password")
    if password != repeat:
        raise InvalidInput(_l("The two new passwords differ."), field="password_repeat")
    username = (username or "").strip()
    user = None if "\x00" in username else db.session.scalar(sa.select(User).where(User.username == username))
    now = get_clock().now_utc()
    refused = _l("The activation code is not valid or has expired.")
    if (user is None or user.role not in STAFF_ROLES or not user.active or not user.activation_hash
            or user.activation_expires_dt is None or user.activation_expires_dt < now):
        raise InvalidInput(refused, field="code")
    if not hmac.compare_digest(user.activation_hash, service._activation_digest(user.id, (code or "").strip())):
        user.activation_attempts = (user.activation_attempts or 0) + 1
        voided = user.activation_attempts >= current_app.config["ACTIVATION_MAX_ATTEMPTS"]
        if voided:
            user.activation_hash = None
            user.activation_expires_dt = None
        db.session.flush()
        audit.record("user.activation_failed", "user", user.id, region_code=user.region_code,
                     actor=(user.id, user.username), after={"attempts": user.activation_attempts, "voided": voided})
        raise service.ActivationRefused(refused, field="code")
    user.password_hash = generate_password_hash(password)
    user.activation_hash = None
    user.activation_expires_dt = None
    user.activation_attempts = 0
    db.session.flush()
    audit.record("user.activated", "user", user.id, region_code=user.region_code, actor=(user.id, user.username))
    return user
