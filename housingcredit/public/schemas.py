"""marshmallow schemas of the public lists: the query, and the page as JSON (published in the OpenAPI document).

The entry schema names every field a public list can offer (scopes.FIELDS); an answer carries only the fields the
scope `public` of config/disclosure.yaml lists, already masked."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class PublicListQuery(Schema):
    class Meta:
        unknown = EXCLUDE  # e.g. ?lang=en

    q = fields.String(load_default="", validate=validate.Length(max=20),
                      metadata={"description": "The head's name as shown, masked (张*三, 李*, 欧**娜), or a surname"})
    district = fields.String(load_default="", validate=validate.Length(max=40),
                             metadata={"description": "A district or city by name (江岸区) or code (420102)"})
    after = fields.String(load_default="", validate=validate.Length(max=40),
                          metadata={"description": "The page cursor: `next` of the page before"})


def _f(description: str):
    return fields.String(allow_none=True, metadata={"description": description})


class PublicEntry(Schema):
    """One entry as the public sees it: only the fields the scope lists, each masked by its rule."""

    name = _f("The head of household's name, masked (张*三)")
    id_number = _f("The head's resident ID number, masked (420102********1234)")
    address = _f("The address, to the district only (湖北省 武汉市 江岸区)")
    stage = _f("In publicity, listed, or on the watch list")
    behaviour = _f("The dishonest behaviour, in words (only disclosed tiers, never mild)")
    clause = _f("The clauses relied on")
    effective_date = _f("Listing effective date, publicity start, or watch-list entry date (YYYY-MM-DD)")
    end_date = _f("Last day of the listing term, of publicity, or of the watch period (YYYY-MM-DD)")


class FieldOut(Schema):
    name = fields.String()
    label = fields.String()


class PublicListPage(Schema):
    list = fields.String(metadata={"description": "punishment (失信联合惩戒对象名单) or watch (重点关注名单)"})
    title = fields.String()
    as_of = fields.Date()
    fields_ = fields.List(fields.Nested(FieldOut), data_key="fields",
                          attribute="fields", metadata={"description": "The fields shown, in order"})
    items = fields.List(fields.Nested(PublicEntry))
    next = fields.String(allow_none=True, metadata={"description": "Cursor of the next page (`after`), or null"})
    has_more = fields.Boolean()
