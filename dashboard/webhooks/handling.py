"""Webhook requests in: identify the tenant, verify Twilio's signature with that
tenant's auth token, keep the request for audit, then hand it to the rules.
Answers are HTTP status codes; nothing is changed unless the signature holds."""

import logging
import re

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from ..extensions import db
from ..logs import mask_phone
from ..messaging.incoming import IncomingError, store_incoming
from ..messaging.statuses import STATUS_CALLBACK, apply_status, parse_error_code
from ..models import Message, TwilioSettings, WebhookEvent
from ..phones import InvalidNumber, to_e164
from ..twilio_setup.settings import credentials_of
from .signatures import is_signed_by

logger = logging.getLogger(__name__)

SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")


def handle_status_callback(form):
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    account_sid = form.get("AccountSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not (SID.fullmatch(sid) and SID.fullmatch(account_sid) and status):
        logger.warning("status callback without MessageSid, AccountSid or status")
        return 400

    message, settings = _message_and_settings(sid, account_sid)
    if message is not None:
        settings = settings if settings and _verified(settings) else None
    else:
        settings = _verified_settings(_settings_of_account(account_sid))
    if settings is None:
        logger.warning("status callback refused: unknown account or bad signature")
        return 403

    _keep("status", settings.tenant_id, sid, status[:16], form)
    if message is None:
        # Twilio can call before its answer to our create arrives; the kept
        # event is applied once the SID is stored.
        logger.info("status callback for a message not stored yet: %s", sid)
    else:
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


def _message_and_settings(sid, account_sid):
    """The message with this SID and its tenant's settings for this account, in
    one query (this is the webhook's hot path); (message, None) when the message
    belongs to a tenant on another account, (None, None) when it is unknown."""
    found = db.session.execute(
        sa.select(Message, TwilioSettings)
        .outerjoin(
            TwilioSettings,
            sa.and_(
                TwilioSettings.tenant_id == Message.tenant_id,
                TwilioSettings.account_sid == account_sid,
            ),
        )
        .where(Message.sid == sid)
        .options(load_only(Message.id, Message.tenant_id, Message.status_rank))
    ).first()
    return (found[0], found[1]) if found is not None else (None, None)


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


def _verified(settings):
    _, auth_token, _ = credentials_of(settings)
    return is_signed_by(auth_token)


def _verified_settings(candidates):
    """The first candidate whose auth token signed this request."""
    return next((s for s in candidates if _verified(s)), None)


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
