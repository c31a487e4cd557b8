"""Benchmark: the public lists (joint-punishment list, watch list) at a million households, HTML and JSON.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_public .venv/bin/python benchmarks/bench_public.py
    … --households 200000      (fewer households; the other volumes scale with it)
    … --skip-load              (reuse the loaded database)

The database is created when missing, emptied and migrated, then filled with COPY by bench_lists.py's loader (per
1,000,000 households: 100,000 moderate records with their watch entries, 100,000 mild records, 50,000 orders and
50,000 procedures opened over 3.5 years, most of them listed). Then ANALYZE. (The loading and the timing are
benchmarks/common.py's `load_dataset` and `time_pages`, shared with bench_pages.py.)

Times, without login (rate limit off), each page: the first page, a deep page (a cursor 90 % down the list), a
district, a masked-name search, and a search that matches nothing (the worst case: every candidate looked at) —
median of 5 after a warm-up, in-process (Flask test client), with the process CPU time and the statements per
request, beside the same
SELECTs replayed through bare psycopg in the same run. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_lists import TODAY  # noqa: E402
from benchmarks.common import database_url, ensure_database, first_row, load_dataset, time_pages  # noqa: E402

RUNS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/bench_public")
    ensure_database(url)

    from housingcredit import create_app
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    app.extensions["clock"] = FixedClock(TODAY)
    n = args.households
    with app.app_context():
        if not args.skip_load:
            load_dataset(app, n, random.Random(args.seed))
        public = first_row("SELECT count(*) FROM procedures WHERE state IN ('publicity', 'listed')")[0]
        deep_p = first_row("SELECT id FROM procedures WHERE state IN ('publicity', 'listed') ORDER BY id DESC "
                           "OFFSET :o LIMIT 1", o=int(public * 0.9))[0]
        watched = first_row("SELECT count(*) FROM watch_entries WHERE end_date IS NULL AND until_date >= :t",
                            t=TODAY)[0]
        deep_w = first_row("SELECT start_date, id FROM watch_entries WHERE end_date IS NULL AND until_date >= :t "
                           "ORDER BY start_date DESC, id DESC OFFSET :o LIMIT 1", t=TODAY, o=int(watched * 0.9))
        watch_after = f"{deep_w[0].isoformat()}_{deep_w[1]}"
        pages = [
            ("punishment list, page 1", "/public/lists/punishment"),
            ("— JSON", "/api/v1/public/lists/punishment"),
            ("punishment list, deep (90 %)", f"/public/lists/punishment?after={deep_p}"),
            ("punishment list, district 江汉区", "/public/lists/punishment?district=420103"),
            ("punishment list, name 张*丰", f"/public/lists/punishment?q={quote('张*丰')}"),
            ("punishment list, name 李* (no match)", f"/api/v1/public/lists/punishment?q={quote('李*')}"),
            ("watch list, page 1", "/public/lists/watch"),
            ("— JSON", "/api/v1/public/lists/watch"),
            ("watch list, deep (90 %)", f"/api/v1/public/lists/watch?after={watch_after}"),
            ("watch list, district 江汉区", "/api/v1/public/lists/watch?district=420103"),
            ("watch list, name 李* (no match)", f"/api/v1/public/lists/watch?q={quote('李*')}"),
        ]
        client = app.test_client()
        print(f"\n{n} households · {public} procedures in publicity or listed · {watched} watch entries open\n")
        time_pages(url, [((label,), path, client.get) for label, path in pages], db.engine, runs=RUNS)


if __name__ == "__main__":
    main()
