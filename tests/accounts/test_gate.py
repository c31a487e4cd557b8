"""DESIGN rule 5 (one gate for access) and SPEC §1 (a household sees every staff read of its file).

Every read and write of household data passes accounts/gate.py with an explicit actor — a user, or the system
actor for jobs and commands; permissions (staff, household, system) are one table of data; region logic lives in
accounts/ only; every staff GET of one household's data leaves exactly one `.read` audit entry, a household's own
GETs none.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

import housingcredit
from housingcredit.accounts import gate
from housingcredit.accounts.models import Role
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import Forbidden, InvalidInput, NotFound
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.notices.models import Notice
from housingcredit.records import service as records
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user
from tests.lists.helpers import Staff, run_jobs_on
from tests.records.helpers import confirm, make_record

PACKAGE = Path(housingcredit.__file__).parent


# ---- one table of permissions, households and the system actor included ---------------------------------------

def test_spec1_household_permissions_are_data(app, monkeypatch):
    assert gate.PERMISSIONS["archive.read"][Role.household] == gate.OWN
    assert gate.PERMISSIONS["credit.read"][Role.household] == gate.OWN
    assert gate.PERMISSIONS["own.read"] == {Role.household: gate.OWN}
    assert Role.household not in gate.PERMISSIONS["archive.write"]
    assert Role.household not in gate.PERMISSIONS["archive.search"]
    source = (PACKAGE / "accounts" / "gate.py").read_text(encoding="utf-8")
    assert '"own.read", "archive.read", "credit.read"' not in source  # no list of household permissions in code

    staff = Staff("420100")
    household = make_household("420102")
    record = make_record(household, staff.caseworker)
    user = make_household_user(household)
    db.session.commit()
    assert records.get_record(record.id, user).id == record.id
    # take the grant away in the data: the household no longer reaches its own records (and learns nothing)
    monkeypatch.delitem(gate.PERMISSIONS["credit.read"], Role.household)
    with pytest.raises(NotFound):
        records.get_record(record.id, user)


def test_spec1_a_household_grant_holds_on_its_own_household_only(app):
    own, other = make_household("420102"), make_household("420102", head_name="李四")
    user = make_household_user(own)
    assert gate.check_household(own, "archive.read", user) is own
    with pytest.raises(NotFound):
        gate.check_household(other, "archive.read", user)
    with pytest.raises(NotFound):  # no write grant: 404 like any household it does not reach
        gate.check_household(own, "archive.write", user)
    with pytest.raises(Forbidden):  # an own-household grant opens no region-wide page (search, lists)
        gate.require("archive.read", user)
    assert gate.require("own.read", user) is user


# ---- the system actor ---------------------------------------------------------------------------------------

def test_design5_jobs_act_as_the_system_actor(app, clock):
    staff = Staff("420100")
    household = make_household("420102")
    clock.set(date(2026, 6, 1))
    lists.issue_order(household.id, "illegal_transfer", "2026-06-19", "停止转租", None, staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 6, 20))
    opened = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "procedure.open")).all()
    assert [(e.actor_id, e.actor_label, e.household_id) for e in opened] == [(None, "system", household.id)]
    assert gate.SYSTEM.role == Role.system and gate.SYSTEM.username == "system"
    # the system's permissions are data too: it may write lists and rebuild caches, never search or check
    assert gate.can("lists.write", gate.SYSTEM) and gate.can("credit.rebuild", gate.SYSTEM)
    assert not gate.can("archive.search", gate.SYSTEM) and not gate.can("credit.check", gate.SYSTEM)
    assert not gate.is_staff(gate.SYSTEM)
    # a job entry point refuses an actor without the permission
    with pytest.raises(Forbidden):
        lists.advance_due_procedures(date(2026, 6, 20), who=make_user("auditor", "420000"))
    # the nightly refresh of the credit caches is the system's alone
    from housingcredit.scoring import service as scoring
    with pytest.raises(Forbidden):
        scoring.nightly_expire(date(2026, 6, 20), who=staff.caseworker)


def test_design5_the_system_actor_is_no_login(app):
    from housingcredit.accounts import service
    with pytest.raises(InvalidInput) as err:
        service.create_staff("robot", "robot", Role.system, "420000", "long-enough-pass")
    assert err.value.field == "role"


def _public_service_functions():
    """Every public function of the service modules (the use cases), with its module name."""
    names = ["housingcredit.archives.service", "housingcredit.records.service", "housingcredit.notices.service",
             "housingcredit.scoring.service", "housingcredit.accounts.service"]
    names += [m.name for m in pkgutil.iter_modules([str(PACKAGE / "lists")], "housingcredit.lists.")
              if m.name.rsplit(".", 1)[1] not in ("engine", "models", "schemas", "forms", "views", "api")]
    for name in names:
        module = importlib.import_module(name)
        for fname, fn in vars(module).items():
            if fname.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            yield f"{name}.{fname}", fn


def test_design5_no_service_accepts_a_missing_actor():
    optional = {}
    with_who = []
    for name, fn in _public_service_functions():
        param = inspect.signature(fn).parameters.get("who")
        if param is None:
            continue
        with_who.append(name)
        if param.default is not inspect.Parameter.empty:
            optional[name] = param.default
    assert optional == {}
    for must in ("housingcredit.lists.procedures.end_procedure", "housingcredit.lists.procedures.advance_due_procedures",
                 "housingcredit.lists.procedures.expire_listings", "housingcredit.lists.watch.expire_watch",
                 "housingcredit.lists.orders.open_overdue_orders", "housingcredit.scoring.service.nightly_expire",
                 "housingcredit.scoring.service.credit_for", "housingcredit.scoring.service.credit_history"):
        assert must in with_who, must
    for fname in ("jobs.py", "lists/procedures.py", "lists/orders.py", "lists/watch.py", "scoring/service.py",
                  "records/service.py", "archives/service.py", "notices/service.py"):
        text = (PACKAGE / fname).read_text(encoding="utf-8")
        assert not re.search(r"who: User \| None = None|if who else|who or ", text), fname


def test_design5_region_logic_lives_only_in_accounts():
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("accounts/") or rel.startswith("demo/"):  # the demo only picks region codes for fake data
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"regions\.(covers|code_range)\(|\bcode_range\(", line):
                found.append(f"{rel}:{n}")
    assert found == []


def test_design5_scope_narrows_to_a_region_inside_the_users(app):
    from housingcredit.lists.models import WatchEntry
    wuhan = make_user("caseworker", "420100")
    assert len(gate.scope(WatchEntry.region_code, wuhan, "420102")) == 2
    with pytest.raises(Forbidden):
        gate.scope(WatchEntry.region_code, wuhan, "420502")
    with pytest.raises(InvalidInput):
        gate.scope(WatchEntry.region_code, wuhan, "999999")


# ---- every staff read of one household is audited, a household's own reads never -------------------------------

# Every GET route taking a household (or a record, order, procedure, notice or evidence of one), with the one
# `.read` entry a staff GET of it leaves (None: the page shows nothing of the file but its number).
STAFF_READS = {
    "/households/<int:household_id>": "household.read",
    "/households/<int:household_id>/edit": "household.read",
    "/households/<int:household_id>/lists": "lists.read",
    "/households/<int:household_id>/records/new": None,
    "/records/<int:record_id>": "record.read",
    "/evidence/<int:evidence_id>": "evidence.read",
    "/notices/<int:notice_id>": "notice.read",
    "/api/v1/households/<int:household_id>": "household.read",
    "/api/v1/households/<int:household_id>/history": "history.read",
    "/api/v1/households/<int:household_id>/records": "records.read",
    "/api/v1/households/<int:household_id>/credit": "credit.read",
    "/api/v1/households/<int:household_id>/credit/history": "credit.read",
    "/api/v1/households/<int:household_id>/orders": "orders.read",
    "/api/v1/households/<int:household_id>/procedures": "procedures.read",
    "/api/v1/records/<int:record_id>": "record.read",
    "/households/<int:household_id>/objections/new": None,
    "/api/v1/households/<int:household_id>/objections": "objections.read",
    "/households/<int:household_id>/repairs/new": None,
    "/api/v1/households/<int:household_id>/repairs": "repairs.read",
    "/api/v1/records/<int:record_id>/corrections": "record.read",
    "/notices/<int:notice_id>.pdf": "notice.read",
    "/objections/<int:objection_id>": "objection.read",
    "/api/v1/objections/<int:objection_id>": "objection.read",
    "/objection-materials/<int:objection_material_id>": "materials.read",
    "/repairs/<int:application_id>": "repair.read",
    "/api/v1/repairs/<int:application_id>": "repair.read",
    "/repair-materials/<int:repair_material_id>": "materials.read",
}
ID_ARGS = {"household_id", "record_id", "order_id", "procedure_id", "notice_id", "evidence_id", "objection_id",
           "application_id", "objection_material_id", "repair_material_id"}


@pytest.fixture
def file_of_one(app, clock):
    """A Jiang'an household with a confirmed record (evidence, notice) and an open rectification order."""
    staff = Staff("420100")
    household = make_household("420102")
    clock.set(date(2026, 6, 10))
    record = make_record(household, staff.caseworker)
    confirm(record, staff.reviewer)
    lists.issue_order(household.id, "illegal_transfer", "2026-07-30", "停止转租", record.id, staff.caseworker)
    db.session.commit()
    notice = db.session.scalar(sa.select(Notice).where(Notice.household_id == household.id).limit(1))
    # the household's objection to the record and its repair application of a mild one, each with a file
    from housingcredit.appeals import repairs, service as appeals
    from tests.records.helpers import PDF
    home = make_household_user(household)
    objection = appeals.file_objection(household.id, {"record_id": record.id, "reason": "异议"},
                                       [("说明.pdf", PDF)], home)
    mild = make_record(household, staff.caseworker, "HB08")
    confirm(mild, staff.reviewer)
    application = repairs.apply(household.id, {"record_id": mild.id, "declaration": "已整改",
                                               "commitment_signed": True}, [("整改证明.pdf", PDF)], [], home)
    db.session.commit()
    ids = {"household_id": household.id, "record_id": record.id, "evidence_id": record.evidence[0].id,
           "notice_id": notice.id, "objection_id": objection.id, "objection_material_id": objection.materials[0].id,
           "application_id": application.id, "repair_material_id": application.materials[0].id}
    return staff, household, ids


