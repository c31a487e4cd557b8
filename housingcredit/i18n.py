"""Message catalogues (翻译目录) and the one way text is written for keeping.

The .mo files are build output and not committed. They are compiled by the install step (`./manage.sh`
runs `pybabel compile -d translations`; `scripts/i18n.sh` compiles after an update; the test session compiles
once in tests/conftest.py) — never at start-up: a deployment whose package folder is read-only still speaks
Chinese, and a process never writes into its own code. At start-up `warn_if_not_compiled` only logs a missing
or stale catalogue.
To add or change strings, run `scripts/i18n.sh` (extract + update + compile), translate the new entries in
translations/zh_Hans_CN/LC_MESSAGES/messages.po, run it again, and restart.

`official(text_fn)`: text that is stored (notices, notes, platform payloads, warnings appended to documents) is
written in the official language (Chinese, BABEL_DEFAULT_LOCALE) whatever the language of the user whose click
caused it; the UI translates labels only when showing them.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

from babel.messages import mofile, pofile

log = logging.getLogger(__name__)


def ensure_compiled(translations_dir: str | os.PathLike) -> list[Path]:
    """Compile every `<locale>/LC_MESSAGES/*.po` newer than its .mo; returns the .mo files written.

    Writes go to a temporary file then replace the target atomically, so several processes starting at once
    (gunicorn workers, parallel tests) never read a half-written catalogue. Fuzzy entries are left out, as
    `pybabel compile` does.
    """
    written = []
    for po_path in sorted(Path(translations_dir).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        locale = po_path.parent.parent.name
        with po_path.open("rb") as f:
            catalog = pofile.read_po(f, locale=locale)
        try:
            fd, tmp = tempfile.mkstemp(dir=po_path.parent, prefix=".messages-", suffix=".mo.tmp")
        except OSError as err:  # a read-only install: the build step must have compiled it
            log.warning("cannot compile %s (%s); run `pybabel compile -d translations`", po_path, err)
            continue
        try:
            with os.fdopen(fd, "wb") as out:
                mofile.write_mo(out, catalog, use_fuzzy=False)
            os.replace(tmp, mo_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("compiled %s", mo_path)
        written.append(mo_path)
    return written


def stale_catalogues(translations_dir: str | os.PathLike) -> list[Path]:
    """The `<locale>/LC_MESSAGES/*.po` whose .mo is missing or older."""
    out = []
    for po_path in sorted(Path(translations_dir).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            out.append(po_path)
    return out


def warn_if_not_compiled(translations_dir: str | os.PathLike) -> None:
    """At start-up: log (never write) a catalogue the install step did not compile."""
    for po_path in stale_catalogues(translations_dir):
        log.warning("translation catalogue %s is not compiled or is stale; run `pybabel compile -d translations` "
                    "(./manage.sh does it) — until then its strings show untranslated", po_path)


def official(text_fn: Callable[[], object]) -> str:
    """Text kept in the database or sent out (notices, notes, platform payloads): rendered in the official
    language (BABEL_DEFAULT_LOCALE, Chinese) whatever the request's language. `text_fn` is called (or, when it
    is a lazy string or plain text, converted) inside that locale."""
    from flask import current_app
    from flask_babel import force_locale
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(text_fn() if callable(text_fn) else text_fn)


def title_of(item) -> str:
    """The Chinese or English title of a rules item (behaviour, tier, source, measure) in the reader's language;
    Chinese outside a request."""
    from flask_babel import get_locale
    try:
        locale = get_locale()
    except (RuntimeError, AttributeError):
        locale = None
    return item.title_en if locale is not None and locale.language == "en" else item.title_zh


_CITED = None


def cite(clause: str | None) -> str:
    """A clause as the UI cites it: the Hubei opinions by name (HB 四(六) → 湖北意见 四(六)); a rule taken from
    another province's guideline marked as such (LN 第九条 → 参照辽宁指引 第九条); the ministry's notice by name."""
    import re
    from flask_babel import gettext as _
    global _CITED
    if not clause:
        return ""
    if _CITED is None:
        _CITED = re.compile(r"\b(HB|LN|MOHURD)\s+")
    names = {"HB": lambda: _("Hubei opinions"), "LN": lambda: _("cf. Liaoning guideline"),
             "MOHURD": lambda: _("MOHURD notice")}
    return _CITED.sub(lambda m: f"{names[m.group(1)]()} ", str(clause))
