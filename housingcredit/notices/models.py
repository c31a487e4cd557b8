"""Written notices to households (告知书, 警示, 催告书 …): in-app messages now, PDFs with the reports work."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin, big_fk


class Notice(IdMixin, Base):
    __tablename__ = "notices"
    __table_args__ = (sa.UniqueConstraint("kind", "ref_type", "ref_id", name="uq_notices_kind_ref"),)

    household_id: Mapped[int] = big_fk("households.id", index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    ref_type: Mapped[str] = mapped_column(sa.String(32))
    ref_id: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    issued_date: Mapped[date]
    created_dt: Mapped[datetime]
    read_dt: Mapped[datetime | None]
