"""Webhook requests in: identify the tenant, verify Twilio's signature with that
tenant's auth token, then hand the request to the rules. Incoming messages,
refunding failures and callbacks that arrive before their message are kept as
evidence. Answers are HTTP status codes; nothing changes unless the signature
holds."""

import logging
import re

import sqlalchemy as sa

from ..credentials import decrypt_secret
from ..extensions import autocommit_connection, db, rows_changed
from ..logs import mask_phone
from ..messaging.incoming import IncomingError, store_incoming
from ..messaging.statuses import (
    STATUS_CALLBACK,
    apply_status,
    parse_error_code,
    status_update,
    status_update_by_sid,
)
from ..models import (
    FAILED_STATUSES,
    STATUS_RANK,
    Message,
    TwilioSettings,
    WebhookEvent,
)
from ..phones import InvalidNumber, to_e164
from .signatures import is_signed_by
from .signers import tenants_signing

logger = logging.getLogger(__name__)

SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")


def handle_status_callback(form):
    """Verify a status callback and apply it; returns the HTTP status to answer.

    This is the product's busiest request. Its common case, a message moving
    forward, is one conditional UPDATE checked against auth tokens held for a
    few seconds (see signers). Anything else (a repeat, an unknown message, a
    changed token, a forgery) is looked at against the stored token, and
    failures, which refund, take a transaction of their own.
    """
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    account_sid = form.get("AccountSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not (SID.fullmatch(sid) and SID.fullmatch(account_sid) and status):
        logger.warning("status callback without MessageSid, AccountSid or status")
        return 400

    if status in FAILED_STATUSES:
        return _apply_failure(sid, account_sid, status, form)

    try:
        outcome = _apply_forward_move(sid, account_sid, status, form)
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        # The move is a conditional UPDATE, so running it again is safe.
        logger.warning("database connection lost; retrying status callback %s", sid)
        outcome = _apply_forward_move(sid, account_sid, status, form)
    if outcome is None:
        return _keep_early_callback(sid, account_sid, status, form)
    return outcome


def _apply_forward_move(sid, account_sid, status, form):
    """The HTTP status to answer, or None when no such message is stored yet."""
    with autocommit_connection() as connection:
        if status in STATUS_RANK and _moved_for_a_signer(
            connection, sid, account_sid, status, form
        ):
            return 200

        found = _message_and_token(connection, sid, account_sid)
        if found is None:
            return None
        if not _signed_by(found.auth_token_encrypted):
            logger.warning("status callback refused: bad signature for %s", sid)
            return 403
        _move_forward(connection, found.id, found.status_rank, status, form)
        return 200


def _moved_for_a_signer(connection, sid, account_sid, status, form):
    """Move the message forward if it belongs to a tenant whose held token
    signed the request; False when nothing moved, for whatever reason."""
    error_code = parse_error_code(form.get("ErrorCode"))
    for tenant_id in tenants_signing(connection, account_sid):
        update = status_update_by_sid(sid, tenant_id, status, error_code)
        if rows_changed(connection, *update):
            logger.debug("message %s of tenant %s is now %s", sid, tenant_id, status)
            return True
    return False


def _move_forward(connection, message_id, current_rank, status, form):
    rank = STATUS_RANK.get(status)
    if rank is None:
        logger.warning("ignoring unknown status %r for message %s", status, message_id)
        return
    if rank <= current_rank:
        return  # a repeated or late callback: nothing to write

    update = status_update(message_id, status, parse_error_code(form.get("ErrorCode")))
    if rows_changed(connection, *update):
        logger.debug("message %s is now %s", message_id, status)


# The message with this SID, and the auth token of its tenant's settings when
# they are for the account that called (NULL otherwise: the signature fails).
_MESSAGE_AND_TOKEN = (
    sa.select(Message.id, Message.status_rank, TwilioSettings.auth_token_encrypted)
    .outerjoin(
        TwilioSettings,
        sa.and_(
            TwilioSettings.tenant_id == Message.tenant_id,
            TwilioSettings.account_sid == sa.bindparam("account_sid"),
        ),
    )
    .where(Message.sid == sa.bindparam("sid"))
)


def _message_and_token(connection, sid, account_sid):
    return connection.execute(
        _MESSAGE_AND_TOKEN, {"sid": sid, "account_sid": account_sid}
    ).first()


def _signed_by(auth_token_encrypted):
    return auth_token_encrypted is not None and is_signed_by(
        decrypt_secret(auth_token_encrypted)
    )


def _keep_early_callback(sid, account_sid, status, form):
    """Twilio can call before its answer to our create arrives: the verified
    callback is kept, and applied once the SID is stored (see sending)."""
    settings = _verified_settings(_settings_of_account(account_sid))
    if settings is None:
        logger.warning("status callback refused: unknown account or bad signature")
        return 403
    _keep("status", settings.tenant_id, sid, status[:16], form)
    db.session.commit()
    logger.info("status callback for a message not stored yet: %s", sid)
    return 200


def _apply_failure(sid, account_sid, status, form):
    """A failed or undelivered message is refunded in the same transaction as
    its status, and the callback that caused the refund is kept."""
    found = _message_and_token(db.session, sid, account_sid)
    if found is None:
        return _keep_early_callback(sid, account_sid, status, form)
    if not _signed_by(found.auth_token_encrypted):
        logger.warning("status callback refused: bad signature for %s", sid)
        return 403

    message = db.session.get(Message, found.id)
    _keep("status", message.tenant_id, sid, status, form)
    apply_status(
        message, status, STATUS_CALLBACK, parse_error_code(form.get("ErrorCode"))
    )
    db.session.commit()
    return 200


def handle_incoming(form):
    account_sid = form.get("AccountSid") or ""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if not (SID.fullmatch(account_sid) and SID.fullmatch(sid)):
        logger.warning("incoming message without AccountSid or MessageSid")
        return 400

    candidates = _settings_for_incoming(
        account_sid, form.get("To"), form.get("MessagingServiceSid")
    )
    settings = _verified_settings(candidates)
    if settings is None:
        logger.warning(
            "incoming message refused: no tenant for account %s and number %s, "
            "or a bad signature",
            account_sid,
            mask_phone(form.get("To")),
        )
        return 403

    _keep("incoming", settings.tenant_id, sid, "received", form)
    db.session.commit()
    try:
        store_incoming(settings.tenant_id, form)
    except IncomingError as error:
        db.session.rollback()
        logger.warning("malformed incoming message %s: %s", sid, error)
        return 400
    return 200


def _settings_of_account(account_sid):
    return db.session.scalars(
        sa.select(TwilioSettings).where(TwilioSettings.account_sid == account_sid)
    ).all()


def _settings_for_incoming(account_sid, to, messaging_service_sid):
    """Tenants on this account whose sender number (or service) the message hit."""
    try:
        number = to_e164(to)
    except InvalidNumber:
        number = None
    matches = [TwilioSettings.whatsapp_number == number] if number else []
    if messaging_service_sid:
        matches.append(TwilioSettings.messaging_service_sid == messaging_service_sid)
    if not matches:
        return []
    return db.session.scalars(
        sa.select(TwilioSettings).where(
            TwilioSettings.account_sid == account_sid, sa.or_(*matches)
        )
    ).all()


def _verified_settings(candidates):
    """The first candidate whose auth token signed this request."""
    return next((s for s in candidates if _signed_by(s.auth_token_encrypted)), None)


def _keep(kind, tenant_id, sid, status, form):
    db.session.add(
        WebhookEvent(
            kind=kind,
            tenant_id=tenant_id,
            message_sid=sid,
            status=status,
            form=form.to_dict(flat=False),
        )
    )
