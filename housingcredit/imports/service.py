"""Import use cases (批量导入): check an uploaded file row by row, confirm, write in batches, report.

Every row is judged by the archive's own checks (`archives.service.validate_household`: HouseholdIn, the ID
number's checksum and birth date, no ID number twice in a household) and the one gate (`gate.check_region`);
this module adds only what a file brings: the Chinese values of the template, the optional birth-date column
held against the ID number, the same ID number twice in the file, numbers already in an archive, and cells a
spreadsheet can hold that a form cannot (formulas, numbers where text is needed).

Nothing is written at the check: the checked households wait in the import's `payload` until the user confirms.
A household goes in whole or not at all (one bad row keeps its whole household out). The write commits in
batches of IMPORT_BATCH households, each with its progress, so a restart continues where it stopped.
"""
from __future__ import annotations

import hashlib
import io
import logging
import threading
from types import SimpleNamespace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from stdnum.cn import ric

from ..accounts import gate, regions
from ..accounts.models import User
from ..archives import service as archives
from ..audit import service as audit
from ..clock import get_clock
from ..disclosure.masking import mask_id_number, mask_name
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..extensions import db
from . import workbook
from .models import ImportBatch, ImportStatus
from .workbook import (CATEGORY_VALUES, GROUPS, MARITAL, PRIORITY, RELATION_VALUES, FileRefused, column_header)

log = logging.getLogger(__name__)

HOUSEHOLD_KEYS = [c.key for c in workbook.COLUMNS if c.level == "household" and c.key != "household_key"]


def template(who: User) -> bytes:
    gate.require("archive.write", who)
    return workbook.template_bytes(_example_ids())


def _example_ids() -> tuple[str, str]:
    """Two valid ID numbers of Jiang'an (420102) for the example rows."""
    out = []
    for body in ("42010219900307123", "42010219920518224"):
        out.append(body + ric.calc_check_digit(body + "0"))  # stdnum expects a placeholder
    return out[0], out[1]


# ---- the check ----------------------------------------------------------------------------------------------

def _err(key: str, message) -> dict:
    return {"column": column_header(key) or "", "message": str(message)}


def _parse_birth(text: str) -> date | None:
    text = text.strip().split(" ")[0]
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _member_errors(values: dict) -> list[dict]:
    """What is wrong with a row's member cells before the archive's checks see them (empty, unknown values)."""
    errors = []
    for key in ("name", "id_number"):
        if not values[key]:
            errors.append(_err(key, _l("Please fill in %(what)s.", what=column_header(key))))
    rel = values["relation"]
    if not rel:
        errors.append(_err("relation", _l("Please fill in %(what)s.", what=column_header("relation"))))
    elif rel not in RELATION_VALUES:
        errors.append(_err("relation", _l("%(value)s is not one of: %(choices)s.", value=rel[:20],
                                          choices="、".join(k for k in RELATION_VALUES if k != "其他亲属"))))
    if values["birth_date"] and _parse_birth(values["birth_date"]) is None:
        errors.append(_err("birth_date", _l("Not a date; write it as 1990-03-07.")))
    return errors


