"""Hardening, "the OpenAPI document tells the truth": schemathesis drives every operation of /api/v1/openapi.json.

Each operation gets a small, derandomized budget of generated requests (valid and invalid ones), sent through the
app's WSGI interface with a supervisor's and a caseworker's bearer token. Every answer must be a non-5xx whose
status, content type and body the document describes. The fixtures give the generated ids something to find
(household, record, order, procedure number 1 and up).
"""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from housingcredit.accounts import service as accounts
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from tests import factories
from tests.records.helpers import PDF, confirm, make_record

schemathesis = pytest.importorskip("schemathesis")

pytestmark = pytest.mark.fuzz

EXAMPLES_PER_OPERATION = 12


def _token(user) -> str:
    token = accounts.create_token(user, "fuzz")
    db.session.commit()
    return token


@pytest.fixture
def fuzz_data(app, clock):
    """Staff of Wuhan, two Jiang'an households with records, an order and a procedure."""
    supervisor = factories.make_user("supervisor", "420100")
    caseworker = factories.make_user("caseworker", "420100")
    reviewer = factories.make_user("reviewer", "420100")
    first = factories.make_household("420102", "张三丰", members=1, income_yuan="1234.50", assets_yuan="20000")
    factories.make_household("420102", "李四")
    record = make_record(first, caseworker, "HB06")
    confirm(record, reviewer)
    make_record(first, caseworker, "HB06", occurred=date(2026, 6, 11))
    lists.issue_order(first.id, "use_change", "2026-07-15", "恢复原状", None, caseworker)
    db.session.commit()
    lists.open_procedure(first.id, "court_judgment", "（2026）鄂0102民初1号", ("判决书.pdf", PDF), caseworker)
    db.session.commit()
    return {"supervisor": _token(supervisor), "caseworker": _token(caseworker)}


def _checks():
    from schemathesis.checks import CHECKS, load_all_checks
    load_all_checks()
    return [CHECKS.get_one(name) for name in ("not_a_server_error", "status_code_conformance",
                                              "content_type_conformance", "response_schema_conformance")]


def _per_request_context(app):
    """The app as a server runs it: each request in its own application context (fresh `g` and session); the
    `app` fixture keeps one context pushed, which Flask would otherwise reuse for every request."""
    def wsgi(environ, start_response):
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))
    return wsgi


# The fixtures' ids: generated ids rarely hit a row, so every operation with a path id also runs against these.
EXISTING = {"household_id": 1, "record_id": 1, "order_id": 1, "procedure_id": 1}


def _run(operation, mode, token, checks, path_parameters=None) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], print_blob=False, suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)
    run()


def test_hardening_openapi_every_operation_answers_as_documented(app, fuzz_data):
    from schemathesis import GenerationMode
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _per_request_context(app))
    checks = _checks()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 24
    failures = []
    for role in ("supervisor", "caseworker"):
        for operation in operations:
            names = [p.name for p in operation.path_parameters]
            runs = [("positive", GenerationMode.POSITIVE, None), ("negative", GenerationMode.NEGATIVE, None)]
            if names:
                runs.append(("positive, existing ids", GenerationMode.POSITIVE, {n: EXISTING[n] for n in names}))
            for label, mode, path_parameters in runs:
                try:
                    _run(operation, mode, fuzz_data[role], checks, path_parameters)
                except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, report all
                    failures.append(f"[{role}, {label}] {operation.label}: {str(exc)[:1500]}")
    assert not failures, f"{len(failures)} failing runs:\n\n" + "\n\n".join(failures)
