"""Hardening, "the OpenAPI document tells the truth": schemathesis drives every operation of /api/v1/openapi.json.

Each operation gets a small, derandomized budget of generated requests (valid and invalid ones), sent through the
app's WSGI interface with a supervisor's and a caseworker's bearer token. Every answer must be a non-5xx whose
status, content type and body the document describes. The fixtures give the generated ids something to find
(household, record, order, procedure number 1 and up).
"""
from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from housingcredit.accounts import service as accounts
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from tests import factories
from tests.records.helpers import PDF, confirm, make_record

EXAMPLES_PER_OPERATION = 10


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
    from housingcredit.appeals import service as appeals
    from housingcredit.records import service as records
    appeals.file_objection(first.id, {"record_id": record.id, "reason": "异议", "received_date": clock.today()},
                           [], caseworker)
    records.propose_revocation(record.id, "error", "登记错误", caseworker)
    from housingcredit.appeals import repairs
    repairs.apply(first.id, {"record_id": record.id, "declaration": "已补缴", "commitment_signed": True,
                             "non_intentional": "住院期间未能缴租", "received_date": clock.today()},
                  [("补缴凭证.pdf", PDF)], [], caseworker)
    db.session.commit()
    return {"supervisor": _token(supervisor), "caseworker": _token(caseworker), "id_number": first.head.id_number}


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
EXISTING = {"household_id": 1, "record_id": 1, "order_id": 1, "procedure_id": 1, "objection_id": 1,
            "proposal_id": 1, "application_id": 1}


def _run(operation, mode, token, checks, path_parameters=None, answered=None, query=None) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters, query=query)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], print_blob=False, suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)
        if answered is not None and response.status_code < 300:
            answered.add(operation.label)
    run()


@pytest.mark.fuzz
def test_hardening_openapi_every_operation_answers_as_documented(app, fuzz_data):
    from schemathesis import GenerationMode
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _per_request_context(app))
    checks = _checks()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 49  # 24 + revocation decision + 7 objection + 12 repair + 3 correction (issue 22) + 2 public lists
    failures = []
    succeeded: set[str] = set()
    for role in ("supervisor", "caseworker"):
        for operation in operations:
            names = [p.name for p in operation.path_parameters]
            runs = [("positive", GenerationMode.POSITIVE, None, None),
                    ("negative", GenerationMode.NEGATIVE, None, None)]
            if names:
                runs.append(("positive, existing ids", GenerationMode.POSITIVE, {n: EXISTING[n] for n in names},
                             None))
            if any(p.name == "id_number" for p in operation.query):
                runs.append(("positive, existing ID number", GenerationMode.POSITIVE, None,
                             {"id_number": fuzz_data["id_number"]}))
            for label, mode, path_parameters, query in runs:
                try:
                    _run(operation, mode, fuzz_data[role], checks, path_parameters, succeeded, query)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 — collect every failure, report all
                    failures.append(f"[{role}, {label}] {operation.label}: {str(exc)[:1500]}")
    assert not failures, f"{len(failures)} failing runs:\n\n" + "\n\n".join(failures)
    # Not vacuous: every read answered 200 to some generated request (writes need data random bytes rarely make).
    assert {o.label for o in operations if o.method.upper() == "GET"} - succeeded == set()


def _operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")]


def test_hardening_openapi_error_code_is_documented_as_the_string_it_is(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string"
    assert error["required"] == ["code", "message"]
    assert set(error["properties"]) == {"code", "message", "errors", "detail"}  # no `status`: never sent
    resp = client.get("/api/v1/households/1", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "unauthorized"


def test_hardening_openapi_money_is_a_decimal_string_with_numeric_limits(app, client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    income = schemas["HouseholdIn"]["properties"]["income_yuan"]
    assets = schemas["HouseholdIn"]["properties"]["assets_yuan"]
    assert (income["type"], income["minimum"], income["maximum"]) == ("string", 0, 1_000_000_000)
    assert (assets["type"], assets["minimum"], assets["maximum"]) == ("string", 0, 100_000_000_000)
    assert schemas["HouseholdOut"]["properties"]["income_yuan"]["type"] == "string"
    import re
    pattern = re.compile(income["pattern"])
    assert [bool(pattern.match(v)) for v in ("0", "2350.5", "999999999.99", "1000000000", "1000000000.00",
                                            "1000000000.01", "1234.567", "-1", "1e3")] == \
        [True, True, True, True, True, False, False, False, False]


def test_hardening_api_without_a_token_answers_401_on_every_operation(app, client, make_household):
    """Reads and writes alike: no CSRF 400 on a write (the API acts only for a bearer token)."""
    make_household("420102")
    operations = _operations(client)
    assert len(operations) == 49  # 24 + revocation decision + 7 objection + 12 repair + 3 correction (issue 22) + 2 public lists
    for method, path, op in operations:
        if op.get("security") == []:  # open to all (the public lists): documented so, and no 401
            assert "401" not in op["responses"] and path.startswith("/api/v1/public/"), (method, path)
            continue
        assert "401" in op["responses"], (method, path)
        url = path.replace("{household_id}", "1").replace("{record_id}", "1").replace(
            "{order_id}", "1").replace("{procedure_id}", "1").replace(
            "{proposal_id}", "1").replace("{objection_id}", "1").replace("{application_id}", "1")
        resp = client.open(url, method=method.upper(), json={} if method != "get" else None)
        assert (method, path, resp.status_code, resp.get_json()["code"]) == (method, path, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].lower().startswith("bearer")
