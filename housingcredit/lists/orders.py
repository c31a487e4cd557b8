"""Rectification orders (责令限期改正/退回/补缴, HB 六 (一)–(四); SPEC §7): issue, compliance, and the procedure
an overdue order opens the day after its deadline."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import gate
from ..accounts.models import User
from ..audit import service as audit
from ..clock import get_clock
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..i18n import title_of
from ..records.models import Record
from ..scoring import service as scoring
from ..validation import load
from .common import (
    ORDER_STATUS_LABELS,
    OVERDUE_ORDER,
    _gated,
    _household,
    _notice,
    _readable,
    _rules,
    _stored,
    _today,
)
from .models import OrderCompliance, Procedure, ProcedureGround, RectificationOrder
from .procedures import _open
from .schemas import ComplianceIn, OrderIn, deadline_problem
from .watch import after_facts_changed

# ---- rectification orders ------------------------------------------------------------------------------------

def _ground(code: str, on: date):
    for item in _rules().version_at(on).rectification:
        if item.code == code:
            return item
    return None


def issue_order(household_id: int, ground: str, deadline, requirement: str, record_id, who: User
                ) -> RectificationOrder:
    """Order the household to correct by a deadline (责令限期改正/退回/补缴, HB 六 (一)–(四))."""
    h = _gated(household_id, "lists.write", who)
    clean = load(OrderIn(), {"ground": ground, "deadline": deadline, "requirement": requirement,
                             "record_id": record_id})
    today = _today()
    item = _ground(clean["ground"], today)
    errors = {}
    if item is None:
        errors["ground"] = [_("Choose one of the grounds of HB 六 (一)–(四).")]
    deadline_error = deadline_problem(clean["deadline"], today, _rules().version_at(today))
    if deadline_error:
        errors["deadline"] = [deadline_error]
    if clean["record_id"] is not None:
        owner = db.session.scalar(sa.select(Record.household_id).where(Record.id == clean["record_id"]))
        if owner != h.id:
            errors["record_id"] = [_("This record does not belong to the household.")]
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    order = RectificationOrder(household_id=h.id, region_code=h.region_code, ground=item.code,
                               record_id=clean["record_id"], issued_date=today, deadline=clean["deadline"],
                               requirement=clean["requirement"], issued_by_id=who.id,
                               issued_dt=get_clock().now_utc())
    db.session.add(order)
    db.session.flush()
    audit.record("order.issue", "rectification_order", order.id, household_id=h.id, region_code=h.region_code,
                 after={"ground": item.code, "clause": item.clause, "deadline": order.deadline.isoformat(),
                        "record_id": order.record_id}, actor=(who.id, who.username))
    _notice(h, "rectification_order", "rectification_order", order.id, today,
            _l("Order to rectify by a deadline"),
            lambda: _("Your household (archive %(archive)s) is ordered to: %(requirement)s — by %(deadline)s "
                      "(%(ground)s, %(clause)s). If the order is not complied with by that day, a joint-punishment "
                      "procedure opens the day after (HB 六).", archive=h.archive_no,
                      requirement=order.requirement, deadline=order.deadline.isoformat(), ground=item.title_zh,
                      clause=item.clause))
    return order


def _order(order_id: int) -> RectificationOrder:
    order = db.session.get(RectificationOrder, order_id)
    if order is None:
        raise NotFound()
    return order


def _procedure_of_order(order_id: int) -> Procedure | None:
    """The procedure the overdue order opened, or the open one it attached its ground to (SPEC §7)."""
    return db.session.scalar(sa.select(Procedure).where(sa.or_(
        Procedure.order_id == order_id,
        Procedure.id.in_(sa.select(ProcedureGround.procedure_id).where(ProcedureGround.order_id == order_id)))))


def record_compliance(order_id: int, complied_date, note: str, who: User) -> OrderCompliance:
    """Record that the order was complied with on a date — on or before the deadline, before any procedure."""
    order = _order(order_id)
    h = _gated(order.household_id, "lists.write", who)
    clean = load(ComplianceIn(), {"complied_date": complied_date, "note": note or ""})
    scoring.lock_household(h.id)
    if db.session.scalar(sa.select(OrderCompliance.id).where(OrderCompliance.order_id == order.id)):
        raise Conflict(_l("Compliance with this order is already recorded."))
    opened = _procedure_of_order(order.id)
    if opened is not None:
        raise Conflict(_l("The deadline passed without compliance and procedure %(id)s opened on %(date)s; "
                          "compliance can no longer be recorded on this order.", id=opened.id,
                          date=opened.opened_date.isoformat()))
    today, done = _today(), clean["complied_date"]
    if done > today:
        raise InvalidInput(_l("The date may not be in the future."), field="complied_date")
    if done < order.issued_date:
        raise InvalidInput(_l("The order was issued on %(date)s; compliance cannot be earlier.",
                              date=order.issued_date.isoformat()), field="complied_date")
    if done > order.deadline:
        raise Conflict(_l("The deadline %(date)s had passed: compliance after it does not stop the procedure.",
                          date=order.deadline.isoformat()), field="complied_date")
    row = OrderCompliance(order_id=order.id, complied_date=done, note=clean["note"], by_id=who.id,
                          dt=get_clock().now_utc())
    db.session.add(row)
    db.session.flush()
    audit.record("order.comply", "rectification_order", order.id, household_id=h.id, region_code=h.region_code,
                 after={"complied_date": done.isoformat()}, actor=(who.id, who.username))
    return row


def open_overdue_orders(today: date | None = None, each=None, *, who: "gate.Actor") -> dict:
    """Daily: every order past its deadline without compliance opens its procedure (route overdue_order).

    Opened the day the job runs — the day after the deadline when it runs daily; never twice (unique order_id).
    `each` (batches.Batches) may run the orders in batches; by default all in the caller's transaction.
    """
    from ..batches import in_turn
    gate.require("lists.write", who)
    today = today or _today()
    overdue = db.session.scalars(_overdue_select(today).order_by(RectificationOrder.id)).all()
    (each or in_turn)(overdue, lambda order: _open_overdue(order, today, who))
    return {"opened": len(overdue)}


def _open_overdue(order: RectificationOrder, today: date, who: "gate.Actor") -> None:
    """Open the procedure of one overdue order (once) — or attach its ground to the one open (SPEC §7) — and
    reconcile the household's lists."""
    scoring.lock_household(order.household_id)
    if _procedure_of_order(order.id) is not None:  # opened meanwhile by another transaction
        return
    h = _household(order.household_id)
    item = _ground(order.ground, order.issued_date)
    _open(h, OVERDUE_ORDER, today, record_id=order.record_id,
          order_id=order.id, clause=item.clause if item else None, who=who,
          basis=_stored(lambda: _("Order %(id)s (%(ground)s) was not complied with by its deadline "
                                  "%(deadline)s.", id=order.id, ground=item.title_zh if item else order.ground,
                                  deadline=order.deadline.isoformat())))
    after_facts_changed(h.id)