def _household_data(first: dict) -> tuple[dict, list[dict]]:
    """The archive fields from a household's first row, as the service takes them; and what cannot be mapped."""
    errors = []
    data = {k: first[k] for k in HOUSEHOLD_KEYS}
    for key in ("region_code", "address", "protection_category"):
        if not first[key]:
            errors.append(_err(key, _l("Please fill in %(what)s.", what=column_header(key))))
    cat = first["protection_category"]
    if cat and cat not in CATEGORY_VALUES:
        errors.append(_err("protection_category", _l("%(value)s is not one of: %(choices)s.", value=cat[:20],
                                                     choices="公租房实物配租、租赁补贴")))
    data["protection_category"] = CATEGORY_VALUES.get(cat, "physical")
    for key, allowed in (("marital_status", MARITAL), ("protection_group", GROUPS)):
        if first[key] and first[key] not in allowed:
            errors.append(_err(key, _l("%(value)s is not one of: %(choices)s.", value=first[key][:20],
                                       choices="、".join(allowed))))
    flags = [f.strip() for f in first["priority_flags"].replace("，", "、").replace(",", "、").split("、")
             if f.strip()]
    bad = [f for f in flags if f not in PRIORITY]
    if bad:
        errors.append(_err("priority_flags", _l("%(value)s is not one of: %(choices)s.", value="、".join(bad)[:40],
                                                choices="、".join(PRIORITY))))
    data["priority_flags"] = flags
    for key in ("income_yuan", "assets_yuan"):
        data[key] = first[key].replace(",", "") or None
    return data, errors


def _service_errors(err: InvalidInput, member_rows: list[int]) -> dict[int, list[dict]]:
    """The archive service's field errors put back on the rows they concern (by position in the household)."""
    out: dict[int, list[dict]] = {}
    first = member_rows[0]
    for key, messages in (err.errors or {}).items():
        if key == "members" and isinstance(messages, dict):
            for i, fields in messages.items():
                row = member_rows[int(i)] if str(i).isdigit() and int(i) < len(member_rows) else first
                for field, msgs in (fields.items() if isinstance(fields, dict) else [("relation", fields)]):
                    for m in (msgs if isinstance(msgs, list) else [msgs]):
                        out.setdefault(row, []).append(_err(field, m))
        else:
            column = "relation" if key == "members" else key
            for m in (messages if isinstance(messages, list) else [messages]):
                out.setdefault(first, []).append(_err(column, m))
    if not out:
        out[first] = [{"column": "", "message": str(err.message)}]
    return out


def _serialise(clean: dict) -> dict:
    out = {}
    for f in archives.FIELDS:
        v = clean[f]
        out[f] = v.value if hasattr(v, "value") else (str(v) if v is not None and not isinstance(
            v, (str, list)) else v)
    out["members"] = [{"name": m["name"], "id_number": m["id_number"], "relation": m["relation"].value}
                      for m in clean["members"]]
    return out


def check_file(data: bytes, filename: str, who: User) -> ImportBatch:
    """Read and check every row; store the outcome (nothing else is written). FileRefused → InvalidInput."""
    gate.require("archive.write", who)
    try:
        sheet_rows = workbook.read_rows(data)
    except FileRefused as err:
        raise InvalidInput(err.message, field="file") from None
    rows, payload = check_rows(sheet_rows, who)
    now = get_clock().now_utc()
    good_rows = sum(1 for r in rows if r["ok"])
    batch = ImportBatch(user_id=who.id, region_code=who.region_code, filename=(filename or "")[:200],
                        file_sha256=hashlib.sha256(data).hexdigest(), status=ImportStatus.checked,
                        rows_total=len(rows), rows_good=good_rows, households_good=len(payload),
                        households_done=0, households_failed=0, created_dt=now, updated_dt=now, rows=rows,
                        payload=payload)
    db.session.add(batch)
    db.session.flush()
    audit.record("import.check", "import", batch.id, actor=who,
                 after={"file_sha256": batch.file_sha256, "rows": len(rows), "rows_good": good_rows,
                        "households_good": len(payload)})
    return batch


