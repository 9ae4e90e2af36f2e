"""Faults in the middle of a send: the ledger always sums to the balance, and no
message stays charged without being sent or refunded."""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dashboard.extensions import db
from dashboard.messaging import sending
from dashboard.messaging.reconcile import reconcile
from dashboard.models import Message
from dashboard.twilio_gateway import send_message as twilio_send
from dashboard.twilio_setup.settings import credentials_of
from dashboard.types import utcnow
from tests.conftest import TESTS
from tests.helpers import (
    WEBHOOK_BASE,
    balance_of,
    charges_of,
    ledger_total,
    messages_of,
    post_signed,
    send_template,
)

CONTACT = "+5511999990000"
FREE = Decimal("0.0275")


@pytest.fixture
def contact_wrote(app, simulator, tenant):
    signed = simulator.state.incoming_request(
        tenant.settings.account_sid,
        f"{WEBHOOK_BASE}/incoming",
        CONTACT,
        tenant.settings.whatsapp_number,
        "Hello",
    )
    assert post_signed(app, signed).status_code == 200


def charged_but_unanswered(tenant, body="Your order shipped"):
    """What a send leaves behind when its process dies after the debit."""
    outgoing = sending.Outgoing(to=CONTACT, body=body)
    to, price, settings = sending._validate(tenant.id, outgoing)
    message, _ = sending._debit_and_record(
        tenant.id, outgoing, to, price, settings, TESTS, None
    )
    return message, settings


def outbound(tenant):
    return [m for m in messages_of(tenant) if m.direction == "outbound"]


def age_pending(minutes):
    db.session.execute(
        sa.update(Message)
        .where(Message.status == "pending")
        .values(created_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def test_send_that_died_before_twilio_got_it_is_failed_and_refunded(
    tenant, contact_wrote, simulator
):
    charged_but_unanswered(tenant)
    age_pending(11)

    changes = reconcile(12)

    [message] = outbound(tenant)
    assert message.status == "failed" and "never received" in message.error_message
    assert list(changes.values()) == [("pending", "failed")]
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert balance_of(tenant) == Decimal("10")
    assert ledger_total(tenant) == balance_of(tenant)


def test_send_that_died_after_twilio_accepted_it_is_adopted(
    tenant, contact_wrote, simulator
):
    message, settings = charged_but_unanswered(tenant)
    accepted = twilio_send(
        credentials_of(settings),
        settings.whatsapp_number,
        CONTACT,
        "http://dashboard.test/api/whatsapp/webhooks/status",
        body=message.body,
    )
    age_pending(11)

    reconcile(12)

    [message] = outbound(tenant)
    assert message.sid == accepted.sid
    assert message.status == "queued"
    assert [row.kind for row in charges_of(tenant)] == ["debit"]
    assert balance_of(tenant) == Decimal("10") - FREE


def test_young_pending_sends_are_left_to_their_request(tenant, contact_wrote):
    charged_but_unanswered(tenant)

    reconcile(12)

    assert [m.status for m in outbound(tenant)] == ["pending"]


def test_two_reconciles_resolve_an_orphan_once(tenant, contact_wrote):
    charged_but_unanswered(tenant)
    age_pending(11)

    reconcile(12)
    reconcile(0)

    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert balance_of(tenant) == Decimal("10")


def _fail_statement(fragment):
    """Make the database refuse the next statement containing `fragment`."""

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if fragment in statement:
            sa.event.remove(db.engine, "before_cursor_execute", refuse)
            raise sa.exc.OperationalError(statement, parameters, Exception("refused"))

    sa.event.listen(db.engine, "before_cursor_execute", refuse)


def send_from_page(client, form_token, tenant):
    path = f"/tenants/{tenant.id}/messages"
    return client.post(
        path, data={"to": CONTACT, "body": "hi", "csrf_token": form_token(path)}
    )


@pytest.fixture
def agent(tenant, make_user, login):
    login(make_user(tenant, role="agent"))


def test_database_refusing_the_debit_charges_and_sends_nothing(
    client, form_token, tenant, agent, contact_wrote, simulator
):
    _fail_statement("INSERT INTO ledger_entries")

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert outbound(tenant) == []
    assert [m for m in simulator.state.messages() if m.direction != "inbound"] == []
    assert balance_of(tenant) == Decimal("10")


def test_database_refusing_to_store_twilios_answer_is_healed_by_reconcile(
    client, form_token, tenant, agent, contact_wrote, simulator
):
    _fail_statement("UPDATE messages SET sid")

    response = send_from_page(client, form_token, tenant)

    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    age_pending(11)
    reconcile(12)
    [message] = outbound(tenant)
    assert message.sid is not None and message.status == "queued"
    assert [row.kind for row in charges_of(tenant)] == ["debit"]
    assert ledger_total(tenant) == balance_of(tenant)


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="SQLite has no server to drop a connection",
)
def test_a_status_callback_outlives_the_database_dropping_its_connection(
    app, tenant, simulator, caplog
):
    """The webhooks' pool does not ping before use, so the first callback after a
    database restart meets a dead connection: it is retried on a fresh one."""
    message = send_template(tenant)
    _queued, sent, delivered, _read = simulator.state.take_callbacks()
    assert post_signed(app, sent).status_code == 200

    _terminate_webhook_connections(app)
    answer = post_signed(app, delivered)

    assert answer.status_code == 200
    assert "database connection lost" in caplog.text
    db.session.expire_all()
    assert db.session.get(Message, message.id).status == "delivered"


def _terminate_webhook_connections(app):
    engine = app.extensions["autocommit_engine"]
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    db.session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()
