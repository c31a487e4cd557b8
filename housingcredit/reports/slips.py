"""The credit-check slip (查询凭证, SPEC §8, §12): the desk's answer to one logged credit check as a one-page PDF —
conclusion, business, purpose, time, operator (office and role, never the staff member's name: SPEC §1, §11), the
masked ID number, and a verification code. Issued (numbered, rendered, stored with its hash) on the first download
and never changed; only the staff member who made the check, or staff of the same issuing office, may download it.

The slip states what the logged check answered: the conclusion and tier come from the credit_checks row; the
measures restricting the business are those the engine gives for the check's day (printed only when its
conclusion is the logged one). Outside the caller's region the slip shows no more than the check did there."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale

import sqlalchemy as sa

from ..accounts import gate, regions
from ..accounts.models import User
from ..audit import service as audit
from ..clock import SHANGHAI, get_clock
from ..errors import NotFound
from ..extensions import db
from ..i18n import title_of
from . import numbers
from .models import Document
from .pdf import render_pdf
from .service import _digest, _qr_data_uri, _sha, _verify_code, _verify_url

CONCLUSIONS = {"may_proceed": "可以办理", "restricted": "受限，不予办理"}


def _check(check_id: int, who: User):
    """The logged check, if `who` made it or works in the same issuing office; NotFound otherwise."""
    from ..lists.models import CreditCheck
    gate.may_check(who)
    row = db.session.get(CreditCheck, check_id)
    if row is None:
        raise NotFound()
    if row.user_id != who.id and numbers.office_for(who.region_code) != numbers.office_for(row.caller_region_code):
        raise NotFound()
    return row


def _restricted_by(row) -> list[dict]:
    """The measures that restricted the business on the check's day, when the engine still gives the logged
    conclusion for that day (else none is printed: the slip never states more than was answered)."""
    if not row.found or row.household_id is None or row.conclusion != "restricted":
        return []
    from ..lists import check
    on = row.dt.astimezone(SHANGHAI).date()
    result = check.measures_of(row.household_id, on)
    conclusion = result.conclusion(row.business)
    if conclusion.conclusion != row.conclusion:
        return []
    return [{"title": str(title_of(m)), "clause": m.clause,
             "until": numbers.chinese_date(m.until) if m.until else "等级存续期间"} for m in conclusion.restricted_by]


def _content(row, operator: User, number: str, code: str, office_code: str) -> dict:
    from ..audit.reads import ROLE_LABELS
    from ..lists.common import BUSINESS_LABELS, _rules
    local = row.dt.astimezone(SHANGHAI)
    tier_title = ""
    if row.tier:
        tier_title = str(title_of(_rules().version_at(local.date()).tiers[row.tier]))
    return {
        "kind": "check_slip", "number": number, "verify_code": code, "check_id": row.id,
        "office": numbers.office(office_code)["name"],
        "operator": f"{numbers.office(numbers.office_for(row.caller_region_code))['name']} "
                    f"{ROLE_LABELS.get(operator.role, '')}".strip(),
        "time_zh": f"{numbers.chinese_date(local.date())} {local:%H:%M}",
        "issued_date_zh": numbers.chinese_date(local.date()),
        "id_number": row.id_number_masked, "found": row.found,
        "business_label": str(BUSINESS_LABELS.get(row.business, row.business)), "purpose": row.purpose,
        "conclusion": row.conclusion, "conclusion_label": CONCLUSIONS.get(row.conclusion, ""),
        "tier_title": tier_title,
        "region": (regions.full_name(row.household_region_code) or row.household_region_code or "")
        if row.found else "",
        "restricted_by": _restricted_by(row),
    }


def slip_pdf(check_id: int, who: User) -> tuple[Document, bytes]:
    """The slip of a logged check: issued on its first download (numbered by the operator's office), then the
    stored bytes."""
    row = _check(check_id, who)
    doc = db.session.scalar(sa.select(Document).where(Document.credit_check_id == row.id))
    if doc is not None:
        return doc, doc.pdf
    operator = db.session.get(User, row.user_id)
    office_code = numbers.office_for(row.caller_region_code)
    on = row.dt.astimezone(SHANGHAI).date()
    number = numbers.next_number(office_code, numbers.series_for("check_slip"), on)
    code = _verify_code()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        content = _content(row, operator, number, code, office_code)
        url = _verify_url(code)
        data = render_pdf("reports/check_slip.html", c=content, qr=_qr_data_uri(url), verify_url=url)
    doc = Document(number=number, kind="check_slip", series=numbers.series_for("check_slip"),
                   office_code=office_code, household_id=row.household_id, notice_id=None, verify_code=code,
                   masked_name="", issued_dt=get_clock().now_utc(), issued_date=on, valid_until=None,
                   content=content, content_sha256=_digest(content), pdf=data, pdf_sha256=_sha(data),
                   issued_by_id=who.id, credit_check_id=row.id)
    db.session.add(doc)
    db.session.flush()
    audit.record("document.issue", "document", doc.id, household_id=row.household_id,
                 region_code=row.household_region_code,
                 after={"number": number, "kind": "check_slip", "credit_check_id": row.id,
                        "pdf_sha256": doc.pdf_sha256}, actor=(who.id, who.username))
    return doc, data
