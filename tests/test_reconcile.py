"""Reconciliation: messages whose callbacks were lost are caught up from Twilio."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dashboard.extensions import db
from dashboard.messaging.reconcile import RECONCILE_WINDOW, reconcile
from dashboard.models import STATUS_RANK, Message
from dashboard.types import utcnow
from tests.helpers import (
    balance_of,
    charges_of,
    ledger_total,
    messages_of,
    send_template,
)

FAILING = "+5511977770000"


def age(hours):
    db.session.execute(
        sa.update(Message).values(created_at=utcnow() - timedelta(hours=hours))
    )
    db.session.commit()


def test_reconcile_applies_what_twilio_says_when_callbacks_were_lost(
    runner, tenant, simulator
):
    send_template(tenant)
    simulator.state.complete_all()
    age(13)

    result = runner.invoke(args=["messages", "reconcile"])

    assert result.exit_code == 0, result.output
    assert "queued -> read" in result.output
    [message] = messages_of(tenant)
    assert message.status == "read"
    assert message.delivered_at is not None and message.read_at is not None


def test_reconcile_leaves_young_messages_alone(runner, tenant, simulator):
    send_template(tenant)
    simulator.state.complete_all()

    result = runner.invoke(args=["messages", "reconcile"])

    assert "0 message(s) changed" in result.output
    assert [m.status for m in messages_of(tenant)] == ["queued"]


def test_reconcile_reaches_every_stale_message_past_a_batch(
    runner, tenant, simulator, monkeypatch
):
    monkeypatch.setattr("dashboard.messaging.reconcile.BATCH", 2)
    for _ in range(5):
        send_template(tenant)
    simulator.state.complete_all()
    age(13)

    result = runner.invoke(args=["messages", "reconcile"])

    assert "5 message(s) changed" in result.output
    assert [m.status for m in messages_of(tenant)] == ["read"] * 5


def test_reconcile_leaves_delivered_and_very_old_messages_alone(
    runner, tenant, simulator
):
    delivered, old = send_template(tenant), send_template(tenant)
    simulator.state.complete_all()
    db.session.execute(
        sa.update(Message)
        .where(Message.id == delivered.id)
        .values(status="delivered", status_rank=STATUS_RANK["delivered"])
    )
    age(13)
    db.session.execute(
        sa.update(Message)
        .where(Message.id == old.id)
        .values(created_at=utcnow() - RECONCILE_WINDOW - timedelta(hours=1))
    )
    db.session.commit()

    result = runner.invoke(args=["messages", "reconcile"])

    assert "0 message(s) changed" in result.output
    assert sorted(m.status for m in messages_of(tenant)) == ["delivered", "queued"]


def test_reconcile_refunds_a_failed_message_once(runner, tenant, simulator):
    simulator.state.fail_recipient(FAILING, status="undelivered", error_code=30008)
    send_template(tenant, to=FAILING)
    simulator.state.complete_all()
    age(13)

    runner.invoke(args=["messages", "reconcile", "--older-than", "12"])
    runner.invoke(args=["messages", "reconcile", "--older-than", "0"])

    [message] = messages_of(tenant)
    assert message.status == "undelivered"
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert balance_of(tenant) == Decimal("10")


@pytest.mark.app_config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10})
def test_two_reconciles_at_once_refund_once(app, tenant, simulator):
    simulator.state.fail_recipient(FAILING, status="failed", error_code=30008)
    for _ in range(5):
        send_template(tenant, to=FAILING)
    simulator.state.complete_all()
    age(13)
    start = threading.Barrier(2, timeout=30)
    errors = []

    def run():
        with app.app_context():
            try:
                start.wait()
                reconcile(12)
            except Exception as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [m.status for m in messages_of(tenant)] == ["failed"] * 5
    kinds = [row.kind for row in charges_of(tenant)]
    assert kinds.count("debit") == 5 and kinds.count("refund") == 5
    assert balance_of(tenant) == Decimal("10")
    assert ledger_total(tenant) == balance_of(tenant)


def test_reconcile_keeps_going_when_twilio_fails(runner, tenant, simulator):
    send_template(tenant)
    simulator.state.complete_all()
    age(13)
    simulator.state.fail_next(status=500)

    result = runner.invoke(args=["messages", "reconcile"])

    assert result.exit_code == 0
    assert [m.status for m in messages_of(tenant)] == ["queued"]
