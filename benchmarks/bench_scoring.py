"""Benchmark: `flask credit rebuild` against the bare SQL lower bound, and one household's credit through the API.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scoring .venv/bin/python benchmarks/bench_scoring.py \
        --households 1000000

The database is emptied (schema `public` dropped), migrated, and filled with COPY: N households and 3 records
each, every record determined (90 % confirmed) on a date in the last four years, 5 % of them later revoked and
3 % repaired. Then, in one run:
  - bare SQL: one aggregate query computing every household's score (100 − Σ deduct over counting records, the
    catalogue's deductions and use periods as a VALUES table) and tier, written into credit_states with one
    INSERT … ON CONFLICT — the whole rebuild done inside PostgreSQL; also the SELECT alone, for reference;
  - rebuild_all: facts streamed with a server-side cursor, each household computed by the pure engine, COPY into
    a temporary table, one INSERT … ON CONFLICT. Both start from an empty credit_states; their results are
    compared row by row;
  - credit with explanation for one household: median of 200 GET /api/v1/households/{id}/credit in-process
    (Flask test client, bearer token; each call also writes its audit entry and commits).
Targets (issue 3): rebuild < 120 s and ≤ 3× bare SQL; credit < 10 ms median. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from benchmarks.common import (copy_lines, database_url, ensure_database, median_ms, move_sequences,  # noqa: E402
                               p95_ms, raw_connection, reset_schema)

TODAY = date(2026, 6, 15)
REGIONS = ["420102", "420103", "420104", "420105", "420106", "420502", "420503", "420602", "420106", "420111"]


def generate(db, n: int, seed: int, echo=print) -> None:
    from housingcredit.accounts import service as accounts
    from housingcredit.accounts.models import Role
    from housingcredit.rules.loader import default_rules
    rnd = random.Random(seed)
    started = time.perf_counter()
    caseworker = accounts.create_staff("bench-caseworker", "bench", Role.caseworker, "420000", "bench-pass-123",
                                       actor=(None, "bench"))
    reviewer = accounts.create_staff("bench-reviewer", "bench", Role.reviewer, "420000", "bench-pass-123",
                                     actor=(None, "bench"))
    db.session.commit()
    caseworker_id, reviewer_id = caseworker.id, reviewer.id  # read now: no lazy load while COPY holds the line
    raw = raw_connection(db)
    codes = [b.code for b in default_rules().version_at(TODAY).catalogue_for(None)]
    ts = "2026-06-15 01:00:00+00"
    copy_lines(raw, "households",
               "id, archive_no, region_code, address, hukou, marital_status, housing_status, protection_category, "
               "protection_mode, protection_group, priority_flags, created_dt, updated_dt, version",
               (f"{i}\t{REGIONS[i % 10]}-{i:08d}\t{REGIONS[i % 10]}\t测试路{i}号\t\t\t\tphysical\t\t\t[]\t"
                f"{ts}\t{ts}\t1\n" for i in range(1, n + 1)))
    echo(f"  households copied ({time.perf_counter() - started:.1f} s)")
    span = 4 * 365
    dates = [TODAY - timedelta(days=d) for d in range(span + 1)]
    det_dates = []

    def records():
        rid = 0
        for h in range(1, n + 1):
            region = REGIONS[h % 10]
            for k in range(3):
                rid += 1
                d = dates[rnd.randrange(span)]
                det_dates.append(d)
                occurred = d - timedelta(days=20)
                yield (f"{rid}\t{h}\t{region}\t{codes[rnd.randrange(len(codes))]}\t{occurred}\t{occurred}\t"
                       f"management\t事实\tf\t{caseworker_id}\t{ts}\n")

    copy_lines(raw, "records", "id, household_id, region_code, code, occurred_date, formed_date, source, facts, "
               "late, recorded_by_id, recorded_dt", records())
    echo(f"  records copied ({time.perf_counter() - started:.1f} s)")
    total = 3 * n
    decisions = ["confirmed"] * 9 + ["rejected"]
    copy_lines(raw, "determinations",
               "id, record_id, decision, legal_basis, determination_date, reviewer_id, decided_dt",
               (f"{i}\t{i}\t{decisions[rnd.randrange(10)]}\tHB 四\t{det_dates[i - 1]}\t{reviewer_id}\t{ts}\n"
                for i in range(1, total + 1)))
    echo(f"  determinations copied ({time.perf_counter() - started:.1f} s)")

    def later(i):
        return det_dates[i - 1] + timedelta(days=rnd.randrange(1, 400))

    revoked = sorted(rnd.sample(range(1, total + 1), total * 5 // 100))
    copy_lines(raw, "revocations", "id, record_id, revoked_date, reason, note, by_id, dt",
               (f"{j}\t{i}\t{later(i)}\terror\t\t{caseworker_id}\t{ts}\n" for j, i in enumerate(revoked, 1)))
    revoked_set = set(revoked)
    repaired = [i for i in rnd.sample(range(1, total + 1), total * 3 // 100) if i not in revoked_set]
    copy_lines(raw, "record_repairs", "id, record_id, repaired_date, note, by_id, dt",
               (f"{j}\t{i}\t{later(i)}\t\t{caseworker_id}\t{ts}\n" for j, i in enumerate(sorted(repaired), 1)))
    move_sequences(db, ("households", "records", "determinations", "revocations", "record_repairs"),
                   empty_value="NULL")
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    echo(f"generated {n} households, {total} records in {time.perf_counter() - started:.1f} s")


def bare_sql(rules) -> tuple[str, str]:
    """The aggregate query (scores) and the same as a one-statement rebuild of credit_states (scores + tiers)."""
    version = rules.version_at(TODAY)
    cat = ", ".join(f"('{b.code}', {b.deduct}, {b.use_months})" for b in version.catalogue_for(None))
    base = version.base_score
    today = TODAY.isoformat()
    scores = f"""
        WITH cat(code, deduct, months) AS (VALUES {cat}),
        counting AS (
          SELECT r.household_id, c.deduct
          FROM records r
          JOIN determinations d ON d.record_id = r.id AND d.decision = 'confirmed'
          JOIN cat c ON c.code = r.code
          LEFT JOIN revocations v ON v.record_id = r.id
          LEFT JOIN record_repairs p ON p.record_id = r.id
          WHERE d.determination_date <= DATE '{today}'
            AND DATE '{today}' <= CAST(d.determination_date + make_interval(months => c.months) AS date)
            AND (v.revoked_date IS NULL OR v.revoked_date > DATE '{today}')
            AND (p.repaired_date IS NULL OR p.repaired_date > DATE '{today}'))
        SELECT h.id AS household_id, h.region_code, GREATEST(0, {base} - COALESCE(SUM(c.deduct), 0)) AS score
        FROM households h LEFT JOIN counting c ON c.household_id = h.id GROUP BY h.id"""
    tiers = " ".join(f"WHEN s.score BETWEEN {t.score_min} AND {t.score_max} THEN '{t.name}'"
                     for t in version.tiers.values())
    upsert = f"""
        INSERT INTO credit_states (household_id, region_code, score, tier, computed_date, next_change_date,
                                   computed_dt)
        SELECT s.household_id, s.region_code, s.score, CASE {tiers} END, DATE '{today}', NULL, now()
        FROM ({scores}) s
        ON CONFLICT (household_id) DO UPDATE SET region_code = EXCLUDED.region_code, score = EXCLUDED.score,
          tier = EXCLUDED.tier,
          computed_date = EXCLUDED.computed_date, computed_dt = EXCLUDED.computed_dt"""
    return scores, upsert


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="reuse the data already in the database")
    args = parser.parse_args()
    url = database_url(message="set DATABASE_URL=postgresql://… (a database this benchmark may empty)")
    ensure_database(url)

    from housingcredit import create_app
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db
    from housingcredit.scoring import service

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "RATELIMIT_ENABLED": False})
    app.extensions["clock"] = FixedClock(TODAY)
    with app.app_context():
        if not args.keep:
            reset_schema(db)
            generate(db, args.households, args.seed)
        n = db.session.scalar(sa.text("SELECT count(*) FROM households"))
        records = db.session.scalar(sa.text("SELECT count(*) FROM records"))
        print(f"\n{n} households, {records} records; as of {TODAY}")
        scores_sql, upsert_sql = bare_sql(service.rules_book())

        def timed(label, fn):
            db.session.execute(sa.text("TRUNCATE credit_states"))
            db.session.commit()
            db.session.execute(sa.text("CHECKPOINT"))
            t = time.perf_counter()
            fn()
            db.session.commit()
            elapsed = time.perf_counter() - t
            print(f"{label:<44} {elapsed:8.2f} s")
            return elapsed

        t_select = timed("bare SQL: aggregate SELECT (scores)", lambda: db.session.execute(
            sa.text(f"SELECT count(*), sum(score) FROM ({scores_sql}) s")).one())
        t_sql = timed("bare SQL: aggregate INSERT … ON CONFLICT", lambda: db.session.execute(sa.text(upsert_sql)))
        db.session.execute(sa.text(f"CREATE TEMP TABLE bare AS {scores_sql}"))
        t_rebuild = timed("rebuild_all (engine, COPY, one upsert)", lambda: service.rebuild_all(echo=None))
        mismatches = db.session.scalar(sa.text(
            "SELECT count(*) FROM bare b LEFT JOIN credit_states c USING (household_id) "
            "WHERE c.score IS DISTINCT FROM b.score"))
        t_again = time.perf_counter()
        service.rebuild_all()
        t_again = time.perf_counter() - t_again
        print(f"{'rebuild_all again (cache already right)':<44} {t_again:8.2f} s")
        print(f"engine and bare SQL disagree on {mismatches} households")
        print(f"ratio rebuild / bare SQL rebuild: {t_rebuild / t_sql:.2f}x   "
              f"(/ aggregate SELECT alone: {t_rebuild / t_select:.2f}x)")

        # one household's credit with explanation, through the API in-process
        from housingcredit.accounts import service as accounts
        from housingcredit.accounts.models import Role, User
        sup = db.session.scalar(sa.select(User).where(User.username == "bench-supervisor"))
        if sup is None:
            sup = accounts.create_staff("bench-supervisor", "bench", Role.supervisor, "420000", "bench-pass-123",
                                        actor=(None, "bench"))
        token = accounts.create_token(sup, "bench")
        db.session.commit()
        hid = db.session.scalar(sa.text(
            "SELECT household_id FROM credit_states WHERE score < 100 ORDER BY household_id LIMIT 1"))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        url_credit = f"/api/v1/households/{hid}/credit"
        assert client.get(url_credit, headers=headers).status_code == 200
        samples = []
        for _ in range(args.calls):
            t = time.perf_counter()
            resp = client.get(url_credit, headers=headers)
            samples.append(time.perf_counter() - t)
            assert resp.status_code == 200
        body = resp.get_json()
        print(f"credit with explanation (household {hid}: score {body['score']}, {len(body['items'])} items): "
              f"median {median_ms(samples):.2f} ms, p95 {p95_ms(samples):.2f} ms over {args.calls} calls")
        print(f"\ntargets: rebuild < 120 s ({t_rebuild:.1f} s), <= 3x bare SQL ({t_rebuild / t_sql:.2f}x), "
              f"credit < 10 ms median ({median_ms(samples):.2f} ms)")


if __name__ == "__main__":
    main()
