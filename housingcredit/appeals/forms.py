"""Forms for objections. Field rules live in the service; the forms carry the CSRF token and keep the input."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice


class ObjectionForm(FlaskForm):
    item = SelectField(_l("What you object to"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Your reasons"))
    received_date = StringField(_l("Date received at the counter"))
    materials = MultipleFileField(_l("Supporting materials (PDF, PNG or JPEG)"))

    def data_for_service(self) -> dict:
        kind, _sep, ref = (self.item.data or "").partition(":")
        data = {"reason": self.reason.data or ""}
        if ref:
            data["record_id" if kind == "record" else "procedure_id"] = ref
        if self.received_date.data:
            data["received_date"] = self.received_date.data
        return data


class ProposalForm(FlaskForm):
    outcome = RadioField(_l("Proposed result"), choices=[SelectChoice("upheld", _l("Objection upheld")),
                                                         SelectChoice("rejected", _l("Objection rejected"))],
                         validate_choice=False)
    reasons = TextAreaField(_l("Reasons"))
    # upheld on a record: revoke it, or correct its facts and evidence (SPEC §9, §4)
    effect = RadioField(_l("If upheld"), choices=[SelectChoice("revoke", _l("Revoke the record")),
                                                  SelectChoice("correct", _l("Correct the record's facts"))],
                        default="revoke", validate_choice=False)
    occurred_date = StringField(_l("Corrected date the behaviour occurred"))
    facts = TextAreaField(_l("Corrected facts"))
    evidence = MultipleFileField(_l("New evidence files (PDF, PNG or JPEG)"))

    def data_for_service(self) -> dict:
        data = {"outcome": self.outcome.data or "", "reasons": self.reasons.data or ""}
        if self.effect.data:
            data["effect"] = self.effect.data
        for name in ("occurred_date", "facts"):
            value = (getattr(self, name).data or "").strip()
            if value:
                data[name] = value
        return data

    def files(self) -> list:
        return [f for f in self.evidence.data or [] if f and getattr(f, "filename", "")]


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("confirmed", _l("Confirm the proposal")),
                                                     SelectChoice("returned", _l("Send it back to the handler"))],
                          validate_choice=False)
    note = TextAreaField(_l("Note"))


class RepairForm(FlaskForm):
    record_id = SelectField(_l("The record to be repaired"), choices=[], validate_choice=False)
    declaration = TextAreaField(_l("How the behaviour was corrected and the obligations fulfilled"))
    commitment_signed = BooleanField(_l("I sign the credit commitment (信用承诺书) and will keep it"))
    commitment = MultipleFileField(_l("Signed credit commitment (optional upload)"))
    non_intentional = TextAreaField(_l("If the behaviour was not intentional, explain why (optional)"))
    received_date = StringField(_l("Date received at the counter"))
    materials = MultipleFileField(_l("Supporting materials (PDF, PNG or JPEG)"))

    def data_for_service(self) -> dict:
        data = {"record_id": self.record_id.data or None, "declaration": self.declaration.data or "",
                "commitment_signed": bool(self.commitment_signed.data),
                "non_intentional": self.non_intentional.data or ""}
        if self.received_date.data:
            data["received_date"] = self.received_date.data
        return data


class RepairStepForm(FlaskForm):
    """The handler's steps: the notice of what is missing (`text`), the extension (`text` its reason)."""
    text = TextAreaField(_l("Text"))


class RepairProposalForm(FlaskForm):
    outcome = RadioField(_l("Proposed decision"), choices=[SelectChoice("granted", _l("Repair granted")),
                                                           SelectChoice("refused", _l("Repair refused"))],
                         validate_choice=False)
    non_intentional = BooleanField(_l("Not intentional (HB 七): may be repaired before the minimum period"))
    reasons = TextAreaField(_l("Reasons"))


class MaterialsForm(FlaskForm):
    materials = MultipleFileField(_l("Supporting materials (PDF, PNG or JPEG)"))
    commitment = MultipleFileField(_l("Signed credit commitment (optional upload)"))
