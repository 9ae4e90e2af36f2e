"""Flask extensions, created unbound and initialised by the application factory."""

from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

# Named constraints let migrations drop and alter them on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def _modelled(obj, name, type_, reflected, compare_to):
    """Leave PostgreSQL-only search indexes (made by hand in migration 0002) out of
    autogenerate's comparison between the database and the models."""
    return not (type_ == "index" and name and name.endswith("_trgm"))


migrate = Migrate(render_as_batch=True, compare_type=True, include_object=_modelled)
login_manager = LoginManager()
csrf = CSRFProtect()


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    """Make SQLite safe for several threads writing at once.

    pysqlite starts transactions lazily, so two readers that both decide to
    write deadlock on the lock upgrade. Taking the write lock at BEGIN
    (IMMEDIATE) and waiting for it (busy_timeout) serialises writers instead.
    """
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@sa.event.listens_for(sa.engine.Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def end_transaction():
    """Finish the session's transaction before waiting on another service.

    Nothing then holds a database connection, a row lock or (on SQLite) the
    write lock while Twilio takes its time; loaded objects reload on next use.
    """
    db.session.commit()


def init_autocommit_engine(app):
    """On PostgreSQL, a second engine whose connections stay in autocommit, for
    the hot paths of `autocommit_connection`.

    It skips what the main engine does at every checkout: a pre-ping round trip
    and switching the isolation level there and back, which together cost more
    than the statement itself. Without the ping, a connection the server dropped
    fails on first use, and SQLAlchemy marks the error `connection_invalidated`:
    callers retry once on a fresh connection.
    """
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        app.extensions["autocommit_engine"] = sa.create_engine(
            url, isolation_level="AUTOCOMMIT", pool_pre_ping=False
        )


@contextmanager
def autocommit_connection():
    """A connection on which each statement commits on its own, for hot paths
    whose single write needs no transaction around it: PostgreSQL then answers
    each in one round trip, with no BEGIN or COMMIT of their own.

    SQLite has no round trips to save; there the statements share one short
    transaction (whose write lock is taken at BEGIN), committed at the end.
    """
    engine = current_app.extensions.get("autocommit_engine")
    if engine is None:
        with db.engine.connect() as connection:
            yield connection
            connection.commit()
    else:
        with engine.connect() as connection:
            yield connection


def rows_changed(connection, statement, parameters):
    """Run a write built once at import (see statuses) and count the rows it
    changed. On PostgreSQL it goes to the driver as SQL compiled on first use:
    for a one-row UPDATE, SQLAlchemy's work per execution (cache key, execution
    context, result) costs as much as the round trip. Parameters must then be
    what the driver takes as is: plain values, timestamps already in UTC.
    """
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, parameters).rowcount
    sql, defaults = driver_sql(statement, connection.dialect)
    return connection.exec_driver_sql(sql, {**defaults, **parameters}).rowcount


@lru_cache(maxsize=64)
def driver_sql(statement, dialect):
    """`statement` as the driver takes it: its SQL for `dialect` and the values
    of the parameters it binds itself, compiled once per statement."""
    compiled = statement.compile(dialect=dialect)
    return str(compiled), compiled.params


def dispose_engines():
    """Close every pooled connection of this application's engines."""
    db.engine.dispose()
    engine = current_app.extensions.get("autocommit_engine")
    if engine is not None:
        engine.dispose()