def _reads(household_id: int) -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(sa.select(AuditEntry.action, AuditEntry.household_id, AuditEntry.region_code,
                                         AuditEntry.actor_id)
                              .where(AuditEntry.household_id == household_id, AuditEntry.action.like("%.read"))
                              .order_by(AuditEntry.id)).all()


def _url(rule: str, ids: dict) -> str:
    return re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule)


def test_spec1_every_staff_get_route_of_a_household_is_listed(app):
    routes = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and set(r.arguments) & ID_ARGS}
    assert routes == set(STAFF_READS)


def test_spec1_every_staff_read_of_a_household_is_audited(app, client, api_client, file_of_one):
    staff, household, ids = file_of_one
    login(client, staff.caseworker)
    api = api_client(staff.caseworker)
    for rule, action in STAFF_READS.items():
        before = _reads(household.id)
        resp = (api if rule.startswith("/api/") else client).get(_url(rule, ids))
        resp.close()  # the evidence is a file response
        assert resp.status_code == 200, rule
        new = _reads(household.id)[len(before):]
        expected = [(action, household.id, "420102", staff.caseworker.id)] if action else []
        assert new == expected, rule


def test_spec1_a_household_reading_its_own_file_leaves_no_staff_read(app, client, file_of_one):
    _staff, household, ids = file_of_one
    login(client, make_household_user(household))
    before = _reads(household.id)
    for url in ("/my", "/my/credit", "/my/notices", f"/households/{household.id}",
                f"/households/{household.id}/lists", f"/records/{ids['record_id']}",
                f"/evidence/{ids['evidence_id']}", f"/notices/{ids['notice_id']}", "/my/objections", "/my/repairs",
                f"/objection-materials/{ids['objection_material_id']}",
                f"/repair-materials/{ids['repair_material_id']}"):
        resp = client.get(url)
        resp.close()
        assert resp.status_code == 200, url
    assert _reads(household.id) == before
    opened = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.household_id == household.id,
                                                                   AuditEntry.action.like("notice.%"))).all()
    assert "notice.open" in opened  # the household marking its notice read is a change, not a staff read


def test_spec1_list_pages_over_many_households_are_no_read_of_one_file(app, client, api_client, file_of_one):
    staff, household, _ids = file_of_one
    api = api_client(staff.caseworker)
    login(client, staff.caseworker)
    before = _reads(household.id)
    for resp in (api.get("/api/v1/watch-list"), api.get("/api/v1/due"), client.get("/watch"), client.get("/due")):
        assert resp.status_code == 200
    assert _reads(household.id) == before


def test_spec1_a_service_read_outside_a_request_is_logged_each_time(app, file_of_one):
    staff, household, ids = file_of_one
    before = len(_reads(household.id))
    records.get_record(ids["record_id"], staff.caseworker)
    records.get_record(ids["record_id"], staff.caseworker)
    lists.orders_for(household.id, gate.SYSTEM)  # the system's reads are no staff reads
    db.session.commit()
    assert [a for a, *_ in _reads(household.id)[before:]] == ["record.read", "record.read"]
