"""Credit reports for an allocation round in one batch (SPEC §12, issue 16): `flask reports batch` and the batch page —
a progress bar, resumable (the rows remember what is done; a rerun continues), one zip at the end; region-gated
(a caseworker only their region, supervisors all); no raw ID number stored."""
from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile

import pytest
import sqlalchemy as sa

from housingcredit.accounts.gate import SYSTEM
from housingcredit.errors import Conflict
from housingcredit.extensions import db
from housingcredit.reports import batch
from housingcredit.reports.models import Document, ReportBatch, ReportBatchItem
from tests import factories
from tests.conftest import login
from tests.reports.test_documents import pdf_text

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")


@pytest.fixture
def round_(app):
    wuhan = [factories.make_household("420102", head_name=n) for n in ("王五", "赵六", "孙七")]
    yichang = factories.make_household("420502", head_name="周八")
    unknown = factories.id_number("420102")
    lines = ["身份证号码", wuhan[0].head.id_number, str(wuhan[1].id), wuhan[2].head.id_number,
             yichang.head.id_number, unknown, wuhan[0].head.id_number]  # a header, a repeat
    return wuhan, yichang, "\n".join(lines) + "\n"


def _zip(path_or_bytes):
    z = zipfile.ZipFile(path_or_bytes if not isinstance(path_or_bytes, bytes) else io.BytesIO(path_or_bytes))
    manifest = list(csv.reader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))
    return z, manifest


def test_issue16_cli_batch_issues_each_report_once_with_one_zip(app, round_, tmp_path):
    wuhan, yichang, text = round_
    (tmp_path / "ids.csv").write_text(text, encoding="utf-8")
    out = tmp_path / "round.zip"
    result = app.test_cli_runner().invoke(args=["reports", "batch", "--region", "420100", "--file",
                                                str(tmp_path / "ids.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "credit reports" in result.output and "done 3, failed 0, not found 1, outside the region 1" in result.output
    z, manifest = _zip(out)
    pdfs = [n for n in z.namelist() if n.endswith(".pdf")]
    assert len(pdfs) == 3
    assert [row[2] for row in manifest[1:]] == ["done", "done", "done", "out_of_region", "not_found"]
    for h in wuhan:  # never a raw ID number in the stored labels or the manifest
        assert h.head.id_number not in z.read("manifest.csv").decode("utf-8-sig")
    labels = db.session.scalars(sa.select(ReportBatchItem.label)).all()
    assert not any(re.fullmatch(r"\d{17}[\dX]", x) for x in labels)
    (tmp_path / "one.pdf").write_bytes(z.read(pdfs[0]))
    flat = re.sub(r"\s+", "", pdf_text(z.read(pdfs[0]), tmp_path))
    assert "王*" in flat and "保障家庭信用报告" in flat and "鄂武房信报〔2026〕第0001号" in flat
    assert f"{app.config['PUBLIC_BASE_URL']}/verify/" in flat  # outside a request: the configured public address
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)
                             .where(Document.kind == "credit_report")) == 3
    # done is done: a rerun issues nothing new
    b = db.session.scalar(sa.select(ReportBatch))
    again = app.test_cli_runner().invoke(args=["reports", "batch", "--resume", str(b.id)])
    assert again.exit_code == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 3


def test_issue16_a_stopped_batch_continues_where_it_stopped(app, clock, round_, tmp_path):
    _wuhan, _yichang, text = round_
    b = batch.create_batch("420100", batch.parse_csv(text), SYSTEM)
    db.session.commit()

    def stop(_item):
        raise KeyboardInterrupt  # Ctrl-C (or a restart) after the first report

    with pytest.raises(KeyboardInterrupt):
        batch.run(b.id, SYSTEM, on_item=stop)
    db.session.rollback()
    assert batch.progress(db.session.get(ReportBatch, b.id))["done"] == 1
    with pytest.raises(Conflict):  # its heartbeat is fresh: nobody else takes it over yet
        batch.run(b.id, SYSTEM)
    clock.advance(seconds=batch.STALE_SECONDS + 1)
    result = app.test_cli_runner().invoke(args=["reports", "batch", "--resume", str(b.id)])
    assert result.exit_code == 0, result.output
    assert "done 3" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 3  # no report twice
    z, _manifest = _zip(batch.zip_path(db.session.get(ReportBatch, b.id)))
    assert len([n for n in z.namelist() if n.endswith(".pdf")]) == 3


def test_issue16_batch_page_upload_progress_and_zip(app, client, round_):
    app.config["REPORT_BATCH_INLINE"] = True
    _wuhan, _yichang, text = round_
    login(client, factories.make_user("supervisor", "420000"))
    page = client.get("/report-batches")
    assert page.status_code == 200
    resp = client.post("/report-batches", data={"csrf_token": factories.csrf_token(client), "region_code": "420100",
                                                "file": (io.BytesIO(text.encode("utf-8")), "ids.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    b = db.session.scalar(sa.select(ReportBatch))
    progress = client.get(f"/report-batches/{b.id}/progress").get_json()
    assert (progress["total"], progress["done"], progress["percent"], progress["zip_ready"]) == (5, 3, 100, True)
    html = client.get(f"/report-batches/{b.id}").get_data(as_text=True)
    assert f"/report-batches/{b.id}.zip" in html and "/static/reports/batch.js" in html
    z = client.get(f"/report-batches/{b.id}.zip")
    assert z.status_code == 200 and z.mimetype == "application/zip"
    zf, _manifest = _zip(z.get_data())
    z.close()
    assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 3


def test_issue16_batches_are_region_gated(app, client, round_):
    app.config["REPORT_BATCH_INLINE"] = True
    _wuhan, _yichang, text = round_
    yichang_batch = batch.create_batch("420500", batch.parse_csv(text), factories.make_user("supervisor", "420000"))
    db.session.commit()
    login(client, factories.make_user("caseworker", "420100"))
    token = factories.csrf_token(client) if client.get("/report-batches").status_code == 200 else None
    resp = client.post("/report-batches", data={"csrf_token": token, "region_code": "420500",
                                                "file": (io.BytesIO(text.encode()), "ids.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 403  # a caseworker batches only in their region
    for url in (f"/report-batches/{yichang_batch.id}", f"/report-batches/{yichang_batch.id}/progress",
                f"/report-batches/{yichang_batch.id}.zip"):
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportBatch)) == 1
    household = app.test_client()
    login(household, factories.make_household_user(_wuhan[0]))
    assert household.get("/report-batches").status_code in (403, 404)


def test_issue16_a_bad_file_is_refused_and_nothing_is_written(app, client):
    login(client, factories.make_user("supervisor", "420000"))
    client.get("/report-batches")
    good = factories.id_number("420102")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    for text in ("身份证号码\nnot-a-number\n", f"{bad}\n", ""):
        resp = client.post("/report-batches", data={"csrf_token": factories.csrf_token(client),
                                                    "region_code": "420100",
                                                    "file": (io.BytesIO(text.encode()), "ids.csv")},
                           content_type="multipart/form-data")
        assert resp.status_code == 422, text
        assert bad not in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportBatch)) == 0


def test_issue16_cli_refuses_a_caseworker_outside_their_region(app, round_, tmp_path):
    _wuhan, _yichang, text = round_
    user = factories.make_user("caseworker", "420100")
    (tmp_path / "ids.csv").write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["reports", "batch", "--region", "420500", "--file",
                                                str(tmp_path / "ids.csv"), "--user", user.username])
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportBatch)) == 0
