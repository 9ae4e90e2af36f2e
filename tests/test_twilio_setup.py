import logging
import re

import pytest
import sqlalchemy as sa
from conftest import new_account
from cryptography.fernet import Fernet

from dashboard.credentials import (
    CredentialsError,
    decrypt_secret,
    encrypt_secret,
    rotate_secret,
)
from dashboard.extensions import db
from dashboard.models import AuditEvent
from dashboard.twilio_setup.settings import settings_for

WHATSAPP = "+14155238886"
UNREACHABLE = "Twilio could not be reached or did not answer in time."
REJECTED = "Twilio rejected the Account SID or Auth Token."


def saved_settings(tenant):
    """The tenant's Twilio settings as the database holds them now."""
    db.session.expire_all()
    return settings_for(tenant.id)


def setup_path(tenant):
    return f"/tenants/{tenant.id}/twilio"


def post_setup(client, tenant, token, **fields):
    data = {
        "account_sid": "",
        "auth_token": "",
        "whatsapp_number": WHATSAPP,
        "phone_number": "",
        "messaging_service_sid": "",
        "csrf_token": token,
    }
    data.update(fields)
    return client.post(setup_path(tenant), data=data)


def field_errors(html, name):
    """The error lines shown inside the form field whose input is `name`."""
    for block in re.findall(r'<div class="field[^"]*">(.*?)</div>', html, re.S):
        if f'name="{name}"' in block:
            return re.findall(r'<p class="error"[^>]*>(.*?)</p>', block, re.S)
    raise AssertionError(f"the page has no field {name}")


def shown(html, testid):
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, f"the page shows no {testid}"
    return match.group(1)


def twilio_actions(tenant):
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action.like("twilio.%"))
        .order_by(AuditEvent.id)
    ).all()


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


@pytest.fixture
def admin(make_user, tenant):
    return make_user(tenant=tenant, role="admin")


@pytest.fixture
def account(simulator):
    """A simulated Twilio account: (Account SID, auth token)."""
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)
    return account_sid, auth_token


def test_show_offers_the_form_when_not_connected(client, login, admin, tenant):
    login(admin)

    response = client.get(setup_path(tenant))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Connect your Twilio account" in html
    assert 'data-testid="connection"' not in html


def test_save_connects_with_valid_credentials(
    client, login, form_token, admin, tenant, account
):
    account_sid, auth_token = account
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid=account_sid,
        auth_token=auth_token,
        whatsapp_number="whatsapp:+1 415 523 8886",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == setup_path(tenant)
    settings = saved_settings(tenant)
    assert settings.account_sid == account_sid
    assert settings.whatsapp_number == WHATSAPP
    assert settings.auth_token_last4 == auth_token[-4:]
    assert settings.updated_by_id == admin.id

    page = client.get(setup_path(tenant)).get_data(as_text=True)
    assert "Twilio accepted the credentials" in page
    assert account_sid in page
    assert shown(page, "token-last4") == "••••" + auth_token[-4:]
    assert settings.verified_at.strftime("%Y-%m-%d %H:%M:%S UTC") in page


def test_save_stores_the_optional_number_and_messaging_service(
    client, login, form_token, admin, tenant, account
):
    account_sid, auth_token = account
    service_sid = "MG" + "0123456789abcdef" * 2
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid=account_sid,
        auth_token=auth_token,
        phone_number="+44 20 7946 0958",
        messaging_service_sid=service_sid,
    )

    assert response.status_code == 303
    settings = saved_settings(tenant)
    assert settings.phone_number == "+442079460958"
    assert settings.messaging_service_sid == service_sid
    page = client.get(setup_path(tenant)).get_data(as_text=True)
    assert "+442079460958" in page
    assert service_sid in page


