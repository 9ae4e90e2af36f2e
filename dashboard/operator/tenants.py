"""Creating tenants and summarising them for the operator."""

import logging

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import LedgerEntry, Tenant, Wallet
from ..wallet.ledger import month_start, open_wallet

logger = logging.getLogger(__name__)


class TenantError(ValueError):
    """A tenant could not be created; the message says why."""


def create_tenant(name, actor):
    """A new tenant with an empty wallet; the caller commits."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise TenantError("a tenant needs a name of at most 120 characters")
    if db.session.scalar(sa.select(Tenant.id).where(Tenant.name == name)):
        raise TenantError(f"a tenant named {name!r} already exists")

    tenant = Tenant(name=name)
    db.session.add(tenant)
    open_wallet(tenant)
    db.session.flush()
    audit.record("tenant.created", actor, tenant_id=tenant.id, name=name)
    logger.info("tenant %s created", tenant.id)
    return tenant


def tenant_by_name(name):
    return db.session.scalar(sa.select(Tenant).where(Tenant.name == name))


def tenant_summaries():
    """Every tenant with its balance and what it spent this month."""
    month_spend = (
        sa.select(
            LedgerEntry.wallet_id,
            (-sa.func.sum(LedgerEntry.amount)).label("spend"),
        )
        .where(
            LedgerEntry.kind.in_(("debit", "refund")),
            LedgerEntry.created_at >= month_start(),
        )
        .group_by(LedgerEntry.wallet_id)
        .subquery()
    )
    return db.session.execute(
        sa.select(Tenant, Wallet.balance, month_spend.c.spend)
        .join(Wallet, Wallet.tenant_id == Tenant.id)
        .outerjoin(month_spend, month_spend.c.wallet_id == Wallet.id)
        .order_by(Tenant.name)
    ).all()
