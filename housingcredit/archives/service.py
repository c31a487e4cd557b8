"""Archive use cases (信用档案): create, edit with history, search, read — each one transaction, audited."""
from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import selectinload

from ..accounts import gate, idnumbers
from ..accounts.models import User
from ..audit import service as audit
from ..clock import get_clock
from ..disclosure.masking import mask_id_number
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..validation import load
from .models import Household, Member
from .schemas import HouseholdIn

FIELDS = ("region_code", "address", "hukou", "marital_status", "housing_status", "income_yuan", "assets_yuan",
          "protection_category", "protection_mode", "protection_group", "priority_flags")


def _snapshot(h: Household) -> dict:
    """An audit-safe picture of the archive: ID numbers masked, never raw (no ID number in any log)."""
    out = {}
    for f in FIELDS:
        v = getattr(h, f)
        out[f] = v.value if hasattr(v, "value") else (str(v) if isinstance(v, Decimal) else v)
    out["members"] = [{"id": m.id, "name": m.name, "relation": m.relation.value,
                       "id_number": mask_id_number(m.id_number)} for m in h.members]
    return out


_HOUSEHOLD_IN = HouseholdIn()  # one instance: building a schema (its fields deep-copied) costs more than a load


def _validate(data: dict, partial=False) -> dict:
    clean = load(_HOUSEHOLD_IN, data)
    errors = {}
    seen = set()
    for i, m in enumerate(clean["members"]):
        try:
            m["id_number"] = idnumbers.validate(m["id_number"])
        except InvalidInput as err:
            errors.setdefault("members", {}).setdefault(i, {})["id_number"] = [str(err.message)]
            continue
        if m["id_number"] in seen:
            errors.setdefault("members", {}).setdefault(i, {})["id_number"] = [
                str(_l("This ID number appears twice in the household."))]
        seen.add(m["id_number"])
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    return clean


def _check_id_numbers_free(members: list[dict], household_id: int | None) -> None:
    numbers = [m["id_number"] for m in members]
    taken = db.session.execute(sa.select(Member.id_number, Member.household_id)
                               .where(Member.id_number.in_(numbers))).all()
    clash = {n for n, hid in taken if hid != household_id}
    if clash:
        errors = {"members": {i: {"id_number": [str(_l("This person already belongs to another household archive."))]}
                              for i, m in enumerate(members) if m["id_number"] in clash}}
        raise InvalidInput(_l("The input is not valid."), errors=errors)


def create_household(data: dict, who: User) -> Household:
    gate.require("archive.write", who)
    clean = _validate(data)
    gate.check_region(clean["region_code"], who)
    _check_id_numbers_free(clean["members"], None)
    h = _new_household(clean, _next_household_id(), get_clock().now_utc())
    db.session.add(h)
    db.session.flush()
    audit.record("household.create", "household", h.id, household_id=h.id, region_code=h.region_code,
                 after=_snapshot(h), actor=who)
    return h


def validate_household(data: dict) -> dict:
    """The one check of an archive's input (HouseholdIn, each ID number's checksum and birth date, no ID number
    twice): the clean data, or InvalidInput with every field's messages. Used by the forms, the API and the
    spreadsheet import alike."""
    return _validate(data)


def _new_household(clean: dict, household_id: int, now) -> Household:
    h = Household(id=household_id, archive_no=archive_number(clean["region_code"], household_id), created_dt=now,
                  updated_dt=now, **{f: clean[f] for f in FIELDS})
    h.members = [Member(name=m["name"], id_number=m["id_number"], relation=m["relation"]) for m in clean["members"]]
    return h


#: ID numbers looked up per statement by `taken_id_numbers`: SQLite allows at most 999 parameters in one statement;
#: PostgreSQL takes the chunk as one array parameter (`= ANY(:numbers)`)
ID_CHUNK = {"sqlite": 900, "postgresql": 10_000}


def taken_id_numbers(numbers) -> dict[str, tuple[int, str, str]]:
    """Of these ID numbers, those already in an archive: number → (household id, archive number, region code).
    One set-based query per chunk of ID_CHUNK numbers (never one per number)."""
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return {}
    dialect = db.session.connection().dialect.name
    size = ID_CHUNK.get(dialect, ID_CHUNK["sqlite"])
    select = sa.select(Member.id_number, Household.id, Household.archive_no, Household.region_code).join(
        Household, Member.household_id == Household.id)
    out = {}
    for i in range(0, len(numbers), size):
        chunk = numbers[i:i + size]
        if dialect == "postgresql":
            where = Member.id_number == sa.any_(sa.bindparam("numbers", chunk, type_=ARRAY(sa.String)))
        else:
            where = Member.id_number.in_(chunk)
        out.update({n: (hid, no, region) for n, hid, no, region in db.session.execute(select.where(where))})
    return out


