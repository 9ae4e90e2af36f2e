"""Applying Twilio's message statuses, from callbacks, fetches and send answers.

A status only ever replaces one of lower rank (see STATUS_RANK), in one
conditional UPDATE, so repeated, late and shuffled callbacks cannot move a
message backwards; timestamps are set once and kept. A failed or undelivered
message is refunded once, enforced by the ledger's unique constraint.
"""

import logging
from functools import cache

import sqlalchemy as sa

from ..audit import Actor
from ..extensions import db
from ..models import FAILED_STATUSES, STATUS_RANK, Message
from ..twilio_gateway import plain_words
from ..types import utcnow
from ..wallet.ledger import refund_message

logger = logging.getLogger(__name__)

SENT_RANK = STATUS_RANK["sent"]
DELIVERED_RANK = STATUS_RANK["delivered"]


def apply_status(message, status, actor, error_code=None, at=None):
    """Move a message to `status` if that is forward; returns True if it moved.

    Joins the caller's transaction. Unknown statuses are ignored (logged).
    """
    rank = STATUS_RANK.get(status)
    if rank is None:
        logger.warning("ignoring unknown status %r for message %s", status, message.id)
        return False
    if rank <= _loaded_rank(message) and status not in FAILED_STATUSES:
        return False  # a repeated or late callback: nothing to write

    moved = db.session.execute(
        *status_update(message.id, status, error_code, at)
    ).rowcount
    if moved:
        logger.info("message %s is now %s", message.id, status)
    if status in FAILED_STATUSES:
        refund_message(message, actor, f"Refund: message {status}")
    db.session.expire(message)
    return bool(moved)


def status_update(message_id, status, error_code=None, at=None):
    """(statement, parameters) of the UPDATE moving a message to a known
    `status`; it changes nothing unless the message's status is of lower rank,
    and timestamps already set stay."""
    return _update_and_parameters(
        {"the_id": message_id}, status, error_code, at, by_sid=False
    )


def status_update_by_sid(sid, tenant_id, status, error_code=None):
    """The same UPDATE for the tenant's message with Twilio's SID `sid`."""
    return _update_and_parameters(
        {"the_sid": sid, "the_tenant_id": tenant_id},
        status,
        error_code,
        None,
        by_sid=True,
    )


def _update_and_parameters(which, status, error_code, at, by_sid):
    now = utcnow()
    parameters = {**which, "at": at or now, "now": now}
    with_error = status in FAILED_STATUSES and bool(error_code)
    if with_error:
        parameters["error_code"] = error_code
        parameters["error_message"] = plain_words(error_code)
    return _update_to(status, with_error, by_sid), parameters


@cache
def _update_to(status, with_error, by_sid=False):
    """One statement per status and key, built once: webhooks run it per
    callback, and building it costs more than running it."""
    rank = STATUS_RANK[status]
    at = sa.bindparam("at", type_=Message.updated_at.type)
    values = {
        "status": status,
        "status_rank": rank,
        "updated_at": sa.bindparam("now", type_=Message.updated_at.type),
    }
    if status in FAILED_STATUSES:
        values["failed_at"] = sa.func.coalesce(Message.failed_at, at)
        if with_error:
            values["error_code"] = sa.bindparam("error_code")
            values["error_message"] = sa.bindparam("error_message")
    else:
        if rank >= SENT_RANK and status not in ("receiving", "received"):
            values["sent_at"] = sa.func.coalesce(Message.sent_at, at)
        if status in ("delivered", "read"):
            values["delivered_at"] = sa.func.coalesce(Message.delivered_at, at)
        if status == "read":
            values["read_at"] = sa.func.coalesce(Message.read_at, at)

    if by_sid:
        which = (
            Message.sid == sa.bindparam("the_sid"),
            Message.tenant_id == sa.bindparam("the_tenant_id"),
        )
    else:
        which = (Message.id == sa.bindparam("the_id"),)
    return (
        sa.update(Message)
        .where(*which, Message.status_rank < rank)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _loaded_rank(message):
    """The rank already loaded on the object, without a query; -1 if not loaded.
    Ranks only grow, so a loaded one is safe to compare against."""
    loaded = sa.inspect(message).attrs.status_rank.loaded_value
    return loaded if isinstance(loaded, int) else -1


def parse_error_code(value):
    """Twilio's ErrorCode form field as an int, or None when absent or junk."""
    try:
        code = int(value)
    except (TypeError, ValueError):
        return None
    return code if 0 < code < 10_000_000 else None


STATUS_CALLBACK = Actor.system("Twilio status callback")
RECONCILIATION = Actor.system("reconciliation")
