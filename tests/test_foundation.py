"""People, roles, the wallet page, settings and the command line."""

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from werkzeug.routing import Rule

from dashboard.config import ConfigError, load_settings
from tests.conftest import TEST_PASSWORD, csrf_token_in
from tests.helpers import balance_of, ledger_of


@pytest.fixture
def operator(make_user):
    return make_user(role="operator")


def test_settings_refuse_production_without_its_secrets(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"APP_ENV": "production", "DATABASE_URL": "sqlite://"}, tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CREDENTIALS_KEY", "not-a-key"),
        ("PUBLIC_BASE_URL", "dashboard.example"),
        ("PRICE_FREE", "0.00001"),
        ("TWILIO_TIMEOUT", "soon"),
        ("DATABASE_URL", "mysql://x"),
    ],
)
def test_settings_refuse_malformed_values(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, tmp_path)


def test_startup_error_is_one_line_without_traceback(tmp_path):
    environment = {**os.environ, "APP_ENV": "production", "DATABASE_URL": ""}
    for name in ("SECRET_KEY", "CREDENTIALS_KEY", "PUBLIC_BASE_URL"):
        environment.pop(name, None)

    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        check=False,
    )

    assert result.returncode != 0
    assert "Configuration error: missing in production" in result.stderr
    assert "Traceback" not in result.stderr


def test_login_sets_a_fresh_http_only_lax_session(client, make_user, make_tenant):
    user = make_user(make_tenant(), role="agent")
    token = csrf_token_in(client.get("/login"))
    before = client.get_cookie("session").value

    response = client.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
    )

    cookie = response.headers["Set-Cookie"]
    assert response.status_code == 303
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get_cookie("session").value != before


def test_login_with_a_wrong_password_is_refused(client, make_user, make_tenant):
    user = make_user(make_tenant(), role="agent")
    token = csrf_token_in(client.get("/login"))

    response = client.post(
        "/login", data={"email": user.email, "password": "nope", "csrf_token": token}
    )

    assert response.status_code == 422
    assert "Wrong email or password" in response.get_data(as_text=True)


@pytest.mark.app_config(SESSION_COOKIE_SECURE=True)
def test_session_cookie_is_secure_behind_https(client, make_user, make_tenant, login):
    response = client.get("/login")

    assert "Secure" in response.headers["Set-Cookie"]


def test_agent_gets_the_403_page_for_admin_pages(client, login, make_user, make_tenant):
    tenant = make_tenant()
    login(make_user(tenant, role="agent"))

    response = client.get(f"/tenants/{tenant.id}/users")

    assert response.status_code == 403
    assert "Your role does not allow this" in response.get_data(as_text=True)


def test_wallet_of_another_tenant_is_not_found(client, login, make_user, make_tenant):
    mine, theirs = make_tenant(), make_tenant(balance="5")
    login(make_user(mine, role="admin"))

    assert client.get(f"/tenants/{theirs.id}/wallet").status_code == 404
    assert client.get(f"/tenants/{theirs.id}/users").status_code == 404


def test_wallet_page_shows_balance_ledger_and_spend(
    client, login, make_user, make_tenant
):
    tenant = make_tenant(balance="12.5")
    login(make_user(tenant, role="agent"))

    html = client.get(f"/tenants/{tenant.id}/wallet").get_data(as_text=True)

    assert "12.5000" in html
    assert "top up" in html and "test credit" in html
    assert "Spent this month" in html


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", "greater than zero"),
        ("-5", "greater than zero"),
        ("abc", "Enter a number"),
        ("1e12", "at most"),
        ("1.00001", "4 decimal places"),
        ("", "Enter an amount"),
    ],
)
def test_top_up_form_rejects_bad_amounts(
    client, login, operator, make_tenant, form_token, amount, error
):
    tenant = make_tenant(balance="1")
    login(operator)
    path = f"/tenants/{tenant.id}/wallet"

    response = client.post(
        f"{path}/top-up", data={"amount": amount, "csrf_token": form_token(path)}
    )

    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert balance_of(tenant) == Decimal("1")


