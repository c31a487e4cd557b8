"""Forms for objections. Field rules live in the service; the forms carry the CSRF token and keep the input."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, RadioField, SelectField, StringField, TextAreaField
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


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("confirmed", _l("Confirm the proposal")),
                                                     SelectChoice("returned", _l("Send it back to the handler"))],
                          validate_choice=False)
    note = TextAreaField(_l("Note"))
