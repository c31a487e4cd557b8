"""Forms for the list pages; the service validates again (one set of rules for API and pages)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from .schemas import BUSINESSES, MANUAL_ROUTES


class CreditCheckForm(FlaskForm):
    id_number = StringField(_l("Resident ID number"), validators=[DataRequired(), Length(max=18)])
    business = SelectField(_l("Business"), choices=[SelectChoice(b, b) for b in BUSINESSES], validate_choice=False)
    purpose = StringField(_l("Purpose"), validators=[DataRequired(), Length(max=200)])


class OrderForm(FlaskForm):
    ground = SelectField(_l("Ground"), choices=[], validate_choice=False)
    deadline = DateField(_l("Deadline"), validators=[DataRequired()])
    requirement = TextAreaField(_l("What must be done"), validators=[DataRequired(), Length(max=2000)])
    record_id = IntegerField(_l("Record (optional)"), validators=[Optional()])
    next = HiddenField()


class ComplianceForm(FlaskForm):
    complied_date = DateField(_l("Complied on"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])
    next = HiddenField()


class ProcedureForm(FlaskForm):
    route = SelectField(_l("Route"), choices=[SelectChoice(r, r) for r in MANUAL_ROUTES], validate_choice=False)
    basis = TextAreaField(_l("Basis (document number, authority, facts)"),
                          validators=[DataRequired(), Length(max=2000)])
    document = FileField(_l("Judgment or penalty decision (PDF, PNG or JPEG)"))
    next = HiddenField()


class StepForm(FlaskForm):
    step = HiddenField(validators=[DataRequired()])
    next = HiddenField()
