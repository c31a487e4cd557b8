"""Exports of a filtered list to .xlsx (SPEC §11): masked by default; unmasked only on a request with a purpose,
approved by a supervisor other than the requester, downloaded once by the requester within the time limit.
Every export, request, decision and download is an audit entry.

The workbook is an openpyxl write-only workbook written row by row from the list's own query (one query, fetched
in batches), into a temporary file that is then sent in chunks and removed: memory stays flat whatever the size.
Every cell that is text in the list is text in the workbook (never a formula: see `_as_text`)."""
from __future__ import annotations

import os
import tempfile
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

from ..accounts import gate
from ..accounts.models import Role, User
from ..audit import service as audit
from ..audit.labels import ACTION_LABELS
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from . import filters
from .models import ExportRequest
from .specs import SPECS

ACTION_LABELS.update({
    "export.masked": _l("List exported (masked)"),
    "export.requested": _l("Unmasked export requested"),
    "export.approved": _l("Unmasked export approved"),
    "export.rejected": _l("Unmasked export refused"),
    "export.downloaded": _l("Unmasked export downloaded"),
})

PURPOSE_MAX = 500


def spec_of(name: str):
    spec = SPECS.get(name)
    if spec is None:
        raise NotFound()
    return spec


def _as_text(ws, value: str) -> WriteOnlyCell:
    """A cell that holds `value` as text, whatever it looks like: openpyxl would write a string starting with "="
    as a formula (and "#N/A" as an error) — data from the archives must never become a formula in a spreadsheet."""
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    return cell


def write_xlsx(spec, rows, path: str) -> int:
    """Write the header and `rows` (lists of cell values, as `filters.sheet_value` makes them) to an .xlsx at
    `path` with openpyxl in write-only mode (lxml's incremental writer; inline strings); returns the number of
    rows. Each value goes to openpyxl as it is (no cell object, no style), but for text that would not stay text."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(spec.title)[:31])
    ws.append([str(c.label) for c in spec.columns])
    append = ws.append
    n = 0
    for row in rows:
        for i, value in enumerate(row):
            if type(value) is str and value and (value[0] == "=" or value in ERROR_CODES):
                row[i] = _as_text(ws, value)
        append(row)
        n += 1
    wb.save(path)
    return n


def _build(spec, q: dict, who: User, masked: bool) -> tuple[str, int]:
    handle, path = tempfile.mkstemp(prefix="hc-export-", suffix=".xlsx")
    os.close(handle)
    try:
        n = write_xlsx(spec, filters.export_rows(spec, q, who, masked=masked), path)
    except BaseException:
        os.unlink(path)
        raise
    return path, n


def masked_export(name: str, args, who: User) -> tuple[str, int]:
    """A masked export of exactly what the list shows with these filters, in the user's region; audited with the
    list, the filters and the number of rows. Returns the file's path (the caller sends and removes it)."""
    spec = spec_of(name)
    gate.require(spec.permission, who)
    q = filters.parse(spec, args, who)
    path, n = _build(spec, q, who, masked=True)
    audit.record("export.masked", "list", spec.name, region_code=who.region_code,
                 after={"list": spec.name, "filters": q, "rows": n}, actor=who)
    return path, n


# ---- unmasked exports: request, decision, one download ----------------------------------------------------------

def request_unmasked(name: str, args, purpose: str, who: User) -> ExportRequest:
    """A request for an unmasked export of the list as filtered (the filters are checked now, in the requester's
    region), with its purpose (required)."""
    spec = spec_of(name)
    gate.require(spec.permission, who)
    if who.role not in gate.STAFF:
        raise Forbidden()
    q = filters.parse(spec, args, who)
    purpose = (purpose or "").strip()
    if not purpose:
        raise InvalidInput(_l("State the purpose of the export."), field="purpose")
    if len(purpose) > PURPOSE_MAX:
        raise InvalidInput(_l("At most %(n)s characters.", n=PURPOSE_MAX), field="purpose")
    req = ExportRequest(list_name=spec.name, filters=q, purpose=purpose, region_code=who.region_code,
                        requested_by_id=who.id, requested_dt=filters.now_utc(), note="")
    db.session.add(req)
    db.session.flush()
    audit.record("export.requested", "export_request", req.id, region_code=who.region_code,
                 after={"list": spec.name, "filters": q, "purpose": purpose}, actor=who)
    return req


def _get(request_id: int) -> ExportRequest:
    req = db.session.get(ExportRequest, request_id)
    if req is None:
        raise NotFound()
    return req


def may_decide(who) -> bool:
    return who is not None and who.role == Role.supervisor


