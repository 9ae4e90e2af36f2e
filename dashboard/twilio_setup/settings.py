"""A tenant's Twilio connection: checked against Twilio before it is saved, the
auth token encrypted at rest and never shown again but for its last 4 characters."""

import logging
import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..credentials import decrypt_secret, encrypt_secret, rotate_secret
from ..extensions import db, end_transaction
from ..models import TwilioSettings
from ..phones import InvalidNumber, to_e164
from ..twilio_gateway import check_credentials
from ..types import utcnow
from ..urls import INCOMING_WEBHOOK_PATH, STATUS_WEBHOOK_PATH, public_url

logger = logging.getLogger(__name__)

ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


class SetupError(ValueError):
    """The settings are not acceptable; `field` names the one at fault."""

    def __init__(self, field, text):
        self.field = field
        super().__init__(text)


def settings_for(tenant_id):
    return db.session.scalar(
        sa.select(TwilioSettings).where(TwilioSettings.tenant_id == tenant_id)
    )


def credentials_of(settings):
    """(account SID, auth token, messaging service SID) for the gateway."""
    return (
        settings.account_sid,
        decrypt_secret(settings.auth_token_encrypted),
        settings.messaging_service_sid,
    )


def connect(
    tenant,
    account_sid,
    auth_token,
    whatsapp_number,
    actor,
    phone_number=None,
    messaging_service_sid=None,
):
    """Check the credentials with Twilio, then save them; commits.

    Raises SetupError for malformed input and TwilioError when Twilio rejects
    the credentials or cannot be reached; nothing is saved in either case.
    """
    account_sid = (account_sid or "").strip()
    auth_token = (auth_token or "").strip()
    messaging_service_sid = (messaging_service_sid or "").strip() or None
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise SetupError(
            "account_sid", "An Account SID is AC followed by 32 hex digits."
        )
    if not 16 <= len(auth_token) <= 128:
        raise SetupError("auth_token", "Paste the Auth Token from the Twilio Console.")
    service_sid_ok = MESSAGING_SERVICE_SID.fullmatch(messaging_service_sid or "")
    if messaging_service_sid and not service_sid_ok:
        raise SetupError(
            "messaging_service_sid",
            "A Messaging Service SID is MG followed by 32 hex digits.",
        )
    whatsapp_number = _number("whatsapp_number", whatsapp_number)
    phone_number = _number("phone_number", phone_number) if phone_number else None

    end_transaction()
    check_credentials(account_sid, auth_token)

    values = {
        "account_sid": account_sid,
        "auth_token_encrypted": encrypt_secret(auth_token),
        "auth_token_last4": auth_token[-4:],
        "whatsapp_number": whatsapp_number,
        "phone_number": phone_number,
        "messaging_service_sid": messaging_service_sid,
        "updated_by_id": actor.user_id,
    }
    try:
        settings = _save(tenant.id, values, actor)
    except IntegrityError:
        # Another admin connected this tenant at the same moment; update theirs.
        db.session.rollback()
        settings = _save(tenant.id, values, actor)
    logger.info("Twilio connected for tenant %s", tenant.id)
    return settings


def _save(tenant_id, values, actor):
    settings = settings_for(tenant_id) or TwilioSettings(tenant_id=tenant_id)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.verified_at = settings.updated_at = utcnow()
    db.session.add(settings)
    audit.record(
        "twilio.connected",
        actor,
        tenant_id=tenant_id,
        account_sid=values["account_sid"],
    )
    db.session.commit()
    return settings


def disconnect(tenant, actor):
    """Forget the tenant's Twilio credentials; commits. False if none were set."""
    settings = settings_for(tenant.id)
    if settings is None:
        return False
    db.session.delete(settings)
    audit.record("twilio.disconnected", actor, tenant_id=tenant.id)
    db.session.commit()
    logger.info("Twilio disconnected for tenant %s", tenant.id)
    return True


def webhook_urls():
    """The exact URLs to paste into the Twilio Console."""
    return {
        "status": public_url(STATUS_WEBHOOK_PATH),
        "incoming": public_url(INCOMING_WEBHOOK_PATH),
    }


def _number(field, text):
    try:
        return to_e164(text)
    except InvalidNumber as error:
        raise SetupError(field, f"{error}, e.g. +14155238886.") from None


def rotate_all():
    """Re-encrypt every tenant's auth token with the newest key; commits."""
    rows = db.session.scalars(sa.select(TwilioSettings)).all()
    for settings in rows:
        settings.auth_token_encrypted = rotate_secret(settings.auth_token_encrypted)
    db.session.commit()
    logger.info("re-encrypted %s auth token(s)", len(rows))
    return len(rows)
