"""What the benchmarks share: the database they may empty, timing figures, COPY, SQL capture for replay, and —
for the page benchmarks (bench_pages.py, bench_public.py) — the million-household dataset and the page timer.

Every benchmark runs against a PostgreSQL database named by DATABASE_URL that it creates when missing and empties
(schema `public` dropped) before migrating it; API figures are compared with the SELECTs the request issued,
captured from SQLAlchemy and replayed through bare psycopg.
"""
from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402


# ---- the database ----------------------------------------------------------------------------------------------

def database_url(default: str | None = None, message: str = "DATABASE_URL must point to PostgreSQL") -> str:
    """DATABASE_URL (or `default`), which must be a PostgreSQL URL; exits with `message` otherwise."""
    import os
    url = os.environ.get("DATABASE_URL", default or "")
    if not url.startswith("postgresql"):
        sys.exit(message)
    return url


def plain_url(url: str) -> str:
    """The URL as psycopg takes it (without SQLAlchemy's driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def ensure_database(url: str) -> None:
    """Create the database named in `url` when it does not exist (connecting to `postgres` to do so)."""
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = u.set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{u.database}"')


def reset_schema(db, quiet: bool = False) -> None:
    """Drop and recreate schema `public`, then `flask db upgrade` (inside an app context)."""
    from flask_migrate import upgrade
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    if quiet:
        import logging
        logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade()


def move_sequences(db, tables, empty_value: str = "1") -> None:
    """Move each table's id sequence past the ids COPY wrote (`empty_value` when the table is empty)."""
    for table in tables:
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT coalesce(max(id), {empty_value}) FROM {table}))"))


# ---- figures ---------------------------------------------------------------------------------------------------

def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)] * 1000


def ms(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    return median_ms(samples), p95_ms(samples)


# ---- COPY ------------------------------------------------------------------------------------------------------

def raw_connection(db):
    """The psycopg connection under the session's current connection (for COPY)."""
    return db.session.connection().connection.driver_connection


def copy_rows(raw, table: str, columns, rows) -> None:
    """COPY Python rows (psycopg adapts each value)."""
    cols = columns if isinstance(columns, str) else ", ".join(columns)
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)


def copy_lines(raw, table: str, columns: str, lines) -> None:
    """COPY text rows (already tab-separated, newline-terminated) in 8 MB chunks."""
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            buf = io.StringIO()
            for line in lines:
                buf.write(line)
                if buf.tell() > 8_000_000:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())


# ---- SQL capture and replay ------------------------------------------------------------------------------------

class Capture:
    """Collects the SELECTs SQLAlchemy sends while `on` (to replay them through bare psycopg)."""

    def __init__(self, engine):
        self.on = False
        self.statements: list[tuple[str, object]] = []
        sa.event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


def replay(conn, statements) -> None:
    """Run captured (statement, parameters) pairs on a psycopg connection, fetching every row."""
    with conn.cursor() as cur:
        for statement, params in statements:
            cur.execute(statement, params)
            cur.fetchall()


class Counter:
    """Statements per request, and the SELECTs (and WITH … SELECTs) of the last request, to replay through
    psycopg."""

    def __init__(self, engine):
        self.count, self.selects = 0, []
        sa.event.listen(engine, "before_cursor_execute", self._hook)

    def reset(self):
        self.count, self.selects = 0, []

    def _hook(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.selects.append((statement, parameters))


# ---- the page benchmarks: one dataset, one timer -----------------------------------------------------------------

def load_dataset(app, n: int, rng, echo=print, then=None) -> dict:
    """Empty and migrate the database, fill it with bench_lists.py's loader (n households), let `then(data)` add
    what a benchmark needs besides, then ANALYZE every table (`demo.analyze`) and print the time it all took.
    Returns the loader's data (users, ID numbers). Inside an app context."""
    from benchmarks.bench_lists import load
    from housingcredit.demo import analyze
    from housingcredit.extensions import db
    reset_schema(db, quiet=True)
    echo(f"loading {n} households (COPY)…")
    started = time.perf_counter()
    data = load(app, n, rng, echo)
    if then is not None:
        then(data)
    analyze()
    echo(f"load + ANALYZE: {time.perf_counter() - started:.1f} s")
    return data


def first_row(sql: str, **params):
    """The first row of a bare SQL query through the app's session (then rolled back), for picking cursors."""
    from housingcredit.extensions import db
    row = db.session.execute(sa.text(sql), params).first()
    db.session.rollback()
    return row


def time_pages(url: str, pages, engine, columns=("page",), runs: int = 5, echo=print, profile: int = 0) -> None:
    """Time each page and print a Markdown table: `pages` holds (cells, path, get) — the leading cells of the row
    (as many as `columns`), the path, and the function that requests it (returning a response). Each page: one
    warm-up, then `runs` requests — median wall time and process CPU time, the statements per request — and
    the SELECTs of the last request replayed `runs` times through bare psycopg (median wall time) in the same
    run. A page that does not answer 200 gets its status instead. With `profile` N, one more request of each page
    runs under cProfile and its N costliest functions (own time) are printed after its row."""
    counter = Counter(engine)
    echo("| " + " | ".join([*columns, "median", "CPU", "statements", "bare SQL (same SELECTs)"]) + " |")
    echo("|" + "---|" * (len(columns) + 4))
    with psycopg.connect(plain_url(url)) as conn:
        for cells, path, get in pages:
            lead = " | ".join(cells)
            resp = get(path)  # warm-up
            if resp.status_code != 200:
                echo(f"| {lead} | status {resp.status_code} | | | |")
                continue
            samples, cpu, counts = [], [], []
            for _ in range(runs):
                counter.reset()
                c, t = time.process_time(), time.perf_counter()
                get(path)
                samples.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                counts.append(counter.count)
            selects = list(counter.selects)
            bare = []
            for _ in range(runs):
                t = time.perf_counter()
                replay(conn, selects)
                bare.append(time.perf_counter() - t)
            conn.rollback()
            echo(f"| {lead} | {median_ms(samples):.1f} ms | {median_ms(cpu):.1f} ms | {max(counts)} | "
                 f"{median_ms(bare):.1f} ms ({len(selects)}) |")
            if profile:
                import cProfile
                import pstats
                profiler = cProfile.Profile()
                profiler.runcall(get, path)
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(profile)
                stats.sort_stats("cumulative").print_stats(profile)
                echo(out.getvalue())
