"""Keep resident ID numbers (居民身份证号码) out of every log line (SPEC §11: never an ID number in logs).

Request lines (`GET /api/v1/credit-check?id_number=420102…`), SQL parameters in a traceback, a careless
`log.info(...)`: whatever the source, an 18-character ID pattern is masked as 420102********1234 before any
handler formats the record.
"""
from __future__ import annotations

import logging
import re

# 17 digits and a check character (digit or X), not part of a longer run of digits.
ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")

# The loggers whose records do not pass through the root logger's filters: filters on a logger apply only to
# records created on that very logger, so each source of request lines gets its own.
LOGGERS = ("", "werkzeug", "gunicorn", "gunicorn.error", "gunicorn.access", "flask.app", "housingcredit",
           "sqlalchemy.engine", "alembic")


def mask_id_numbers(text: str) -> str:
    """Every ID-shaped number in `text` masked like disclosure.masking.mask_id_number."""
    return ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's own problem; leave it to the formatter to report
        return
    masked = mask_id_numbers(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        # Tracebacks carry SQL parameters and exception messages: format once, masked; handlers reuse exc_text.
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_id_numbers(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_id_numbers(record.stack_info)


class IdNumberFilter(logging.Filter):
    """A filter that never drops a record, only masks ID numbers in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


def _add_once(target, flt: logging.Filter) -> None:
    if not any(isinstance(f, IdNumberFilter) for f in target.filters):
        target.addFilter(flt)


def install(app=None) -> None:
    """Mask ID numbers on the root, werkzeug and gunicorn loggers (and the app's), on their handlers, and on
    every record created anywhere else (a record factory), so a child logger cannot slip past. Idempotent."""
    flt = IdNumberFilter()
    names = list(LOGGERS) + ([app.logger.name] if app is not None else [])
    for name in names:
        logger = logging.getLogger(name)
        _add_once(logger, flt)
        for handler in logger.handlers:
            _add_once(handler, flt)
    if logging.lastResort is not None:
        _add_once(logging.lastResort, flt)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "masks_id_numbers", False):
        def masking_factory(*args, **kwargs):
            record = factory(*args, **kwargs)
            _mask_record(record)
            return record
        masking_factory.masks_id_numbers = True
        logging.setLogRecordFactory(masking_factory)