def create_households(cleans: list[dict], who: User) -> tuple[list[int], list[int]]:
    """Create many households already checked by `validate_household` (the spreadsheet import's write step), in
    the caller's transaction: one id reservation each for the households and their members, one bulk INSERT of
    each (Core executemany, no ORM objects and no RETURNING), and one `household.create` audit entry per household
    with the same picture `create_household` writes. A household one of whose ID numbers was taken since it was checked
    is left out: its index in `cleans` is returned among the refused (nothing of it is written).
    Returns (the new households' ids, the refused indexes)."""
    gate.require("archive.write", who)
    taken = taken_id_numbers(m["id_number"] for c in cleans for m in c["members"])
    refused = [i for i, c in enumerate(cleans) if any(m["id_number"] in taken for m in c["members"])]
    keep = [c for i, c in enumerate(cleans) if i not in set(refused)]
    for c in keep:
        gate.check_region(c["region_code"], who)
    if not keep:
        return [], refused
    now = get_clock().now_utc()
    ids = _next_household_ids(len(keep))
    db.session.execute(Household.__table__.insert(), [
        {"id": hid, "archive_no": archive_number(c["region_code"], hid), "created_dt": now, "updated_dt": now,
         "version": 1, **{f: c[f] for f in FIELDS}} for hid, c in zip(ids, keep)])
    member_rows = [{"household_id": hid, "name": m["name"], "id_number": m["id_number"], "relation": m["relation"]}
                   for hid, c in zip(ids, keep) for m in c["members"]]
    for mid, row in zip(_next_ids("members", len(member_rows)), member_rows):
        row["id"] = mid
    db.session.execute(Member.__table__.insert(), member_rows)
    members: dict[int, list] = {}
    for row in member_rows:
        members.setdefault(row["household_id"], []).append(row)
    for hid, c in zip(ids, keep):
        after = _snapshot_of(c, members[hid])
        audit.record("household.create", "household", hid, household_id=hid, region_code=c["region_code"],
                     after=after, actor=who)
    return ids, refused


def _snapshot_of(fields: dict, members: list[dict]) -> dict:
    """`_snapshot` of a household written without an entity (the bulk create): the same picture."""
    out = {}
    for f in FIELDS:
        v = fields[f]
        out[f] = v.value if hasattr(v, "value") else (str(v) if isinstance(v, Decimal) else v)
    out["members"] = [{"id": m["id"], "name": m["name"], "relation": getattr(m["relation"], "value", m["relation"]),
                       "id_number": mask_id_number(m["id_number"])} for m in members]
    return out


def archive_number(region_code: str, household_id: int) -> str:
    """信用档案编号: region code + a zero-padded serial (unique with the id); at most 6 + 1 + 19 characters, so it
    always fits `archive_no` (32)."""
    return f"{region_code}-{household_id:08d}"


def _next_household_id() -> int:
    """The id the new household will have, taken before the insert so that the archive number is written once,
    final, in the INSERT itself (no temporary value, no second UPDATE).

    PostgreSQL: the next value of the id column's own sequence (never handed out twice, whatever runs
    concurrently). SQLite (one writer at a time): one past the largest id, as its rowid would be.
    """
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return conn.scalar(sa.text("SELECT nextval(pg_get_serial_sequence('households', 'id'))"))
    return (db.session.scalar(sa.select(sa.func.max(Household.id))) or 0) + 1


def _next_household_ids(count: int) -> list[int]:
    """`count` ids for new households at once (see `_next_household_id`)."""
    return _next_ids("households", count)