def test_operator_tops_up_with_a_ledger_entry(
    client, login, operator, make_tenant, form_token
):
    tenant = make_tenant()
    login(operator)
    path = f"/tenants/{tenant.id}/wallet"

    response = client.post(
        f"{path}/top-up",
        data={"amount": "25.5", "note": "invoice 9", "csrf_token": form_token(path)},
    )

    assert response.status_code == 303
    assert balance_of(tenant) == Decimal("25.5")
    assert [(row.kind, row.amount) for row in ledger_of(tenant)] == [
        ("top_up", Decimal("25.5"))
    ]


def test_tenant_admin_cannot_top_up(client, login, make_user, make_tenant, form_token):
    tenant = make_tenant()
    login(make_user(tenant, role="admin"))
    path = f"/tenants/{tenant.id}/wallet"

    response = client.post(
        f"{path}/top-up", data={"amount": "5", "csrf_token": form_token(path)}
    )

    assert response.status_code == 403
    assert balance_of(tenant) == 0


def test_admin_adds_a_person_who_can_then_log_in(
    app, client, login, make_user, make_tenant, form_token
):
    tenant = make_tenant()
    login(make_user(tenant, role="admin"))
    path = f"/tenants/{tenant.id}/users"

    response = client.post(
        path,
        data={
            "email": "New.Agent@Example.com",
            "name": "New",
            "role": "agent",
            "password": TEST_PASSWORD,
            "csrf_token": form_token(path),
        },
    )

    assert response.status_code == 303
    other = app.test_client()
    token = csrf_token_in(other.get("/login"))
    answer = other.post(
        "/login",
        data={
            "email": "new.agent@example.com",
            "password": TEST_PASSWORD,
            "csrf_token": token,
        },
    )
    assert answer.status_code == 303


def _post_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    ]


def _url(rule: Rule):
    return (
        rule.rule.replace("<int:", "<")
        .replace("<", "{")
        .replace(">", "}")
        .format(**{name: 1 for name in rule.arguments})
    )


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_form_rejects_a_missing_or_wrong_csrf_token(
    app, client, login, make_user, make_tenant, token
):
    tenant = make_tenant(balance="5")
    login(make_user(tenant, role="admin"))
    rules = _post_rules(app)
    assert len(rules) >= 15

    for rule in rules:
        data = {} if token is None else {"csrf_token": token}
        response = client.post(_url(rule), data=data)
        assert response.status_code == 400, rule.rule
        assert "The form expired" in response.get_data(as_text=True)

    assert balance_of(tenant) == Decimal("5")


def test_cli_creates_tenants_people_credit_and_tokens(runner):
    assert runner.invoke(args=["tenants", "create", "Globex"]).exit_code == 0
    created = runner.invoke(
        args=[
            "users",
            "create",
            "boss@globex.test",
            "--tenant",
            "Globex",
            "--role",
            "admin",
            "--password",
            TEST_PASSWORD,
        ]
    )
    topped = runner.invoke(args=["wallet", "top-up", "Globex", "10.1234"])
    token = runner.invoke(args=["tokens", "create", "--tenant", "Globex"])

    assert created.exit_code == 0, created.output
    assert "10.1234" in topped.output
    assert token.output.strip().splitlines()[-1].startswith("wdt_")


@pytest.mark.parametrize(
    "args",
    [
        ["tenants", "create", ""],
        ["wallet", "top-up", "Nobody", "5"],
        ["wallet", "top-up", "Globex", "abc"],
        ["users", "create", "x@y.z", "--role", "agent", "--password", TEST_PASSWORD],
        ["users", "create", "bad", "--role", "operator", "--password", TEST_PASSWORD],
        ["tokens", "create", "--tenant", "Nobody"],
    ],
)
def test_cli_bad_arguments_fail_with_an_error(runner, args):
    runner.invoke(args=["tenants", "create", "Globex"])

    result = runner.invoke(args=args)

    assert result.exit_code != 0
    assert "Error" in result.output


def test_cli_demo_is_repeatable(runner):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])

    assert first.exit_code == 0 and second.exit_code == 0
    assert "admin@demo.test" in first.output
    assert "already there" in second.output
