"""Passwords, Twilio auth tokens and API tokens never reach a log record."""

import logging

import pytest

from tests.conftest import TEST_PASSWORD, new_account

WRONG_PASSWORD = "a-mistyped-secret-password"


class Capture(logging.Handler):
    """Keep every record that reaches it."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def log_records(app):
    """Every record any logger emits at DEBUG and above while the test runs."""
    handler = Capture()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    # Records of loggers that do not propagate never reach the root's handlers.
    silent = [logger for logger in loggers[1:] if not logger.propagate]
    for logger in [root, *silent]:
        logger.addHandler(handler)

    yield handler.records

    for logger in [root, *silent]:
        logger.removeHandler(handler)
    for logger, level in levels.items():
        logger.setLevel(level)


def texts_of(record):
    """What a record could put in a log: its message and each of its args."""
    args = record.args
    if isinstance(args, dict):
        args = tuple(args.values())
    return [record.getMessage(), str(record.msg), *(repr(arg) for arg in args or ())]


def test_no_secrets_in_logs_across_login_twilio_and_api(
    app,
    client,
    runner,
    make_tenant,
    make_user,
    simulator,
    login,
    form_token,
    log_records,
):
    tenant = make_tenant(balance="5")
    admin = make_user(tenant, role="admin")
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)

    client.post(
        "/login",
        data={
            "email": admin.email,
            "password": WRONG_PASSWORD,
            "csrf_token": form_token("/login"),
        },
    )
    login(admin)
    connected = client.post(
        f"/tenants/{tenant.id}/twilio",
        data={
            "account_sid": account_sid,
            "auth_token": auth_token,
            "whatsapp_number": "+14155238886",
            "csrf_token": form_token(f"/tenants/{tenant.id}/twilio"),
        },
    )
    created = runner.invoke(args=["tokens", "create", "--tenant", tenant.name])
    api_token = created.output.strip().splitlines()[-1]
    wallet = app.test_client().get(
        "/api/whatsapp/wallet", headers={"Authorization": f"Bearer {api_token}"}
    )

    assert connected.status_code == 303, connected.get_data(as_text=True)
    assert created.exit_code == 0, created.output
    assert wallet.status_code == 200, wallet.get_data(as_text=True)
    assert log_records, "nothing was captured"
    secrets = {
        "password": TEST_PASSWORD,
        "mistyped password": WRONG_PASSWORD,
        "Twilio auth token": auth_token,
        "API token": api_token,
    }
    leaks = [
        f"{what} in {record.name}: {text[:200]}"
        for record in log_records
        for text in texts_of(record)
        for what, secret in secrets.items()
        if secret in text
    ]
    assert not leaks, "\n".join(leaks)
