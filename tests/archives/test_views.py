"""The archive pages (信用档案, HB 三; SPEC §2, §11): forms that work without JavaScript, errors that keep what was
typed, the change history, and who may see a full resident ID number."""
from __future__ import annotations

import re

import pytest

from housingcredit.accounts import service as accounts
from housingcredit.archives import service as archives
from housingcredit.disclosure.masking import mask_id_number
from housingcredit.extensions import db
from tests.conftest import login
from tests.factories import id_number, make_household, make_household_user, make_user


def _token(client, url="/households/new") -> str:
    page = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    return m.group(1)


def _form(token, members=(), **fields) -> dict:
    data = {"csrf_token": token, "region_code": "420102", "address": "江岸区幸福路8号3栋201",
            "hukou": "武汉市江岸区", "marital_status": "已婚", "housing_status": "本地无自有住房",
            "income_yuan": "36000", "assets_yuan": "", "protection_category": "physical",
            "protection_mode": "整套配租", "protection_group": "低收入", "priority_flags": ["残疾人"]}
    for i, (name, number, relation) in enumerate(members):
        data[f"members-{i}-name"] = name
        data[f"members-{i}-id_number"] = number
        data[f"members-{i}-relation"] = relation
    for i in range(len(members), 6):  # the blank rows a browser sends
        data.update({f"members-{i}-name": "", f"members-{i}-id_number": "", f"members-{i}-relation": ""})
    data.update(fields)
    return data


@pytest.fixture
def caseworker(client):
    user = make_user("caseworker", "420100")
    login(client, user)
    return user


def _create(client, head=("王建国", None), others=()) -> tuple[int, str]:
    head_id = head[1] or id_number("420102")
    members = [(head[0], head_id, "head"), *others]
    resp = client.post("/households/new", data=_form(_token(client), members))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    household_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    return household_id, head_id


# ---- create ------------------------------------------------------------------------------------------------

def test_hb_three_create_archive_through_the_form(client, caseworker):
    spouse = id_number("420102")
    household_id, head_id = _create(client, others=[("李秀英", spouse, "spouse")])
    page = client.get(f"/households/{household_id}").get_data(as_text=True)
    h = archives.require_household(household_id)
    assert h.archive_no in page and "已建立信用档案" in page  # the flash
    assert [m.name for m in h.members] == ["王建国", "李秀英"]  # the four blank rows were ignored
    assert h.protection_group == "低收入" and h.priority_flags == ["残疾人"] and str(h.income_yuan) == "36000.00"
    for text in ("王建国", "李秀英", "配偶", "江岸区幸福路8号3栋201", "低收入家庭", "残疾人", "公租房实物配租", "36,000.00"):
        assert text in page, text


def test_hb_three_new_form_offers_only_counties_in_the_users_region(client, caseworker):
    page = client.get("/households/new").get_data(as_text=True)
    assert 'value="420102"' in page and 'value="420111"' in page  # 江岸区, 洪山区 (Wuhan)
    assert 'value="420202"' not in page  # 黄石港区 belongs to Huangshi
    assert 'value="420100"' not in page  # only county-level regions
    assert page.count('name="members-') >= 6 * 3  # fixed rows: works without JavaScript


def test_hb_eight_create_outside_own_region_is_refused(client, caseworker):
    data = _form(_token(client), [("王建国", id_number("420202"), "head")], region_code="420202")
    assert client.post("/households/new", data=data).status_code == 403
    assert archives.search("", make_user("supervisor", "420000")) == []


# ---- 422: the form comes back with what was typed and the field's error ------------------------------------

def _assert_nothing_saved():
    assert archives.search("", make_user("supervisor", "420000")) == []


def test_hb_three_bad_id_checksum_returns_form_with_typed_values(client, caseworker):
    good = id_number("420102")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    resp = client.post("/households/new", data=_form(_token(client), [("王建国", good, "head"),
                                                                      ("王小明", bad, "child")]))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "居民身份证号码无效" in page
    assert f'value="{bad}"' in page and 'value="王小明"' in page and 'value="江岸区幸福路8号3栋201"' in page
    # the error sits on the second member row, not the head's
    row = re.search(r'<tr class="has-error">.*?</tr>', page, re.S).group(0)
    assert "王小明" in row and good not in row
    _assert_nothing_saved()


