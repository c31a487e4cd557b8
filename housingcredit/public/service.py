"""The public lists (社会公开, HB 八; SPEC §6, §7, §11): the joint-punishment list in force (失信联合惩戒对象名单, with
the procedures in publicity 公示) and the watch list (重点关注名单), masked, for anyone, without login.

What is shown is decided by data: the scope `public` of config/disclosure.yaml (stages, fields, masks; `scopes.py`)
and the rules data (which behaviour tiers are disclosed — never mild; a listing only while its measures include
`public_disclosure`). Left out, whatever the data says:
- ended, expired, revoked and repaired entries (only what is in force today: a listing from L through its term, a
  publicity through its last day, a watch entry through its last day), and every ground no longer standing;
- an entry while a pending objection (not a repeat) disputes it or one of its grounds: its clock is stopped or its
  measures are suspended (SPEC §7 "while the clock is stopped, public pages do not show the household"; §8, §9);
- a watch entry none of whose standing grounds is of a disclosed tier (a mild+mild entry is never public).

Paging is by keyset on each list's index order (punishment: newest procedure first, the partial index
`ix_procedures_public`; watch: newest entry first, `ix_watch_entries_list_order`, bounded below by the longest watch
period of the rules). Candidates come from SQL in chunks; the checks that need the rules (tier of a ground, standing
grounds) run on each chunk, and the cursor is the last candidate looked at, so every entry is reached exactly once.
These pages are not reads of one household's file (like the staff watch list, they are not audited as one).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..accounts import gate, regions
from ..appeals.models import Objection, ObjectionProposal, ObjectionReview
from ..archives.models import Member, Relation
from ..clock import add_months, get_clock
from ..disclosure.masking import mask
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..i18n import title_of
from ..lists.common import ROUTE_LABELS
from ..lists.models import Procedure, ProcedureGround, ProcedureStep, RectificationOrder, WatchEntry
from ..lists.queries import in_force_sql
from ..scoring import service as scoring
from ..scoring.engine import standing
from ..validation import load
from .schemas import PublicListQuery
from .scopes import PUNISHMENT, WATCH, ListScope, scope_of

LISTED, PUBLICITY, WATCHED = "listed", "publicity", "watch"
STAGE_LABELS = {PUBLICITY: _l("In publicity (公示)"), LISTED: _l("Listed"), WATCHED: _l("On the watch list")}
LIST_TITLES = {PUNISHMENT: _l("Joint-punishment list"), WATCH: _l("Watch list")}
PUBLIC_DISCLOSURE = "public_disclosure"  # the listing's measure that makes it public (HB 六; rules data)
_MASKED_NAME = re.compile(r"^([^*＊\s])([*＊]+)([^*＊\s]?)$")  # 张*三, 李*, 欧**娜


# ---- input ---------------------------------------------------------------------------------------------------

def name_pattern(q: str) -> list[str] | None:
    """SQL LIKE patterns matching the names whose mask is `q` (张*三, 李*, 欧**娜), or that start with `q` when it
    is one character (a surname). None for no search. A full name is refused: the public searches what it sees."""
    q = (q or "").strip()
    if not q:
        return None

    def lit(ch: str) -> str:
        return "\\" + ch if ch in "%_\\" else ch

    if len(q) == 1 and q not in "*＊%_":
        return [lit(q) + "%"]
    m = _MASKED_NAME.match(q)
    if not m:
        raise InvalidInput(_l("Search by the name as it is shown, masked (张*三), or by a surname."), field="q")
    first, stars, last = m.group(1), len(m.group(2)), m.group(3)
    if not last:  # 李*: a two-character name, or a one-character one (masked the same way)
        if stars != 1:
            raise InvalidInput(_l("Search by the name as it is shown, masked (张*三), or by a surname."), field="q")
        return [lit(first) + "_", lit(first)]
    return [lit(first) + "_" * stars + lit(last)]


def district_code(text: str) -> str | None:
    """The region a district filter names: a 6-digit code, or a region's name (江岸区, 武汉市); it covers every
    code under it (the gate's region clause)."""
    text = (text or "").strip()
    if not text:
        return None
    region = regions.get(text) if text.isdigit() else None
    if region is None and not text.isdigit():
        named = [r for r in regions.all_regions().values() if r.name == text]
        region = named[0] if len(named) == 1 else None
    if region is None:
        raise InvalidInput(_l("Unknown district: give its name (江岸区) or its code (420102)."), field="district")
    return region.code


@dataclass(frozen=True)
class Cursor:
    day: date | None
    id: int

    def text(self) -> str:
        return f"{self.day.isoformat()}_{self.id}" if self.day else str(self.id)


def parse_cursor(text: str, with_day: bool) -> Cursor | None:
    if not text:
        return None
    try:
        if with_day:
            day, _sep, last = text.partition("_")
            return Cursor(date.fromisoformat(day), int(last))
        return Cursor(None, int(text))
    except ValueError:
        raise InvalidInput(_l("Not a valid page cursor."), field="after") from None


# ---- facts the checks need, per chunk ------------------------------------------------------------------------

def _pending_objections(household_ids: set[int], today: date) -> dict[int, list[tuple]]:
    """(record_id, procedure_id) of the objections pending today that stop a clock or suspend (not repeats)."""
    decided = sa.exists().where(ObjectionProposal.objection_id == Objection.id,
                                ObjectionReview.proposal_id == ObjectionProposal.id, ObjectionReview.confirmed,
                                ObjectionReview.decided_date <= today)
    out: dict[int, list[tuple]] = {}
    if household_ids:
        for hid, rid, pid in db.session.execute(
                sa.select(Objection.household_id, Objection.record_id, Objection.procedure_id)
                .where(Objection.household_id.in_(household_ids), Objection.repeat.is_(False),
                       Objection.filed_date <= today, ~decided)):
            out.setdefault(hid, []).append((rid, pid))
    return out


def _heads(household_ids: set[int]) -> dict[int, tuple[str, str]]:
    """(name, ID number) of each household's head — read only to be masked."""
    if not household_ids:
        return {}
    return {hid: (name, number) for hid, name, number in db.session.execute(
        sa.select(Member.household_id, Member.name, Member.id_number)
        .where(Member.household_id.in_(household_ids), Member.relation == Relation.head))}


def _head_matches(household_column, patterns: list[str]):
    return sa.exists().where(Member.household_id == household_column, Member.relation == Relation.head,
                             sa.or_(*(Member.name.like(p, escape="\\") if ("%" in p or "_" in p)
                                      else Member.name == p for p in patterns)))


def _record_part(fact, rules, version, today: date) -> dict | None:
    """A ground record as the public reads it — behaviour title and clause — only while it stands (not revoked,
    not repaired) and its tier is disclosed by the rules data (never mild)."""
    if fact is None or not standing(fact, today):
        return None
    behaviour = rules.behaviour_on(fact.code, fact.region_code, fact.determined)
    if not version.is_disclosed(behaviour.tier):
        return None
    return {"title": title_of(behaviour), "clause": behaviour.clause}


# ---- the walk ------------------------------------------------------------------------------------------------

def _walk(fetch, build, after, size: int, chunk: int) -> tuple[list[dict], object | None]:
    """Up to `size` shown rows, walking candidates in order after the cursor `after`, `chunk` at a time:
    `fetch(cursor, n)` gives the next candidates after `cursor`; `build(rows)` gives (cursor of the row, shown item
    or None) for each. Returns the items and the cursor to continue from (None when no candidate is left)."""
    items: list[dict] = []
    cursor = after
    while True:
        rows = fetch(cursor, chunk)
        for key, item in build(rows):
            if len(items) == size:
                return items, cursor  # a further candidate exists: continue after the last one looked at
            cursor = key
            if item is not None:
                items.append(item)
        if len(rows) < chunk:
            return items, None


def _page_size() -> int:
    return int(current_app.config.get("PUBLIC_PAGE_SIZE") or current_app.config.get("PAGE_SIZE", 50))


def _shown(scope: ListScope, raw: dict) -> dict:
    """The row as the scope shows it: its fields, in order, each through its mask — nothing else."""
    return {f.name: mask(f.mask, raw.get(f.name)) for f in scope.fields}


def public_list(list_name: str, args: dict | None = None) -> dict:
    """One page of a public list: {list, title, as_of, fields [{name, label}], items, next, filters}."""
    scope = scope_of(list_name)
    if scope is None:
        raise NotFound()
    q = load(PublicListQuery(), args or {})
    patterns = name_pattern(q["q"])
    district = district_code(q["district"])
    today = get_clock().today()
    rules = scoring.rules_book()
    version = rules.version_at(today)
    after = parse_cursor(q["after"], with_day=list_name == WATCH)
    size = _page_size()
    walker = _punishment if list_name == PUNISHMENT else _watch
    raw, following = walker(scope, rules, version, today, patterns, district, after, size)
    return {"list": list_name, "title": str(LIST_TITLES[list_name]), "as_of": today,
            "fields": [{"name": f.name, "label": f.label} for f in scope.fields],
            "items": [_shown(scope, r) for r in raw], "next": following.text() if following else None,
            "has_more": following is not None, "filters": {"q": q["q"], "district": q["district"]}}


# ---- the joint-punishment list -------------------------------------------------------------------------------

def punishment_candidates(today: date, stages, patterns, district):
    """SQL: procedures in publicity (through its last day) or listed (L through its term) today, newest first."""
    shown = []
    if PUBLICITY in stages:
        shown.append(sa.and_(Procedure.state == PUBLICITY, Procedure.window_end >= today))
    if LISTED in stages:
        shown.append(sa.and_(Procedure.state == LISTED, Procedure.listed_date <= today,
                             Procedure.listed_through >= today))
    stmt = (sa.select(Procedure.id, Procedure.household_id, Procedure.region_code, Procedure.route,
                      Procedure.record_id, Procedure.order_id, Procedure.state, Procedure.window_end,
                      Procedure.listed_date, Procedure.listed_through)
            .where(Procedure.state.in_((PUBLICITY, LISTED)), sa.or_(*shown) if shown else sa.false()))
    if district:
        stmt = stmt.where(gate.region_clause(Procedure.region_code, gate.SYSTEM, district))
    if patterns:
        stmt = stmt.where(_head_matches(Procedure.household_id, patterns))
    return stmt.order_by(Procedure.id.desc())


def _punishment(scope, rules, version, today, patterns, district, after, size):
    stages = set(scope.stages)
    if PUBLIC_DISCLOSURE not in {m.code for m in version.measures_for_list(PUNISHMENT)}:
        stages.discard(LISTED)  # the rules data no longer makes a listing public
    base = punishment_candidates(today, stages, patterns, district)

    def fetch(cursor, n):
        stmt = base if cursor is None else base.where(Procedure.id < cursor.id)
        return db.session.execute(stmt.limit(n)).all()

    def build(rows):
        if not rows:
            return []
        ids = [r.id for r in rows]
        households = {r.household_id for r in rows}
        grounds: dict[int, list] = {i: [] for i in ids}
        for g in db.session.execute(sa.select(ProcedureGround.procedure_id, ProcedureGround.route,
                                              ProcedureGround.record_id, ProcedureGround.order_id)
                                    .where(ProcedureGround.procedure_id.in_(ids)).order_by(ProcedureGround.id)):
            grounds[g.procedure_id].append(g)
        order_ids = {r.order_id for r in rows if r.order_id} | {g.order_id for gs in grounds.values()
                                                                for g in gs if g.order_id}
        orders = dict(db.session.execute(sa.select(RectificationOrder.id, RectificationOrder.ground)
                                          .where(RectificationOrder.id.in_(order_ids))).all()) if order_ids else {}
        publicity = dict(db.session.execute(sa.select(ProcedureStep.procedure_id, ProcedureStep.step_date)
                                            .where(ProcedureStep.procedure_id.in_(ids),
                                                   ProcedureStep.step == PUBLICITY)).all())
        facts = scoring.facts_for(households)
        pending = _pending_objections(households, today)
        heads = _heads(households)
        out = []
        for r in rows:
            key = Cursor(None, r.id)
            known = {f.id: f for f in facts[r.household_id]}
            ground_records = [r.record_id] + [g.record_id for g in grounds[r.id]]
            disputed = any(pid == r.id or (rid is not None and rid in ground_records)
                           for rid, pid in pending.get(r.household_id, ()))
            if disputed:
                out.append((key, None))
                continue
            parts = []
            for route, record_id, order_id in [(r.route, r.record_id, r.order_id)] + [
                    (g.route, g.record_id, g.order_id) for g in grounds[r.id]]:
                parts.extend(_ground_parts(route, record_id, order_id, known, orders, rules, version, today))
            name, number = heads.get(r.household_id, ("", ""))
            stage = LISTED if r.state == LISTED else PUBLICITY
            effective = r.listed_date if stage == LISTED else publicity.get(r.id)
            end = r.listed_through if stage == LISTED else r.window_end
            out.append((key, _row(name, number, r.region_code, stage, parts, effective, end)))
        return out

    return _walk(fetch, build, after, size, size + 1)


def _ground_parts(route, record_id, order_id, known, orders, rules, version, today) -> list[dict]:
    """What the public reads of one ground of a procedure, each with its clause: the rectification ground of an
    overdue order, or the route (a judgment, a penalty); and the behaviour of its record when disclosed."""
    parts = []
    item = next((i for i in version.rectification if i.code == orders.get(order_id)), None) if order_id else None
    if item is not None:
        parts.append({"title": title_of(item), "clause": item.clause})
    elif route != "watch_transfer":
        parts.append({"title": str(ROUTE_LABELS.get(route, route)), "clause": version.route_clause(route)})
    record = _record_part(known.get(record_id), rules, version, today) if record_id is not None else None
    if record is not None:
        parts.append(record)
    if not parts:
        parts.append({"title": str(ROUTE_LABELS.get(route, route)), "clause": version.route_clause(route)})
    return parts


def _row(name, number, region_code, stage, parts, effective, end) -> dict:
    """Every field a public list can offer (scopes.FIELDS), before the scope picks and masks them."""
    titles = list(dict.fromkeys(p["title"] for p in parts))
    clauses = list(dict.fromkeys(p["clause"] for p in parts))
    return {"name": name, "id_number": number, "address": region_code, "stage": str(STAGE_LABELS[stage]),
            "behaviour": "；".join(titles), "clause": "；".join(clauses),
            "effective_date": effective.isoformat() if effective else None,
            "end_date": end.isoformat() if end else None}


# ---- the watch list ------------------------------------------------------------------------------------------

def watch_candidates(today: date, rules, patterns, district):
    """SQL: watch entries in force today (the engine's definition, `lists.queries.in_force_sql`), newest first,
    bounded below by the longest watch period any rules version sets (an older start cannot be in force)."""
    longest = max(v.watch.period_months for v in rules.versions)
    stmt = (sa.select(WatchEntry.id, WatchEntry.household_id, WatchEntry.region_code, WatchEntry.start_date,
                      WatchEntry.until_date, WatchEntry.end_date, WatchEntry.grounds)
            .where(in_force_sql(today), WatchEntry.start_date >= add_months(today, -longest)))
    if district:
        stmt = stmt.where(gate.region_clause(WatchEntry.region_code, gate.SYSTEM, district))
    if patterns:
        stmt = stmt.where(_head_matches(WatchEntry.household_id, patterns))
    return stmt.order_by(WatchEntry.start_date.desc(), WatchEntry.id.desc())


def _watch(scope, rules, version, today, patterns, district, after, size):
    base = watch_candidates(today, rules, patterns, district)

    def fetch(cursor, n):
        stmt = base if cursor is None else base.where(
            sa.tuple_(WatchEntry.start_date, WatchEntry.id) < sa.tuple_(cursor.day, cursor.id))
        return db.session.execute(stmt.limit(n)).all()

    def build(rows):
        if not rows:
            return []
        households = {r.household_id for r in rows}
        facts = scoring.facts_for(households)
        pending = _pending_objections(households, today)
        heads = _heads(households)
        out = []
        for r in rows:
            key = Cursor(r.start_date, r.id)
            grounds = [int(g) for g in (r.grounds or [])]
            if any(rid is not None and rid in grounds for rid, _pid in pending.get(r.household_id, ())):
                out.append((key, None))
                continue
            known = {f.id: f for f in facts[r.household_id]}
            parts = [p for p in (_record_part(known.get(g), rules, version, today) for g in grounds) if p]
            if not parts:  # mild grounds only (never public), or none left standing
                out.append((key, None))
                continue
            name, number = heads.get(r.household_id, ("", ""))
            out.append((key, _row(name, number, r.region_code, WATCHED, parts, r.start_date, r.until_date)))
        return out

    return _walk(fetch, build, after, size, size + 1)
