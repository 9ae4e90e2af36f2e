"""Shared fixtures: a fresh database per run (SQLite, or PostgreSQL when
TEST_DATABASE_URL names one), an app per test with empty tables, factories for
tenants, people and messages, and real logins through the login form."""

import os
import re
import threading
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from dashboard import create_app
from dashboard.audit import Actor
from dashboard.auth.accounts import create_user
from dashboard.extensions import db, dispose_engines
from dashboard.messaging.conversations import record_in_conversation
from dashboard.models import STATUS_RANK, Message
from dashboard.operator.tenants import create_tenant
from dashboard.simulator import SimulatorServer
from dashboard.twilio_setup.settings import connect
from dashboard.types import utcnow
from dashboard.wallet.ledger import top_up
from tests.helpers import fresh_database

TEST_PASSWORD = "correct horse battery"
TESTS = Actor.system("tests")
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def pytest_report_header():
    return f"database: {_backend()}"


def _backend():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return "postgresql" if url.startswith("postgres") else "sqlite"


@pytest.fixture(scope="session")
def database_url_for_tests(tmp_path_factory):
    """A brand-new database for this run, dropped afterwards."""
    path = tmp_path_factory.mktemp("db") / "test.sqlite"
    with fresh_database("dashboard_test", path) as url:
        yield url


@pytest.fixture(scope="session")
def test_environ(database_url_for_tests, tmp_path_factory):
    return {
        "APP_ENV": "testing",
        "DATABASE_URL": database_url_for_tests,
        "SECRET_KEY": "test-secret-key",
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": "http://dashboard.test",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "TWILIO_TIMEOUT": "2",
    }


@pytest.fixture(scope="session")
def migrated(test_environ):
    """Build the schema once per run, through the migrations."""
    app = create_app(environ=test_environ)
    with app.app_context():
        upgrade()
        dispose_engines()
    return True


class FreshContextClient(FlaskClient):
    """Run each request in an app context of its own, as a server does, rather
    than in the test's long-lived one (whose `g` would leak between requests)."""

    def open(self, *args, **kwargs):
        # End the test's own transaction first: on SQLite it holds the write lock.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(migrated, test_environ, request):
    """The application with empty tables; `@pytest.mark.app_config(KEY=value)`
    overrides settings for one test."""
    marker = request.node.get_closest_marker("app_config")
    app = create_app(overrides=marker.kwargs if marker else None, environ=test_environ)
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        dispose_engines()


def _empty_tables():
    tables = [t for t in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_tenant(app):
    def make(name=None, balance="0"):
        tenant = create_tenant(name or f"Tenant {uuid.uuid4().hex[:6]}", TESTS)
        db.session.commit()
        if Decimal(balance) > 0:
            top_up(tenant.id, Decimal(balance), TESTS, "test credit")
        return tenant

    return make


@pytest.fixture
def make_user(app):
    def make(tenant=None, role="agent", email=None):
        user = create_user(
            email or f"{role}-{uuid.uuid4().hex[:6]}@example.com",
            TEST_PASSWORD,
            role,
            tenant=tenant,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_message(app):
    def make(tenant, **fields):
        values = {
            "direction": "outbound",
            "from_number": "+14155550100",
            "to_number": "+5511999990000",
            "contact_number": "+5511999990000",
            "body": "hello",
            "message_type": "free",
            "status": "pending",
        }
        values.update(fields)
        values.setdefault("status_rank", STATUS_RANK[values["status"]])
        if values["direction"] == "outbound":
            values.setdefault("wallet_id", tenant.wallet.id)
        values.setdefault("created_at", utcnow())
        message = Message(tenant_id=tenant.id, **values)
        db.session.add(message)
        db.session.flush()
        # As the product does for every message it stores.
        record_in_conversation(message)
        return message

    return make


def csrf_token_in(response):
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def login(client):
    def log_in(user, password=TEST_PASSWORD):
        token = csrf_token_in(client.get("/login"))
        response = client.post(
            "/login",
            data={"email": user.email, "password": password, "csrf_token": token},
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        return client

    return log_in


@pytest.fixture
def form_token(client):
    """The CSRF token a logged-in page carries, for posting its forms."""

    def token_for(path):
        return csrf_token_in(client.get(path))

    return token_for


@pytest.fixture
def simulator(app):
    """A Twilio simulator on a free local port, which the app talks to."""
    server = SimulatorServer().start()
    app.config["TWILIO_API_BASE_URL"] = server.url
    yield server
    server.stop()


class LiveServer:
    """The app served over real HTTP on a free local port, in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


def _buffered(wsgi_app):
    """Answer with the whole body at once, its source already closed.

    When a client drops the connection while Werkzeug's development server is
    still reading what is left of the request, the server skips closing the
    response, and a static file stays open until garbage collection reports it
    in whichever test runs then. Browsers drop connections all the time (a
    navigation cancels the favicon or a poll). No response of the app streams.
    """

    def buffered(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return buffered


@pytest.fixture
def live_server(app):
    """The app over HTTP; PUBLIC_BASE_URL points at it, so webhooks reach it."""
    server = LiveServer(app)
    app.config["PUBLIC_BASE_URL"] = server.url
    server.start()
    yield server
    server.stop()


def new_account():
    """A fresh Account SID and auth token pair, as Twilio formats them."""
    return "AC" + uuid.uuid4().hex, uuid.uuid4().hex


@pytest.fixture
def connect_twilio(app, simulator):
    """Connect a tenant to its own simulated Twilio account."""

    def connect_tenant(tenant, whatsapp_number="+14155238886"):
        account_sid, auth_token = new_account()
        simulator.state.add_account(account_sid, auth_token)
        settings = connect(tenant, account_sid, auth_token, whatsapp_number, TESTS)
        settings.plain_auth_token = auth_token
        return settings

    return connect_tenant


@pytest.fixture
def tenant(make_tenant, connect_twilio):
    """A tenant with 10 of credit, connected to its own simulated Twilio account."""
    tenant = make_tenant(balance="10")
    tenant.settings = connect_twilio(tenant)
    return tenant
