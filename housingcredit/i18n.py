"""Message catalogues (翻译目录): compile each .po into its .mo when the .mo is missing or older.

The .mo files are build output and not committed; `ensure_compiled` runs at start-up (from
extensions.init_app), so a fresh checkout, a test run or a new translation shows up without a separate build
step.
To add or change strings, run `scripts/i18n.sh` (extract + update), translate the new entries in
translations/zh_Hans_CN/LC_MESSAGES/messages.po, and restart.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

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


def title_of(item) -> str:
    """The Chinese or English title of a rules item (behaviour, tier, source, measure) in the reader's language;
    Chinese outside a request."""
    from flask_babel import get_locale
    try:
        locale = get_locale()
    except (RuntimeError, AttributeError):
        locale = None
    return item.title_en if locale is not None and locale.language == "en" else item.title_zh
