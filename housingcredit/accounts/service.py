"""Account use cases: staff users, household activation and login, API tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import service as audit
from ..clock import get_clock
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from . import gate, idnumbers, regions
from .models import ApiToken, Role, User
from .tokens import create_token, user_for_token  # noqa: F401  (the token use cases live in tokens.py)

ACTIVATION_DAYS = 14
MIN_PASSWORD = 8


def _activation_digest(user_id: int, code: str) -> str:
    """An activation code as stored: HMAC-SHA256 under the app's secret key, bound to the account.

    Eight digits are too few for a plain hash (anyone reading the table could try all 10^8); without the key the
    digest tells nothing. Codes stored as plain SHA-256 before this change never match (migration 0002 voids them).
    """
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"activation:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


class ActivationRefused(InvalidInput):
    """A wrong code for an account with an outstanding code: the attempt is counted, so the caller commits."""


def _end_sessions(user: User) -> None:
    """End every login session of the user (the loader compares the epoch) and revoke their API tokens."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_dt.is_(None))
                       .values(revoked_dt=get_clock().now_utc()))


def _check_password(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(_l("The password must have at least 8 characters."), field=field)


def create_staff(username: str, display_name: str, role: Role, region_code: str, password: str | None,
                 actor=None, office: str = "") -> User:
    """A staff account. Without a password (the administration page) it cannot log in until its holder sets one
    with the activation code a supervisor hands over (`accounts.staff`)."""
    if role == Role.household:
        raise InvalidInput(_l("Households get their account through activation."), field="role")
    if role == Role.system:  # the system actor is no login (accounts.gate.SYSTEM)
        raise InvalidInput(_l("Invalid value."), field="role")
    if regions.get(region_code) is None:
        raise InvalidInput(_l("Unknown region code."), field="region_code")
    if password is not None:
        _check_password(password)
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise InvalidInput(_l("This username is taken."), field="username")
    user = User(username=username, display_name=display_name, role=role, region_code=region_code,
                office=office or "", password_hash=generate_password_hash(password) if password is not None else None,
                created_dt=get_clock().now_utc())
    db.session.add(user)
    db.session.flush()
    after = {"username": username, "role": role.value, "region_code": region_code}
    if office:
        after["office"] = office
    audit.record("user.create", "user", user.id, region_code=region_code, after=after, actor=actor)
    return user


def authenticate_staff(username: str, password: str) -> User | None:
    username = (username or "").strip()
    # No username holds a NUL, and PostgreSQL refuses one in a query: a failed login, not a database error.
    user = None if "\x00" in username else db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or user.role == Role.household or not user.active or not user.password_hash:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def _household_user_by_id_number(id_number: str) -> User | None:
    from ..archives.models import Member, Relation
    return db.session.scalar(
        sa.select(User).join(Member, Member.household_id == User.household_id)
        .where(Member.id_number == id_number, Member.relation == Relation.head, User.role == Role.household))


def authenticate_household(id_number: str, password: str) -> User | None:
    try:
        number = idnumbers.validate(id_number)
    except InvalidInput:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    user = _household_user_by_id_number(number)
    if user is None or not user.password_hash or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def issue_activation_code(household, actor: User) -> str:
    """A one-time code the caseworker hands to the household; only its hash is kept."""
    gate.check_household(household, "account.activate_household", actor)
    if household.head is None:
        raise InvalidInput(_l("The household has no head member."), field="members")
    code = f"{secrets.randbelow(10**8):08d}"
    user = db.session.scalar(sa.select(User).where(User.household_id == household.id))
    now = get_clock().now_utc()
    if user is None:
        user = User(username=f"household-{household.id}", display_name=household.head.name, role=Role.household,
                    region_code=household.region_code, household_id=household.id, created_dt=now)
        db.session.add(user)
    db.session.flush()  # the account id is part of the digest
    user.activation_hash = _activation_digest(user.id, code)
    user.activation_expires_dt = now + timedelta(days=ACTIVATION_DAYS)
    user.activation_attempts = 0
    db.session.flush()
    audit.record("household.activation_issued", "user", user.id, household_id=household.id,
                 region_code=household.region_code, after={"expires": user.activation_expires_dt.isoformat()})
    return code


def activate_household(id_number: str, code: str, password: str) -> User:
    """Set the household's password with the code its caseworker handed over.

    Each account has ACTIVATION_MAX_ATTEMPTS tries per code: a wrong code is counted (ActivationRefused — the
    caller commits the count), and the last allowed wrong try voids the code, so a new one must be issued.
    """
    number = idnumbers.validate(id_number)
    _check_password(password)
    user = _household_user_by_id_number(number)
    now = get_clock().now_utc()
    refused = _l("The activation code is not valid or has expired.")
    if (user is None or not user.activation_hash or user.activation_expires_dt is None
            or user.activation_expires_dt < now):
        raise InvalidInput(refused, field="code")
    if not hmac.compare_digest(user.activation_hash, _activation_digest(user.id, (code or "").strip())):
        user.activation_attempts = (user.activation_attempts or 0) + 1
        limit = current_app.config["ACTIVATION_MAX_ATTEMPTS"]
        voided = user.activation_attempts >= limit
        if voided:
            user.activation_hash = None
            user.activation_expires_dt = None
        db.session.flush()
        audit.record("household.activation_failed", "user", user.id, household_id=user.household_id,
                     region_code=user.region_code, actor=(user.id, user.username),
                     after={"attempts": user.activation_attempts, "voided": voided})
        raise ActivationRefused(refused, field="code")
    user.password_hash = generate_password_hash(password)
    user.activation_hash = None
    user.activation_expires_dt = None
    user.activation_attempts = 0
    db.session.flush()
    audit.record("household.activated", "user", user.id, household_id=user.household_id,
                 region_code=user.region_code, actor=(user.id, user.username))
    return user


def logout(user: User) -> None:
    """Logging out ends the session on the server: every session cookie issued to the user stops working."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.flush()
    audit.record("logout", "user", user.id, actor=(user.id, user.username))


def change_password(user: User, current: str, new: str, repeat: str) -> User:
    """The user's own password change; ends all their sessions and revokes their API tokens."""
    errors: dict = {}
    if not user.password_hash or not check_password_hash(user.password_hash, current or ""):
        errors["current_password"] = [_l("The current password is not correct.")]
    if len(new or "") < MIN_PASSWORD:
        errors["new_password"] = [_l("The password must have at least 8 characters.")]
    elif new != repeat:
        errors["new_password_repeat"] = [_l("The two new passwords differ.")]
    elif new == current:
        errors["new_password"] = [_l("The new password must differ from the current one.")]
    if errors:
        raise InvalidInput(_l("The password was not changed."), errors=errors)
    user.password_hash = generate_password_hash(new)
    _end_sessions(user)
    db.session.flush()
    audit.record("user.password_changed", "user", user.id, region_code=user.region_code,
                 actor=(user.id, user.username))
    return user


def deactivate_user(username: str, actor: User | None = None) -> User:
    """Deactivate an account (a supervisor of its region, or the CLI): its sessions end, its tokens are revoked."""
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFound()
    if actor is not None:
        gate.require("account.manage", actor)
        if not regions.covers(actor.region_code, user.region_code):
            raise NotFound()
        if actor.id == user.id:
            raise InvalidInput(_l("You cannot deactivate your own account."), field="username")
    if not user.active:
        raise Conflict(_l("This account is already deactivated."), field="username")
    if user.role == Role.supervisor:
        keep_a_supervisor(user)
    user.active = False
    _end_sessions(user)
    db.session.flush()
    audit.record("user.deactivate", "user", user.id, region_code=user.region_code, actor=actor,
                 after={"active": False})
    return user


def keep_a_supervisor(leaving: User) -> None:
    """Refuse (409) to deactivate or demote the last active supervisor: someone must be left to manage accounts.
    The other active supervisors' rows are locked (PostgreSQL) so two supervisors removing each other at the same
    moment cannot both succeed."""
    others = db.session.scalars(sa.select(User.id).where(User.role == Role.supervisor, User.active.is_(True),
                                                         User.id != leaving.id)
                                .order_by(User.id).with_for_update()).all()
    if not others:
        raise Conflict(_l("This is the last active supervisor; appoint another supervisor first."), field="role")


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


_DUMMY_HASH = generate_password_hash("timing-equaliser")