def check_rows(sheet_rows: list, who: User) -> tuple[list[dict], list[dict]]:
    """Each row's outcome (masked identity, errors with their column) and the clean households, in file order."""
    rows: list[dict] = []
    errors: dict[int, list[dict]] = {}
    groups: dict[str, list[int]] = {}
    seen_ids: dict[str, int] = {}
    for i, r in enumerate(sheet_rows):
        v = r.values
        rows.append({"row": r.number, "key": v["household_key"][:20], "name": mask_name(v["name"][:40]),
                     "id": mask_id_number(v["id_number"][:18]), "ok": False})
        errs = []
        for key in r.formula_in:
            errs.append(_err(key if key != "_row" else "", _l("This cell holds a formula; formulas are not "
                                                              "calculated on import. Enter the value itself.")))
        if "id_number" in r.number_cells:
            errs.append(_err("id_number", _l("The ID number was entered as a number, which loses digits; "
                                             "format the column as text and type it again.")))
        if not v["household_key"]:
            errs.append(_err("household_key", _l("Please fill in %(what)s.", what=column_header("household_key"))))
        errs.extend(_member_errors(v))
        number = v["id_number"].strip().upper()
        if number and "id_number" not in r.number_cells:
            if number in seen_ids:
                errs.append(_err("id_number", _l("The same ID number as row %(row)s.",
                                                 row=sheet_rows[seen_ids[number]].number)))
            else:
                seen_ids[number] = i
        if errs:
            errors[i] = errs
        if v["household_key"]:
            groups.setdefault(v["household_key"], []).append(i)

    checked: list[tuple[list[int], dict]] = []  # (row indexes, clean data) of households the service accepted
    for key, members in groups.items():
        first = sheet_rows[members[0]].values
        data, hh_errors = _household_data(first)
        for i in members[1:]:
            other = sheet_rows[i].values
            differing = [k for k in HOUSEHOLD_KEYS if other[k] and other[k] != first[k]]
            for k in differing:
                errors.setdefault(i, []).append(_err(k, _l("Differs from the household's first row (row %(row)s); "
                                                           "fill household columns in the first row only.",
                                                           row=sheet_rows[members[0]].number)))
        if hh_errors:
            errors.setdefault(members[0], []).extend(hh_errors)
        data["members"] = [{"name": sheet_rows[i].values["name"],
                            "id_number": sheet_rows[i].values["id_number"],
                            "relation": RELATION_VALUES.get(sheet_rows[i].values["relation"], "other")}
                           for i in members]
        if any(i in errors for i in members):
            continue
        try:
            clean = archives.validate_household(data)
            gate.check_region(clean["region_code"], who)
        except InvalidInput as err:
            for i, errs in _service_errors(err, members).items():
                errors.setdefault(i, []).extend(errs)
            continue
        except DomainError:  # Forbidden: outside the user's region (the one gate decides)
            region = regions.get(who.region_code)
            errors.setdefault(members[0], []).append(_err("region_code", _l(
                "%(code)s is outside your region (%(region)s); you may import only into your own region.",
                code=data["region_code"], region=region.name if region else who.region_code)))
            continue
        for i, m in zip(members, clean["members"]):
            born = sheet_rows[i].values["birth_date"]
            if born and _parse_birth(born) != ric.get_birth_date(m["id_number"]):
                errors.setdefault(i, []).append(_err("birth_date", _l(
                    "Does not match the birth date in the ID number (%(date)s).",
                    date=ric.get_birth_date(m["id_number"]).isoformat())))
        if not any(i in errors for i in members):
            checked.append((members, clean))

    taken = archives.taken_id_numbers(m["id_number"] for _rows, clean in checked for m in clean["members"])
    payload = []
    for members, clean in checked:
        clash = False
        for i, m in zip(members, clean["members"]):
            hit = taken.get(m["id_number"])
            if hit is None:
                continue
            clash = True
            if gate.reaches(who, SimpleNamespace(id=hit[0], region_code=hit[2])):  # name it only in one's region
                message = _l("Already in archive %(no)s.", no=hit[1])
            else:
                message = _l("This person already belongs to another household archive.")
            errors.setdefault(i, []).append(_err("id_number", message))
        if not clash:
            payload.append({**_serialise(clean), "rows": members})

    for i, row in enumerate(rows):
        row["errors"] = errors.get(i, [])
    bad_households = {k for k, members in groups.items() if any(i in errors for i in members)}
    for key in bad_households:
        for i in groups[key]:
            if not rows[i]["errors"]:
                rows[i]["errors"] = [{"column": "", "message": str(_l(
                    "Another row of this household has an error; the household is not imported."))}]
    for hh in payload:
        for i in hh["rows"]:
            rows[i]["ok"] = True
    return rows, payload


