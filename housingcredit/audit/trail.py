"""The audit trail as supervisors and auditors search it (审计日志查询): by actor, household, action and date range,
newest first, paged by entry id (keyset: every page costs the same however deep), each entry with a readable
action and object ("户 #123 张*三", "记录 #45") and a link to it; and the chain's verifier, run on request.

The trail itself is written by audit/service.py; the verifier asked for on this page runs in the background
(audit/verification.py) and leaves an entry with its answer. A regional viewer sees the entries of its region;
entries of no region (the system, logins, province accounts) are the province's (as before).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..accounts import gate, regions
from ..accounts.models import Role, User
from ..clock import SHANGHAI
from ..disclosure.masking import mask_name
from ..errors import InvalidInput
from ..extensions import db
from ..validation import MAX_ID
from .labels import ACTION_LABELS, action_label, object_label
from .models import AuditEntry

PAGE = 100


@dataclass
class Filters:
    actor: str = ""
    household: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def query(self) -> dict:
        """The filters as query-string arguments (for the pager's links)."""
        return {k: v for k, v in {"actor": self.actor, "household": self.household, "action": self.action,
                                  "from": self.date_from.isoformat() if self.date_from else "",
                                  "to": self.date_to.isoformat() if self.date_to else ""}.items() if v}


def _date(text: str, name: str, errors: dict) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        errors[name] = [_l("Please enter a date as YYYY-MM-DD.")]
        return None
    if value.year < 1900:
        errors[name] = [_l("Please enter a date as YYYY-MM-DD.")]
        return None
    return value


def parse_filters(args) -> Filters:
    """The page's query string checked: every bad filter named at once (422), nothing guessed."""
    errors: dict = {}
    f = Filters(actor=(args.get("actor") or "").strip()[:80], household=(args.get("household") or "").strip()[:32],
                action=(args.get("action") or "").strip())
    if f.action and f.action not in ACTION_LABELS:
        errors["action"] = [_l("Please choose an action from the list.")]
    f.date_from = _date(args.get("from"), "from", errors)
    f.date_to = _date(args.get("to"), "to", errors)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        errors["to"] = [_l("The end date is before the start date.")]
    if errors:
        raise InvalidInput(_l("The filters are not valid: see the marked fields."), errors=errors)
    return f


def _utc(day: date) -> datetime:
    """Midnight of a legal (Asia/Shanghai) date, as the UTC instant the trail stores."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(timezone.utc)


def _household_id(text: str) -> int | None:
    """A household named by its number (123, #123) or its archive number; None when none matches."""
    from ..archives.models import Household
    plain = text.lstrip("#").strip()
    if plain.isdigit() and len(plain) <= 18:
        return min(int(plain), MAX_ID)
    return db.session.scalar(sa.select(Household.id).where(Household.archive_no == text))


def _actor_clause(text: str):
    """An actor named by username or staff name (an account's entries by its id), else by the label entries of
    no account carry (system, demo)."""
    ids = db.session.scalars(sa.select(User.id).where(sa.or_(User.username == text, User.display_name == text))
                             .limit(50)).all()
    if ids:
        return AuditEntry.actor_id.in_(ids)
    return sa.and_(AuditEntry.actor_id.is_(None), AuditEntry.actor_label == text)


@dataclass
class Row:
    id: int
    dt: datetime
    actor: str
    actor_label: str
    action: str
    action_label: str
    object: str
    object_url: str | None
    household: str | None
    household_url: str | None
    hash: str


@dataclass
class Page:
    rows: list[Row] = field(default_factory=list)
    older: int | None = None  # the `before` of the next (older) page, None on the last


def search(filters: Filters, who, before: int | None = None, limit: int = PAGE) -> Page:
    """One page of the trail, newest first, within the viewer's region."""
    gate.require("audit.read", who)
    where = []
    if before is not None:
        where.append(AuditEntry.id < min(before, MAX_ID))
    if regions.get(who.region_code).level != "province":
        where.append(gate.region_clause(AuditEntry.region_code, who))
    if filters.actor:
        where.append(_actor_clause(filters.actor))
    if filters.household:
        hid = _household_id(filters.household)
        if hid is None:
            return Page()
        where.append(AuditEntry.household_id == hid)
    if filters.action:
        where.append(AuditEntry.action == filters.action)
    if filters.date_from:
        where.append(AuditEntry.dt >= _utc(filters.date_from))
    if filters.date_to:
        where.append(AuditEntry.dt < _utc(filters.date_to + timedelta(days=1)))
    entries = db.session.scalars(sa.select(AuditEntry).where(*where).order_by(AuditEntry.id.desc())
                                 .limit(limit + 1)).all()
    older = entries[limit - 1].id if len(entries) > limit else None
    return Page(_describe(entries[:limit], who), older)


def _describe(entries: list[AuditEntry], who) -> list[Row]:
    """Readable rows: the actor's name, the action's label, the object's label and link, the household as
    "户 #123 张*三" (the head's name masked) with its link. Two queries for the whole page."""
    from ..archives.models import Household, Member, Relation
    household_ids = {e.household_id for e in entries if e.household_id is not None}
    heads = dict(db.session.execute(
        sa.select(Member.household_id, Member.name)
        .where(Member.household_id.in_(household_ids), Member.relation == Relation.head)).all()) \
        if household_ids else {}
    archive_nos = dict(db.session.execute(sa.select(Household.id, Household.archive_no)
                                          .where(Household.id.in_(household_ids))).all()) if household_ids else {}
    actor_ids = {e.actor_id for e in entries if e.actor_id is not None}
    user_ids = actor_ids | {int(e.object_id) for e in entries
                            if e.object_type == "user" and (e.object_id or "").isdigit()}
    users = {u.id: u for u in db.session.execute(
        sa.select(User.id, User.username, User.display_name, User.role, User.region_code)
        .where(User.id.in_(user_ids))).all()} if user_ids else {}
    manage = gate.can("account.manage", who)
    rows = []
    for e in entries:
        actor = users.get(e.actor_id)
        actor_text = (f"{actor.display_name} ({e.actor_label})" if actor and actor.display_name != e.actor_label
                      else e.actor_label)
        household = household_url = None
        if e.household_id is not None:
            household = str(_l("Household #%(id)s %(name)s", id=e.household_id,
                               name=mask_name(heads.get(e.household_id))))
            if archive_nos.get(e.household_id):
                household += f" · {archive_nos[e.household_id]}"
            household_url = url_for("archives.show", household_id=e.household_id)
        text, link = _object(e, users, manage)
        rows.append(Row(e.id, e.dt, actor_text, e.actor_label, e.action, str(action_label(e.action)), text, link,
                        household, household_url, e.hash))
    return rows


_LINKS = {"record": ("records.show", "record_id"), "notice": ("notices.show", "notice_id"),
          "objection": ("appeals.show", "objection_id"), "repair": ("appeals.show_repair", "application_id")}


def _object(e: AuditEntry, users: dict, manage: bool) -> tuple[str, str | None]:
    oid = e.object_id
    if e.object_type == "household":
        return str(object_label("household", oid)), None  # the household column names and links it
    if e.object_type == "user" and oid and oid.isdigit() and int(oid) in users:
        u = users[int(oid)]
        text = f"{object_label('user', oid)} {u.display_name} ({u.username})"
        if u.role == Role.household:
            return str(object_label("user", oid)), None  # a household's login: its household column names it
        return text, url_for("staff.detail", user_id=u.id) if manage else None
    link = None
    if oid and oid.isdigit() and e.object_type in _LINKS:
        endpoint, arg = _LINKS[e.object_type]
        link = url_for(endpoint, **{arg: int(oid)})
    return object_label(e.object_type, oid), link


def actions() -> list[tuple[str, str]]:
    """Every action code with its label, by label (the action filter's choices)."""
    return sorted(((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda p: p[1])


# ---- the verifier's problems, in words (audit/verification.py) -----------------------------------------------

PROBLEMS = [("missing", _l("an entry is missing")), ("out of order", _l("an entry is out of order")),
            ("altered", _l("an entry was altered")), ("rewritten", _l("rewritten since the last checkpoint")),
            ("truncated", _l("entries at the end were removed")),
            ("the newest checkpoint", _l("the checkpoint file is not valid"))]
