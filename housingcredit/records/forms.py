"""Forms for recording and determining behaviours. Field rules live in the service (one validation for API and
web); the forms carry the CSRF token and keep what the user typed when the service refuses it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice


class RecordForm(FlaskForm):
    code = SelectField(_l("Behaviour"), choices=[], validate_choice=False)
    occurred_date = StringField(_l("Date the behaviour occurred"))
    formed_date = StringField(_l("Date the information formed"))
    source = SelectField(_l("Collection source"), choices=[], validate_choice=False)
    facts = TextAreaField(_l("Facts"))
    evidence = MultipleFileField(_l("Evidence files (PDF, PNG or JPEG)"))

    def data_for_service(self) -> dict:
        return {"code": self.code.data or "", "occurred_date": self.occurred_date.data or "",
                "formed_date": self.formed_date.data or "", "source": self.source.data or "",
                "facts": self.facts.data or ""}


class DetermineForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("confirmed", _l("Confirm")),
                                                     SelectChoice("rejected", _l("Reject"))],
                          validate_choice=False)
    legal_basis = TextAreaField(_l("Legal basis"))


class RevokeForm(FlaskForm):
    """A revocation proposal (SPEC §4): a reason from the fixed list; "objection upheld" is never offered."""
    reason = SelectField(_l("Reason"), choices=[SelectChoice("error", _l("Recording error")),
                                                 SelectChoice("annulled", _l("Underlying decision annulled by a "
                                                                             "court or authority")),
                                                 SelectChoice("other", _l("Other reason"))],
                         validate_choice=False)
    note = TextAreaField(_l("Note"))


class RevocationDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("confirmed", _l("Confirm the revocation")),
                                                     SelectChoice("rejected", _l("Reject the proposal"))],
                          validate_choice=False)
    note = TextAreaField(_l("Note"))


class CorrectionForm(FlaskForm):
    """A correction proposal (SPEC §4): facts and evidence only, with a reason from the fixed list."""
    reason = SelectField(_l("Reason"), choices=RevokeForm.reason.kwargs["choices"], validate_choice=False)
    note = TextAreaField(_l("Note"))
    occurred_date = StringField(_l("Corrected date the behaviour occurred"))
    facts = TextAreaField(_l("Corrected facts"))
    evidence = MultipleFileField(_l("New evidence files (PDF, PNG or JPEG)"))

    def data_for_service(self) -> dict:
        return {"reason": self.reason.data or "", "note": self.note.data or "",
                "occurred_date": (self.occurred_date.data or "").strip() or None, "facts": self.facts.data or ""}


class CorrectionDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("confirmed", _l("Confirm the correction")),
                                                     SelectChoice("rejected", _l("Reject the proposal"))],
                          validate_choice=False)
    note = TextAreaField(_l("Note"))