def _next_ids(table: str, count: int) -> list[int]:
    """`count` ids for new rows of `table` (households, members), taken before the INSERT so that it is a plain
    executemany (no RETURNING: the bulk write sends each batch as one prepared statement). PostgreSQL: the id
    column's own sequence. SQLite (one writer, and the caller has written already): past the largest id."""
    if count <= 0:
        return []
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return list(conn.scalars(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": count}))
    model = {"households": Household, "members": Member}[table]
    first = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    return list(range(first, first + count))


def update_household(household_id: int, data: dict, who: User) -> Household:
    h = load_household(household_id, who, "archive.write")
    clean = _validate(data)
    if clean.get("version") is None:  # without it the stale-version check cannot be made: an update could be lost
        raise Conflict(_l("The edit does not say which version of the archive it changes; reload the archive and "
                          "edit again."), field="version")
    if clean["version"] != h.version:
        raise Conflict(_l("Someone else changed this archive since you opened it; reload and edit again."),
                       field="version")
    if clean["region_code"] != h.region_code:
        gate.check_region(clean["region_code"], who)
    _check_id_numbers_free(clean["members"], h.id)
    before = _snapshot(h)
    moved = clean["region_code"] != h.region_code
    for f in FIELDS:
        setattr(h, f, clean[f])
    if moved:  # the credit cache counts the household in its region (statistics): it follows the move
        from ..scoring import service as scoring
        scoring.household_moved(h.id, h.region_code)
    existing = {m.id: m for m in h.members}
    kept = []
    for m in clean["members"]:
        member = existing.get(m.get("id")) if m.get("id") else None
        if member is None:
            member = Member(name=m["name"], id_number=m["id_number"], relation=m["relation"])
            h.members.append(member)
        else:
            member.name, member.id_number, member.relation = m["name"], m["id_number"], m["relation"]
        kept.append(member)
    for member in list(h.members):
        if member not in kept:
            h.members.remove(member)
    after = _snapshot(h)
    if after == before:
        return h
    h.updated_dt = get_clock().now_utc()
    db.session.flush()
    audit.record("household.update", "household", h.id, household_id=h.id, region_code=h.region_code,
                 before=before, after=after, actor=who)
    return h


def load_household(household_id: int, who: User, permission: str = "archive.read") -> Household:
    """The household if `who` may reach it, else NotFound (no hint that it exists elsewhere)."""
    h = db.session.get(Household, household_id, options=[selectinload(Household.members)])
    return gate.check_household(h, permission, who)


def read_household(household_id: int, who: User, action: str = "household.read") -> Household:
    """A read of an archive (or, `action="history.read"`, of its change history); a staff read is logged in the
    audit trail (SPEC §1, §11)."""
    h = db.session.get(Household, household_id, options=[selectinload(Household.members)])
    return gate.read_household(h, "archive.read", who, action)


_ID_LIKE = re.compile(r"^\d{6,17}[\dXx]?$")


def search(query: str, who: User, limit: int = 50, offset: int = 0, after: int | None = None) -> list[Household]:
    """Archive number, head/member name prefix, or ID number (full or prefix) — inside the user's region.

    In id order; `after` (the last id shown) pages by keyset, so a deep page costs what the first does."""
    gate.require("archive.search", who)
    q = (query or "").strip()
    if len(q) > 40:
        raise InvalidInput(_l("The search text is too long."), field="q")
    if "\x00" in q:  # PostgreSQL refuses a NUL in any text
        raise InvalidInput(_l("Contains a character that is not allowed."), field="q")
    stmt = sa.select(Household)
    # past the cursor on both sides: the members' side too, or a deep page would walk every earlier member
    past = [Member.household_id > after] if after else []
    name_tail = _name_and_tail(q)
    if q:
        if name_tail:
            name, tail = name_tail
            ids = sa.select(Member.household_id).where(Member.name.startswith(name, autoescape=True),
                                                       Member.id_number.endswith(tail, autoescape=True), *past)
            stmt = stmt.where(Household.id.in_(ids))
        elif _ID_LIKE.match(q) and len(q) >= 15:
            ids = sa.select(Member.household_id).where(Member.id_number == q.upper())
            # Digits only: never an archive number (those carry a dash), so no OR that would defeat the index.
            stmt = stmt.where(Household.id.in_(ids))
        elif q[:6].isdigit() and "-" in q:
            stmt = stmt.where(Household.archive_no.startswith(q, autoescape=True))
        else:
            ids = sa.select(Member.household_id).where(Member.name.startswith(q, autoescape=True), *past)
            stmt = stmt.where(Household.id.in_(ids))
    if after:
        stmt, offset = stmt.where(Household.id > after), 0
    stmt = gate.scope_households(stmt, who).order_by(Household.id).limit(limit).offset(offset)
    return db.session.scalars(stmt.options(selectinload(Household.members))).all()


_NAME_TAIL = re.compile(r"^(?:(?P<n1>[^\d\s]+)\s*(?P<t1>\d{3,6}[\dXx]?)|(?P<t2>\d{3,6}[\dXx]?)\s*(?P<n2>[^\d\s]+))$")


def _name_and_tail(q: str) -> tuple[str, str] | None:
    """A name (or its start) with the last 4–6 characters of an ID number, in either order ("王建国 1234",
    "1234 王建国", "王建国1234"): how a caseworker on the phone identifies a person."""
    m = _NAME_TAIL.match(q or "")
    if not m:
        return None
    name, tail = (m.group("n1"), m.group("t1")) if m.group("n1") else (m.group("n2"), m.group("t2"))
    if not 4 <= len(tail) <= 6:
        return None
    return name, tail.upper()


def matched_member(household: Household, query: str) -> Member | None:
    """The member a search hit was found by (name prefix, ID number, or name with the ID's last digits), so the
    results can say whom it matched; None for an archive-number search."""
    q = (query or "").strip()
    if not q:
        return None
    name_tail = _name_and_tail(q)
    for m in household.members:
        if name_tail and m.name.startswith(name_tail[0]) and m.id_number.endswith(name_tail[1]):
            return m
        if not name_tail and (m.id_number == q.upper() or m.name.startswith(q)):
            return m
    return None


def get_by_id_number(id_number: str) -> Household | None:
    """The household whose member has this (validated) ID number; callers apply the gate."""
    return db.session.scalar(sa.select(Household).join(Member).where(Member.id_number == id_number))


def require_household(household_id: int) -> Household:
    h = db.session.get(Household, household_id)
    if h is None:
        raise NotFound()
    return h