def test_save_keeps_the_auth_token_out_of_pages_database_and_logs(
    client, login, form_token, admin, tenant, account, caplog
):
    account_sid, auth_token = account
    login(admin)
    token = form_token(setup_path(tenant))
    for name in ("", "dashboard", "twilio", "twilio.http_client", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)

    saved = post_setup(
        client, tenant, token, account_sid=account_sid, auth_token=auth_token
    )
    page = client.get(setup_path(tenant))

    assert saved.status_code == 303
    assert auth_token not in saved.get_data(as_text=True)
    assert auth_token not in page.get_data(as_text=True)
    stored = db.session.execute(
        sa.text(
            "SELECT auth_token_encrypted FROM twilio_settings WHERE tenant_id = :t"
        ),
        {"t": tenant.id},
    ).scalar_one()
    assert auth_token not in stored
    assert decrypt_secret(stored) == auth_token
    assert f"Twilio connected for tenant {tenant.id}" in caplog.text
    assert auth_token not in caplog.text
    assert all(auth_token not in record.getMessage() for record in caplog.records)


def test_show_prefills_a_connected_account_but_never_the_token(
    client, login, admin, tenant, connect_twilio
):
    settings = connect_twilio(tenant)
    login(admin)

    html = client.get(setup_path(tenant)).get_data(as_text=True)

    assert "Replace the credentials" in html
    assert f'value="{settings.account_sid}"' in html
    assert settings.plain_auth_token not in html
    assert re.search(r'<input[^>]*name="auth_token"[^>]*value=""', html)


def test_save_replaces_the_credentials_of_a_connected_account(
    client, login, form_token, admin, tenant, connect_twilio, account
):
    connect_twilio(tenant)
    account_sid, auth_token = account
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid=account_sid,
        auth_token=auth_token,
    )

    assert response.status_code == 303
    rows = db.session.scalar(sa.text("SELECT count(*) FROM twilio_settings"))
    assert rows == 1
    assert saved_settings(tenant).account_sid == account_sid
    assert saved_settings(tenant).auth_token_last4 == auth_token[-4:]


def test_save_with_a_wrong_token_shows_twilio_refusal_and_saves_nothing(
    client, login, form_token, admin, tenant, account
):
    account_sid, _ = account
    wrong_token = "f" * 32
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid=account_sid,
        auth_token=wrong_token,
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert REJECTED in html
    assert wrong_token not in html
    assert f'value="{account_sid}"' in html
    assert saved_settings(tenant) is None
    assert twilio_actions(tenant) == []


def test_save_with_a_wrong_token_keeps_the_previous_connection(
    client, login, form_token, admin, tenant, connect_twilio, account
):
    before = connect_twilio(tenant)
    account_sid, _ = account
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid=account_sid,
        auth_token="f" * 32,
    )

    assert response.status_code == 422
    assert saved_settings(tenant).account_sid == before.account_sid


def test_save_when_twilio_is_unreachable_shows_it_and_saves_nothing(
    app, client, login, form_token, admin, tenant
):
    app.config["TWILIO_API_BASE_URL"] = "http://127.0.0.1:9"
    account_sid, auth_token = new_account()
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid=account_sid,
        auth_token=auth_token,
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert UNREACHABLE in html
    assert "Nothing was saved." in html
    assert saved_settings(tenant) is None