def decide(request_id: int, decision: str, note: str, who: User) -> ExportRequest:
    """A supervisor other than the requester approves or refuses (SPEC §11), once; an approval opens the download
    for EXPORT_DOWNLOAD_HOURS."""
    if not may_decide(who):
        raise Forbidden()
    req = db.session.execute(sa.select(ExportRequest).where(ExportRequest.id == request_id,
                                                            gate.region_clause(ExportRequest.region_code, who))
                             .with_for_update()).scalar_one_or_none()
    if req is None:
        raise NotFound()
    if decision not in ("approved", "rejected"):
        raise InvalidInput(_l("Not a valid choice."), field="decision")
    if req.requested_by_id == who.id:
        raise Forbidden(_l("An export must be approved by a supervisor other than the requester."))
    if req.decision is not None:
        raise Conflict(_l("This request has already been decided."))
    now = filters.now_utc()
    req.decision, req.decided_by_id, req.decided_dt, req.note = decision, who.id, now, (note or "").strip()[:500]
    if decision == "approved":
        req.expires_dt = now + timedelta(hours=current_app.config.get("EXPORT_DOWNLOAD_HOURS", 24))
    audit.record(f"export.{decision}", "export_request", req.id, region_code=req.region_code,
                 after={"list": req.list_name, "filters": req.filters, "requested_by": req.requested_by_id,
                        "expires": req.expires_dt.isoformat() if req.expires_dt else None}, actor=who)
    return req


def download_unmasked(request_id: int, who: User) -> tuple[ExportRequest, str]:
    """The approved export, for its requester only, once, before it expires; the rows are read now, with the
    requester's current region and permission (a request does not widen what its requester may see)."""
    req = db.session.execute(sa.select(ExportRequest).where(ExportRequest.id == request_id)
                             .with_for_update()).scalar_one_or_none()
    if req is None or req.requested_by_id != who.id:
        raise NotFound()
    if req.decision != "approved":
        raise Conflict(_l("This export has not been approved."))
    if req.downloaded_dt is not None:
        raise Conflict(_l("This export has already been downloaded; request a new one."))
    now = filters.now_utc()
    if req.expires_dt is None or now >= req.expires_dt:
        raise Conflict(_l("The time to download this export has passed; request a new one."))
    spec = spec_of(req.list_name)
    gate.require(spec.permission, who)
    q = filters.parse(spec, req.filters, who)
    path, n = _build(spec, q, who, masked=False)
    req.downloaded_dt, req.rows = now, n
    audit.record("export.downloaded", "export_request", req.id, region_code=req.region_code,
                 after={"list": req.list_name, "filters": q, "rows": n}, actor=who)
    return req, path


def requests_for(who: User, limit: int = 50) -> dict:
    """The user's own requests (newest first) and, for a supervisor, the undecided ones of their region that
    someone else made."""
    if who.role not in gate.STAFF:
        raise Forbidden()
    mine = db.session.scalars(sa.select(ExportRequest).where(ExportRequest.requested_by_id == who.id)
                              .order_by(ExportRequest.id.desc()).limit(limit)).all()
    waiting = []
    if may_decide(who):
        waiting = db.session.scalars(
            sa.select(ExportRequest).where(ExportRequest.decision.is_(None),
                                           gate.region_clause(ExportRequest.region_code, who),
                                           ExportRequest.requested_by_id != who.id)
            .order_by(ExportRequest.id).limit(limit)).all()
    now = filters.now_utc()
    return {"mine": [_view(r, now) for r in mine], "waiting": [_view(r, now) for r in waiting]}


STATE_LABELS = {"waiting": _l("Waiting for a supervisor"), "rejected": _l("Refused"),
                "ready": _l("Approved: ready to download"), "downloaded": _l("Downloaded"),
                "expired": _l("Expired")}


def state_of(r: ExportRequest, now) -> str:
    if r.decision is None:
        return "waiting"
    if r.decision == "rejected":
        return "rejected"
    if r.downloaded_dt is not None:
        return "downloaded"
    return "ready" if r.expires_dt and now < r.expires_dt else "expired"


def _view(r: ExportRequest, now) -> dict:
    spec = SPECS.get(r.list_name)
    state = state_of(r, now)
    return {"id": r.id, "list": str(spec.title) if spec else r.list_name, "list_name": r.list_name,
            "filters": r.filters, "purpose": r.purpose, "requested_by": r.requested_by.display_name,
            "requested_dt": r.requested_dt, "state": state, "state_label": str(STATE_LABELS[state]),
            "expires_dt": r.expires_dt, "note": r.note}


def ready_count(who: User) -> int:
    """The user's approved exports still waiting to be downloaded (the to-do page)."""
    now = filters.now_utc()
    return db.session.scalar(sa.select(sa.func.count(ExportRequest.id)).where(
        ExportRequest.requested_by_id == who.id, ExportRequest.decision == "approved",
        ExportRequest.downloaded_dt.is_(None), ExportRequest.expires_dt > now)) or 0


def waiting_count(who: User) -> int:
    """Undecided requests a supervisor may decide (the to-do page)."""
    if not may_decide(who):
        return 0
    return db.session.scalar(sa.select(sa.func.count(ExportRequest.id)).where(
        ExportRequest.decision.is_(None), gate.region_clause(ExportRequest.region_code, who),
        ExportRequest.requested_by_id != who.id)) or 0
