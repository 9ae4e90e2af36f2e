"""Sending through the page, against the simulator over real HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from markupsafe import escape

from dashboard.extensions import db
from dashboard.models import STATUS_POLL_QUIET_AFTER, STATUS_RANK, Conversation, Message
from dashboard.types import utcnow
from tests.helpers import (
    WEBHOOK_BASE,
    balance_of,
    charges_of,
    ledger_total,
    messages_of,
    post_signed,
)

CONTACT = "+5511999990000"
FREE = Decimal("0.0275")


@pytest.fixture
def agent(tenant, make_user, login):
    user = make_user(tenant, role="agent")
    login(user)
    return user


@pytest.fixture
def contact_wrote(app, simulator, tenant):
    """Let a contact write to the tenant, which opens the 24-hour window."""

    def write(number=CONTACT, body="Hello!"):
        signed = simulator.state.incoming_request(
            tenant.settings.account_sid,
            f"{WEBHOOK_BASE}/incoming",
            number,
            tenant.settings.whatsapp_number,
            body,
        )
        assert post_signed(app, signed).status_code == 200

    return write


def send_from_page(client, form_token, tenant, to=CONTACT, body="Your order shipped"):
    path = f"/tenants/{tenant.id}/messages"
    return client.post(
        path, data={"to": to, "body": body, "csrf_token": form_token(path)}
    )


def test_send_charges_the_price_and_keeps_twilios_sid(
    client, form_token, tenant, agent, contact_wrote, simulator
):
    contact_wrote()

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 303
    sent = [m for m in messages_of(tenant) if m.direction == "outbound"]
    assert len(sent) == 1
    assert sent[0].sid.startswith("SM") and len(sent[0].sid) == 34
    assert sent[0].status == "queued"
    assert sent[0].cost == FREE
    assert sent[0].wallet_id == tenant.wallet.id
    assert balance_of(tenant) == Decimal("10") - FREE
    assert [row.kind for row in charges_of(tenant)] == ["debit"]
    twilio_copy = simulator.state.get_message(tenant.settings.account_sid, sent[0].sid)
    assert twilio_copy.to == f"whatsapp:{CONTACT}"


@pytest.mark.parametrize(
    ("recipient", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_send_refused_by_twilio_is_failed_and_refunded_once(
    client, form_token, tenant, agent, contact_wrote, recipient, code
):
    contact_wrote(recipient)

    response = send_from_page(client, form_token, tenant, to=recipient)

    assert response.status_code == 303
    failed = [m for m in messages_of(tenant) if m.direction == "outbound"]
    assert [(m.status, m.error_code) for m in failed] == [("failed", code)]
    assert failed[0].error_message
    assert balance_of(tenant) == Decimal("10")
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert ledger_total(tenant) == balance_of(tenant)
    page = client.get(f"/tenants/{tenant.id}/messages").get_data(as_text=True)
    assert str(escape(failed[0].error_message)) in page


def test_send_to_a_twilio_that_does_not_answer_is_failed_and_refunded(
    app, client, form_token, tenant, agent, contact_wrote, simulator
):
    contact_wrote()
    app.config["TWILIO_TIMEOUT"] = 0.3
    simulator.state.delay_next(1.0)

    send_from_page(client, form_token, tenant)

    failed = [m for m in messages_of(tenant) if m.direction == "outbound"]
    assert [m.status for m in failed] == ["failed"]
    assert "did not answer" in failed[0].error_message
    assert balance_of(tenant) == Decimal("10")
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]


@pytest.mark.parametrize("fault", [500, 429, "malformed"])
def test_send_when_twilio_misbehaves_is_failed_and_refunded(
    client, form_token, tenant, agent, contact_wrote, simulator, fault
):
    contact_wrote()
    if fault == "malformed":
        simulator.state.fail_next(body="malformed")
    else:
        simulator.state.fail_next(status=fault)

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 303
    assert [m.status for m in messages_of(tenant) if m.direction == "outbound"] == [
        "failed"
    ]
    assert balance_of(tenant) == Decimal("10")
    assert ledger_total(tenant) == balance_of(tenant)


def test_send_without_credit_is_refused_and_reaches_no_one(
    client, form_token, make_tenant, connect_twilio, make_user, login, simulator
):
    poor = make_tenant(balance="0.02")
    poor.settings = connect_twilio(poor)
    login(make_user(poor, role="agent"))

    response = send_from_page(client, form_token, poor, body="hi")

    assert response.status_code in (402, 422)
    assert sent_to_twilio(simulator) == []
    assert messages_of(poor) == []
    assert balance_of(poor) == Decimal("0.02")


def test_free_form_send_at_23h59_is_allowed(
    client, form_token, tenant, agent, contact_wrote
):
    contact_wrote()
    _move_last_incoming(tenant, utcnow() - timedelta(hours=23, minutes=59))

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 303
    assert balance_of(tenant) == Decimal("10") - FREE


def test_free_form_send_at_24h01_is_refused_before_any_debit(
    client, form_token, tenant, agent, contact_wrote, simulator
):
    contact_wrote()
    _move_last_incoming(tenant, utcnow() - timedelta(hours=24, minutes=1))

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 422
    assert "24-hour window" in response.get_data(as_text=True)
    assert balance_of(tenant) == Decimal("10")
    assert charges_of(tenant) == []
    assert sent_to_twilio(simulator) == []


def test_free_form_send_to_a_contact_who_never_wrote_is_refused(
    client, form_token, tenant, agent
):
    response = send_from_page(client, form_token, tenant, to="+5511988887777")

    assert response.status_code == 422
    assert charges_of(tenant) == []


@pytest.mark.parametrize(
    ("to", "body", "expected"),
    [
        ("5511999990000", "hi", "international format"),
        ("+99123", "hi", "phone number"),
        ("+5511999990000", "x" * 1601, "1600"),
        ("+5511999990000", "", "required"),
    ],
)
def test_send_form_rejects_bad_input_with_nothing_charged(
    client, form_token, tenant, agent, contact_wrote, to, body, expected
):
    contact_wrote()

    response = send_from_page(client, form_token, tenant, to=to, body=body)

    assert response.status_code == 422
    assert expected in response.get_data(as_text=True).replace(",", "")
    assert charges_of(tenant) == []


def test_send_without_twilio_connected_is_refused(
    client, form_token, make_tenant, make_user, login
):
    tenant = make_tenant(balance="5")
    login(make_user(tenant, role="agent"))

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 422
    assert "Connect a Twilio account" in response.get_data(as_text=True)


def test_send_form_without_csrf_token_is_refused(client, tenant, agent):
    response = client.post(
        f"/tenants/{tenant.id}/messages", data={"to": CONTACT, "body": "hi"}
    )

    assert response.status_code == 400
    assert charges_of(tenant) == []


def test_history_of_another_tenant_is_not_found(
    client, make_tenant, make_user, login, tenant
):
    other = make_tenant()
    login(make_user(other, role="admin"))

    assert client.get(f"/tenants/{tenant.id}/messages").status_code == 404


def sent_to_twilio(simulator):
    return [m for m in simulator.state.messages() if m.direction == "outbound-api"]


def _move_last_incoming(tenant, when):
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.tenant_id == tenant.id)
        .values(last_incoming_at=when)
    )
    db.session.commit()


def test_status_badges_poll_until_final_or_quiet(
    client, form_token, tenant, agent, contact_wrote, simulator
):
    contact_wrote()
    send_from_page(client, form_token, tenant)
    [message] = [m for m in messages_of(tenant) if m.direction == "outbound"]
    status_path = f"/tenants/{tenant.id}/messages/{message.id}/status"

    for status, unchanged_for, polls in [
        ("delivered", timedelta(0), True),
        ("delivered", STATUS_POLL_QUIET_AFTER - timedelta(seconds=5), True),
        ("delivered", STATUS_POLL_QUIET_AFTER, False),
        ("read", timedelta(0), False),
    ]:
        _set_status(message, status, utcnow() - unchanged_for)
        badge = client.get(status_path).get_data(as_text=True)
        history = client.get(f"/tenants/{tenant.id}/messages").get_data(as_text=True)

        assert status in badge
        assert (f'hx-get="{status_path}"' in badge) is polls
        assert (f'hx-get="{status_path}"' in history) is polls


def _set_status(message, status, at):
    db.session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(status=status, status_rank=STATUS_RANK[status], updated_at=at)
    )
    db.session.commit()
