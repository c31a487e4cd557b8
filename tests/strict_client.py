"""The test client of every test (installed by tests/conftest.py): production-like between requests, no 500.

The `app` fixture keeps one application context pushed for the whole test, and Flask reuses a pushed context
for requests — so `g` (where Flask-Login caches the user, and auth.py marks a bearer request) would carry over
from one request to the next, and a request without credentials could run as the previous caller. Each request
here gets its own application context, as under a real server. DESIGN rule 7: no request may yield a 500.
"""
from __future__ import annotations

from flask.testing import FlaskClient


class StrictClient(FlaskClient):
    def open(self, *args, **kwargs):
        from housingcredit.extensions import db
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # the test's own session reads what the request committed
        assert response.status_code != 500, response.get_data(as_text=True)[:2000]
        return response
