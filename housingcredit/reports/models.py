"""Formal documents (SPEC §12): the number counters and the issued documents (notices' PDFs, credit reports)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin, big_fk


class DocumentCounter(IdMixin, Base):
    """The last number given per issuing office, series and year; taken under a row lock, so no gaps."""
    __tablename__ = "document_counters"
    __table_args__ = (sa.UniqueConstraint("office_code", "series", "year", name="uq_document_counters_key"),)

    office_code: Mapped[str] = mapped_column(sa.String(6))
    series: Mapped[str] = mapped_column(sa.String(4))
    year: Mapped[int]
    last: Mapped[int]


class Document(IdMixin, Base):
    """One issued document. Number, content and content hash are fixed at issue; the PDF bytes and their hash are
    written once (at issue for reports, on first download for notices) and never changed."""
    __tablename__ = "documents"

    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # credit_report | notice
    series: Mapped[str] = mapped_column(sa.String(4))
    office_code: Mapped[str] = mapped_column(sa.String(6))
    household_id: Mapped[int | None] = big_fk("households.id", index=True, nullable=True)  # None: a check slip
    notice_id: Mapped[int | None] = big_fk("notices.id", nullable=True, unique=True)
    verify_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    masked_name: Mapped[str] = mapped_column(sa.String(64))
    issued_dt: Mapped[datetime]
    issued_date: Mapped[date]
    valid_until: Mapped[date | None]
    content: Mapped[dict] = mapped_column(sa.JSON)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    superseded_by_id: Mapped[int | None] = big_fk("documents.id", nullable=True)
    issued_by_id: Mapped[int | None] = big_fk("users.id", nullable=True)
    credit_check_id: Mapped[int | None] = big_fk("credit_checks.id", nullable=True, unique=True)  # a check slip


class ReportBatch(IdMixin, Base):
    """A batch of credit reports for an allocation round (`flask reports batch`, the supervisors' page): its items
    remember which households are done, so a rerun continues where the last one stopped; one zip at the end."""
    __tablename__ = "report_batches"

    region_code: Mapped[str] = mapped_column(sa.String(6))
    created_by_id: Mapped[int | None] = big_fk("users.id", nullable=True)  # None: the `flask` command (system)
    created_dt: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(12))  # queued | running | done
    total: Mapped[int]
    heartbeat_dt: Mapped[datetime | None]  # the runner's last sign of life: a stale one may be taken over
    finished_dt: Mapped[datetime | None]
    zip_name: Mapped[str | None] = mapped_column(sa.String(80))


class ReportBatchItem(IdMixin, Base):
    """One line of the batch's CSV: the household it named (no raw ID number kept: a masked label), its state and
    the report issued for it."""
    __tablename__ = "report_batch_items"
    __table_args__ = (sa.UniqueConstraint("batch_id", "position", name="uq_report_batch_items_line"),)

    batch_id: Mapped[int] = big_fk("report_batches.id", index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(40))
    household_id: Mapped[int | None] = big_fk("households.id", nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # pending | done | failed | not_found | out_of_region
    document_id: Mapped[int | None] = big_fk("documents.id", nullable=True)
