"""The webhook benchmark's second baseline: a status callback's unavoidable work
with no framework around it.

A bare WSGI function checks the signature with twilio's validator and runs the
app's own conditional UPDATE (the statement `status_update_by_sid` builds)
straight on psycopg, one autocommit connection per thread. What the app costs
beyond this is Flask's and ours; what this costs beyond bare Flask is the
database write's. Reads BENCH_AUTH_TOKEN, BENCH_TENANT_ID, DATABASE_URL and
PUBLIC_BASE_URL from the environment the benchmark serves it with.
"""

import os
import threading
from urllib.parse import parse_qsl

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from dashboard.extensions import driver_sql
from dashboard.messaging.statuses import status_update_by_sid
from dashboard.urls import STATUS_WEBHOOK_PATH

URL = os.environ["PUBLIC_BASE_URL"] + STATUS_WEBHOOK_PATH
TENANT_ID = int(os.environ["BENCH_TENANT_ID"])
VALIDATOR = RequestValidator(os.environ["BENCH_AUTH_TOKEN"])
DSN = (
    sa.make_url(os.environ["DATABASE_URL"])
    .set(drivername="postgresql")
    .render_as_string(hide_password=False)
)
DIALECT = psycopg_dialect()

_connections = threading.local()


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = MultiDict(parse_qsl(environ["wsgi.input"].read(length).decode()))
    signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not VALIDATOR.validate(URL, form, signature):
        return _answer(start_response, "403 Forbidden")

    statement, parameters = status_update_by_sid(
        form["MessageSid"], TENANT_ID, form["MessageStatus"]
    )
    sql, defaults = driver_sql(statement, DIALECT)
    moved = _connection().execute(sql, {**defaults, **parameters}).rowcount
    return _answer(start_response, "200 OK" if moved else "409 Conflict")


def _connection():
    connection = getattr(_connections, "connection", None)
    if connection is None:
        connection = psycopg.connect(DSN, autocommit=True)
        _connections.connection = connection
    return connection


def _answer(start_response, status):
    start_response(status, [("Content-Length", "0")])
    return [b""]
