"""What the public list pages share on the wire: one rate limit for HTML and JSON, and the caching headers
(Cache-Control max-age, ETag with conditional GET)."""
from __future__ import annotations

from flask import current_app, request, session

from ..extensions import limiter

def _limit() -> str:
    return current_app.config.get("RATELIMIT_PUBLIC", "60/minute")


# HTML and JSON count together per client address: the same data must not be scraped twice as fast.
rate_limited = limiter.shared_limit(_limit, scope="public-lists")


def cache_headers(response):
    """A list page (200) is public for PUBLIC_MAX_AGE seconds with an ETag, and a request whose If-None-Match
    names it gets 304 with no body. Anything else — an error, a 429 — is not stored. A page that changed the
    visitor's session (a language chosen with ?lang=) is private to that visitor."""
    if response.status_code != 200:
        response.headers["Cache-Control"] = "no-store"
        return response
    max_age = int(current_app.config.get("PUBLIC_MAX_AGE", 300))
    private = session.modified
    response.headers["Cache-Control"] = f"{'private' if private else 'public'}, max-age={max_age}"
    response.vary.add("Cookie" if not request.path.startswith("/api/") else "Accept-Language")
    response.add_etag()
    return response.make_conditional(request)
