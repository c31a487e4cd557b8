"""The one PDF renderer of the app (SPEC §12): A4, the CJK font declared once (static/reports/pdf.css), templates
under templates/reports/ and templates/notices/, and a URL fetcher that fetches nothing but the app's own static
files — a template can never make the server open an outside URL."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import render_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetchingError

from .. import ROOT

STATIC = (ROOT / "housingcredit" / "static").resolve()
STYLESHEET = STATIC / "reports" / "pdf.css"


class RefusedURL(URLFetchingError):
    """A document asked for something outside the app's static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serves file:// URLs inside housingcredit/static (and inline data: URLs); refuses everything else."""

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if path.is_relative_to(STATIC) and path.is_file():
                return super().fetch(path.as_uri(), headers)
        raise RefusedURL(f"refused: {url[:80]}")


@lru_cache(maxsize=1)
def _shared() -> tuple[FontConfiguration, CSS, StaticOnlyFetcher]:
    fonts = FontConfiguration()
    fetcher = StaticOnlyFetcher()
    return fonts, CSS(filename=str(STYLESHEET), font_config=fonts, url_fetcher=fetcher), fetcher


def render_html_to_pdf(html: str) -> bytes:
    fonts, css, fetcher = _shared()
    return HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=fetcher).write_pdf(
        stylesheets=[css], font_config=fonts)


def render_pdf(template: str, **context) -> bytes:
    """Render templates/<template> (reports/… or notices/…) with `context` to PDF bytes."""
    if not (template.startswith("reports/") or template.startswith("notices/")):
        raise ValueError("PDF templates live under templates/reports/ or templates/notices/")
    return render_html_to_pdf(render_template(template, **context))
