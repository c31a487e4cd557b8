"""Benchmark: a two-page credit report through the app against WeasyPrint alone on the same finished HTML, and a
batch of N reports through `reports.batch`.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_reports .venv/bin/python benchmarks/bench_reports.py \
        --repeat 30 --batch 200

The database is emptied (schema `public` dropped) and migrated. One Wuhan household gets six confirmed records
(through the records service: four-eyes, evidence, notices), so its report runs to two A4 pages (checked with
pdfinfo). Then, in one run:
  - app: median of `issue_credit_report` — the household's score, lists and measures read, a document number
    taken, the HTML rendered, the PDF rendered (one render_pdf, static-only fetcher, CJK font), stored with its
    hash, audited, committed;
  - bare WeasyPrint: median of `HTML(string=…).write_pdf(stylesheets=[pdf.css])` on the report's finished HTML
    (the same template output), the stylesheet parsed once, WeasyPrint's default URL fetcher;
  - batch: N households (one confirmed record each) in a CSV of ID numbers through `batch.create_batch` +
    `batch.run` as the system actor (each report committed with its item, then the zip); the rate per minute and
    the time 1,000 would take at that rate. The machine's load average is printed beside it.
Targets (issue 16): report < 400 ms median and ≤ 1.3× bare WeasyPrint; 1,000 reports < 10 min on 2 cores.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import database_url, ensure_database, median_ms, p95_ms, reset_schema  # noqa: E402

TODAY = date(2026, 6, 15)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CODES = ["HB01", "HB02", "HB03", "HB04", "HB05", "HB06"]


def _id_numbers(region: str, n: int) -> list[str]:
    from stdnum.cn import ric
    out, seq, day = [], 0, 0
    while len(out) < n:
        birth = date(1970 + day % 30, 1 + day % 12, 1 + day % 28)
        body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        seq += 1
        if seq % 1000 == 0:
            day += 1
        try:
            ric.validate(number)
            out.append(number)
        except Exception:  # noqa: BLE001
            day += 1
    return out


def _household(number: str, name: str, actor):
    from housingcredit.archives import service as archives
    return archives.create_household({
        "region_code": "420102", "address": "江岸区测试路1号", "protection_category": "physical",
        "protection_group": "低保", "members": [{"name": name, "id_number": number, "relation": "head"}]}, actor)


def _confirm(db, household, code, caseworker, reviewer):
    from housingcredit.records import service as records
    r = records.create_record(household.id, {
        "code": code, "occurred_date": TODAY.isoformat(), "formed_date": TODAY.isoformat(), "source": "management",
        "facts": f"{code} 基准测试事实"}, [("evidence.pdf", PDF)], caseworker)
    db.session.commit()
    records.determine(r.id, "confirmed", "HB 四", reviewer)
    db.session.commit()


def _pages(data: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/bench_reports")
    ensure_database(url)

    from flask import render_template
    from flask_babel import force_locale
    from weasyprint import CSS, HTML

    from housingcredit import create_app
    from housingcredit.accounts import service as accounts
    from housingcredit.accounts.gate import SYSTEM
    from housingcredit.accounts.models import Role
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db
    from housingcredit.reports import batch, pdf, service
    from housingcredit.reports.models import Document

    instance = tempfile.mkdtemp(prefix="bench-reports-")
    os.environ["HOUSINGCREDIT_INSTANCE"] = instance
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                      "EVIDENCE_DIR": str(Path(instance) / "evidence")})
    app.instance_path = instance
    clock = FixedClock(TODAY)
    app.extensions["clock"] = clock
    with app.app_context():
        reset_schema(db, quiet=True)
        caseworker = accounts.create_staff("bench-cw", "bench", Role.caseworker, "420100", "bench-pass-123",
                                           actor=(None, "bench"))
        reviewer = accounts.create_staff("bench-rv", "bench", Role.reviewer, "420100", "bench-pass-123",
                                         actor=(None, "bench"))
        supervisor = accounts.create_staff("bench-sv", "bench", Role.supervisor, "420000", "bench-pass-123",
                                           actor=(None, "bench"))
        db.session.commit()
        numbers = _id_numbers("420102", args.batch + 1)
        h = _household(numbers[0], "张三丰", supervisor)
        db.session.commit()
        for code in CODES:
            _confirm(db, h, code, caseworker, reviewer)

        # ---- one two-page report: the app end to end vs WeasyPrint alone on the same HTML ----
        doc = service.issue_credit_report(h.id, caseworker)
        db.session.commit()
        print(f"report: {_pages(doc.pdf)} pages, {len(doc.pdf) / 1024:.0f} KiB")
        with app.test_request_context("/"), force_locale("zh_Hans_CN"):
            html = render_template("reports/credit_report.html", c=doc.content,
                                   qr=service._qr_data_uri("http://localhost/verify/X"),
                                   verify_url="http://localhost/verify/X")
        css = CSS(filename=str(pdf.STYLESHEET))
        ours, bare, ours_cpu, bare_cpu = [], [], [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            t, c = time.perf_counter(), time.process_time()
            service.issue_credit_report(h.id, caseworker)
            db.session.commit()
            ours.append(time.perf_counter() - t)
            ours_cpu.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            HTML(string=html, base_url=str(pdf.STATIC)).write_pdf(stylesheets=[css])
            bare.append(time.perf_counter() - t)
            bare_cpu.append(time.process_time() - c)
        print(f"issue_credit_report (app, end to end): median {median_ms(ours):.0f} ms, p95 {p95_ms(ours):.0f} ms "
              f"(CPU of this process: median {median_ms(ours_cpu):.0f} ms)")
        print(f"WeasyPrint alone, same HTML:          median {median_ms(bare):.0f} ms, p95 {p95_ms(bare):.0f} ms "
              f"(CPU: median {median_ms(bare_cpu):.0f} ms)")
        print(f"ratio app / WeasyPrint: {statistics.median(ours) / statistics.median(bare):.2f} wall, "
              f"{statistics.median(ours_cpu) / statistics.median(bare_cpu):.2f} CPU")

        # ---- a batch of N reports ----
        started = time.perf_counter()
        for i, number in enumerate(numbers[1:]):
            hh = _household(number, f"王{i}五", supervisor)
            db.session.commit()
            if i % 2 == 0:
                _confirm(db, hh, "HB06", caseworker, reviewer)
        print(f"batch data: {args.batch} households in {time.perf_counter() - started:.0f} s")
        before = db.session.scalar(db.select(db.func.count()).select_from(Document))
        load = os.getloadavg()
        started, cpu = time.perf_counter(), time.process_time()
        b = batch.create_batch("420100", batch.parse_csv("\n".join(numbers[1:])), SYSTEM)
        db.session.commit()
        result = batch.run(b.id, SYSTEM)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        issued = db.session.scalar(db.select(db.func.count()).select_from(Document)) - before
        rate = issued / took * 60
        print(f"batch: {issued} reports (done {result['done']}, failed {result['failed']}) + zip in {took:.1f} s "
              f"= {rate:.0f} reports/min; 1,000 at that rate: {1000 / rate:.1f} min (one process)")
        print(f"batch CPU of this process: {cpu:.1f} s = {cpu / max(issued, 1) * 1000:.0f} ms a report; "
              f"1,000 at that CPU cost: {cpu / max(issued, 1) * 1000 / 60:.1f} min (PostgreSQL's share not counted)")
        print(f"load average before the batch: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
