"""The data model: tenants and people, wallets and their ledger, Twilio settings,
messages, conversations, templates, API tokens and the audit trails."""

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .types import Money, UTCDateTime, utcnow

ROLES = ("operator", "admin", "agent")
LEDGER_KINDS = ("top_up", "debit", "refund", "adjustment")
DIRECTIONS = ("outbound", "inbound")
MESSAGE_TYPES = ("free", "template", "incoming")

# Twilio's message statuses in the order they can follow each other. A status
# only ever replaces one of a lower rank, so late or repeated callbacks are no-ops.
# `pending` is ours: debited and recorded, Twilio not answered yet.
STATUS_RANK = {
    "pending": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "receiving": 4,
    "received": 5,
    "delivered": 5,
    "read": 6,
    "undelivered": 7,
    "failed": 8,
    "canceled": 8,
}
FINAL_STATUSES = frozenset({"read", "undelivered", "failed", "canceled", "received"})
FAILED_STATUSES = frozenset({"undelivered", "failed", "canceled"})
# A status badge stops asking for news once its message has been this long
# without a change: a delivered message may be read days later, or never, and a
# page of them should not keep polling for it. A reload shows a later change.
STATUS_POLL_QUIET_AFTER = timedelta(minutes=10)


def _in(column, values):
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Tenant(db.Model):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    wallet: Mapped["Wallet"] = relationship(back_populates="tenant")
    twilio_settings: Mapped["TwilioSettings | None"] = relationship(
        back_populates="tenant"
    )


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(_in("role", ROLES), name="role"),
        # Operators stand above tenants; everybody else belongs to exactly one.
        sa.CheckConstraint(
            "(role = 'operator') = (tenant_id IS NULL)", name="tenant_matches_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant | None] = relationship()

    @property
    def is_active(self):
        return self.active

    @property
    def is_operator(self):
        return self.role == "operator"

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def display_name(self):
        return self.name or self.email


class Wallet(db.Model):
    __tablename__ = "wallets"
    __table_args__ = (sa.CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="wallet")


class LedgerEntry(db.Model):
    """One change of a wallet's balance; the balance is the sum of these."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", LEDGER_KINDS), name="kind"),
        sa.CheckConstraint(
            "(kind = 'debit' AND amount < 0)"
            " OR (kind IN ('top_up', 'refund') AND amount > 0)"
            " OR (kind = 'adjustment' AND amount <> 0)",
            name="amount_sign",
        ),
        sa.CheckConstraint(
            "(kind IN ('debit', 'refund')) = (message_id IS NOT NULL)",
            name="message_charges_only",
        ),
        # A message is debited at most once and refunded at most once, whatever
        # races or retries happen above the database.
        sa.UniqueConstraint("message_id", "kind"),
        sa.Index("ix_ledger_entries_wallet_created", "wallet_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(
        sa.ForeignKey("wallets.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(sa.String(255), default="")
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(sa.String(120))
    actor_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TwilioSettings(db.Model):
    """A tenant's own Twilio account; the auth token is stored encrypted."""

    __tablename__ = "twilio_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    account_sid: Mapped[str] = mapped_column(sa.String(34), index=True)
    auth_token_encrypted: Mapped[str] = mapped_column(sa.Text)
    auth_token_last4: Mapped[str] = mapped_column(sa.String(4))
    whatsapp_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    phone_number: Mapped[str | None] = mapped_column(sa.String(20))
    messaging_service_sid: Mapped[str | None] = mapped_column(sa.String(34), index=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    tenant: Mapped[Tenant] = relationship(back_populates="twilio_settings")


class Conversation(db.Model):
    """One thread per tenant and contact, kept current as each message is stored."""

    __tablename__ = "conversations"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "contact_number"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        # Read backwards for the inbox's newest-first order.
        sa.Index(
            "ix_conversations_tenant_activity", "tenant_id", "last_message_at", "id"
        ),
        # The inbox's "anything changed since?" poll.
        sa.Index("ix_conversations_tenant_updated", "tenant_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    contact_number: Mapped[str] = mapped_column(sa.String(20))
    contact_name: Mapped[str | None] = mapped_column(sa.String(255))
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_preview: Mapped[str] = mapped_column(sa.String(160), default="")
    last_message_direction: Mapped[str | None] = mapped_column(sa.String(8))
    last_incoming_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unread_count: Mapped[int] = mapped_column(default=0, server_default="0")
    message_count: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(sa.String(8), default="open")
    assigned_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assigned_user: Mapped[User | None] = relationship()


class Template(db.Model):
    """An approved WhatsApp template (Twilio Content API) a tenant may send."""

    __tablename__ = "templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "content_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    content_sid: Mapped[str] = mapped_column(sa.String(34))
    variables: Mapped[list] = mapped_column(sa.JSON, default=list)
    preview: Mapped[str] = mapped_column(sa.Text, default="")
    category: Mapped[str] = mapped_column(sa.String(40), default="utility")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()


# Room left in each page of messages for the in-place rewrites of its rows
# status changes (PostgreSQL; set by migration 0004).
MESSAGES_FILLFACTOR = 85


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        sa.CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        sa.CheckConstraint(_in("message_type", MESSAGE_TYPES), name="message_type"),
        sa.CheckConstraint(_in("status", STATUS_RANK), name="status"),
        sa.CheckConstraint(
            "direction = 'inbound' OR wallet_id IS NOT NULL", name="outbound_wallet"
        ),
        sa.UniqueConstraint("tenant_id", "idempotency_key"),
        sa.Index("ix_messages_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index(
            "ix_messages_tenant_contact_created",
            "tenant_id",
            "contact_number",
            "created_at",
            "id",
        ),
        # Reconciliation's lookups. Nothing a status change writes is indexed,
        # so PostgreSQL can rewrite a message in place (a HOT update) on each
        # callback instead of adding an entry to every index, trigram ones too.
        sa.Index("ix_messages_created", "created_at"),
        sa.Index(
            "ix_messages_unsent_created",
            "created_at",
            postgresql_where=sa.text("sid IS NULL"),
            sqlite_where=sa.text("sid IS NULL"),
        ),
        {"postgresql_with": {"fillfactor": MESSAGES_FILLFACTOR}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("wallets.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    sid: Mapped[str | None] = mapped_column(sa.String(34), unique=True)
    direction: Mapped[str] = mapped_column(sa.String(8))
    from_number: Mapped[str] = mapped_column(sa.String(20))
    to_number: Mapped[str] = mapped_column(sa.String(20))
    contact_number: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    message_type: Mapped[str] = mapped_column(sa.String(10))
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="SET NULL")
    )
    content_sid: Mapped[str | None] = mapped_column(sa.String(34))
    content_variables: Mapped[dict | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(12))
    status_rank: Mapped[int] = mapped_column(sa.SmallInteger)
    error_code: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    reference_id: Mapped[str | None] = mapped_column(sa.String(255))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    num_media: Mapped[int] = mapped_column(default=0, server_default="0")
    media: Mapped[list | None] = mapped_column(sa.JSON)
    profile_name: Mapped[str | None] = mapped_column(sa.String(255))
    wa_id: Mapped[str | None] = mapped_column(sa.String(32))
    latitude: Mapped[str | None] = mapped_column(sa.String(32))
    longitude: Mapped[str | None] = mapped_column(sa.String(32))
    button_text: Mapped[str | None] = mapped_column(sa.String(255))
    button_payload: Mapped[str | None] = mapped_column(sa.String(255))
    raw: Mapped[dict | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    api_token_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    twilio_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    template: Mapped[Template | None] = relationship()

    @property
    def is_final(self):
        return self.status in FINAL_STATUSES

    def status_may_change_soon(self, now=None):
        """Whether an open page should keep polling this message's status."""
        if self.is_final:
            return False
        return (now or utcnow()) - self.updated_at < STATUS_POLL_QUIET_AFTER

    @property
    def has_failed(self):
        return self.status in FAILED_STATUSES


class WebhookEvent(db.Model):
    """A verified webhook request kept as it came: every incoming message, every
    callback that refunded a message, and callbacks that arrived before their
    message (applied once it is stored). A status callback that only moved a
    message forward is not kept; the message's own timestamps record it."""

    __tablename__ = "webhook_events"
    __table_args__ = (sa.Index("ix_webhook_events_message_sid", "message_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    tenant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    message_sid: Mapped[str | None] = mapped_column(sa.String(34))
    status: Mapped[str | None] = mapped_column(sa.String(16))
    form: Mapped[dict] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(db.Model):
    """Who changed Twilio settings, people, tokens or balances, and when."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_tenant_created", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    actor_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(60))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
