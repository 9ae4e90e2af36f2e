import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dashboard.audit import Actor
from dashboard.extensions import db
from dashboard.models import LedgerEntry, Wallet
from dashboard.wallet.ledger import (
    AlreadyCharged,
    InsufficientCredit,
    LedgerError,
    adjust,
    debit_for_message,
    ledger_sum,
    refund_message,
    top_up,
)

SYSTEM = Actor.system("tests")
FREE = Decimal("0.0275")


def balance(tenant):
    db.session.expire_all()
    return db.session.scalar(
        sa.select(Wallet.balance).where(Wallet.tenant_id == tenant.id)
    )


def test_top_up_adds_credit_and_one_entry(make_tenant):
    tenant = make_tenant()

    entry = top_up(tenant.id, Decimal("12.3456"), SYSTEM, "invoice 7")

    assert balance(tenant) == Decimal("12.3456")
    assert entry.kind == "top_up"
    assert entry.balance_after == Decimal("12.3456")
    assert ledger_sum(tenant.id) == balance(tenant)


@pytest.mark.parametrize("amount", ["0", "-1", "0.00001"])
def test_top_up_refuses_non_positive_or_too_precise_amounts(make_tenant, amount):
    tenant = make_tenant()

    with pytest.raises((LedgerError, ValueError)):
        top_up(tenant.id, Decimal(amount), SYSTEM)

    db.session.rollback()
    assert balance(tenant) == 0
    assert ledger_sum(tenant.id) == 0


def test_debit_takes_the_exact_price_with_four_places(make_tenant, make_message):
    tenant = make_tenant(balance="1.00")
    message = make_message(tenant)

    entry = debit_for_message(message, FREE, SYSTEM)
    db.session.commit()

    assert entry.amount == Decimal("-0.0275")
    assert balance(tenant) == Decimal("0.9725")
    assert ledger_sum(tenant.id) == Decimal("0.9725")


def test_debit_refuses_what_the_wallet_cannot_pay(make_tenant, make_message):
    tenant = make_tenant(balance="0.02")
    message = make_message(tenant)

    with pytest.raises(InsufficientCredit):
        debit_for_message(message, FREE, SYSTEM)

    db.session.rollback()
    assert balance(tenant) == Decimal("0.02")
    assert ledger_sum(tenant.id) == Decimal("0.02")


def test_second_debit_of_a_message_is_refused(make_tenant, make_message):
    tenant = make_tenant(balance="1")
    message = make_message(tenant)
    debit_for_message(message, FREE, SYSTEM)
    db.session.commit()

    with pytest.raises(AlreadyCharged):
        debit_for_message(message, FREE, SYSTEM)
    db.session.commit()

    assert balance(tenant) == Decimal("0.9725")


def test_database_itself_refuses_a_second_debit_entry(make_tenant, make_message):
    tenant = make_tenant(balance="1")
    message = make_message(tenant)
    debit_for_message(message, FREE, SYSTEM)
    db.session.commit()

    db.session.add(
        LedgerEntry(
            wallet_id=tenant.wallet.id,
            kind="debit",
            amount=-FREE,
            balance_after=Decimal("0.9450"),
            message_id=message.id,
            actor="sneaky",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_database_itself_refuses_a_second_refund_entry(make_tenant, make_message):
    tenant = make_tenant(balance="1")
    message = make_message(tenant)
    debit_for_message(message, FREE, SYSTEM)
    refund_message(message, SYSTEM, "failed")
    db.session.commit()

    db.session.add(
        LedgerEntry(
            wallet_id=tenant.wallet.id,
            kind="refund",
            amount=FREE,
            balance_after=Decimal("1.0275"),
            message_id=message.id,
            actor="sneaky",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_refund_happens_once_however_often_asked(make_tenant, make_message):
    tenant = make_tenant(balance="1")
    message = make_message(tenant)
    debit_for_message(message, FREE, SYSTEM)
    db.session.commit()

    first = refund_message(message, SYSTEM, "failed")
    second = refund_message(message, SYSTEM, "failed again")
    db.session.commit()

    assert first is not None and first.amount == FREE
    assert second is None
    assert balance(tenant) == Decimal("1.0000")
    assert ledger_sum(tenant.id) == Decimal("1.0000")


def test_refund_of_an_uncharged_message_does_nothing(make_tenant, make_message):
    tenant = make_tenant(balance="1")
    message = make_message(tenant)

    assert refund_message(message, SYSTEM, "failed") is None
    assert balance(tenant) == Decimal("1")


def test_adjustment_needs_a_reason_and_never_overdraws(make_tenant):
    tenant = make_tenant(balance="5")

    with pytest.raises(LedgerError):
        adjust(tenant.id, Decimal("-1"), SYSTEM, "")
    with pytest.raises(InsufficientCredit):
        adjust(tenant.id, Decimal("-5.0001"), SYSTEM, "correction")
    db.session.rollback()
    adjust(tenant.id, Decimal("-4.5"), SYSTEM, "correction")

    assert balance(tenant) == Decimal("0.5")
    assert ledger_sum(tenant.id) == Decimal("0.5")


def test_balance_can_never_be_written_negative(make_tenant):
    tenant = make_tenant(balance="1")

    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.update(Wallet)
            .where(Wallet.tenant_id == tenant.id)
            .values(balance=Decimal("-0.0001"))
        )
        db.session.flush()
    db.session.rollback()


def test_ten_thousand_debits_and_refunds_stay_exact(make_tenant, make_message):
    tenant = make_tenant(balance="300")

    for number in range(1, 10_001):
        message = make_message(tenant)
        debit_for_message(message, FREE, SYSTEM)
        if number % 3 == 0:
            refund_message(message, SYSTEM, "failed")
        if number % 500 == 0:
            db.session.commit()
    db.session.commit()

    expected = Decimal("300") - 10_000 * FREE + 3_333 * FREE
    assert expected == Decimal("116.6575")
    assert balance(tenant) == expected
    assert ledger_sum(tenant.id) == expected


# One connection per thread, so all fifty really are in flight at once.
@pytest.mark.app_config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 50})
def test_fifty_concurrent_debits_never_overdraw(app, make_tenant, make_message):
    tenant = make_tenant(balance="1.00")
    message_ids = [make_message(tenant).id for _ in range(50)]
    db.session.commit()
    start = threading.Barrier(50, timeout=30)
    outcomes = []

    def debit(message_id):
        with app.app_context():
            from dashboard.models import Message

            start.wait()
            try:
                message = db.session.get(Message, message_id)
                debit_for_message(message, FREE, SYSTEM)
                db.session.commit()
                outcomes.append("paid")
            except InsufficientCredit:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=debit, args=(i,)) for i in message_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("paid") == 36
    assert outcomes.count("refused") == 14
    assert balance(tenant) == Decimal("0.0100")
    assert ledger_sum(tenant.id) == Decimal("0.0100")
