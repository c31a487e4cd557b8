"""Excel import of archives (issue 18; SPEC §2 archives, §1 region scope, §11 masking): every row checked by the
archive's own validation, a preview before anything is written, batches with progress, a report — and hostile
files refused with a clear message, never a 500 and never a partial import."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.archives.models import Household, Member
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.imports.models import ImportBatch, ImportStatus
from tests.conftest import login
from tests.factories import id_number, make_household, make_user

from .helpers import HEADERS, read_xlsx, row, xlsx


@pytest.fixture(autouse=True)
def _inline(app):
    app.config["IMPORT_BACKGROUND"] = False  # the write runs in the confirming request: no thread, no waiting


@pytest.fixture
def caseworker(client):
    user = make_user("caseworker", "420100")
    login(client, user)
    return user


def _token(client) -> str:
    page = client.get("/imports").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _upload(client, data: bytes, name="households.xlsx"):
    return client.post("/imports", data={"csrf_token": _token(client), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _counts():
    return (db.session.scalar(sa.select(sa.func.count(Household.id))),
            db.session.scalar(sa.select(sa.func.count(Member.id))))


def _batch() -> ImportBatch:
    return db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id.desc())).first()


def test_issue18_import_template_has_chinese_headers_and_a_valid_example(client, caseworker):
    resp = client.get("/imports/template.xlsx")
    assert resp.status_code == 200
    sheets = read_xlsx(resp.data)
    rows = sheets["家庭成员"]
    assert rows[0] == HEADERS and "公民身份号码" in rows[0]
    assert len(rows) == 3 and rows[1][0] == rows[2][0] == "1"
    # the template's own example passes the check
    assert _upload(client, resp.data).status_code == 302
    assert _batch().households_good == 1 and _batch().rows_good == 2


def test_issue18_import_checks_every_row_and_writes_nothing_before_confirm(client, caseworker):
    good_head, good_child, bad = id_number("420102"), id_number("420102"), id_number("420102")
    wrong = bad[:-1] + ("0" if bad[-1] != "0" else "1")  # a wrong check digit
    other_head = id_number("420102")
    data = xlsx([row("1", "王建国", good_head), row("1", "王小明", good_child, "子女", household=False),
                 row("2", "李四", wrong),
                 row("3", "赵五", other_head, 区划代码="420502"),  # Yichang: outside a Wuhan caseworker's region
                 row("4", "钱六", id_number("420102"), 保障类别="廉租房"),
                 row("5", "孙七", good_head, "户主")])  # the same person as row 2
    before = _counts()
    resp = _upload(client, data)
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert _counts() == before  # nothing written yet
    batch = _batch()
    assert batch.status == ImportStatus.checked and batch.rows_total == 6 and batch.households_good == 1
    assert "公民身份号码" in page
    rows = {r["row"]: r for r in batch.rows}
    assert rows[2]["ok"] and rows[3]["ok"]
    assert [e["column"] for e in rows[4]["errors"]] == ["公民身份号码"]
    assert rows[5]["errors"][0]["column"] == "区划代码" and "辖区" in rows[5]["errors"][0]["message"]
    assert rows[6]["errors"][0]["column"] == "保障类别" and "公租房实物配租" in rows[6]["errors"][0]["message"]
    assert "第2行" in rows[7]["errors"][0]["message"] or "2" in rows[7]["errors"][0]["message"]
    # the preview masks identity (SPEC §11) and never shows a raw field key
    assert good_head not in page and "id_number" not in page and "protection_category" not in page


def test_issue18_import_confirm_writes_the_good_households_with_audit_and_report(client, caseworker):
    head, spouse = id_number("420102"), id_number("420102")
    data = xlsx([row("1", "王建国", head), row("1", "李秀英", spouse, "配偶", household=False),
                 row("2", "坏行", "123")])
    _upload(client, data)
    batch = _batch()
    resp = client.post(f"/imports/{batch.id}/confirm", data={"csrf_token": _token(client)})
    assert resp.status_code == 302
    db.session.expire_all()
    h = db.session.scalars(sa.select(Household)).one()
    assert h.region_code == "420102" and h.head.name == "王建国" and len(h.members) == 2
    assert h.priority_flags == ["残疾人"] and str(h.income_yuan) == "36000.00"
    batch = _batch()
    assert batch.status == ImportStatus.done and batch.households_done == 1 and batch.payload is None
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("household.create") == 1 and "import.confirm" in actions and "import.finish" in actions
    progress = client.get(f"/imports/{batch.id}/progress").get_json()
    assert progress["status"] == "done" and progress["percent"] == 100
    report = read_xlsx(client.get(f"/imports/{batch.id}/report.xlsx").data)["逐行结果"]
    assert report[0][:5] == ("行号", "户序号", "姓名", "公民身份号码", "结果")
    assert [r[4] for r in report[1:]] == ["已导入", "已导入", "未导入"]
    assert head not in str(report) and "王*国" in str(report)  # masked in the export (SPEC §11)
    # a second confirm is refused and writes nothing more
    assert client.post(f"/imports/{batch.id}/confirm", data={"csrf_token": _token(client)}).status_code == 409
    assert _counts() == (1, 2)


def test_issue18_import_duplicates_in_the_database_and_in_another_household(client, caseworker):
    existing = make_household("420102", head_name="周九", members=1)
    yichang = make_household("420502", head_name="吴十")
    data = xlsx([row("1", "周九", existing.head.id_number),
                 row("2", "某人", yichang.head.id_number),
                 row("3", "新人", id_number("420102"))])
    _upload(client, data)
    rows = {r["row"]: r for r in _batch().rows}
    assert existing.archive_no in rows[2]["errors"][0]["message"]
    assert "其他家庭" in rows[3]["errors"][0]["message"] and yichang.archive_no not in str(rows[3])
    assert rows[4]["ok"]


def test_issue18_import_household_goes_in_whole_or_not_at_all(client, caseworker):
    data = xlsx([row("1", "王建国", id_number("420102")), row("1", "", id_number("420102"), "子女", household=False)])
    _upload(client, data)
    rows = _batch().rows
    assert not rows[0]["ok"] and "同户" in rows[0]["errors"][0]["message"]
    assert rows[1]["errors"][0]["message"] == "请填写姓名。"
    assert _batch().households_good == 0


def test_issue18_import_birth_date_column_must_match_the_id_number(client, caseworker):
    number = id_number("420102", birth=date(1990, 3, 7))
    born = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    data = xlsx([row("1", "甲", number, 出生日期=born),
                 row("2", "乙", id_number("420102"), 出生日期="1970-01-01"),
                 row("3", "丙", id_number("420102"), 出生日期="昨天")])
    _upload(client, data)
    rows = _batch().rows
    assert rows[0]["ok"]
    assert rows[1]["errors"][0]["column"] == "出生日期" and "不一致" in rows[1]["errors"][0]["message"]
    assert rows[2]["errors"][0]["column"] == "出生日期"


def test_issue18_import_formula_cells_are_row_errors_never_evaluated(client, caseworker):
    data = xlsx([row("1", "=HYPERLINK(\"http://evil\",\"x\")", id_number("420102")),
                 row("2", "乙", id_number("420102"), **{"家庭年收入（元）": "=1+1"})])
    _upload(client, data)
    rows = _batch().rows
    assert rows[0]["errors"][0]["column"] == "姓名" and "公式" in rows[0]["errors"][0]["message"]
    assert rows[1]["errors"][0]["column"] == "家庭年收入（元）"
    assert _batch().households_good == 0


def test_issue18_import_id_number_typed_as_a_number_is_refused(client, caseworker):
    data = xlsx([row("1", "甲", int(id_number("420102")[:15]))])
    _upload(client, data)
    assert "文本" in _batch().rows[0]["errors"][0]["message"]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["empty", "not_zip", "broken_zip", "zip_without_workbook", "wrong_columns",
                                  "no_rows", "too_many_rows", "zip_bomb", "huge_shared_strings", "garbage_xml"])
def test_issue18_import_hostile_files_get_a_clear_message_and_write_nothing(app, client, caseworker, kind):
    app.config["IMPORT_MAX_ROWS"] = 100
    good = xlsx([row("1", "甲", id_number("420102"))])
    if kind == "empty":
        data = b""
    elif kind == "not_zip":
        data = "户序号,姓名\n1,张三\n".encode()
    elif kind == "broken_zip":
        data = good[: len(good) // 2]
    elif kind == "zip_without_workbook":
        data = _zip({"hello.txt": b"hi"})
    elif kind == "wrong_columns":
        data = xlsx([["1", "甲"]], headers=("编号", "名字"))
    elif kind == "no_rows":
        data = xlsx([])
    elif kind == "too_many_rows":
        data = xlsx([row(str(i), "甲", id_number("420102")) for i in range(101)])
    elif kind == "zip_bomb":
        z = zipfile.ZipFile(io.BytesIO(good))
        members = {n: z.read(n) for n in z.namelist()}
        members["xl/worksheets/sheet1.xml"] = b"<a>" + b" " * 300_000_000 + b"</a>"
        data = _zip(members)
    elif kind == "huge_shared_strings":
        app.config["IMPORT_MAX_SHARED_STRINGS_BYTES"] = 1_000_000
        z = zipfile.ZipFile(io.BytesIO(good))
        members = {n: z.read(n) for n in z.namelist()}
        members["xl/sharedStrings.xml"] = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                          + b"<si><t>x</t></si>" * 100_000 + b"</sst>")
        data = _zip(members)
    else:
        z = zipfile.ZipFile(io.BytesIO(good))
        members = {n: z.read(n) for n in z.namelist()}
        members["xl/workbook.xml"] = b"<not really xml"
        data = _zip(members)
    resp = _upload(client, data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    message = re.search(r'id="file-error">([^<]+)<', page).group(1)
    assert message and "Traceback" not in page
    if kind == "wrong_columns":
        assert "缺少列" in message and "公民身份号码" in message and "模板" in message
    if kind == "too_many_rows":
        assert "100" in message
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    assert _counts() == (0, 0)


def test_issue18_import_region_gate_and_roles(client, make_user):
    reviewer = make_user("reviewer", "420100")
    login(client, reviewer)
    assert client.get("/imports").status_code == 403
    assert client.get("/imports/template.xlsx").status_code == 403


def test_issue18_import_of_another_user_is_not_found(client, caseworker):
    _upload(client, xlsx([row("1", "甲", id_number("420102"))]))
    batch = _batch()
    other = make_user("caseworker", "420100")
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, other)
    assert client.get(f"/imports/{batch.id}").status_code == 404
    assert client.get(f"/imports/{batch.id}/progress").status_code == 404


def test_issue18_import_cancel_drops_the_payload(client, caseworker):
    _upload(client, xlsx([row("1", "甲", id_number("420102"))]))
    batch = _batch()
    assert client.post(f"/imports/{batch.id}/cancel", data={"csrf_token": _token(client)}).status_code == 302
    db.session.expire_all()
    assert _batch().status == ImportStatus.cancelled and _batch().payload is None
    assert client.post(f"/imports/{batch.id}/confirm", data={"csrf_token": _token(client)}).status_code == 409
    assert _counts() == (0, 0)


def test_issue18_import_in_batches_refuses_a_household_taken_meanwhile(app, client, caseworker):
    app.config["IMPORT_BATCH"] = 2
    numbers = [id_number("420102") for _ in range(5)]
    _upload(client, xlsx([row(str(i), f"人{i}", n) for i, n in enumerate(numbers)]))
    batch = _batch()
    # someone enters the fourth person in an archive between the check and the confirm
    from housingcredit.archives import service as archives
    archives.create_household({"region_code": "420102", "address": "x", "protection_category": "physical",
                               "members": [{"name": "抢先", "id_number": numbers[3], "relation": "head"}]},
                              make_user("supervisor", "420000"))
    db.session.commit()
    client.post(f"/imports/{batch.id}/confirm", data={"csrf_token": _token(client)})
    db.session.expire_all()
    batch = _batch()
    assert batch.status == ImportStatus.done and batch.households_done == 5 and batch.households_failed == 1
    assert _counts() == (5, 5)
    assert not batch.rows[3]["ok"] and batch.rows[3]["errors"][0]["column"] == "公民身份号码"
    assert [r["ok"] for r in batch.rows] == [True, True, True, False, True]


def test_issue18_import_audit_entry_is_the_same_picture_as_a_single_create(client, caseworker):
    from housingcredit.archives import service as archives
    _upload(client, xlsx([row("1", "王建国", id_number("420102")),
                          row("1", "李秀英", id_number("420102"), "配偶", household=False)]))
    client.post(f"/imports/{_batch().id}/confirm", data={"csrf_token": _token(client)})
    db.session.expire_all()
    h = db.session.scalars(sa.select(Household)).one()
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "household.create")).one()
    assert entry.household_id == h.id and entry.region_code == "420102" and entry.actor_id == caseworker.id
    assert entry.after == archives._snapshot(h)
    assert h.archive_no == archives.archive_number("420102", h.id) and h.version == 1


def test_issue18_import_duplicates_found_across_query_chunks(client, caseworker, monkeypatch):
    """The database is asked about the file's ID numbers a chunk at a time (never one query per row): a number
    already in an archive is found whichever chunk it falls in, a household with such a member stays out whole,
    and the same number twice in the file is found however far apart the rows are."""
    from housingcredit.archives import service as archives
    monkeypatch.setattr(archives, "ID_CHUNK", {"sqlite": 2, "postgresql": 2})
    existing = [make_household("420102", head_name=f"旧{i}") for i in range(3)]
    taken = [h.head.id_number for h in existing]
    new = [id_number("420102") for _ in range(6)]
    data = xlsx([row("1", "甲", new[0]),
                 row("2", "乙", taken[0]),                                   # chunk 1 (of the numbers sent)
                 row("3", "丙", new[1]), row("3", "丙妻", new[2], "配偶", household=False),
                 row("4", "丁", new[3]), row("4", "丁子", taken[1], "子女", household=False),  # a later chunk
                 row("5", "戊", new[4]),
                 row("6", "己", taken[2]),                                   # the last chunk
                 row("7", "庚", new[5]),
                 row("8", "辛", new[0])])                                   # the same as row 2, eight rows on
    _upload(client, data)
    batch = _batch()
    rows = {r["row"]: r for r in batch.rows}
    assert existing[0].archive_no in rows[3]["errors"][0]["message"]
    assert existing[1].archive_no in rows[7]["errors"][0]["message"] and not rows[6]["ok"]
    assert "同户" in rows[6]["errors"][0]["message"]
    assert existing[2].archive_no in rows[9]["errors"][0]["message"]
    assert "2" in rows[11]["errors"][0]["message"] and rows[11]["errors"][0]["column"] == "公民身份号码"
    assert [n for n, r in sorted(rows.items()) if r["ok"]] == [2, 4, 5, 8, 10]
    assert batch.households_good == 4
    client.post(f"/imports/{batch.id}/confirm", data={"csrf_token": _token(client)})
    db.session.expire_all()
    assert _batch().status == ImportStatus.done and _batch().households_failed == 0
    assert _counts() == (3 + 4, 3 + 5)