# ---- reading an import ----------------------------------------------------------------------------------------

def get(batch_id: int, who: User) -> ImportBatch:
    """An import of the user's own (another user's is not found)."""
    gate.require("archive.write", who)
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.user_id != who.id:
        raise NotFound()
    return batch


def recent(who: User, limit: int = 10) -> list[ImportBatch]:
    gate.require("archive.write", who)
    return db.session.scalars(sa.select(ImportBatch).where(ImportBatch.user_id == who.id)
                              .order_by(ImportBatch.id.desc()).limit(limit)).all()


def progress(batch: ImportBatch) -> dict:
    total = batch.households_good
    done = batch.households_done
    return {"id": batch.id, "status": batch.status.value, "households_good": total, "households_done": done,
            "households_failed": batch.households_failed,
            "percent": 100 if batch.status == ImportStatus.done or not total else int(done * 100 / total),
            "stalled": is_stalled(batch), "done": done, "total": total,
            "running": batch.status == ImportStatus.running and not is_stalled(batch)}  # static/progress.js


def is_stalled(batch: ImportBatch) -> bool:
    """A running import that has not moved for IMPORT_STALL_SECONDS (its process was stopped): may be resumed."""
    if batch.status != ImportStatus.running:
        return False
    limit = timedelta(seconds=current_app.config["IMPORT_STALL_SECONDS"])
    return get_clock().now_utc() - batch.updated_dt > limit


# ---- confirm, write in batches, cancel ------------------------------------------------------------------------

