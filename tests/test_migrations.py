"""The migrations build exactly the models' schema and undo it, on each database."""

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from dashboard import create_app
from dashboard.config import database_url
from dashboard.extensions import db, migrate


@pytest.fixture
def empty_database(tmp_path, test_environ):
    """A database with nothing in it, of the kind this run tests."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    url = sa.make_url(database_url(base))
    name = f"dashboard_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def migration_app(empty_database, test_environ):
    app = create_app(environ={**test_environ, "DATABASE_URL": empty_database})
    with app.app_context():
        yield app
        db.engine.dispose()


def table_names():
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_builds_exactly_what_the_models_describe(migration_app):
    upgrade()

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": migrate.alembic_ctx_kwargs["include_object"],
            },
        )
        differences = compare_metadata(context, db.metadata)

    assert differences == []
    assert table_names() == set(db.metadata.tables)


def test_downgrade_to_base_removes_everything_and_upgrade_works_again(
    migration_app,
):
    upgrade()

    downgrade(revision="base")
    assert table_names() == set()

    upgrade()
    assert table_names() == set(db.metadata.tables)
