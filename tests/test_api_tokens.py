"""The API tokens page: tenant admins create tokens (shown once) and revoke them."""

import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from dashboard.api.tokens import LAST_USE_PRECISION
from dashboard.extensions import db
from dashboard.formatting import timestamp
from dashboard.models import ApiToken, AuditEvent

TOKEN = re.compile(r'data-testid="token">(wdt_[A-Za-z0-9_-]+)<')


@pytest.fixture
def tenant(make_tenant):
    return make_tenant(balance="5")


@pytest.fixture
def admin(tenant, make_user, login):
    user = make_user(tenant, role="admin")
    login(user)
    return user


def tokens_path(tenant):
    return f"/tenants/{tenant.id}/api-tokens"


def create_token(client, form_token, tenant, name="order system"):
    path = tokens_path(tenant)
    return client.post(path, data={"name": name, "csrf_token": form_token(path)})


def shown_token(response):
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, "the page shows no new token"
    return match.group(1)


def wallet_with(client, token):
    return client.get(
        "/api/whatsapp/wallet", headers={"Authorization": f"Bearer {token}"}
    )


def tokens_of(tenant):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(ApiToken).where(ApiToken.tenant_id == tenant.id)
    ).all()


def test_admin_creates_a_token_that_opens_the_api(
    app, client, form_token, tenant, admin
):
    response = create_token(client, form_token, tenant)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = shown_token(response)
    assert wallet_with(app.test_client(), token).status_code == 200
    [row] = tokens_of(tenant)
    assert row.name == "order system"
    assert row.created_by_id == admin.id
    assert token.startswith(row.prefix)
    assert token not in (row.token_hash, row.prefix)


def test_new_token_is_shown_once_and_never_again(client, form_token, tenant, admin):
    token = shown_token(create_token(client, form_token, tenant))

    page = client.get(tokens_path(tenant)).get_data(as_text=True)

    assert token not in page
    assert tokens_of(tenant)[0].prefix in page
    assert "order system" in page
    with client.session_transaction() as session:
        assert token not in repr(dict(session))


def test_tokens_are_listed_with_their_use(app, client, form_token, tenant, admin):
    token = shown_token(create_token(client, form_token, tenant, name="shop"))
    wallet_with(app.test_client(), token)

    page = client.get(tokens_path(tenant)).get_data(as_text=True)

    [row] = tokens_of(tenant)
    assert "shop" in page
    assert timestamp(row.created_at) in page
    assert timestamp(row.last_used_at) in page
    assert "active" in page


def test_last_use_is_written_once_a_minute_not_on_every_call(
    app, client, form_token, tenant, admin
):
    token = shown_token(create_token(client, form_token, tenant))
    assert wallet_with(app.test_client(), token).status_code == 200
    [row] = tokens_of(tenant)
    first_use = row.last_used_at

    assert wallet_with(app.test_client(), token).status_code == 200
    [row] = tokens_of(tenant)
    assert row.last_used_at == first_use

    _age_last_use(row, LAST_USE_PRECISION)
    assert wallet_with(app.test_client(), token).status_code == 200
    [row] = tokens_of(tenant)
    assert row.last_used_at > first_use


def _age_last_use(row, by):
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == row.id)
        .values(last_used_at=row.last_used_at - by)
    )
    db.session.commit()


def test_token_without_a_name_is_refused(client, form_token, tenant, admin):
    response = create_token(client, form_token, tenant, name="")

    assert response.status_code == 422
    assert "Name the token." in response.get_data(as_text=True)
    assert tokens_of(tenant) == []


def test_token_name_is_escaped(client, form_token, tenant, admin):
    name = "<script>alert(1)</script>"

    page = create_token(client, form_token, tenant, name=name).get_data(as_text=True)

    assert name not in page
    assert str(escape(name)) in page


def test_admin_revokes_a_token_and_it_stops_working(
    app, client, form_token, tenant, admin
):
    token = shown_token(create_token(client, form_token, tenant))
    [row] = tokens_of(tenant)
    path = f"{tokens_path(tenant)}/{row.id}/revoke"

    response = client.post(path, data={"csrf_token": form_token(tokens_path(tenant))})

    assert response.status_code == 303
    assert wallet_with(app.test_client(), token).status_code == 401
    assert tokens_of(tenant)[0].revoked_at is not None
    page = client.get(tokens_path(tenant)).get_data(as_text=True)
    assert "no longer works" in page
    assert "revoked" in page
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)
    ).all()
    assert {"token.created", "token.revoked"} <= set(actions)


def test_revoking_needs_the_csrf_token(app, client, form_token, tenant, admin):
    token = shown_token(create_token(client, form_token, tenant))
    [row] = tokens_of(tenant)

    response = client.post(f"{tokens_path(tenant)}/{row.id}/revoke")

    assert response.status_code == 400
    assert tokens_of(tenant)[0].revoked_at is None
    assert wallet_with(app.test_client(), token).status_code == 200


def test_creating_needs_the_csrf_token(client, tenant, admin):
    response = client.post(tokens_path(tenant), data={"name": "no csrf"})

    assert response.status_code == 400
    assert tokens_of(tenant) == []


def test_agent_may_not_see_or_create_tokens(
    client, form_token, tenant, make_user, login
):
    login(make_user(tenant, role="agent"))
    csrf = form_token(f"/tenants/{tenant.id}/wallet")

    page = client.get(tokens_path(tenant))
    created = client.post(tokens_path(tenant), data={"name": "x", "csrf_token": csrf})

    assert page.status_code == 403
    assert created.status_code == 403
    assert tokens_of(tenant) == []


def test_agent_may_not_revoke_a_token(
    app, client, form_token, tenant, make_user, login, runner
):
    db.session.commit()
    runner.invoke(args=["tokens", "create", "--tenant", tenant.name])
    [row] = tokens_of(tenant)
    login(make_user(tenant, role="agent"))
    token = form_token(f"/tenants/{tenant.id}/wallet")

    response = client.post(
        f"{tokens_path(tenant)}/{row.id}/revoke", data={"csrf_token": token}
    )

    assert response.status_code == 403
    assert tokens_of(tenant)[0].revoked_at is None


def test_tokens_of_another_tenant_are_not_found(
    client, form_token, tenant, make_tenant, make_user, login, runner
):
    db.session.commit()
    runner.invoke(args=["tokens", "create", "--tenant", tenant.name])
    [row] = tokens_of(tenant)
    other = make_tenant()
    login(make_user(other, role="admin"))
    csrf = form_token(tokens_path(other))

    assert client.get(tokens_path(tenant)).status_code == 404
    revoke_theirs = client.post(
        f"{tokens_path(tenant)}/{row.id}/revoke", data={"csrf_token": csrf}
    )
    revoke_through_mine = client.post(
        f"{tokens_path(other)}/{row.id}/revoke", data={"csrf_token": csrf}
    )

    assert revoke_theirs.status_code == 404
    assert revoke_through_mine.status_code == 404
    assert tokens_of(tenant)[0].revoked_at is None


def test_operator_manages_any_tenants_tokens(
    client, form_token, tenant, make_user, login
):
    login(make_user(role="operator"))

    response = create_token(client, form_token, tenant)

    assert response.status_code == 200
    assert shown_token(response)
    assert len(tokens_of(tenant)) == 1


def test_menu_links_the_tokens_page_for_admins(client, tenant, admin):
    page = client.get(f"/tenants/{tenant.id}/wallet").get_data(as_text=True)

    assert f'href="{tokens_path(tenant)}"' in page
