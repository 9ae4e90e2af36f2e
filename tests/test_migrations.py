"""The migrations build exactly the models' schema and undo it, on each database."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from dashboard import create_app
from dashboard.extensions import db, migrate
from tests.helpers import fresh_database


@pytest.fixture
def empty_database(tmp_path):
    """A database with nothing in it, of the kind this run tests."""
    with fresh_database("dashboard_migrations", tmp_path / "empty.sqlite") as url:
        yield url


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