def test_hb_three_unknown_region_returns_422_with_message(client, caseworker):
    resp = client.post("/households/new", data=_form(_token(client), [("王建国", id_number("420102"), "head")],
                                                     region_code="429999"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "行政区划代码不存在" in page and 'value="王建国"' in page
    _assert_nothing_saved()


def test_hb_three_oversized_field_returns_422_translated(client, caseworker):
    long_address = "幸" * 201
    resp = client.post("/households/new", data=_form(_token(client), [("王建国", id_number("420102"), "head")],
                                                     address=long_address))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "长度须在 1 至 200 之间" in page and long_address in page
    _assert_nothing_saved()


def test_hb_three_malformed_number_returns_422_and_keeps_it(client, caseworker):
    resp = client.post("/households/new", data=_form(_token(client), [("王建国", id_number("420102"), "head")],
                                                     income_yuan="3万6"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "不是有效的数字" in page and 'value="3万6"' in page
    _assert_nothing_saved()


def test_hb_three_member_without_relation_or_head_is_named(client, caseworker):
    resp = client.post("/households/new", data=_form(_token(client), [("王建国", id_number("420102"), "spouse"),
                                                                      ("王小明", id_number("420102"), "")]))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "此项为必填项" in page  # the missing relation on row 2
    resp = client.post("/households/new", data=_form(_token(client), [("王建国", id_number("420102"), "spouse")]))
    assert resp.status_code == 422 and "有且只有一名户主" in resp.get_data(as_text=True)


def test_hb_three_form_with_no_member_asks_for_the_head(client, caseworker):
    resp = client.post("/households/new", data=_form(_token(client), []))
    assert resp.status_code == 422
    assert '<div class="field-error" role="alert">请至少在第一行填写户主信息。</div>' in resp.get_data(as_text=True)
    _assert_nothing_saved()


# ---- edit and history --------------------------------------------------------------------------------------

def test_hb_three_edit_through_the_form_shows_history_before_after(client, caseworker):
    household_id, head_id = _create(client)
    edit_page = client.get(f"/households/{household_id}/edit").get_data(as_text=True)
    assert 'value="江岸区幸福路8号3栋201"' in edit_page and f'value="{head_id}"' in edit_page
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit_page).group(1)
    head_member_id = re.search(r'name="members-0-id" type="hidden" value="(\d+)"', edit_page).group(1)
    child = id_number("420102")
    data = _form(_token(client, f"/households/{household_id}/edit"),
                 [("王建国", head_id, "head"), ("王小明", child, "child")],
                 address="江岸区幸福路9号", protection_group="低保", version=version)
    data["members-0-id"] = head_member_id
    resp = client.post(f"/households/{household_id}/edit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(f"/households/{household_id}").get_data(as_text=True)
    assert "修改已保存" in page
    history = page[page.index('id="history"'):]
    assert "更新档案" in history and "建立档案" in history and caseworker.username in history
    assert re.search(r'<td class="before">江岸区幸福路8号3栋201</td><td class="after">江岸区幸福路9号</td>', history)
    assert re.search(r'<td class="before">低收入家庭</td><td class="after">低保家庭</td>', history)
    assert "新增成员" in history and mask_id_number(child) in history
    assert child not in history  # the history holds masked numbers only


def test_hb_three_stale_version_gets_a_friendly_409(client, caseworker):
    household_id, head_id = _create(client)
    edit_page = client.get(f"/households/{household_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit_page).group(1)
    member_id = re.search(r'name="members-0-id" type="hidden" value="(\d+)"', edit_page).group(1)
    # someone else saves first
    archives.update_household(household_id, {
        "region_code": "420102", "address": "别人改的地址", "protection_category": "physical",
        "members": [{"id": int(member_id), "name": "王建国", "id_number": head_id, "relation": "head"}],
        "version": int(version)}, caseworker)
    db.session.commit()
    data = _form(_token(client, f"/households/{household_id}/edit"), [("王建国", head_id, "head")],
                 address="我的修改", version=version)
    data["members-0-id"] = member_id
    resp = client.post(f"/households/{household_id}/edit", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "已有其他人修改了该档案" in page and 'value="我的修改"' in page and "打开最新版本" in page
    assert archives.require_household(household_id).address == "别人改的地址"


def test_hb_three_edit_with_bad_input_keeps_values_and_saves_nothing(client, caseworker):
    household_id, head_id = _create(client)
    edit_page = client.get(f"/households/{household_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit_page).group(1)
    data = _form(_token(client, f"/households/{household_id}/edit"), [("王建国", head_id, "head")],
                 address="新地址", assets_yuan="-5", version=version)
    resp = client.post(f"/households/{household_id}/edit", data=data)
    assert resp.status_code == 422
    assert "须大于或等于 0" in resp.get_data(as_text=True) and 'value="新地址"' in resp.get_data(as_text=True)
    assert archives.require_household(household_id).address == "江岸区幸福路8号3栋201"


# ---- search ------------------------------------------------------------------------------------------------

def test_spec_eleven_search_by_name_and_id_number_shows_masked_ids(client, caseworker):
    h = make_household("420102", head_name="赵铁柱")
    make_household("420202", head_name="赵外市")  # Huangshi: outside the caseworker's region
    page = client.get("/households?q=赵").get_data(as_text=True)
    assert "赵铁柱" in page and "赵外市" not in page
    assert mask_id_number(h.head.id_number) in page and h.head.id_number not in page
    by_id = client.get(f"/households?q={h.head.id_number}").get_data(as_text=True)
    assert h.archive_no in by_id
    assert "没有与“钱”相符的档案" in client.get("/households?q=钱").get_data(as_text=True)


def test_search_pages_through_results(app, client, caseworker):
    app.config["PAGE_SIZE"] = 2
    for name in ("周一", "周二", "周三"):
        make_household("420102", head_name=name)
    first = client.get("/households?q=周").get_data(as_text=True)
    assert "周一" in first and "周二" in first and "周三" not in first and "page=2" in first
    second = client.get("/households?q=周&page=2").get_data(as_text=True)
    assert "周三" in second and "周一" not in second


def test_search_text_too_long_is_422(client, caseworker):
    resp = client.get("/households?q=" + "9" * 41)
    assert resp.status_code == 422 and "查询内容过长" in resp.get_data(as_text=True)


# ---- who sees what -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role,full", [("caseworker", True), ("supervisor", True), ("reviewer", False),
                                       ("auditor", False)])
def test_spec_eleven_archive_page_shows_full_id_only_with_permission(client, role, full):
    h = make_household("420102", head_name="孙悟空", members=1)
    login(client, make_user(role, "420100"))
    resp = client.get(f"/households/{h.id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    members_table = page[page.index('<table class="members">'):page.index('id="history"')]
    for m in h.members:
        assert (m.id_number in page) is full
        assert (mask_id_number(m.id_number) in members_table) is not full
    assert ('id="edit-archive"' in page) is (role in ("caseworker", "supervisor"))


def test_spec_eleven_staff_reads_are_logged_and_listed(client, caseworker):
    h = make_household("420102")
    client.get(f"/households/{h.id}")
    page = client.get(f"/households/{h.id}").get_data(as_text=True)
    assert "工作人员查阅记录（2 次）" in page and caseworker.username in page


def test_hb_eight_staff_outside_the_region_get_404(client):
    h = make_household("420202")  # Huangshi
    login(client, make_user("caseworker", "420100"))
    assert client.get(f"/households/{h.id}").status_code == 404
    assert client.get(f"/households/{h.id}/edit").status_code == 404


def test_spec_one_household_sees_only_its_own_archive_masked(client):
    own = make_household("420102", head_name="刘备", members=1)
    other = make_household("420102", head_name="曹操")
    user = make_household_user(own)
    login(client, user)
    resp = client.get("/my")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "我的信用档案" in page and "刘备" in page and "曹操" not in page
    for m in own.members:
        assert m.id_number not in page and mask_id_number(m.id_number) in page
    assert 'id="edit-archive"' not in page and "/activation-code" not in page
    assert client.get(f"/households/{own.id}").status_code == 200
    assert client.get(f"/households/{other.id}").status_code == 404
    assert client.get(f"/households/{own.id}/edit").status_code == 404
    assert client.get("/households").status_code == 403
    assert client.get("/households/new").status_code == 403


def test_spec_eleven_household_sees_who_looked_at_its_archive(client):
    own = make_household("420102", head_name="刘备")
    viewer = make_user("reviewer", "420100")
    login(client, viewer)
    assert client.get(f"/households/{own.id}").status_code == 200
    client.post("/logout", data={"csrf_token": _token(client, "/households")})
    login(client, make_household_user(own))
    page = client.get("/my").get_data(as_text=True)
    # SPEC §1: the office and the role, never the staff member's name
    reads = page[page.index('class="staff-reads"'):page.index("</table>", page.index('class="staff-reads"'))]
    assert "湖北省 武汉市" in reads and "评审人" in reads and "查阅档案" in reads
    assert viewer.username not in page


def test_staff_my_page_is_forbidden(client, caseworker):
    assert client.get("/my").status_code == 403


# ---- activation code ---------------------------------------------------------------------------------------

def test_spec_one_activation_code_is_shown_once_and_works(client, caseworker):
    h = make_household("420102", head_name="关羽")
    token = _token(client, f"/households/{h.id}")
    resp = client.post(f"/households/{h.id}/activation-code", data={"csrf_token": token})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    code = re.search(r'id="activation-code">(\d{8})<', page).group(1)
    assert "有效期至 2026-06-29" in page  # 14 days from the fixed clock (2026-06-15, Asia/Shanghai)
    user = accounts.activate_household(h.head.id_number, code, "a-new-password")
    assert user.household_id == h.id


def test_activation_code_needs_csrf_and_permission(client):
    h = make_household("420102")
    login(client, make_user("reviewer", "420100"))
    assert client.post(f"/households/{h.id}/activation-code", data={}).status_code == 400
    token = _token(client, f"/households/{h.id}")
    assert client.post(f"/households/{h.id}/activation-code", data={"csrf_token": token}).status_code == 403


def test_design_7_odd_input_is_never_a_500(client, caseworker):
    """NUL characters (refused by PostgreSQL) and absurd page numbers are handled at the edge."""
    assert client.get("/households?q=%00王").status_code == 200
    assert client.get("/households?page=" + "9" * 30).status_code == 200
    resp = client.post("/households/new", data=_form(_token(client), [("王\x00建国", id_number("420102"), "head")],
                                                     address="幸福路\x008号"))
    assert resp.status_code == 422  # refused naming the fields, as the API does (hardening issue), not stripped
    assert archives.search("王建国", caseworker) == []


def test_archive_page_times_read_as_datetimeformat_gives_them(app):
    """The archive page writes its hundred history times with the cheap `minute` filter: for naive (UTC) and
    aware moments, in the user's time zone, it gives what `datetimeformat('yyyy-MM-dd HH:mm')` gives."""
    from datetime import datetime, timedelta, timezone

    from flask import render_template_string
    moments = [datetime(2026, 6, 14, 16, 30), datetime(2026, 6, 14, 16, 30, tzinfo=timezone.utc),
               datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))), datetime(1999, 1, 1, 0, 0)]
    with app.test_request_context("/"):
        for m in moments:
            cheap = render_template_string("{{ m|minute }}", m=m)
            assert cheap == render_template_string("{{ m|datetimeformat('yyyy-MM-dd HH:mm') }}", m=m), m
        assert render_template_string("{{ m|minute }}", m=moments[0]) == "2026-06-15 00:30"  # Asia/Shanghai
