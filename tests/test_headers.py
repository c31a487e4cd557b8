"""Hardening — headers: a Content-Security-Policy without inline script, never framed, nosniff, a referrer
policy, HSTS only in production, and no-store on every answer that may carry personal data."""
from __future__ import annotations

import base64
import hashlib
import re

from housingcredit import ROOT, create_app
from housingcredit.extensions import db
from tests.conftest import _config, login
from tests.factories import make_household, make_user
from tests.strict_client import StrictClient


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _assert_common(resp):
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    return csp


def test_hardening_pages_carry_csp_without_inline_script(app, client):
    resp = client.get("/login")
    csp = _assert_common(resp)
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert "Strict-Transport-Security" not in resp.headers  # development is plain http
    assert resp.headers["Cache-Control"] == "no-store"


def test_hardening_authenticated_pages_and_api_answers_are_not_stored(app, client, api_client):
    caseworker = make_user("caseworker", "420100")
    household = make_household("420102")
    login(client, caseworker)
    for url in ("/households", f"/households/{household.id}", "/watch", "/nope-404"):
        resp = client.get(url)
        assert resp.headers["Cache-Control"] == "no-store", url
        _assert_common(resp)
    api = api_client(caseworker)
    for url in ("/api/v1/me", f"/api/v1/households/{household.id}", "/api/v1/households/999999"):
        resp = api.get(url)
        assert resp.headers["Cache-Control"] == "no-store", url
        _assert_common(resp)
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"  # the 401 too


def test_hardening_static_files_stay_cacheable(app, client):
    resp = client.get("/static/app.css")
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp.close()


def test_hardening_hsts_only_in_production(app, monkeypatch):
    monkeypatch.setenv("HOUSINGCREDIT_ENV_NAME", "production")
    prod = create_app(_config(SECRET_KEY="production-secret-0123456789abcdef", AUDIT_KEY="production-audit-key-0123456789"))
    prod.test_client_class = StrictClient
    try:
        resp = prod.test_client().get("/login")
    finally:
        with prod.app_context():
            db.engine.dispose()
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    _assert_common(resp)


def test_hardening_api_docs_page_allows_only_its_own_inline_script(app, client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "//cdn" not in html and "https://" not in html  # Swagger UI from our own files
    csp = _assert_common(resp)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert csp["script-src"] == ["'self'", f"'sha256-{digest}'"]
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()


def test_hardening_templates_hold_no_inline_script_or_handler():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text) \
                or "javascript:" in text or re.search(r"\sstyle\s*=|<style", text):
            offenders.append(path.name)
    assert offenders == []
