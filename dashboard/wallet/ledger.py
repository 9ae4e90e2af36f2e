"""The wallet's rules. Every change of balance is one conditional UPDATE of the
wallet row plus one ledger entry, in the caller's transaction, so the balance is
always the sum of the ledger and concurrent writers cannot overdraw it.

`debit_for_message` and `refund_message` join the caller's transaction (a send
records its message in the same one); `top_up` and `adjust` commit.
"""

import logging
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..models import LedgerEntry, Wallet
from ..types import MONEY_QUANTUM, utcnow

logger = logging.getLogger(__name__)


class LedgerError(Exception):
    """A change of balance was refused; the message says why."""


class InsufficientCredit(LedgerError):
    def __init__(self, required=None):
        self.required = required
        super().__init__("not enough credit in the wallet")


class AlreadyCharged(LedgerError):
    def __init__(self):
        super().__init__("this message has already been charged")


def wallet_for(tenant_id):
    return db.session.scalar(sa.select(Wallet).where(Wallet.tenant_id == tenant_id))


def open_wallet(tenant):
    """Give a new tenant its empty wallet; the caller commits."""
    wallet = Wallet(tenant=tenant, balance=Decimal(0))
    db.session.add(wallet)
    return wallet


def top_up(tenant_id, amount, actor, note=""):
    """Add credit bought by the tenant, and commit."""
    _require_positive(amount)
    entry = _change_balance(
        tenant_id, amount, "top_up", actor, note or "Top-up", message_id=None
    )
    audit.record("wallet.top_up", actor, tenant_id=tenant_id, amount=str(amount))
    db.session.commit()
    logger.info("top-up of %s for tenant %s", amount, tenant_id)
    return entry


def adjust(tenant_id, amount, actor, note):
    """Correct the balance by a signed amount with a reason, and commit."""
    _require_positive(abs(amount))
    if not note:
        raise LedgerError("an adjustment needs a reason")
    entry = _change_balance(tenant_id, amount, "adjustment", actor, note, None)
    audit.record("wallet.adjusted", actor, tenant_id=tenant_id, amount=str(amount))
    db.session.commit()
    logger.info("adjustment of %s for tenant %s", amount, tenant_id)
    return entry


def debit_for_message(message, amount, actor):
    """Charge a message once, in the caller's transaction.

    Raises InsufficientCredit when the wallet cannot pay and AlreadyCharged when
    the database already holds a debit for this message.
    """
    _require_positive(amount)
    try:
        with db.session.begin_nested():
            return _change_balance(
                message.tenant_id,
                -amount,
                "debit",
                actor,
                f"WhatsApp {message.message_type} message to {message.to_number}",
                message.id,
            )
    except IntegrityError:
        raise AlreadyCharged() from None


def refund_message(message, actor, reason):
    """Give back what a message was charged, once; None if it is already refunded
    or was never charged. Joins the caller's transaction."""
    charged = db.session.scalar(
        sa.select(LedgerEntry.amount).where(
            LedgerEntry.message_id == message.id, LedgerEntry.kind == "debit"
        )
    )
    if charged is None:
        return None
    try:
        with db.session.begin_nested():
            entry = _change_balance(
                message.tenant_id, -charged, "refund", actor, reason, message.id
            )
    except IntegrityError:
        logger.info("message %s was already refunded", message.id)
        return None
    logger.info("refunded %s for message %s", -charged, message.id)
    return entry


def _change_balance(tenant_id, amount, kind, actor, description, message_id):
    """Move the balance by `amount` if it stays >= 0, and write the entry."""
    new_balance = db.session.execute(
        sa.update(Wallet)
        .where(Wallet.tenant_id == tenant_id, Wallet.balance + amount >= 0)
        .values(balance=Wallet.balance + amount, updated_at=utcnow())
        .returning(Wallet.id, Wallet.balance)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if new_balance is None:
        if wallet_for(tenant_id) is None:
            raise LedgerError(f"tenant {tenant_id} has no wallet")
        raise InsufficientCredit(required=-amount)

    entry = LedgerEntry(
        wallet_id=new_balance.id,
        kind=kind,
        amount=amount,
        balance_after=new_balance.balance,
        description=description[:255],
        message_id=message_id,
        actor=actor.label[:120],
        actor_user_id=actor.user_id,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _require_positive(amount):
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise LedgerError("the amount must be a positive decimal")
    if amount != amount.quantize(MONEY_QUANTUM):
        raise LedgerError("the amount can have at most 4 decimal places")


def ledger_sum(tenant_id):
    """What the ledger adds up to; equals the balance unless something is broken."""
    total = db.session.scalar(
        sa.select(sa.func.sum(LedgerEntry.amount))
        .join(Wallet, Wallet.id == LedgerEntry.wallet_id)
        .where(Wallet.tenant_id == tenant_id)
    )
    return total if total is not None else Decimal("0.0000")


def spend_since(tenant_id, since: datetime):
    """Debits less refunds since a moment: what messages really cost."""
    total = db.session.scalar(
        sa.select(sa.func.sum(LedgerEntry.amount))
        .join(Wallet, Wallet.id == LedgerEntry.wallet_id)
        .where(
            Wallet.tenant_id == tenant_id,
            LedgerEntry.kind.in_(("debit", "refund")),
            LedgerEntry.created_at >= since,
        )
    )
    return -total if total is not None else Decimal("0.0000")


def month_start(now=None):
    now = now or utcnow()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
