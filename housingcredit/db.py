"""Declarative base, naming convention, and the column types every domain shares."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, connection_record):
    """SQLite checks foreign keys only when asked, per connection: ask, so it refuses what PostgreSQL refuses.
    (The migrations switch it off for their table rebuilds: migrations/env.py.)"""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


IDLE_PING_SECONDS = 10.0  # a pooled connection idle longer than this is pinged before use


@sa.event.listens_for(sa.pool.Pool, "checkin")
def _mark_idle(dbapi_connection, connection_record):
    if connection_record is not None:
        connection_record.info["idle_since"] = time.monotonic()


@sa.event.listens_for(sa.pool.Pool, "checkout")
def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
    """`pool_pre_ping`, but only for a connection that sat idle in the pool for IDLE_PING_SECONDS: under load a
    connection comes back within milliseconds and costs no round trip; one that waited long enough for the
    database to have restarted is pinged, and a dead one is replaced (DisconnectionError makes the pool retry)."""
    since = connection_record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as err:
        raise sa.exc.DisconnectionError("pooled connection is dead") from err


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    registry = registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime()})


class IdMixin:
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)


def big_fk(target: str, **kw):
    """A foreign key column matching IdMixin's id type on every dialect."""
    return mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey(target), **kw)


def one_of(column: str, values, name: str | None = None) -> sa.CheckConstraint:
    """A named CHECK constraint: `column` holds one of `values` (or NULL when the column allows it).

    For the fixed code sets of the schema (states, steps, routes, reasons, tiers, businesses); never for codes
    that come from the rules data (behaviour codes, sources, order grounds), which change without a migration.
    Named `ck_<table>_<name or column>` by the naming convention.
    """
    quoted = ", ".join("'" + str(getattr(v, "value", v)).replace("'", "''") + "'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name or column)
