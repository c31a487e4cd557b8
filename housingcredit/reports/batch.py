"""Credit reports for an allocation round in one batch (`flask reports batch`, the batch page): hundreds of
households named in a CSV (resident ID numbers of any current member, or household ids), one report each, one zip
at the end.

Resumable: the batch and its items are rows (report_batches, report_batch_items). Each report is committed with
its item marked done, so a run that stops (Ctrl-C, a restart, a crash) loses at most the report in hand; running
the batch again continues with the items still pending. A runner claims the batch with its heartbeat; a batch whose
heartbeat is older than STALE_SECONDS counts as stopped and may be taken over (the page's "continue", or
`flask reports batch --resume ID`); a fresh one is refused, so two runners never work on one batch.

No raw ID number is stored or logged: an item keeps the household it names and a masked label."""
from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..accounts import gate, idnumbers, regions
from ..accounts.models import Role
from ..audit import service as audit
from ..clock import get_clock
from ..disclosure.masking import mask_id_number
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from .models import Document, ReportBatch, ReportBatchItem

log = logging.getLogger(__name__)

MAX_LINES = 5000
STALE_SECONDS = 120
QUEUED, RUNNING, DONE = "queued", "running", "done"
PENDING, ITEM_DONE, FAILED, NOT_FOUND, OUT_OF_REGION = "pending", "done", "failed", "not_found", "out_of_region"
BATCH_ROLES = {Role.caseworker, Role.supervisor, Role.system}


def _may_batch(who, region_code: str) -> None:
    """A caseworker batches inside their region only; supervisors (and the system actor) anywhere."""
    if who is None or who.role not in BATCH_ROLES:
        raise Forbidden()
    if who.role == Role.system:
        if regions.get(region_code) is None:
            raise InvalidInput(_l("Unknown region code."), field="region_code")
        return
    gate.check_region(region_code, who)  # unknown → 422; outside the user's region → 403


def get_batch(batch_id: int, who) -> ReportBatch:
    """The batch if `who` may see it (a caseworker: batches of their region); NotFound otherwise."""
    b = db.session.get(ReportBatch, batch_id)
    if b is None or who is None or who.role not in BATCH_ROLES or not gate.reaches(who, b):
        raise NotFound()  # gate.reaches: the batch's region inside the user's
    return b


def batches_for(who) -> list[ReportBatch]:
    if who.role not in BATCH_ROLES:
        raise Forbidden()
    return db.session.scalars(sa.select(ReportBatch).where(gate.region_clause(ReportBatch.region_code, who))
                              .order_by(ReportBatch.id.desc()).limit(50)).all()


