"""The audit trail page: a tenant's changes, newest first, for its admins."""

from dashboard import audit
from dashboard.audit import Actor
from dashboard.extensions import db


def test_admin_sees_events_newest_first(client, make_tenant, make_user, login):
    tenant = make_tenant(balance="5")
    admin = make_user(tenant, role="admin")
    for n in range(60):
        audit.record(
            "token.created", Actor.for_user(admin), tenant_id=tenant.id, token_id=n
        )
    other = make_tenant()
    audit.record("secret.other", Actor.system("x"), tenant_id=other.id)
    db.session.commit()
    login(admin)
    page = client.get(f"/tenants/{tenant.id}/audit")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "token id: 59" in text and "token id: 9<" not in text
    assert text.index("token id: 59") < text.index("token id: 58")
    assert "secret.other" not in text
    assert "wallet.top_up" not in text  # on page 2 (oldest)
    page2 = client.get(f"/tenants/{tenant.id}/audit?page=2").get_data(as_text=True)
    assert "wallet.top_up" in page2 and "amount: 5" in page2
    print(text[text.index("<table") : text.index("<table") + 600])
    assert client.get(f"/tenants/{other.id}/audit").status_code == 404


def test_agent_403(client, make_tenant, make_user, login):
    tenant = make_tenant()
    login(make_user(tenant, role="agent"))
    assert client.get(f"/tenants/{tenant.id}/audit").status_code == 403


def test_operator_ok_and_anon_redirect(client, make_tenant, make_user, login):
    tenant = make_tenant()
    assert client.get(f"/tenants/{tenant.id}/audit").status_code == 302
    login(make_user(None, role="operator"))
    r = client.get(f"/tenants/{tenant.id}/audit")
    assert r.status_code == 200 and "tenant.created" in r.get_data(as_text=True)
    assert client.get("/tenants/999/audit").status_code == 404
