"""Issuing formal documents (SPEC §12): numbered notices as PDFs, credit reports, and public verification.

Choice for notices: `notices.service.issue` fixes the document number, the content (what the PDF states) and the
content's SHA-256 at issue, cheaply; the PDF is rendered on the first download and its bytes and SHA-256 are
stored then, never changed. Credit reports are rendered and stored when issued."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale

from ..accounts import gate, regions
from ..accounts.models import Role
from ..audit import service as audit
from ..clock import get_clock
from ..disclosure.masking import mask_id_number, mask_name
from ..errors import NotFound
from ..extensions import db
from . import formal, numbers
from .models import Document
from .pdf import render_pdf

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _verify_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))


def _digest(content: dict) -> str:
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _household(household_id: int):
    from ..archives.models import Household
    h = db.session.get(Household, household_id)
    if h is None:
        raise NotFound()
    return h


def _issuer_region(default_region: str | None) -> str | None:
    """The region of the staff user deciding in this request; system-issued documents take the household's."""
    if has_request_context():
        from flask_login import current_user
        if current_user and current_user.is_authenticated and current_user.role != Role.household:
            return current_user.region_code
    return default_region


def _verify_url(code: str, base: str | None = None) -> str:
    """The public verification address printed and put in the QR code: the request's host, else `base` (a batch
    started from a page passes its host), else PUBLIC_BASE_URL (the `flask` commands)."""
    if has_request_context() and not base:
        return url_for("reports.verify", code=code, _external=True)
    base = (base or current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/verify/{code}"


def _qr_data_uri(url: str) -> str:
    import segno
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


# ---- notices --------------------------------------------------------------------------------------------------

def number_notice(notice, issuer_region: str | None = None) -> Document:
    """Give a just-issued notice its document number, content and content hash (the PDF follows on download)."""
    h = _household(notice.household_id)
    office_code = numbers.office_for(issuer_region or _issuer_region(h.region_code))
    series = numbers.series_for(notice.kind)
    number = numbers.next_number(office_code, series, notice.issued_date)
    head = h.head
    office = numbers.office(office_code)
    code = _verify_code()
    earlier = formal.replaced(notice)
    content = {"kind": notice.kind, "number": number, "title": notice.title, "body": notice.body,
               "facts": formal.chinese_dates(notice.body), **formal.parts(notice),
               "cites": [d.number for d in earlier],
               "addressee": head.name if head else "", "archive_no": h.archive_no,
               "office": office["name"], "issued_date": notice.issued_date.isoformat(),
               "issued_date_zh": numbers.chinese_date(notice.issued_date),
               "rights": formal.rights(notice, office["name"]), "verify_code": code}
    doc = Document(number=number, kind="notice", series=series, office_code=office_code, household_id=h.id,
                   notice_id=notice.id, verify_code=code, masked_name=mask_name(head.name if head else ""),
                   issued_dt=get_clock().now_utc(), issued_date=notice.issued_date, valid_until=None,
                   content=content, content_sha256=_digest(content))
    db.session.add(doc)
    db.session.flush()
    audit.record("document.issue", "document", doc.id, household_id=h.id, region_code=h.region_code,
                 after={"number": number, "kind": notice.kind, "notice_id": notice.id,
                        "content_sha256": doc.content_sha256})
    supersede(earlier, doc)
    return doc


def supersede(earlier: list[Document], by: Document) -> None:
    """Mark earlier documents superseded by `by` (a newer report of the household, a revocation or correction
    notice): their verification then says so (SPEC §12); they stay genuine and unchanged otherwise."""
    for old in earlier:
        if old.id == by.id or old.superseded_by_id is not None:
            continue
        old.superseded_by_id = by.id
        region = _household(old.household_id).region_code if old.household_id else None
        audit.record("document.supersede", "document", old.id, household_id=old.household_id,
                     region_code=region, after={"number": old.number, "superseded_by": by.number})
    db.session.flush()


def _render_notice(doc: Document) -> bytes:
    c = doc.content
    return render_pdf("notices/notice_pdf.html", c=c, qr=_qr_data_uri(_verify_url(doc.verify_code)),
                      verify_url=_verify_url(doc.verify_code))


def notice_pdf(notice_id: int, who) -> tuple[Document, bytes]:
    """The notice as its formal PDF, for those who may open the notice; numbered and rendered on first request
    when issued before documents existed, rendered once and stored for numbered ones."""
    from ..notices.models import Notice
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound()
    h = gate.read_household(_household(notice.household_id), "archive.read", who, "notice.read", "notice",
                            notice.id)  # a staff download is a read of the household's file (SPEC §1)
    doc = db.session.scalar(sa.select(Document).where(Document.notice_id == notice.id))
    if doc is None:  # a notice from before numbered documents: numbered now, by the household's office
        doc = number_notice(notice, issuer_region=h.region_code)
    if doc.pdf is None:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            data = _render_notice(doc)
        doc.pdf, doc.pdf_sha256 = data, _sha(data)
        db.session.flush()
        audit.record("document.render", "document", doc.id, household_id=h.id, region_code=h.region_code,
                     after={"number": doc.number, "pdf_sha256": doc.pdf_sha256}, actor=who)
    return doc, doc.pdf


# ---- credit reports -------------------------------------------------------------------------------------------

def _report_content(h, number: str, code: str, today: date, valid_until: date, office_name: str) -> dict:
    from ..appeals.models import Objection
    from ..appeals.service import status_of
    from ..lists import check
    from ..scoring import service as scoring
    head = h.head
    from ..accounts import gate
    credit = scoring.credit_for(h, today, who=gate.SYSTEM)  # the issue itself is the audited act
    status = check.status(h, today)
    objections = db.session.scalars(sa.select(Objection).where(Objection.household_id == h.id)
                                    .order_by(Objection.filed_date, Objection.id)).all()
    d = numbers.chinese_date

    def opt(v):
        return d(v) if v else ""
    lists = []
    if status.get("watch"):
        w = status["watch"]
        lists.append({"list": "重点关注名单", "since": opt(w["start_date"]), "until": opt(w["until_date"])})
    if status.get("listing"):
        li = status["listing"]
        lists.append({"list": "失信联合惩戒对象名单", "since": opt(li["listed_date"]),
                      "until": opt(li["listed_through"])})
    if status.get("procedure"):
        p = status["procedure"]
        lists.append({"list": "列入程序进行中", "since": opt(p["opened_date"]), "until": ""})
    return {
        "kind": "credit_report", "number": number, "verify_code": code, "office": office_name,
        "issued_date_zh": d(today), "valid_until_zh": d(valid_until),
        "name": mask_name(head.name if head else ""), "id_number": mask_id_number(head.id_number if head else ""),
        "archive_no": h.archive_no, "district": regions.full_name(h.region_code),
        "score": credit.score, "tier": credit.tier, "tier_title": str(status["tier_title"]),
        "total_deduction": credit.total_deduction,
        "items": [{"code": i.code, "title": i.title_zh, "clause": i.clause, "deduct": i.deduct,
                   "determined": d(i.determined), "counts_through": d(i.counts_through)} for i in credit.items],
        "lists": lists,
        "measures": [{"title": str(m["title"]), "clause": m["clause"], "until": opt(m["until"]),
                      "suspended": m["suspended"]} for m in status["measures"]],
        "objections": [{"filed": d(o.filed_date), "item": "记录" if o.record_id else "名单程序",
                        "status": status_of(o)} for o in objections],
    }


def issue_credit_report(household_id: int, who, office_region: str | None = None,
                        verify_base: str | None = None) -> Document:
    """A caseworker (or the household itself) issues a credit report: numbered, rendered, stored, audited; it
    supersedes the household's earlier reports. The system actor issues only through a batch (`office_region`:
    the batch's region, whose office issues)."""
    h = _household(household_id)
    gate.check_household(h, "credit.check" if gate.is_staff(who) else "credit.read", who)
    clock = get_clock()
    today = clock.today()
    if who.role == Role.household:
        office_code = numbers.office_for(h.region_code)
    else:
        office_code = numbers.office_for(office_region if who.role == Role.system and office_region
                                         else who.region_code)
    office_name = numbers.office(office_code)["name"]
    series = numbers.series_for("credit_report")
    number = numbers.next_number(office_code, series, today)
    code = _verify_code()
    valid_until = today + timedelta(days=int(numbers.config()["credit_report_valid_days"]))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        content = _report_content(h, number, code, today, valid_until, office_name)
        url = _verify_url(code, verify_base)
        data = render_pdf("reports/credit_report.html", c=content, qr=_qr_data_uri(url), verify_url=url)
    doc = Document(number=number, kind="credit_report", series=series, office_code=office_code,
                   household_id=h.id, notice_id=None, verify_code=code, masked_name=content["name"],
                   issued_dt=clock.now_utc(), issued_date=today, valid_until=valid_until, content=content,
                   content_sha256=_digest(content), pdf=data, pdf_sha256=_sha(data), issued_by_id=who.id)
    db.session.add(doc)
    db.session.flush()
    audit.record("report.issue", "document", doc.id, household_id=h.id, region_code=h.region_code,
                 after={"number": number, "pdf_sha256": doc.pdf_sha256}, actor=who)
    supersede(db.session.scalars(sa.select(Document).where(
        Document.household_id == h.id, Document.kind == "credit_report", Document.id != doc.id,
        Document.superseded_by_id.is_(None))).all(), doc)
    return doc


def reports_for(household_id: int, who) -> list[Document]:
    h = _household(household_id)
    gate.check_household(h, "credit.read", who)
    return db.session.scalars(sa.select(Document).where(Document.household_id == h.id,
                                                        Document.kind == "credit_report")
                              .order_by(Document.id.desc())).all()


def report_pdf(document_id: int, who) -> tuple[Document, bytes]:
    doc = db.session.get(Document, document_id)
    if doc is None or doc.kind != "credit_report":
        raise NotFound()
    h = _household(doc.household_id)
    gate.check_household(h, "credit.read", who)
    if who.role != Role.household:  # every staff read of a household's credit data is logged (SPEC §11)
        audit.record("report.read", "document", doc.id, household_id=h.id, region_code=h.region_code,
                     after={"number": doc.number}, actor=who)
    return doc, doc.pdf


# ---- public verification --------------------------------------------------------------------------------------

def verify(code: str) -> dict | None:
    """What the public may learn of a document (SPEC §12): genuine or not, number, kind, issue time, masked name,
    whether it still stands. None for an unknown code. Stored bytes or content that no longer match their hash
    make the document not genuine."""
    if not code or len(code) > 32:
        return None
    doc = db.session.scalar(sa.select(Document).where(Document.verify_code == code))
    if doc is None:
        return None
    genuine = _digest(doc.content) == doc.content_sha256
    if doc.pdf_sha256 is not None:
        genuine = genuine and doc.pdf is not None and _sha(doc.pdf) == doc.pdf_sha256
    superseded = db.session.get(Document, doc.superseded_by_id) if doc.superseded_by_id else None
    today = get_clock().today()
    expired = doc.valid_until is not None and doc.valid_until < today
    slip = doc.content if doc.kind == "check_slip" else {}
    return {"genuine": genuine, "number": doc.number, "kind": doc.kind,
            "notice_kind": doc.content.get("kind") if doc.kind == "notice" else None,
            "title": doc.content.get("title") if doc.kind == "notice" else None,
            "issued": numbers.chinese_date(doc.issued_date), "masked_name": doc.masked_name,
            # a check slip names no person: the masked ID number, the business and the conclusion it printed
            "id_number": slip.get("id_number"), "business": slip.get("business_label"),
            "conclusion": slip.get("conclusion_label"),
            "stands": genuine and superseded is None and not expired, "expired": expired,
            "superseded_by": superseded.number if superseded else None,
            "superseded_on": numbers.chinese_date(superseded.issued_date) if superseded else None}
