"""Disclosure scopes as data (SPEC §11): which fields a public list shows, in which order, with which mask.

`config/disclosure.yaml` names, per scope and list, the stages shown and the fields with their masking rule; this
module reads and checks it. The fields a list can offer are the catalogue below (what the page's query gathers);
the data chooses among them. A personal field must carry its own mask (a name `name`, an ID number `id_number`,
an address `district`): anything else refuses to start, so no edit of the data can publish a full name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import ROOT
from ..disclosure.masking import MASKS

SCOPES = ("public", "government", "authorised")  # 社会公开 / 政务共享 / 授权查询 (SPEC §11)
PUNISHMENT, WATCH = "punishment", "watch"
LISTS = {PUNISHMENT: ("publicity", "listed"), WATCH: ("watch",)}  # each list and the stages it can show
DEFAULT_FILE = ROOT / "config" / "disclosure.yaml"


@dataclass(frozen=True)
class FieldDef:
    """A field a public list can offer: its label, and for a personal field the one mask it must carry."""

    label: object
    personal_mask: str | None = None


FIELDS: dict[str, FieldDef] = {
    "name": FieldDef(_l("Name"), personal_mask="name"),
    "id_number": FieldDef(_l("ID number"), personal_mask="id_number"),
    "address": FieldDef(_l("District"), personal_mask="district"),
    "stage": FieldDef(_l("Status")),
    "behaviour": FieldDef(_l("Dishonest behaviour")),
    "clause": FieldDef(_l("Clause")),
    "effective_date": FieldDef(_l("Effective from")),
    "end_date": FieldDef(_l("Ends after")),
}


class DisclosureError(ValueError):
    """The disclosure data is wrong; start-up refuses with this message."""


@dataclass(frozen=True)
class ScopeField:
    name: str
    mask: str | None

    @property
    def label(self) -> str:
        return str(FIELDS[self.name].label)


@dataclass(frozen=True)
class ListScope:
    """What one scope shows of one list."""

    scope: str
    list: str
    stages: tuple[str, ...]
    fields: tuple[ScopeField, ...]
    clause: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _fail(path: Path, where: str, message: str):
    raise DisclosureError(f"{path.name}: {where}: {message}")


def load_scopes(path: Path | str | None = None) -> dict[tuple[str, str], ListScope]:
    """Read and check the disclosure data: {(scope, list): ListScope}."""
    path = Path(path or DEFAULT_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DisclosureError(f"{path}: cannot be read: {exc}") from None
    scopes = data.get("scopes")
    if not isinstance(scopes, dict):
        _fail(path, "scopes", "must be a mapping of scope names")
    out: dict[tuple[str, str], ListScope] = {}
    for scope, block in scopes.items():
        if scope not in SCOPES:
            _fail(path, f"scopes.{scope}", f"unknown scope (one of {', '.join(SCOPES)})")
        if not isinstance(block, dict) or not isinstance(block.get("lists"), dict):
            _fail(path, f"scopes.{scope}", "needs `lists`")
        clause = str(block.get("clause") or "")
        for name, spec in block["lists"].items():
            where = f"scopes.{scope}.lists.{name}"
            if name not in LISTS:
                _fail(path, where, f"unknown list (one of {', '.join(LISTS)})")
            stages = tuple(spec.get("stages") or ())
            if not stages or set(stages) - set(LISTS[name]):
                _fail(path, f"{where}.stages", f"must be some of {', '.join(LISTS[name])}")
            fields = []
            for i, item in enumerate(spec.get("fields") or ()):
                fwhere = f"{where}.fields[{i}]"
                if not isinstance(item, dict) or item.get("field") not in FIELDS:
                    _fail(path, fwhere, f"`field` must be one of {', '.join(FIELDS)}")
                field, mask = item["field"], item.get("mask")
                if mask is not None and mask not in MASKS:
                    _fail(path, fwhere, f"unknown mask {mask!r} (one of {', '.join(MASKS)})")
                wanted = FIELDS[field].personal_mask
                if wanted and mask != wanted:
                    _fail(path, fwhere, f"the personal field {field!r} must carry mask {wanted!r}")
                if not wanted and mask is not None:
                    _fail(path, fwhere, f"{field!r} is not personal and takes no mask")
                if any(f.name == field for f in fields):
                    _fail(path, fwhere, f"{field!r} is listed twice")
                fields.append(ScopeField(field, mask))
            if not fields:
                _fail(path, f"{where}.fields", "lists no field")
            out[(scope, name)] = ListScope(scope=scope, list=name, stages=stages, fields=tuple(fields),
                                           clause=clause)
    return out


def init_app(app) -> None:
    """Load the disclosure data at start-up (a mistake refuses to start); DISCLOSURE_FILE may point elsewhere."""
    app.extensions["disclosure_scopes"] = load_scopes(app.config.get("DISCLOSURE_FILE") or None)


def scope_of(list_name: str, scope: str = "public") -> ListScope | None:
    """What `scope` shows of `list_name`, None when the data publishes nothing of it."""
    return current_app.extensions["disclosure_scopes"].get((scope, list_name))
