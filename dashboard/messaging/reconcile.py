"""Catching up with Twilio when callbacks were lost: fetch a message's status and
apply it through the same rule as the webhook (including the single refund)."""

import logging
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db, end_transaction
from ..models import FINAL_STATUSES, Message
from ..twilio_gateway import TwilioError, fetch_message
from ..twilio_setup.settings import credentials_of, settings_for
from ..types import utcnow
from .statuses import RECONCILIATION, apply_status

logger = logging.getLogger(__name__)


def refresh_from_twilio(message, actor=RECONCILIATION):
    """Fetch the message from Twilio and apply what it says; commits.

    Returns Twilio's view (TwilioMessage). Raises TwilioError when Twilio
    refuses or cannot be reached, leaving the message as it was.
    """
    settings = settings_for(message.tenant_id)
    if settings is None or not message.sid:
        raise TwilioError(20404, "nothing to fetch")
    credentials, sid = credentials_of(settings), message.sid
    end_transaction()
    answer = fetch_message(credentials, sid)
    apply_status(message, answer.status, actor, answer.error_code)
    db.session.commit()
    return answer


def stale_messages(older_than_hours, limit=500):
    """Outgoing messages with a SID, not final, older than the given age."""
    cutoff = utcnow() - timedelta(hours=older_than_hours)
    return db.session.scalars(
        sa.select(Message)
        .where(
            Message.direction == "outbound",
            Message.sid.is_not(None),
            Message.status.not_in(FINAL_STATUSES),
            Message.created_at < cutoff,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()


def reconcile(older_than_hours):
    """Refresh every stale message; returns {message id: (before, after)}."""
    changes = {}
    for message in stale_messages(older_than_hours):
        before = message.status
        try:
            refresh_from_twilio(message)
        except TwilioError as error:
            db.session.rollback()
            logger.warning("could not reconcile message %s: %s", message.id, error)
            continue
        db.session.refresh(message)
        if message.status != before:
            changes[message.id] = (before, message.status)
    logger.info("reconciled %s message(s)", len(changes))
    return changes
