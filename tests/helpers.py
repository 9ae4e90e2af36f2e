"""Small helpers shared by test modules (fixtures live in conftest.py)."""

import os
import uuid
from contextlib import contextmanager
from decimal import Decimal

import sqlalchemy as sa

from dashboard.extensions import db
from dashboard.models import LedgerEntry, Message, Wallet

WEBHOOK_BASE = "http://dashboard.test/api/whatsapp/webhooks"


def balance_of(tenant):
    db.session.expire_all()
    balance = db.session.scalar(
        sa.select(Wallet.balance).where(Wallet.tenant_id == tenant.id)
    )
    db.session.commit()
    return balance


def ledger_of(tenant):
    """(kind, amount, message id) of each ledger entry, oldest first."""
    return db.session.execute(
        sa.select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.message_id)
        .where(LedgerEntry.wallet_id == tenant.wallet.id)
        .order_by(LedgerEntry.id)
    ).all()


def charges_of(tenant):
    """Ledger entries of messages only, leaving out top-ups."""
    return [row for row in ledger_of(tenant) if row.kind in ("debit", "refund")]


def ledger_total(tenant):
    return sum((row.amount for row in ledger_of(tenant)), Decimal(0))


def messages_of(tenant):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(Message).where(Message.tenant_id == tenant.id).order_by(Message.id)
    ).all()


def post_signed(app, signed):
    """Post a request the simulator signed, as Twilio would: from a client of its
    own, with no cookies."""
    return app.test_client().post(
        signed.path, data=signed.params, headers=signed.headers
    )


@contextmanager
def fresh_database(prefix, sqlite_path):
    """A brand-new database of the kind this run tests, dropped afterwards:
    PostgreSQL beside TEST_DATABASE_URL's database, else an SQLite file."""
    from dashboard.config import database_url

    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{sqlite_path}"
        return
    url = sa.make_url(database_url(base))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        admin.dispose()


TEMPLATE_SID = "HX" + "a" * 32


def send_template(tenant, to="+5511999990000"):
    """Send a template message; it needs no open window, keeping tests short."""
    from dashboard.audit import Actor
    from dashboard.messaging.sending import Outgoing, send

    message = send(
        tenant.id,
        Outgoing(to=to, message_type="template", content_sid=TEMPLATE_SID),
        Actor.system("tests"),
    )
    db.session.commit()
    return message