@pytest.mark.parametrize(
    ("fault", "plain_words"),
    [
        ("error 500", "Twilio had an internal error; try again shortly."),
        ("garbled answer", UNREACHABLE),
        ("slow answer", UNREACHABLE),
    ],
    ids=["error 500", "garbled answer", "slow answer"],
)
def test_save_when_twilio_fails_shows_it_and_saves_nothing(
    app, client, login, form_token, admin, tenant, account, simulator, fault,
    plain_words,
):  # fmt: skip
    account_sid, auth_token = account
    login(admin)
    token = form_token(setup_path(tenant))
    if fault == "error 500":
        simulator.state.fail_next(status=500)
    elif fault == "garbled answer":
        simulator.state.fail_next(status=200, body="malformed")
    else:
        app.config["TWILIO_TIMEOUT"] = 0.2
        simulator.state.delay_next(5)

    response = post_setup(
        client, tenant, token, account_sid=account_sid, auth_token=auth_token
    )

    assert response.status_code == 422
    assert plain_words in response.get_data(as_text=True)
    assert saved_settings(tenant) is None


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("account_sid", "", "Paste the Account SID from the Twilio Console."),
        ("account_sid", "AC123", "An Account SID is AC followed by 32 hex digits."),
        ("account_sid", "MG" + "a" * 32, "An Account SID is AC followed by 32 hex"),
        ("auth_token", "", "Paste the Auth Token from the Twilio Console."),
        ("auth_token", "short", "Paste the Auth Token from the Twilio Console."),
        ("whatsapp_number", "", "Enter the WhatsApp sender number."),
        ("whatsapp_number", "4155238886", "use international format with +"),
        ("whatsapp_number", "+1415", "the wrong length for its country"),
        ("phone_number", "not a number", "use international format with +"),
        ("messaging_service_sid", "MG123", "A Messaging Service SID is MG followed"),
        ("messaging_service_sid", "AC" + "a" * 32, "A Messaging Service SID is MG"),
    ],
)
def test_save_with_a_malformed_field_puts_the_error_on_it(
    client, login, form_token, admin, tenant, name, value, error
):
    # No simulator runs: a request to Twilio would show the unreachable error.
    account_sid, auth_token = new_account()
    login(admin)
    fields = {"account_sid": account_sid, "auth_token": auth_token, name: value}

    response = post_setup(client, tenant, form_token(setup_path(tenant)), **fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert any(error in shown for shown in field_errors(html, name))
    assert UNREACHABLE not in html
    assert saved_settings(tenant) is None


def test_save_with_several_malformed_fields_marks_each_of_them(
    client, login, form_token, admin, tenant
):
    login(admin)

    response = post_setup(
        client,
        tenant,
        form_token(setup_path(tenant)),
        account_sid="AC123",
        auth_token="short",
        whatsapp_number="4155238886",
        messaging_service_sid="MG123",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for name in ("account_sid", "auth_token", "whatsapp_number"):
        assert field_errors(html, name), f"{name} has no error"
    assert field_errors(html, "messaging_service_sid")
    assert field_errors(html, "phone_number") == []


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_save_without_a_valid_csrf_token_is_refused(
    client, login, admin, tenant, account, token
):
    account_sid, auth_token = account
    login(admin)
    data = {
        "account_sid": account_sid,
        "auth_token": auth_token,
        "whatsapp_number": WHATSAPP,
    }
    if token is not None:
        data["csrf_token"] = token

    response = client.post(setup_path(tenant), data=data)

    assert response.status_code == 400
    assert saved_settings(tenant) is None


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_remove_without_a_valid_csrf_token_is_refused(
    client, login, admin, tenant, connect_twilio, token
):
    connect_twilio(tenant)
    login(admin)
    data = {} if token is None else {"csrf_token": token}

    response = client.post(f"{setup_path(tenant)}/remove", data=data)

    assert response.status_code == 400
    assert saved_settings(tenant) is not None


def test_remove_disconnects_and_both_changes_are_audited(
    client, login, form_token, admin, tenant, account
):
    account_sid, auth_token = account
    login(admin)
    token = form_token(setup_path(tenant))
    post_setup(client, tenant, token, account_sid=account_sid, auth_token=auth_token)

    response = client.post(f"{setup_path(tenant)}/remove", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["Location"] == setup_path(tenant)
    assert saved_settings(tenant) is None
    assert db.session.scalar(sa.text("SELECT count(*) FROM twilio_settings")) == 0
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action.like("twilio.%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [event.action for event in events] == [
        "twilio.connected",
        "twilio.disconnected",
    ]
    assert {event.tenant_id for event in events} == {tenant.id}
    assert {event.actor_user_id for event in events} == {admin.id}
    assert events[0].detail == {"account_sid": account_sid}
    page = client.get(setup_path(tenant)).get_data(as_text=True)
    assert "Twilio is disconnected" in page
    assert "Connect your Twilio account" in page


def test_remove_when_not_connected_says_so(client, login, form_token, admin, tenant):
    login(admin)
    token = form_token(setup_path(tenant))

    response = client.post(f"{setup_path(tenant)}/remove", data={"csrf_token": token})

    assert response.status_code == 303
    assert twilio_actions(tenant) == []
    page = client.get(setup_path(tenant)).get_data(as_text=True)
    assert "Twilio was not connected." in page


def test_setup_pages_forbid_agents(
    client, login, form_token, make_user, tenant, connect_twilio, account
):
    connect_twilio(tenant)
    account_sid, auth_token = account
    login(make_user(tenant=tenant, role="agent"))
    token = form_token(f"/tenants/{tenant.id}/wallet")

    page = client.get(setup_path(tenant))
    saved = post_setup(
        client, tenant, token, account_sid=account_sid, auth_token=auth_token
    )
    removed = client.post(f"{setup_path(tenant)}/remove", data={"csrf_token": token})

    assert (page.status_code, saved.status_code, removed.status_code) == (403,) * 3
    assert saved_settings(tenant).account_sid != account_sid


def test_setup_pages_of_another_tenant_are_not_found(
    client, login, form_token, make_tenant, make_user, tenant, connect_twilio, account
):
    before = connect_twilio(tenant)
    other = make_tenant()
    other_admin = make_user(tenant=other, role="admin")
    account_sid, auth_token = account
    login(other_admin)
    token = form_token(setup_path(other))

    page = client.get(setup_path(tenant))
    saved = post_setup(
        client, tenant, token, account_sid=account_sid, auth_token=auth_token
    )
    removed = client.post(f"{setup_path(tenant)}/remove", data={"csrf_token": token})

    assert (page.status_code, saved.status_code, removed.status_code) == (404,) * 3
    assert before.account_sid not in page.get_data(as_text=True)
    assert saved_settings(tenant).account_sid == before.account_sid
    assert saved_settings(other) is None


def test_setup_pages_let_operators_manage_any_tenant(
    client, login, form_token, make_user, tenant, account
):
    operator = make_user(role="operator")
    account_sid, auth_token = account
    login(operator)
    token = form_token(setup_path(tenant))

    saved = post_setup(
        client, tenant, token, account_sid=account_sid, auth_token=auth_token
    )
    page = client.get(setup_path(tenant))

    assert saved.status_code == 303
    assert page.status_code == 200
    assert saved_settings(tenant).updated_by_id == operator.id


def test_show_without_login_redirects_to_login(client, tenant):
    response = client.get(setup_path(tenant))

    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_show_gives_the_exact_webhook_urls(app, client, login, admin, tenant):
    login(admin)
    base = app.config["PUBLIC_BASE_URL"]

    html = client.get(setup_path(tenant)).get_data(as_text=True)

    assert shown(html, "status-url") == base + "/api/whatsapp/webhooks/status"
    assert shown(html, "incoming-url") == base + "/api/whatsapp/webhooks/incoming"
    assert 'class="copyable" data-testid="status-url"' in html


@pytest.mark.app_config(PUBLIC_BASE_URL="https://inbox.example.com")
def test_show_builds_webhook_urls_from_the_public_base_url(
    client, login, admin, tenant
):
    login(admin)

    html = client.get(setup_path(tenant)).get_data(as_text=True)

    assert shown(html, "status-url") == (
        "https://inbox.example.com/api/whatsapp/webhooks/status"
    )
    assert shown(html, "incoming-url") == (
        "https://inbox.example.com/api/whatsapp/webhooks/incoming"
    )


def test_show_has_no_inline_script_or_style(client, login, admin, tenant):
    login(admin)

    html = client.get(setup_path(tenant)).get_data(as_text=True)

    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_encrypt_secret_round_trips_without_the_plain_text(app):
    secret = "a3f1c2d4e5b60718293a4b5c6d7e8f90"

    ciphertext = encrypt_secret(secret)

    assert secret not in ciphertext
    assert ciphertext != encrypt_secret(secret)
    assert decrypt_secret(ciphertext) == secret


def test_decrypt_secret_after_key_rotation_reads_old_and_rotated_secrets(app):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secret = "a3f1c2d4e5b60718293a4b5c6d7e8f90"
    app.config["CREDENTIALS_KEYS"] = [old]
    under_old = encrypt_secret(secret)

    app.config["CREDENTIALS_KEYS"] = [new, old]
    assert decrypt_secret(under_old) == secret
    rotated = rotate_secret(under_old)

    app.config["CREDENTIALS_KEYS"] = [new]
    assert decrypt_secret(rotated) == secret
    with pytest.raises(CredentialsError):
        decrypt_secret(under_old)
