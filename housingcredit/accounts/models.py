"""Staff and household accounts (账户) and API tokens."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdMixin, big_fk


class Role(str, enum.Enum):
    household = "household"
    caseworker = "caseworker"
    reviewer = "reviewer"
    supervisor = "supervisor"
    auditor = "auditor"
    system = "system"  # the system actor (accounts.gate.SYSTEM) only: jobs, commands, rebuilds; never a login


class User(IdMixin, UserMixin, Base):
    """A login. Staff log in with a username; a household (保障家庭) with its head's resident ID number."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role <> 'household' OR household_id IS NOT NULL", name="household_has_archive"),
    )

    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[Role] = mapped_column(sa.Enum(Role, name="role", native_enum=False, length=16, create_constraint=True))
    region_code: Mapped[str] = mapped_column(sa.String(6))
    office: Mapped[str] = mapped_column(sa.String(80), default="", server_default="")  # staff: 单位/科室
    household_id: Mapped[int | None] = big_fk("households.id", unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    activation_hash: Mapped[str | None] = mapped_column(sa.String(128))
    activation_expires_dt: Mapped[datetime | None]
    # Wrong activation codes typed since the code was issued; at ACTIVATION_MAX_ATTEMPTS the code is void.
    activation_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True)
    # Kept in the login session and compared on every request: raising it (logout, password change,
    # deactivation) ends every session the user has (see accounts/auth.py).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_dt: Mapped[datetime]

    household = relationship("Household", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(IdMixin, Base):
    """A bearer token for a staff client; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = big_fk("users.id", index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_dt: Mapped[datetime]
    expires_dt: Mapped[datetime | None]
    revoked_dt: Mapped[datetime | None]

    user = relationship(User, lazy="joined")
