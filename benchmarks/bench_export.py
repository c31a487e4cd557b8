"""Benchmark: the masked .xlsx export of 100,000 archives (issue #18: "an export of 100,000 rows streams in under
20 s"), beside openpyxl write-only writing the same rows bare, in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/benchexport .venv/bin/python benchmarks/bench_export.py
    … --rows 20000      (fewer rows)     … --keep   (reuse the loaded database)     … --profile   (cProfile)

The database is created when missing, emptied (schema `public` dropped) and migrated, then filled with COPY:
households with their head (name and resident ID number) in six Wuhan districts, and a supervisor.

Timed:
- the export: GET /workbench/archives/export.xlsx as the supervisor (every row of the province), through the Flask
  test client, until the last byte of the streamed body is read — the list's query fetched in batches, every row
  labelled and masked (SPEC §11), written by openpyxl in write-only mode, the audit entry committed, the file sent;
- bare: the same rows fetched through bare psycopg (households joined to their head) and written unchanged by
  openpyxl in write-only mode to a file; and, when it is installed, by XlsxWriter in constant_memory mode.
Wall and CPU seconds of this process (the app and the writers run in it; PostgreSQL's work is its own) and the
load average: on a shared machine the CPU figures and the ratios are the ones that survive the load.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.common import (copy_rows, database_url, ensure_database, move_sequences, plain_url,  # noqa: E402
                               raw_connection, reset_schema)
from benchmarks.bench_lists import id_numbers  # noqa: E402

BARE_SQL = """SELECT h.id, h.archive_no, m.name, m.id_number, h.region_code, h.address, h.protection_category,
                     h.protection_group, c.tier, c.score, h.created_dt
              FROM households h
              LEFT JOIN members m ON m.household_id = h.id AND m.relation = 'head'
              LEFT JOIN credit_states c ON c.household_id = h.id
              ORDER BY h.id DESC"""


def load(n: int, echo) -> None:
    from housingcredit.extensions import db
    from tests import factories
    rng = random.Random(18)
    now = datetime.now(timezone.utc)
    counties = ["420102", "420103", "420104", "420105", "420106", "420111"]
    factories.make_user("supervisor", "420000", username="bench-supervisor")
    raw = raw_connection(db)
    started = time.perf_counter()
    numbers = id_numbers(n, rng)
    names = ["张三丰", "李四", "欧阳娜娜", "王建国", "陈秀英"]
    copy_rows(raw, "households", ("id", "archive_no", "region_code", "address", "hukou", "marital_status",
                                  "housing_status", "protection_category", "protection_mode", "protection_group",
                                  "priority_flags", "created_dt", "updated_dt", "version"),
              ((i + 1, f"{counties[i % 6]}-{i + 1:08d}", counties[i % 6], f"幸福路{i % 500}号{i % 30}栋", "", "",
                "", "physical", "", "低保", "[]", now, now, 1) for i in range(n)))
    copy_rows(raw, "members", ("id", "household_id", "name", "id_number", "relation"),
              ((i + 1, i + 1, names[i % 5], numbers[i], "head") for i in range(n)))
    move_sequences(db, ("households", "members"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE households, members"))  # as autovacuum would: plans from real counts
    echo(f"  {n} households with their head loaded in {time.perf_counter() - started:.1f} s")


def _bare_rows(url: str):
    """The same rows through bare psycopg (a server-side cursor), times naive, as a generator."""
    with psycopg.connect(plain_url(url)) as conn, conn.cursor(name="bare") as cur:
        cur.itersize = 5000
        cur.execute(BARE_SQL)
        for row in cur:
            yield [v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row]


HEADER = ["id", "archive_no", "head", "id_number", "region", "address", "category", "group", "tier", "score",
          "created"]


def bare(url: str) -> tuple[float, float, int, int]:
    """openpyxl write-only writing the rows unchanged: (wall s, CPU s of this process, rows, bytes)."""
    from openpyxl import Workbook
    started, cpu = time.perf_counter(), time.process_time()
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    rows = 0
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("bare")
    ws.append(HEADER)
    for row in _bare_rows(url):
        ws.append(row)
        rows += 1
    wb.save(path)
    size = os.path.getsize(path)
    os.unlink(path)
    return time.perf_counter() - started, time.process_time() - cpu, rows, size


def bare_xlsxwriter(url: str) -> tuple[float, float, int, int] | None:
    """XlsxWriter (constant_memory: rows streamed to disk, inline strings) writing the same rows, when installed —
    the other well-kept writer, measured beside openpyxl to say whether it would be worth a dependency."""
    try:
        import xlsxwriter
    except ImportError:
        return None
    started, cpu = time.perf_counter(), time.process_time()
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                    "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("bare")
    date_format = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws.write_row(0, 0, HEADER)
    rows = 0
    for rows, row in enumerate(_bare_rows(url), 1):
        for col, value in enumerate(row):
            if isinstance(value, datetime):
                ws.write_datetime(rows, col, value, date_format)
            elif value is not None:
                ws.write(rows, col, value)
    wb.close()
    size = os.path.getsize(path)
    os.unlink(path)
    return time.perf_counter() - started, time.process_time() - cpu, rows, size


def export(client) -> tuple[float, float, float, bytes]:
    """The export through the app: (wall s, CPU s of this process, s to the first byte, the body)."""
    started, cpu = time.perf_counter(), time.process_time()
    resp = client.get("/workbench/archives/export.xlsx", buffered=False)
    first = None
    body = io.BytesIO()
    for chunk in resp.response:
        if first is None:
            first = time.perf_counter() - started
        body.write(chunk)
    resp.close()
    return time.perf_counter() - started, time.process_time() - cpu, first or 0.0, body.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run with as many rows")
    parser.add_argument("--profile", action="store_true", help="print where the export's time goes (cProfile)")
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/benchexport")
    ensure_database(url)
    from housingcredit import create_app
    from housingcredit.extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        print(f"export of {args.rows} archives (PostgreSQL, {url.rsplit('/', 1)[-1]}); load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        kept = False
        if args.keep:
            try:
                kept = db.session.scalar(sa.text("SELECT count(*) FROM households")) == args.rows
            except sa.exc.DBAPIError:
                db.session.rollback()
        if not kept:
            reset_schema(db, quiet=True)
            load(args.rows, print)
        from tests.factories import PASSWORD, csrf_token
        client = app.test_client()
        resp = client.post("/login", data={"mode": "staff", "staff-username": "bench-supervisor",
                                           "staff-password": PASSWORD, "staff-csrf_token": csrf_token(client)})
        assert resp.status_code == 302, resp.status_code
        from openpyxl import load_workbook
        if args.profile:
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.enable()
            export(client)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        for attempt in range(1, args.runs + 1):
            took, cpu, first, body = export(client)
            bare_took, bare_cpu, bare_rows, bare_size = bare(url)
            other = bare_xlsxwriter(url)
            book = load_workbook(io.BytesIO(body), read_only=True)
            rows = sum(1 for _ in book.active.iter_rows(min_row=2, values_only=True))
            book.close()
            line = (f"  run {attempt}: export {took:.1f} s (CPU {cpu:.1f} s) for {rows} rows "
                    f"({len(body) / 1e6:.1f} MB; first byte after {first:.1f} s) | bare openpyxl write-only "
                    f"{bare_took:.1f} s (CPU {bare_cpu:.1f} s) for {bare_rows} rows ({bare_size / 1e6:.1f} MB) | "
                    f"ratio wall {took / bare_took:.2f}, CPU {cpu / bare_cpu:.2f}")
            if other:
                line += (f" | bare XlsxWriter constant_memory {other[0]:.1f} s (CPU {other[1]:.1f} s, "
                         f"{other[3] / 1e6:.1f} MB)")
            print(line + f" | load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
