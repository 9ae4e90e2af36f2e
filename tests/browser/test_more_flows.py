"""More of the product in Chromium: an admin connecting Twilio, a template reply
once the 24-hour window has closed, and the admin pages an agent may not open.
Twilio is played by the local simulator."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.models import Conversation, Template
from dashboard.twilio_setup.settings import settings_for
from dashboard.types import utcnow
from tests.conftest import new_account

CONTACT = "+5511987654321"
WHATSAPP_NUMBER = "+14155238886"


def fill_twilio_form(page, account_sid, auth_token):
    page.get_by_label("Account SID").fill(account_sid)
    page.get_by_label("Auth Token").fill(auth_token)
    page.get_by_label("WhatsApp sender number").fill(WHATSAPP_NUMBER)
    page.get_by_role("button", name="Check with Twilio and save").click()


# Connecting Twilio --------------------------------------------------------------


def test_twilio_connect_wrong_token_shows_error_and_saves_nothing(
    page, make_tenant, make_user, log_in_as, simulator
):
    tenant = make_tenant(name="Acme")
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)
    log_in_as(page, make_user(tenant, role="admin"))
    page.goto(f"/tenants/{tenant.id}/twilio")

    fill_twilio_form(page, account_sid, "f" * 32)

    expect(page.locator("form .error")).to_have_text(
        "Twilio rejected the Account SID or Auth Token. Nothing was saved."
    )
    expect(page.get_by_test_id("connection")).to_have_count(0)
    expect(page.get_by_label("Account SID")).to_have_value(account_sid)
    assert settings_for(tenant.id) is None


def test_twilio_connect_right_token_shows_only_its_last_4(
    page, make_tenant, make_user, log_in_as, simulator
):
    tenant = make_tenant(name="Acme")
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)
    log_in_as(page, make_user(tenant, role="admin"))
    page.goto(f"/tenants/{tenant.id}/twilio")

    fill_twilio_form(page, account_sid, auth_token)

    expect(page.get_by_role("status")).to_contain_text(
        "Twilio accepted the credentials and they are saved."
    )
    connection = page.get_by_test_id("connection")
    expect(connection).to_contain_text(account_sid)
    expect(page.get_by_test_id("token-last4")).to_have_text(f"••••{auth_token[-4:]}")
    expect(page.get_by_label("Auth Token")).to_have_value("")
    assert auth_token not in page.content()
    assert settings_for(tenant.id).account_sid == account_sid


# Template replies once the window has closed -----------------------------------


@pytest.fixture
def closed_conversation(tenant, make_message):
    """A conversation whose contact last wrote 25 hours ago."""
    message = make_message(
        tenant,
        direction="inbound",
        from_number=CONTACT,
        to_number=tenant.settings.whatsapp_number,
        contact_number=CONTACT,
        body="Is my order on its way?",
        status="received",
    )
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.tenant_id == tenant.id)
        .values(last_incoming_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    return db.session.get(Conversation, message.conversation_id)


@pytest.fixture
def greeting(tenant, simulator):
    """An approved template with one variable, known to the tenant and to Twilio."""
    content_sid = simulator.state.add_content(
        tenant.settings.account_sid, "greeting", "Hello {{1}}"
    )
    template = Template(
        tenant_id=tenant.id,
        name="greeting",
        content_sid=content_sid,
        variables=["1"],
        preview="Hello {{1}}",
    )
    db.session.add(template)
    db.session.commit()
    return template


def test_thread_window_closed_offers_only_templates_and_charges_template_price(
    page, make_user, log_in_as, tenant, closed_conversation, greeting
):
    log_in_as(page, make_user(tenant, role="agent"))
    page.goto(f"/tenants/{tenant.id}/inbox/{closed_conversation.id}")

    expect(page.get_by_role("note")).to_have_text(
        "The 24-hour window is closed: only templates can be sent."
    )
    expect(page.get_by_label("Message", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Send", exact=True)).to_have_count(0)
    expect(page.get_by_label("Template")).to_have_value(str(greeting.id))
    expect(page.locator(".template-preview")).to_have_text("Hello {{1}}")

    page.get_by_label("{{1}}").fill("Maria")
    page.get_by_role("button", name="Send template").click()

    expect(page.get_by_text("Sent, charged 0.1925.")).to_be_visible()
    sent = page.locator(".bubble-out", has_text="Hello Maria")
    expect(sent).to_be_visible()
    expect(sent.locator(".tag")).to_have_text("template")
    page.goto(f"/tenants/{tenant.id}/wallet")
    expect(page.get_by_test_id("balance")).to_have_text("9.8075")


# What an agent may not open ------------------------------------------------------


@pytest.mark.parametrize("area", ["twilio", "templates", "api-tokens", "users"])
def test_admin_page_for_agent_is_forbidden(
    page, make_tenant, make_user, log_in_as, area
):
    tenant = make_tenant()
    log_in_as(page, make_user(tenant, role="agent"))

    response = page.goto(f"/tenants/{tenant.id}/{area}")

    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Your role does not allow this.")).to_be_visible()