def parse_csv(data: bytes | str) -> list[str]:
    """The first column of each line: an 18-character resident ID number or a household id. A header line
    (first cell neither) is skipped; blank lines too. Any other bad cell refuses the whole file (422, lines named)."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    tokens, bad = [], []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = (row[0] if row else "").strip()
        if not cell:
            continue
        if re.fullmatch(r"\d{17}[\dXx]", cell) or re.fullmatch(r"\d{1,12}", cell):
            tokens.append(cell.upper())
        elif n == 1:
            continue  # a header
        else:
            bad.append(n)
    if bad:
        raise InvalidInput(_l("The file is not valid."), errors={"file": [
            str(_l("Lines %(lines)s are neither a resident ID number nor a household id.",
                   lines=", ".join(map(str, bad[:20]))))]})
    if not tokens:
        raise InvalidInput(_l("The file is not valid."), errors={"file": [str(_l("The file names no household."))]})
    if len(tokens) > MAX_LINES:
        raise InvalidInput(_l("The file is not valid."), errors={"file": [
            str(_l("At most %(n)s lines per batch.", n=MAX_LINES))]})
    return tokens


def _resolve(tokens: list[str]) -> list[tuple[str, int | None]]:
    """(masked label, household id or None) per token, in two SELECTs; invalid ID numbers refuse the file."""
    from ..archives.models import Household, Member
    ids, bad = [], []
    for n, t in enumerate(tokens, start=1):
        if len(t) == 18:
            try:
                ids.append(idnumbers.validate(t))
            except InvalidInput:
                bad.append(n)
    if bad:
        raise InvalidInput(_l("The file is not valid."), errors={"file": [
            str(_l("Lines %(lines)s hold resident ID numbers that are not valid.",
                   lines=", ".join(map(str, bad[:20]))))]})
    by_number = dict(db.session.execute(sa.select(Member.id_number, Member.household_id)
                                        .where(Member.id_number.in_(ids))).all()) if ids else {}
    hids = [int(t) for t in tokens if len(t) != 18]
    known = set(db.session.scalars(sa.select(Household.id).where(Household.id.in_(hids)))) if hids else set()
    out = []
    for t in tokens:
        if len(t) == 18:
            out.append((mask_id_number(t), by_number.get(t)))
        else:
            out.append((f"#{int(t)}", int(t) if int(t) in known else None))
    return out


def create_batch(region_code: str, tokens: list[str], who) -> ReportBatch:
    """A batch for `region_code` (gated), its items resolved now: a household outside the region is marked
    out_of_region, an unknown one not_found, a repeat left out; nothing is issued yet."""
    from ..archives.models import Household
    _may_batch(who, region_code)
    resolved = _resolve(tokens)
    hids = {hid for _label, hid in resolved if hid is not None}
    inside = set(db.session.scalars(sa.select(Household.id).where(
        Household.id.in_(hids), gate.region_clause(Household.region_code, who, region_code)))) if hids else set()
    clock = get_clock()
    b = ReportBatch(region_code=region_code, created_by_id=who.id, created_dt=clock.now_utc(), status=QUEUED,
                    total=0)
    db.session.add(b)
    db.session.flush()
    seen = set()
    position = 0
    for label, hid in resolved:
        if hid is not None and hid in seen:
            continue
        seen.add(hid)
        position += 1
        status = NOT_FOUND if hid is None else (PENDING if hid in inside else OUT_OF_REGION)
        db.session.add(ReportBatchItem(batch_id=b.id, position=position, label=label,
                                       household_id=hid if status != NOT_FOUND else None, status=status))
    b.total = position
    db.session.flush()
    audit.record("report_batch.create", "report_batch", b.id, region_code=region_code,
                 after={"total": b.total}, actor=who)
    return b


def progress(b: ReportBatch) -> dict:
    counts = dict(db.session.execute(sa.select(ReportBatchItem.status, sa.func.count())
                                     .where(ReportBatchItem.batch_id == b.id)
                                     .group_by(ReportBatchItem.status)).all())
    pending = counts.get(PENDING, 0)
    finished = b.total - pending
    now = get_clock().now_utc()
    alive = b.status == RUNNING and b.heartbeat_dt is not None and (
        now - b.heartbeat_dt).total_seconds() < STALE_SECONDS
    return {"id": b.id, "region_code": b.region_code, "status": b.status, "running": alive,
            "stopped": b.status == RUNNING and not alive, "total": b.total, "done": counts.get(ITEM_DONE, 0),
            "failed": counts.get(FAILED, 0), "not_found": counts.get(NOT_FOUND, 0),
            "out_of_region": counts.get(OUT_OF_REGION, 0), "pending": pending,
            "percent": round(100 * finished / b.total) if b.total else 100, "zip_ready": b.status == DONE}


def _claim(batch_id: int) -> bool:
    """Take the batch for this runner: only when no live runner holds it (fresh heartbeat) and it is not done."""
    now = get_clock().now_utc()
    stale = now - timedelta(seconds=STALE_SECONDS)
    res = db.session.execute(sa.update(ReportBatch).where(
        ReportBatch.id == batch_id, ReportBatch.status != DONE,
        sa.or_(ReportBatch.status != RUNNING, ReportBatch.heartbeat_dt.is_(None), ReportBatch.heartbeat_dt < stale))
        .values(status=RUNNING, heartbeat_dt=now).execution_options(synchronize_session=False))
    db.session.commit()
    return res.rowcount == 1


def run(batch_id: int, who, on_item=None, verify_base: str | None = None) -> dict:
    """Issue the reports still pending, one commit each (resumable), then the zip. `on_item(progress)` is called
    after each household (the CLI's progress bar). Refuses (Conflict) while another live runner holds it."""
    from . import service
    b = db.session.get(ReportBatch, batch_id)
    if b is None:
        raise NotFound()
    _may_batch(who, b.region_code)
    if b.status != DONE:
        if not _claim(batch_id):
            raise Conflict(_l("This batch is being run already."))
        pending = db.session.scalars(sa.select(ReportBatchItem.id).where(
            ReportBatchItem.batch_id == batch_id, ReportBatchItem.status == PENDING)
            .order_by(ReportBatchItem.position)).all()
        for item_id in pending:
            item = db.session.get(ReportBatchItem, item_id)
            try:
                with db.session.begin_nested():
                    doc = service.issue_credit_report(item.household_id, who, office_region=b.region_code,
                                                       verify_base=verify_base)
                item.status, item.document_id = ITEM_DONE, doc.id
            except Exception as err:  # noqa: BLE001 — one household's failure must not stop the round
                log.warning("report batch %s: household %s failed (%s)", batch_id, item.household_id,
                            type(err).__name__)
                item.status = FAILED
            db.session.execute(sa.update(ReportBatch).where(ReportBatch.id == batch_id)
                               .values(heartbeat_dt=get_clock().now_utc())
                               .execution_options(synchronize_session=False))
            db.session.commit()
            if on_item:
                on_item(item)
        b = db.session.get(ReportBatch, batch_id)
        build_zip(b)
        b.status, b.finished_dt = DONE, get_clock().now_utc()
        audit.record("report_batch.finish", "report_batch", b.id, region_code=b.region_code,
                     after={k: v for k, v in progress(b).items() if k in ("done", "failed", "not_found",
                                                                          "out_of_region")}, actor=who)
        db.session.commit()
    return progress(b)


def zip_path(b: ReportBatch) -> Path:
    return Path(current_app.instance_path) / "report-batches" / (b.zip_name or f"report-batch-{b.id}.zip")


def build_zip(b: ReportBatch) -> Path:
    """One zip of the batch: each issued report's stored PDF, and a manifest (line, masked label, state, number)."""
    path = zip_path(b)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = db.session.execute(sa.select(ReportBatchItem, Document.number, Document.pdf)
                              .outerjoin(Document, Document.id == ReportBatchItem.document_id)
                              .where(ReportBatchItem.batch_id == b.id).order_by(ReportBatchItem.position)).all()
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["line", "household", "status", "report_number", "file"])
    tmp = path.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:  # PDFs are compressed already
        for item, number, pdf in rows:
            name = f"{item.position:04d}-{number}.pdf" if pdf is not None else ""
            if pdf is not None:
                z.writestr(name, pdf)
            writer.writerow([item.position, item.label, item.status, number or "", name])
        z.writestr("manifest.csv", "\ufeff" + manifest.getvalue())
    tmp.replace(path)
    b.zip_name = path.name
    return path


def zip_for(batch_id: int, who) -> Path:
    b = get_batch(batch_id, who)
    if b.status != DONE:
        raise Conflict(_l("The batch has not finished yet."))
    path = zip_path(b)
    if not path.exists():  # lost with the instance folder: rebuilt from the stored reports
        path = build_zip(b)
    audit.record("report_batch.download", "report_batch", b.id, region_code=b.region_code, actor=who)
    return path
