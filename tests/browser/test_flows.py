"""The product's main loops in a real browser, with Twilio played by the local
simulator sending its status callbacks on its own, a fraction of a second apart."""

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.simulator import SimulatorServer
from dashboard.twilio_setup.settings import connect
from dashboard.urls import INCOMING_WEBHOOK_PATH, public_url
from tests.conftest import TESTS, new_account

CONTACT = "+5511987654321"
LIVE_UPDATE_MS = 15_000


@pytest.fixture
def live_simulator(app, live_server):
    """A simulator that sends status callbacks by itself, to the live app."""
    server = SimulatorServer(callback_delay=0.3).start()
    app.config["TWILIO_API_BASE_URL"] = server.url
    yield server
    server.stop()


@pytest.fixture
def tenant(make_tenant, live_simulator):
    tenant = make_tenant(name="Acme", balance="10")
    account_sid, auth_token = new_account()
    live_simulator.state.add_account(account_sid, auth_token)
    settings = connect(tenant, account_sid, auth_token, "+14155238886", TESTS)
    tenant.account = (settings.account_sid, settings.whatsapp_number)
    db.session.commit()
    return tenant


@pytest.fixture
def agent(make_user, tenant):
    return make_user(tenant, role="agent", email="agent@acme.test")


def customer_writes(live_simulator, tenant, body):
    account_sid, number = tenant.account
    status = live_simulator.deliver_incoming(
        account_sid,
        public_url(INCOMING_WEBHOOK_PATH),
        CONTACT,
        number,
        body,
        profile_name="Maria Silva",
    )
    assert status == 200


def test_sent_message_reaches_read_on_the_history_page_without_reload(
    page, log_in_as, agent, tenant, live_simulator
):
    customer_writes(live_simulator, tenant, "Is my order on its way?")
    log_in_as(page, agent)
    page.goto(f"/tenants/{tenant.id}/messages")

    page.get_by_label("To", exact=True).fill(CONTACT)
    page.get_by_label("Message").fill("Yes! It ships today.")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_text("sent, charged 0.0275")).to_be_visible()
    row = page.locator("#history tbody tr", has_text="It ships today")
    expect(row.locator(".status")).to_have_text("read", timeout=LIVE_UPDATE_MS)
    page.screenshot(path="test-artifacts/history-read.png", full_page=True)


def test_incoming_message_appears_in_an_open_inbox_and_reply_goes_to_read(
    page, log_in_as, agent, tenant, live_simulator
):
    customer_writes(live_simulator, tenant, "Hello, anyone there?")
    log_in_as(page, agent)
    expect(page.locator("#inbox-list")).to_contain_text("Maria Silva")

    customer_writes(live_simulator, tenant, "<script>alert(1)</script> still waiting")
    expect(page.locator("#inbox-list")).to_contain_text(
        "<script>alert(1)</script> still waiting", timeout=LIVE_UPDATE_MS
    )

    page.locator("#inbox-list").get_by_text("Maria Silva").click()
    page.get_by_label("Message").fill("Hi Maria, how can I help?")
    page.get_by_role("button", name="Send", exact=True).click()

    reply = page.locator(".bubble-out", has_text="how can I help")
    expect(reply).to_be_visible()
    expect(reply.locator(".ticks")).to_have_class(
        "ticks ticks-read", timeout=LIVE_UPDATE_MS
    )
    page.screenshot(path="test-artifacts/inbox-read.png", full_page=True)
