"""Conversations: one per tenant and contact, kept current as messages are stored,
so the inbox reads a small indexed table instead of grouping the message history."""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Conversation
from ..types import utcnow

WINDOW = timedelta(hours=24)
PREVIEW_LENGTH = 160


def conversation_for(tenant_id, contact_number):
    return db.session.scalar(
        sa.select(Conversation).where(
            Conversation.tenant_id == tenant_id,
            Conversation.contact_number == contact_number,
        )
    )


def window_closes_at(conversation):
    """When free-form replies stop being allowed; None if the contact never wrote."""
    if conversation is None or conversation.last_incoming_at is None:
        return None
    return conversation.last_incoming_at + WINDOW


def window_is_open(conversation, now=None):
    closes_at = window_closes_at(conversation)
    return closes_at is not None and (now or utcnow()) < closes_at


def record_in_conversation(message):
    """Count a message in its conversation, creating it if needed; call it
    before the message is inserted, in the same transaction.

    One conditional UPDATE, so concurrent messages for the same contact neither
    lose counts nor move `last_message_at` backwards. Its row lock, held until
    commit, is taken before the message gets its id: the messages of one
    conversation then commit in the order of their ids, which lets an open
    thread poll for "ids above the last one shown" without missing any.
    """
    at = message.created_at
    conversation_id = _ensure_conversation(
        message.tenant_id, message.contact_number, at
    )
    inbound = message.direction == "inbound"
    newer = sa.or_(
        Conversation.last_message_at < at,
        sa.and_(Conversation.last_message_at == at, Conversation.message_count == 0),
    )
    values = {
        "message_count": Conversation.message_count + 1,
        "last_message_at": sa.case((newer, at), else_=Conversation.last_message_at),
        "last_message_preview": sa.case(
            (newer, _preview(message)), else_=Conversation.last_message_preview
        ),
        "last_message_direction": sa.case(
            (newer, message.direction), else_=Conversation.last_message_direction
        ),
        "updated_at": utcnow(),
    }
    if inbound:
        values["unread_count"] = Conversation.unread_count + 1
        values["status"] = "open"
        values["last_incoming_at"] = sa.case(
            (
                sa.or_(
                    Conversation.last_incoming_at.is_(None),
                    Conversation.last_incoming_at < at,
                ),
                at,
            ),
            else_=Conversation.last_incoming_at,
        )
        if message.profile_name:
            values["contact_name"] = message.profile_name
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    message.conversation_id = conversation_id
    return conversation_id


def _ensure_conversation(tenant_id, contact_number, at):
    existing = db.session.scalar(
        sa.select(Conversation.id).where(
            Conversation.tenant_id == tenant_id,
            Conversation.contact_number == contact_number,
        )
    )
    if existing is not None:
        return existing
    try:
        with db.session.begin_nested():
            conversation = Conversation(
                tenant_id=tenant_id,
                contact_number=contact_number,
                last_message_at=at,
                message_count=0,
                unread_count=0,
            )
            db.session.add(conversation)
            db.session.flush()
            return conversation.id
    except IntegrityError:
        # Another request created it first; use theirs.
        return db.session.scalar(
            sa.select(Conversation.id).where(
                Conversation.tenant_id == tenant_id,
                Conversation.contact_number == contact_number,
            )
        )


def _preview(message):
    text = message.body or ""
    if not text and message.num_media:
        text = f"[{message.num_media} attachment(s)]"
    if not text and message.latitude:
        text = "[location]"
    return " ".join(text.split())[:PREVIEW_LENGTH]
