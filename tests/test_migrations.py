"""The migrations are the only way the schema is made (DESIGN): from empty to head, back to nothing, up again,
and the result is exactly the models (Alembic autogenerate finds no difference).

Runs on a throwaway database beside the session's one (a SQLite file, or a new PostgreSQL database on the
TEST_DATABASE_URL server), so the migrated test database is never touched.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from housingcredit import create_app
from housingcredit.extensions import db
from tests.conftest import _config, database_url, is_postgres


@contextlib.contextmanager
def _throwaway_database():
    if not is_postgres():
        with tempfile.TemporaryDirectory(prefix="hc-migrations-") as tmp:
            yield f"sqlite:///{os.path.join(tmp, 'fresh.db')}"
        return
    server = sa.make_url(database_url().replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{server.database}_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_design_migrations_upgrade_downgrade_upgrade_match_the_models():
    with _throwaway_database() as url:
        app = create_app(_config(SQLALCHEMY_DATABASE_URI=url))
        with app.app_context():
            try:
                assert _tables() == set()
                upgrade()
                assert _tables() == set(db.metadata.tables)

                downgrade(revision="base")
                assert _tables() == set()
                if db.engine.dialect.name == "postgresql":
                    with db.engine.connect() as conn:  # no leftover types or sequences either
                        leftovers = conn.execute(sa.text(
                            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public' AND c.relkind IN ('S', 'r', 'v', 'm') "
                            "AND c.relname <> 'alembic_version' "
                            "UNION ALL SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                            "WHERE n.nspname = 'public' AND t.typtype = 'e'")).scalars().all()
                    assert leftovers == []

                upgrade()
                assert _tables() == set(db.metadata.tables)
                with db.engine.connect() as conn:
                    context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                                     "compare_server_default": False})
                    differences = compare_metadata(context, db.metadata)
                assert differences == []
            finally:
                db.session.remove()
                db.engine.dispose()