def confirm(batch_id: int, who: User) -> ImportBatch:
    """Claim the import for writing (once: a second confirm, or one of an import already done, is a 409)."""
    batch = get(batch_id, who)
    now = get_clock().now_utc()
    stale = now - timedelta(seconds=current_app.config["IMPORT_STALL_SECONDS"])
    claimed = db.session.execute(
        sa.update(ImportBatch).where(ImportBatch.id == batch.id).where(sa.or_(
            ImportBatch.status == ImportStatus.checked,
            sa.and_(ImportBatch.status == ImportStatus.running, ImportBatch.updated_dt < stale)))
        .values(status=ImportStatus.running, updated_dt=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise Conflict(_l("This import was already confirmed or has ended."))
    db.session.refresh(batch)
    audit.record("import.confirm", "import", batch.id, actor=who,
                 after={"households": batch.households_good, "from": batch.households_done})
    return batch


def run(batch_id: int) -> None:
    """Write the confirmed households in batches, committing each with the import's progress; then ANALYZE the
    filled tables (PostgreSQL) and clear the payload. The caller's session is committed here."""
    batch = db.session.get(ImportBatch, batch_id, options=[sa.orm.undefer(ImportBatch.payload)])
    if batch is None or batch.status != ImportStatus.running or batch.payload is None:
        return
    who = db.session.get(User, batch.user_id)
    households = batch.payload
    size = int(current_app.config["IMPORT_BATCH"])
    refused_rows: list[int] = []
    while batch.households_done < len(households):
        start = batch.households_done
        chunk = households[start:start + size]
        cleans = [_clean(h) for h in chunk]
        _created, refused = archives.create_households(cleans, who)
        for i in refused:
            refused_rows.extend(chunk[i]["rows"])
        batch.households_done = start + len(chunk)
        batch.households_failed += len(refused)
        batch.updated_dt = get_clock().now_utc()
        db.session.commit()  # `households` stays the list loaded above: the payload is read once
    if db.session.connection().dialect.name == "postgresql":
        for table in ("households", "members", "audit_entries"):
            db.session.execute(sa.text(f"ANALYZE {table}"))
    rows = db.session.scalar(sa.select(ImportBatch.rows).where(ImportBatch.id == batch.id))
    for i in refused_rows:
        rows[i]["ok"] = False
        rows[i]["errors"] = [{"column": column_header("id_number"), "message": str(_l(
            "An ID number of this household was entered in an archive meanwhile; the household was not "
            "imported."))}]
    if refused_rows:
        batch.rows = rows
    batch.status = ImportStatus.done
    batch.payload = None  # the full ID numbers are kept nowhere but in the archives now
    batch.finished_dt = batch.updated_dt = get_clock().now_utc()
    audit.record("import.finish", "import", batch.id, actor=who,
                 after={"households": batch.households_done - batch.households_failed,
                        "refused": batch.households_failed})
    db.session.commit()


def _clean(h: dict) -> dict:
    from decimal import Decimal
    from ..archives.models import ProtectionCategory, Relation
    out = dict(h)
    out["protection_category"] = ProtectionCategory(h["protection_category"])
    for key in ("income_yuan", "assets_yuan"):
        out[key] = Decimal(h[key]) if h[key] is not None else None
    out["members"] = [{**m, "relation": Relation(m["relation"])} for m in h["members"]]
    return out


def start(batch_id: int) -> None:
    """Run the write: in a thread of this process (IMPORT_BACKGROUND, the default) so the page can poll the
    progress, or at once in the caller's request (tests)."""
    app = current_app._get_current_object()
    if not app.config.get("IMPORT_BACKGROUND", True):
        run(batch_id)
        return

    def work():
        with app.app_context():
            try:
                run(batch_id)
            except Exception as err:  # noqa: BLE001 — logged; the import stays "running" and can be resumed
                db.session.rollback()
                log.warning("import %s stopped (%s); it can be resumed", batch_id, type(err).__name__)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"import-{batch_id}", daemon=True).start()


def cancel(batch_id: int, who: User) -> ImportBatch:
    batch = get(batch_id, who)
    if batch.status != ImportStatus.checked:
        raise Conflict(_l("Only an import that has not been confirmed can be dropped."))
    batch.status = ImportStatus.cancelled
    batch.payload = None
    batch.updated_dt = batch.finished_dt = get_clock().now_utc()
    audit.record("import.cancel", "import", batch.id, actor=who)
    return batch


# ---- the report ---------------------------------------------------------------------------------------------

def report_bytes(batch: ImportBatch) -> bytes:
    """Every row with its outcome and its problems (identity masked, SPEC §11), and a summary sheet."""
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("汇总")
    status = {"checked": "已检查，未确认导入", "running": "正在导入", "done": "已完成", "cancelled": "已放弃"}
    for line in (["文件", batch.filename], ["状态", status[batch.status.value]], ["行数", batch.rows_total],
                 ["检查通过的行", batch.rows_good], ["检查通过的家庭", batch.households_good],
                 ["已导入的家庭", batch.households_done - batch.households_failed if batch.status in (
                     ImportStatus.done, ImportStatus.running) else 0],
                 ["导入时被拒的家庭", batch.households_failed]):
        summary.append(line)
    sheet = wb.create_sheet("逐行结果")
    sheet.append(["行号", "户序号", "姓名", "公民身份号码", "结果", "问题"])
    done = batch.status == ImportStatus.done
    for r in batch.rows or []:
        outcome = ("已导入" if done else "可导入") if r["ok"] else "未导入"
        problems = "；".join(f"{e['column']}：{e['message']}" if e["column"] else e["message"]
                            for e in r.get("errors", []))
        sheet.append([r["row"], _safe(r["key"]), _safe(r["name"]), r["id"], outcome, _safe(problems)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _safe(text: str) -> str:
    """A text cell that a spreadsheet will not read as a formula (the report carries what the file held)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
