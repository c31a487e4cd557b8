"""An import of household archives from a spreadsheet (批量导入): checked first, written only once confirmed."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..db import Base, IdMixin, big_fk


class ImportStatus(str, enum.Enum):
    checked = "checked"      # the file was read and every row checked; nothing written yet
    running = "running"      # confirmed: the good households are being written in batches
    done = "done"            # every good household was written (or reported as refused at write time)
    cancelled = "cancelled"  # the user dropped it before confirming


class ImportBatch(IdMixin, Base):
    """One uploaded file. `payload` holds the checked households (full ID numbers: needed to write them) until
    the import ends or is cancelled, then it is cleared; `rows` holds each row's outcome with masked identity
    (for the preview and the report)."""

    __tablename__ = "import_batches"
    __table_args__ = (sa.Index("ix_import_batches_user_id", "user_id"),)

    user_id: Mapped[int] = big_fk("users.id")
    region_code: Mapped[str] = mapped_column(sa.String(6))
    filename: Mapped[str] = mapped_column(sa.String(200))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[ImportStatus] = mapped_column(sa.Enum(ImportStatus, name="import_status", native_enum=False,
                                                         length=16, create_constraint=True))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_good: Mapped[int] = mapped_column(default=0)
    households_good: Mapped[int] = mapped_column(default=0)
    households_done: Mapped[int] = mapped_column(default=0)   # written so far (in payload order)
    households_failed: Mapped[int] = mapped_column(default=0)  # refused at write time (taken meanwhile)
    created_dt: Mapped[datetime]
    updated_dt: Mapped[datetime]
    finished_dt: Mapped[datetime | None]
    rows: Mapped[list | None] = deferred(mapped_column(sa.JSON))
    payload: Mapped[list | None] = deferred(mapped_column(sa.JSON))
