"""Chinese first (DESIGN rule 8): the UI speaks Simplified Chinese by default, English on request, and every string
marked for translation has a checked Chinese translation.

When a test here fails after you added strings: run `scripts/i18n.sh`, translate the new (empty or fuzzy) entries
in translations/zh_Hans_CN/LC_MESSAGES/messages.po, and run the tests again.
"""
from __future__ import annotations

import os
import re
import time

from babel.messages import pofile
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from housingcredit import ROOT
from housingcredit.i18n import ensure_compiled

from . import factories

PO = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
HOW_TO_FIX = "run scripts/i18n.sh, then translate the entries in " + str(PO.relative_to(ROOT))


def _catalog():
    with PO.open("rb") as f:
        return pofile.read_po(f, locale="zh_Hans_CN")


def _msgid(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def test_design_8_default_ui_is_chinese(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "工作人员登录" in page and "登录" in page and "户主居民身份证号码" in page
    assert "Staff login" not in page


def test_design_8_lang_parameter_switches_to_english_and_is_remembered(client):
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Staff login" in page and "工作人员登录" not in page
    again = client.get("/login").get_data(as_text=True)  # the choice stays for the session
    assert "Staff login" in again


def test_design_8_language_switch_button_changes_the_language_both_ways(client):
    client.get("/login")
    token = factories.csrf_token(client)
    resp = client.post("/lang/en", data={"csrf_token": token, "next": "/login"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "Household login" in client.get("/login").get_data(as_text=True)
    client.post("/lang/zh_Hans_CN", data={"csrf_token": token, "next": "/login"})
    assert "保障家庭登录" in client.get("/login").get_data(as_text=True)


def test_design_8_error_messages_are_translated(app, client):
    from tests.conftest import login
    login(client, factories.make_user("caseworker", "420100"))
    page = client.get("/households/999999").get_data(as_text=True)
    assert "未找到" in page


def test_design_8_zh_catalogue_has_no_untranslated_or_fuzzy_entry():
    catalog = _catalog()
    untranslated = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str)
                                                            else all(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated} — {HOW_TO_FIX}"
    assert not fuzzy, f"fuzzy (check, then remove '#, fuzzy'): {fuzzy} — {HOW_TO_FIX}"


def test_design_8_zh_translations_keep_every_placeholder():
    """A translation that drops or misspells %(name)s or {max} breaks the message at run time."""
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    catalog = _catalog()
    problems = [(m.id, str(err)) for m, errors in catalog.check() for err in errors]
    for m in catalog:
        if m.id and isinstance(m.id, str) and m.string:
            if sorted(placeholder.findall(m.id)) != sorted(placeholder.findall(m.string)):
                problems.append((m.id, m.string))
    assert not problems, problems


def test_design_8_every_marked_string_is_in_the_zh_catalogue():
    """Strings marked in code and templates but never extracted would show in English in the Chinese UI."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None)
    marked = {msg[0] if isinstance(msg, tuple) else msg
              for _file, _line, msg, _comments, _ctx in extract_from_dir(str(ROOT), method_map, options_map,
                                                                         keywords=keywords)}
    known = {_msgid(m) for m in _catalog() if m.id}
    missing = sorted(marked - known)
    assert not missing, f"not in the catalogue: {missing} — {HOW_TO_FIX}"


def test_design_8_catalogues_compile_when_the_po_is_newer(tmp_path):
    target = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = target / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Log in"\nmsgstr "登录"\n', encoding="utf-8")
    assert ensure_compiled(tmp_path) == [target / "messages.mo"]
    assert ensure_compiled(tmp_path) == []  # up to date: nothing written
    later = time.time() + 5
    os.utime(po, (later, later))
    assert ensure_compiled(tmp_path) == [target / "messages.mo"]
    from babel.support import Translations
    assert Translations.load(str(tmp_path), ["zh_Hans_CN"]).gettext("Log in") == "登录"
    assert not list(target.glob(".messages-*"))  # no temporary file left behind


def test_tidy_5_start_up_never_compiles_into_the_package_folder(tmp_path, monkeypatch):
    """A read-only deployment: the app only reads the .mo the install step produced; a missing or stale one is
    logged, never written at start-up."""
    from housingcredit import create_app
    from housingcredit import extensions, i18n
    from tests.conftest import _config
    target = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "messages.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n',
                                        encoding="utf-8")
    assert i18n.stale_catalogues(tmp_path) == [target / "messages.po"]
    written = []
    monkeypatch.setattr(i18n, "ensure_compiled", lambda *a, **k: written.append(a))
    monkeypatch.setattr(i18n.mofile, "write_mo", lambda *a, **k: written.append(a))
    create_app(_config())
    i18n.warn_if_not_compiled(tmp_path)
    assert written == []
    assert not (target / "messages.mo").exists()
    assert "ensure_compiled" not in extensions.init_app.__code__.co_names