def _overdue_select(today: date):
    return (sa.select(RectificationOrder)
            .where(RectificationOrder.deadline < today,
                   ~sa.exists().where(OrderCompliance.order_id == RectificationOrder.id),
                   ~sa.exists().where(Procedure.order_id == RectificationOrder.id),
                   ~sa.exists().where(ProcedureGround.order_id == RectificationOrder.id)))


def _order_status(order: RectificationOrder, compliance, procedure_id, today: date) -> str:
    if compliance is not None:
        return "complied"
    if procedure_id is not None:
        return "procedure"
    return "overdue" if order.deadline < today else "open"


def orders_for(household_id: int, who: User) -> list[dict]:
    """The household's orders with their status; a staff read is logged as "orders.read" (one per request)."""
    gate.log_read("orders.read", _readable(household_id, who), who)
    today = _today()
    rows = db.session.execute(
        sa.select(RectificationOrder, OrderCompliance, sa.func.coalesce(Procedure.id, ProcedureGround.procedure_id))
        .outerjoin(OrderCompliance, OrderCompliance.order_id == RectificationOrder.id)
        .outerjoin(Procedure, Procedure.order_id == RectificationOrder.id)
        .outerjoin(ProcedureGround, ProcedureGround.order_id == RectificationOrder.id)
        .where(RectificationOrder.household_id == household_id).order_by(RectificationOrder.id)).all()
    return [order_view(o, c, pid, today) for o, c, pid in rows]


def order_view(o: RectificationOrder, c: OrderCompliance | None, procedure_id, today: date) -> dict:
    item = _ground(o.ground, o.issued_date)
    status = _order_status(o, c, procedure_id, today)
    return {"id": o.id, "household_id": o.household_id, "ground": o.ground,
            "ground_title": title_of(item) if item else o.ground, "clause": item.clause if item else "",
            "record_id": o.record_id, "issued_date": o.issued_date, "deadline": o.deadline,
            "requirement": o.requirement, "status": status, "status_label": ORDER_STATUS_LABELS[status],
            "compliance": {"complied_date": c.complied_date, "note": c.note} if c else None,
            "procedure_id": procedure_id}


def grounds() -> list:
    return list(_rules().version_at(_today()).rectification)
