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
  households, members and audit entries in batches of IMPORT_BATCH, each committed with its progress, then ANALYZE;
- bare INSERT: the same household, member and audit rows (read back from the tables after the import) sent by bare
  psycopg `executemany` into empty copies of the three tables (`LIKE … INCLUDING ALL`: the same indexes), one
  commit per IMPORT_BATCH households — the floor any writer of these rows pays.

Wall and CPU time (this process; the database server's CPU is not in it) are printed for each. `--profile` runs
the check and the commit under cProfile and prints the top functions (and writes /tmp/import-{check,commit}.prof).

Targets: check < 30 s, commit < 60 s. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import io
import os
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


class Timer:
    """Wall and CPU (this process) time of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self):
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def bare_read(data: bytes) -> tuple[Timer, int]:
    from openpyxl import load_workbook
    with Timer() as t:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
    return t, n


TABLES = ("households", "members", "audit_entries")


def bare_insert(db, batch: int) -> Timer:
    """The rows the import wrote, sent again by bare psycopg into empty copies of their tables (same indexes)."""
    from benchmarks.common import raw_connection
    raw = raw_connection(db)
    db.session.commit()
    with raw.cursor() as cur:
        data = {}
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS bare_{table}")
            cur.execute(f"CREATE TABLE bare_{table} (LIKE {table} INCLUDING ALL)")
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                        "ORDER BY ordinal_position", (table,))
            columns = [r[0] for r in cur.fetchall()]
            where = "WHERE action = 'household.create'" if table == "audit_entries" else ""
            order = "household_id, id" if table == "members" else "id"
            cur.execute(f"SELECT {', '.join(c + '::text' for c in columns)} FROM {table} {where} ORDER BY {order}")
            data[table] = (columns, cur.fetchall())
        raw.commit()
        members_by_household: dict = {}
        m_columns, m_rows = data["members"]
        at = m_columns.index("household_id")
        for r in m_rows:
            members_by_household.setdefault(r[at], []).append(r)
        a_columns, a_rows = data["audit_entries"]
        h_columns, h_rows = data["households"]

        def sql(table, columns):
            return f"INSERT INTO bare_{table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"

        with Timer() as t:
            for i in range(0, len(h_rows), batch):
                hh = h_rows[i:i + batch]
                cur.executemany(sql("households", h_columns), hh)
                cur.executemany(sql("members", m_columns), [m for h in hh for m in members_by_household.get(h[0], [])])
                cur.executemany(sql("audit_entries", a_columns), a_rows[i:i + batch])
                raw.commit()
        for table in TABLES:
            cur.execute(f"DROP TABLE bare_{table}")
        raw.commit()
    return t


def profiled(enabled: bool, name: str):
    import contextlib
    if not enabled:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def run():
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        try:
            yield
        finally:
            prof.disable()
            prof.dump_stats(f"/tmp/import-{name}.prof")
            stats = pstats.Stats(prof).strip_dirs()
            print(f"---- profile: {name} (tottime) ----")
            stats.sort_stats("tottime").print_stats(25)
            print(f"---- profile: {name} (cumulative) ----")
            stats.sort_stats("cumulative").print_stats(40)
    return run()


def _token(client, url: str = "/login") -> str:
    import re
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="(?:staff-)?csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true", help="run the check and the commit under cProfile")
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
        with profiled(args.profile, "check"), Timer() as check:
            resp = client.post("/imports", data={"file": (io.BytesIO(data), "bench.xlsx"), "csrf_token": token},
                               content_type="multipart/form-data")
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
        batch = db.session.get(ImportBatch, batch_id)
        good_households, good_rows = batch.households_good, batch.rows_good
        db.session.commit()

        with profiled(args.profile, "commit"), Timer() as commit:
            resp = client.post(f"/imports/{batch_id}/confirm", data={"csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        households = db.session.scalar(sa.select(sa.func.count(Household.id)))
        members = db.session.scalar(sa.select(sa.func.count(Member.id)))
        again, _n = bare_read(data)
        bare_write = bare_insert(db, int(app.config["IMPORT_BATCH"]))

    print(f"bare openpyxl read (read-only, {n:,} rows): {bare} (again after the import: {again})")
    print(f"check (upload → preview stored): {check}  = {check.wall / bare.wall:.2f}× the bare read "
          f"(CPU {check.cpu / bare.cpu:.2f}×)   target < 30 s")
    print(f"  {good_rows:,} good rows in {good_households:,} households")
    print(f"commit (confirm → written, ANALYZE): {commit}  = {commit.wall / bare_write.wall:.2f}× the bare INSERT"
          f"   target < 60 s")
    print(f"bare psycopg INSERT of the same rows (executemany, batches of {app.config['IMPORT_BATCH']}): {bare_write}")
    print(f"  households {households:,}, members {members:,}")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
