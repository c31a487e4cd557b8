"""Benchmark: the Excel import of archives (issue 18) — 50,000 rows checked and committed, on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/benchimport .venv/bin/python benchmarks/bench_import.py
    … --rows 10000      (a smaller file)

The database is created when missing, emptied (schema `public` dropped) and migrated. A workbook in the
template's shape is written with openpyxl (about three members per household, Wuhan counties, valid ID numbers,
a few bad rows), then:

- bare: openpyxl reading the same file (read-only, every cell value), the floor any import pays;
- check: the upload through the page (POST /imports, Flask test client, a caseworker's session): zip checks,
  reading, every row through the archive's validation, the duplicate queries, storing the checked import;
- commit: the confirm (POST /imports/<id>/confirm, written in the request: IMPORT_BACKGROUND off) — the
  households, members and audit entries in batches of IMPORT_BATCH, each committed with its progress, then ANALYZE.

Targets: check < 30 s, commit < 60 s. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import io
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from benchmarks.common import database_url, ensure_database, reset_schema  # noqa: E402

COUNTIES = ["420102", "420103", "420104", "420105", "420106", "420111"]


def workbook(rows: int, rng: random.Random) -> tuple[bytes, int]:
    """A file of `rows` member rows (1–5 per household) and the number of bad rows in it (one in 1,000)."""
    from openpyxl import Workbook
    from stdnum.cn import ric
    from housingcredit.imports.workbook import HEADERS
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("家庭成员")
    ws.append(list(HEADERS))
    seen: set[str] = set()
    key, written, bad = 0, 0, 0
    relations = ["配偶", "子女", "父母", "其他"]
    while written < rows:
        key += 1
        size = min(rng.choice([1, 2, 3, 3, 4, 5]), rows - written)
        county = COUNTIES[key % len(COUNTIES)]
        for m in range(size):
            while True:
                birth = date(1984, 1, 1) + timedelta(days=rng.randrange(12000))
                body = f"420102{birth:%Y%m%d}{rng.randrange(1000):03d}"
                if body not in seen:
                    seen.add(body)
                    break
            number = body + ric.calc_check_digit(body + "0")
            if written % 1000 == 999:
                number = number[:-1] + ("0" if number[-1] != "0" else "1")  # a wrong check digit
                bad += 1
            household = [str(key), county, f"测试路{key}号", "武汉市", "已婚", "本地无自有住房", "36000.00", "",
                         "公租房实物配租", "实物配租", "低收入", "残疾人"] if m == 0 else [str(key)] + [None] * 11
            ws.append(household + [f"张{m}{key % 97}", number, None, "户主" if m == 0 else relations[m % 4]])
            written += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), bad


def bare_read(data: bytes) -> tuple[float, int]:
    from openpyxl import load_workbook
    started = time.perf_counter()
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return time.perf_counter() - started, n


def _token(client, url: str = "/login") -> str:
    import re
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="(?:staff-)?csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/benchimport")
    ensure_database(url)
    from housingcredit import create_app
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db
    from housingcredit.imports.models import ImportBatch
    from housingcredit.archives.models import Household, Member
    from tests import factories

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "IMPORT_BACKGROUND": False, "IMPORT_MAX_ROWS": max(args.rows, 50_000),
                      "MAX_CONTENT_LENGTH": 200 * 1024 * 1024, "RATELIMIT_ENABLED": False})
    app.extensions["clock"] = FixedClock(date(2026, 6, 15))
    with app.app_context():
        reset_schema(db, quiet=True)
        caseworker = factories.make_user("caseworker", "420100", username="bench-caseworker")
        username = caseworker.username
        rng = random.Random(18)
        started = time.perf_counter()
        data, bad = workbook(args.rows, rng)
        print(f"workbook: {args.rows:,} rows, {len(data) / 1e6:.1f} MB, {bad} bad rows "
              f"(written in {time.perf_counter() - started:.1f} s)")

        bare, n = bare_read(data)
        client = app.test_client()
        client.get("/login")
        client.post("/login", data={"mode": "staff", "staff-username": username, "staff-csrf_token": _token(client),
                                    "staff-password": factories.PASSWORD})
        token = _token(client, "/imports")
        started = time.perf_counter()
        resp = client.post("/imports", data={"file": (io.BytesIO(data), "bench.xlsx"), "csrf_token": token},
                           content_type="multipart/form-data")
        check = time.perf_counter() - started
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
        batch = db.session.get(ImportBatch, batch_id)
        good_households, good_rows = batch.households_good, batch.rows_good
        db.session.commit()

        started = time.perf_counter()
        resp = client.post(f"/imports/{batch_id}/confirm", data={"csrf_token": token})
        commit = time.perf_counter() - started
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        households = db.session.scalar(sa.select(sa.func.count(Household.id)))
        members = db.session.scalar(sa.select(sa.func.count(Member.id)))
        again, _n = bare_read(data)

    print(f"bare openpyxl read (read-only, {n:,} rows): {bare:.2f} s (again after the import: {again:.2f} s)")
    print(f"check (upload → preview stored): {check:.2f} s  = {check / bare:.1f}× the bare read   target < 30 s")
    print(f"  {good_rows:,} good rows in {good_households:,} households")
    print(f"commit (confirm → written, ANALYZE): {commit:.2f} s   target < 60 s")
    print(f"  households {households:,}, members {members:,}")


if __name__ == "__main__":
    main()
