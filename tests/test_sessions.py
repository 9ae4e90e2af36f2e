"""Sessions: no cookie for requests that store nothing, none at all on the JSON
API and the webhooks, and cookies that cannot be forged, whichever way the
session began."""

import pytest

from dashboard.urls import API_PREFIX, STATUS_WEBHOOK_PATH


def test_a_request_that_stores_nothing_gets_no_session_cookie(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers


def test_a_session_begun_without_a_cookie_is_signed_and_read_back(
    client, login, make_user, make_tenant
):
    tenant = make_tenant()
    assert client.get_cookie("session") is None

    login(make_user(tenant, role="admin"))

    assert client.get(f"/tenants/{tenant.id}/wallet").status_code == 200


def test_a_tampered_session_cookie_counts_as_no_session(
    client, login, make_user, make_tenant
):
    tenant = make_tenant()
    login(make_user(tenant, role="admin"))
    signed = client.get_cookie("session").value
    client.set_cookie(
        "session", signed[:-4] + ("AAAA" if signed[-4:] != "AAAA" else "BBBB")
    )

    response = client.get(f"/tenants/{tenant.id}/wallet")

    assert response.status_code == 302
    assert "/login" in response.location


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("POST", STATUS_WEBHOOK_PATH, 400),
        ("GET", API_PREFIX + "/messages", 401),
        ("POST", API_PREFIX + "/send", 401),
    ],
)
def test_api_and_webhooks_neither_read_nor_answer_with_a_session(
    client, login, make_user, make_tenant, method, path, status
):
    tenant = make_tenant()
    login(make_user(tenant, role="admin"))

    response = client.open(path, method=method, data={"MessageStatus": "sent"})

    # A browser's login cookie is no API credential, and nothing is handed out.
    assert response.status_code == status
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert client.get(f"/tenants/{tenant.id}/wallet").status_code == 200
