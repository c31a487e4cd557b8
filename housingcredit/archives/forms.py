"""HTML forms for the archive (信用档案): render, carry the typed values back, and map service errors onto fields.

The forms do no validation of their own: the archives service (HouseholdIn + ID checksum + region scope) is
the one judge for both the API and these pages, and its field errors are put back onto the form
(`apply_errors`).
Choice values for group, marital status and priority flags are the Chinese terms stored in the archive (they
are data, like region names); the labels shown are translated.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts import regions
from .models import ProtectionCategory, Relation

#: member rows on a new archive (head + 5); an edit shows the members plus one blank row, at least this many
MEMBER_ROWS = 6
#: the service accepts at most this many members (HouseholdIn.members)
MAX_MEMBERS = 20

RELATION_LABELS = {
    Relation.head.value: _l("Head of household"),
    Relation.spouse.value: _l("Spouse"),
    Relation.child.value: _l("Child"),
    Relation.parent.value: _l("Parent"),
    Relation.other.value: _l("Other relative"),
}

CATEGORY_LABELS = {
    ProtectionCategory.physical.value: _l("Public rental housing in kind"),
    ProtectionCategory.subsidy.value: _l("Rental subsidy"),
}

GROUP_LABELS = {
    "低保": _l("Subsistence allowance (dibao) household"),
    "特困": _l("Extreme-poverty support household"),
    "低收入": _l("Low-income household"),
    "中等偏下收入": _l("Lower-middle-income household"),
    "新就业": _l("Newly employed worker"),
    "外来务工": _l("Migrant worker"),
    "其他": _l("Other"),
}

MARITAL_LABELS = {
    "未婚": _l("Unmarried"),
    "已婚": _l("Married"),
    "离异": _l("Divorced"),
    "丧偶": _l("Widowed"),
}

PRIORITY_LABELS = {
    "孤寡老人": _l("Elderly person living alone"),
    "残疾人": _l("Person with a disability"),
    "重点优抚对象": _l("Entitled veteran or martyr's family"),
    "大病患者": _l("Serious illness in the family"),
    "见义勇为人员": _l("Recognised for bravery (jianyi yongwei)"),
    "劳动模范": _l("Model worker"),
    "计划生育特殊家庭": _l("Family-planning special family"),
    "一线环卫公交职工": _l("Frontline sanitation or public-transport worker"),
}

FIELD_LABELS = {
    "region_code": _l("Region"),
    "address": _l("Address"),
    "hukou": _l("Household registration (hukou)"),
    "marital_status": _l("Marital status"),
    "housing_status": _l("Housing situation"),
    "income_yuan": _l("Annual household income (yuan)"),
    "assets_yuan": _l("Household assets (yuan)"),
    "protection_category": _l("Protection category"),
    "protection_mode": _l("Protection mode"),
    "protection_group": _l("Protection group"),
    "priority_flags": _l("Priority flags"),
    "members": _l("Members"),
    "name": _l("Name"),
    "id_number": _l("Resident ID number"),
    "relation": _l("Relation to head"),
    "version": _l("Version"),
}


def label_of(kind: str, value):
    """The translated label of a stored value (relation, category, group, marital, priority), else itself."""
    table = {"relation": RELATION_LABELS, "category": CATEGORY_LABELS, "group": GROUP_LABELS,
             "marital": MARITAL_LABELS, "priority": PRIORITY_LABELS, "field": FIELD_LABELS}[kind]
    value = getattr(value, "value", value)
    return table.get(value, value)


_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))  # NUL & co. (PostgreSQL refuses NUL)
_CONTROL_BUT_NUL = {c: v for c, v in _CONTROL.items() if c != 0}


def clean_text(value) -> str:
    """Typed text without control characters and surrounding spaces: they are never meaningful here (a search
    text; what is saved goes through `form_text`)."""
    return (value or "").translate(_CONTROL).strip()


def form_text(value) -> str:
    """Typed text for the service without surrounding spaces and stray control characters — but a NUL is kept, so
    that the service refuses it naming the field (422), as for the API: nothing is saved other than as typed."""
    return (value or "").translate(_CONTROL_BUT_NUL).strip()


def _options(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _with_extra(labels: dict, extra) -> list[SelectChoice]:
    """Choices from a label table, plus stored values the table does not know (never lose data)."""
    choices = _options(labels)
    for v in extra or ():
        if v and v not in labels:
            choices.append(SelectChoice(v, v))
    return choices


class MemberForm(Form):
    """One member row. A row whose name and ID number are both blank is ignored."""

    id = HiddenField()
    name = StringField(_l("Name"), render_kw={"maxlength": 40, "autocomplete": "off"})
    id_number = StringField(_l("Resident ID number"),
                            render_kw={"maxlength": 18, "autocomplete": "off", "inputmode": "text",
                                       "pattern": r"[0-9]{17}[0-9Xx]|[0-9]{15}", "spellcheck": "false"})
    relation = SelectField(_l("Relation to head"), choices=_options(RELATION_LABELS), validate_choice=False)

    @property
    def is_blank(self) -> bool:
        return not (self.name.data or "").strip() and not (self.id_number.data or "").strip()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class HouseholdForm(FlaskForm):
    """Create or edit an archive (基本信息 + 保障情况 + 家庭成员)."""

    region_code = SelectField(_l("Region"), validate_choice=False,
                              description=_l("The county-level region whose office manages this household."))
    address = StringField(_l("Address"), render_kw={"maxlength": 200},
                          description=_l("Full address of the public rental unit or current residence."))
    hukou = StringField(_l("Household registration (hukou)"), render_kw={"maxlength": 100},
                        description=_l("Where the head's hukou is registered, e.g. 武汉市江岸区."))
    marital_status = SelectField(_l("Marital status"), validate_choice=False)
    housing_status = StringField(_l("Housing situation"), render_kw={"maxlength": 200},
                                 description=_l("Current housing, e.g. no own housing, renting privately."))
    income_yuan = StringField(_l("Annual household income (yuan)"),
                              render_kw={"inputmode": "decimal", "maxlength": 16},
                              description=_l("Digits only, up to two decimals; leave empty if not assessed."))
    assets_yuan = StringField(_l("Household assets (yuan)"),
                              render_kw={"inputmode": "decimal", "maxlength": 18},
                              description=_l("Digits only, up to two decimals; leave empty if not assessed."))
    protection_category = SelectField(_l("Protection category"), choices=_options(CATEGORY_LABELS),
                                      validate_choice=False)
    protection_mode = StringField(
        _l("Protection mode"), render_kw={"maxlength": 40},
        description=_l("How the protection is delivered, e.g. whole unit, shared unit, monthly subsidy."))
    protection_group = SelectField(_l("Protection group"), validate_choice=False)
    priority_flags = MultiCheckboxField(_l("Priority flags"), validate_choice=False,
                                        description=_l("Tick every circumstance that applies."))
    members = FieldList(FormField(MemberForm), min_entries=MEMBER_ROWS, max_entries=MAX_MEMBERS)
    version = HiddenField()

    def setup(self, region_scope: str, stored: dict | None = None) -> "HouseholdForm":
        """Fill the choice lists for a user whose region is `region_scope`; keep stored values selectable."""
        stored = stored or {}
        counties = regions.counties_under(region_scope)
        several_prefectures = len({r.parent for r in counties}) > 1
        options = []
        for r in counties:
            parent = regions.get(r.parent) if r.parent else None
            options.append(SelectChoice(r.code, r.name, optgroup=parent.name if parent and several_prefectures
                                        else None))
        current = stored.get("region_code")
        if current and current not in {r.code for r in counties}:
            options.append(SelectChoice(current, regions.full_name(current) or current))
        self.region_code.choices = options
        self.only_region = options[0].value if len(options) == 1 else None
        blank = [SelectChoice("", _l("— not given —"))]
        self.marital_status.choices = blank + _with_extra(MARITAL_LABELS, [stored.get("marital_status")])
        self.protection_group.choices = blank + _with_extra(GROUP_LABELS, [stored.get("protection_group")])
        self.priority_flags.choices = _with_extra(PRIORITY_LABELS, stored.get("priority_flags"))
        wanted_rows = min(MAX_MEMBERS, max(MEMBER_ROWS, len(stored.get("members") or []) + 1))
        while len(self.members.entries) < wanted_rows:
            self.members.append_entry()
        for i, entry in enumerate(self.members.entries):
            entry.form.relation.choices = ([] if i == 0 else [SelectChoice("", _l("— choose —"))]) + _options(
                RELATION_LABELS)
        return self

    def to_service_data(self) -> tuple[dict, list[int]]:
        """The service's input dict, and for each member sent the index of the form row it came from."""
        def text(field):
            return form_text(field.data)

        def number(field):
            value = text(field).replace(",", "").replace("，", "")
            return value or None

        members, rows = [], []
        for i, entry in enumerate(self.members.entries):
            row = entry.form
            if row.is_blank:
                continue
            member = {"name": text(row.name), "id_number": text(row.id_number).upper()}
            if row.relation.data:  # a missing relation gets the service's "required" message
                member["relation"] = row.relation.data
            if text(row.id):  # the service judges it (a number no row can have is its 422)
                member["id"] = text(row.id)
            members.append(member)
            rows.append(i)
        data = {
            "region_code": text(self.region_code), "address": text(self.address), "hukou": text(self.hukou),
            "marital_status": text(self.marital_status), "housing_status": text(self.housing_status),
            "income_yuan": number(self.income_yuan), "assets_yuan": number(self.assets_yuan),
            "protection_category": text(self.protection_category),
            "protection_mode": text(self.protection_mode),
            "protection_group": text(self.protection_group),
            "priority_flags": [form_text(f) for f in (self.priority_flags.data or []) if form_text(f)],
            "members": members,
        }
        if text(self.version):  # without it the service refuses the edit (409): no stale-version check skipped
            data["version"] = text(self.version)
        return data, rows

    def apply_errors(self, errors: dict, rows: list[int]) -> list[str]:
        """Attach the service's field errors to the form; returns messages that belong to no single field."""
        general: list[str] = []
        for key, messages in (errors or {}).items():
            if key == "members":
                if isinstance(messages, dict):
                    for index, row_errors in messages.items():
                        try:
                            entry = self.members.entries[rows[int(index)]]
                        except (ValueError, IndexError):
                            general.extend(_flatten(row_errors))
                            continue
                        for field_name, msgs in (row_errors.items() if isinstance(row_errors, dict)
                                                 else [("name", row_errors)]):
                            field = getattr(entry.form, field_name, None)
                            if field is None or not hasattr(field, "errors") or field_name == "id":  # hidden
                                general.extend(_flatten(msgs))
                            else:
                                _add(field, _flatten(msgs))
                elif not rows:  # nothing typed at all: say what to do rather than "length 1 to 20"
                    self.member_errors = [
                        str(_l("Enter at least the head of the household in the first row."))]
                else:
                    self.member_errors = _flatten(messages)
                continue
            field = self._fields.get(key)
            if field is None or key == "version":
                general.extend(_flatten(messages))
            else:
                _add(field, _flatten(messages))
        return general

    member_errors: list[str] = []
    only_region: str | None = None


def _add(field, messages: list[str]) -> None:
    field.errors = list(field.errors or []) + messages


def _flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [m for v in messages.values() for m in _flatten(v)]
    if isinstance(messages, (list, tuple)):
        return [m for v in messages for m in _flatten(v)]
    return [str(messages)]


def household_form_data(h) -> dict:
    """An archive as the form's initial data (edit page)."""
    return {
        "region_code": h.region_code, "address": h.address, "hukou": h.hukou,
        "marital_status": h.marital_status,
        "housing_status": h.housing_status,
        "income_yuan": "" if h.income_yuan is None else f"{h.income_yuan:.2f}",
        "assets_yuan": "" if h.assets_yuan is None else f"{h.assets_yuan:.2f}",
        "protection_category": h.protection_category.value, "protection_mode": h.protection_mode,
        "protection_group": h.protection_group, "priority_flags": list(h.priority_flags or []),
        "members": [{"id": str(m.id), "name": m.name, "id_number": m.id_number, "relation": m.relation.value}
                    for m in h.members],
        "version": str(h.version),
    }
