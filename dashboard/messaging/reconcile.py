"""Catching up with Twilio when callbacks were lost: fetch a message's status and
apply it through the same rule as the webhook (including the single refund)."""

import logging
from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from ..audit import Actor
from ..extensions import db, end_transaction
from ..models import STATUS_RANK, Message
from ..twilio_gateway import TwilioError, fetch_message, messages_to
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


# Once delivered (or failed), a message is charged rightly and `read` may follow
# or never come; only messages short of that are worth asking Twilio about.
SETTLED_RANK = STATUS_RANK["delivered"]
# Twilio settles messages within hours; one still unsettled after this long is
# not asked about on every run for ever.
RECONCILE_WINDOW = timedelta(days=7)
BATCH = 500


def stale_messages(older_than_hours, after_id=0, limit=None):
    """Outgoing messages with a SID that Twilio has not settled, older than the
    given age and younger than RECONCILE_WINDOW; by id, after `after_id`."""
    now = utcnow()
    return db.session.scalars(
        sa.select(Message)
        .where(
            Message.direction == "outbound",
            Message.sid.is_not(None),
            Message.status_rank < SETTLED_RANK,
            Message.created_at < now - timedelta(hours=older_than_hours),
            Message.created_at >= now - RECONCILE_WINDOW,
            Message.id > after_id,
        )
        .order_by(Message.id)
        .limit(limit or BATCH)
    ).all()


def reconcile(older_than_hours):
    """Resolve orphaned sends and refresh every stale message; returns
    {message id: (before, after)}."""
    changes = {}
    for message in _in_batches(orphaned_sends):
        try:
            resolve_orphan(message)
        except TwilioError as error:
            db.session.rollback()
            logger.warning("could not resolve message %s: %s", message.id, error)
            continue
        db.session.refresh(message)
        if message.status != "pending":
            changes[message.id] = ("pending", message.status)
    stale = partial(stale_messages, older_than_hours)
    for message in _in_batches(stale):
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


def _in_batches(find):
    """Every message `find(after_id=...)` returns, one batch at a time, so that
    messages Twilio cannot settle yet do not hide the ones after them."""
    after_id = 0
    while batch := find(after_id=after_id):
        after_id = batch[-1].id
        yield from batch


# A send whose request died between the debit and Twilio's answer is left
# `pending` with no SID. Twilio answers within TWILIO_TIMEOUT, so one still
# pending after this long belongs to a request that is gone.
ORPHAN_AFTER = timedelta(minutes=10)
# How far Twilio's clock may be ahead of or behind ours when matching.
CLOCK_SLACK = timedelta(minutes=2)
NEVER_REACHED = Actor.system("reconciliation: never reached Twilio")


def orphaned_sends(now=None, after_id=0, limit=None):
    cutoff = (now or utcnow()) - ORPHAN_AFTER
    return db.session.scalars(
        sa.select(Message)
        .where(
            Message.sid.is_(None),
            Message.created_at < cutoff,
            Message.direction == "outbound",
            Message.status == "pending",
            Message.id > after_id,
        )
        .order_by(Message.id)
        .limit(limit or BATCH)
    ).all()


def resolve_orphan(message):
    """Adopt Twilio's copy of an orphaned send, or fail and refund it; commits.

    Returns "adopted" or "failed". Raises TwilioError when Twilio cannot be
    asked, leaving the message for the next run.
    """
    settings = settings_for(message.tenant_id)
    if settings is None:
        return _fail_orphan(message, "Twilio was disconnected before the send.")
    credentials = credentials_of(settings)
    to, body, created_at = message.to_number, message.body, message.created_at
    # Twilio renders a template's text itself, so only free-form bodies compare.
    compare_body = message.message_type == "free"
    end_transaction()

    candidates = messages_to(credentials, to)
    taken = set(
        db.session.scalars(
            sa.select(Message.sid).where(Message.sid.in_([c.sid for c in candidates]))
        )
    )
    match = next(
        (
            candidate
            for candidate in candidates
            if candidate.sid not in taken
            and (not compare_body or (candidate.body or "") == body)
            and candidate.date_created is not None
            and candidate.date_created >= created_at - CLOCK_SLACK
        ),
        None,
    )
    if match is None:
        return _fail_orphan(message, "Twilio never received this message.")
    return _adopt(message, match)


def _adopt(message, answer):
    claimed = db.session.execute(
        sa.update(Message)
        .where(Message.id == message.id, Message.sid.is_(None))
        .values(sid=answer.sid, twilio_created_at=answer.date_created)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        apply_status(message, answer.status, RECONCILIATION, answer.error_code)
    db.session.commit()
    logger.info("orphaned message %s adopted as %s", message.id, answer.status)
    return "adopted"


def _fail_orphan(message, reason):
    db.session.execute(
        sa.update(Message)
        .where(Message.id == message.id, Message.sid.is_(None))
        .values(error_message=reason)
        .execution_options(synchronize_session=False)
    )
    apply_status(message, "failed", NEVER_REACHED)
    db.session.commit()
    logger.info("orphaned message %s failed and refunded", message.id)
    return "failed"
