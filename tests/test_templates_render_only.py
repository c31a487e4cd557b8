"""Consolidation item "templates only render": no template calls a service or commits; the views prepare the
panels (credit, lists, notices) and pass them in. Context processors give labels and pure helpers, and the one
value they read (the unread-notice badge) is prepared before the page renders, never a function to call."""
from __future__ import annotations

import re

from housingcredit import ROOT

from . import factories
from .conftest import login

# the helpers that used to be handed to templates and queried (or committed) while the page rendered
PREPARED_BY_VIEWS = ("household_credit", "lists_panel", "lists_panel_forms", "household_notices", "unread_notices",
                      "household_reports")


def test_templates_render_only_no_template_calls_a_data_helper():
    calls = re.compile(r"\b(" + "|".join(PREPARED_BY_VIEWS) + r")\s*\(")
    offenders = [(str(p.relative_to(ROOT)), m.group(0)) for p in (ROOT / "templates").rglob("*.html")
                 for m in calls.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_templates_render_only_the_context_holds_prepared_values_not_queries(app, client):
    household = factories.make_household("420102")
    user = factories.make_household_user(household)
    login(client, user)
    with app.test_request_context("/"):
        from flask_login import login_user
        login_user(user)
        context: dict = {}
        app.update_template_context(context)
    assert context["unread_notices"] == 0  # a number, read once before rendering
    assert not any(callable(context.get(name)) for name in PREPARED_BY_VIEWS)


def test_templates_render_only_archive_page_still_shows_its_panels(app, client):
    household = factories.make_household("420102", head_name="周九")
    login(client, factories.make_user("caseworker", "420100"))
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert 'id="credit"' in page and 'id="lists"' in page and 'id="notices"' in page
