"""Storing a message a contact sent, once however often Twilio retries it."""

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..logs import mask_phone
from ..models import STATUS_RANK, Message
from ..phones import InvalidNumber, to_e164
from ..types import utcnow
from .conversations import record_in_conversation

logger = logging.getLogger(__name__)

MAX_MEDIA = 10
MAX_BODY = 4096


class IncomingError(ValueError):
    """The request is not a well-formed incoming message."""


def store_incoming(tenant_id, form):
    """Store the message and count it in its conversation; commits.

    Returns (message, created). A retry of a stored MessageSid changes nothing.
    """
    fields = _parse(form)
    existing = _stored(fields["sid"])
    if existing is not None:
        return existing, False

    message = Message(
        tenant_id=tenant_id,
        direction="inbound",
        message_type="incoming",
        status="received",
        status_rank=STATUS_RANK["received"],
        created_at=utcnow(),
        **fields,
    )
    try:
        record_in_conversation(message)
        db.session.add(message)
        db.session.commit()
    except IntegrityError:
        # The same message arrived twice at once; the other request stored it.
        db.session.rollback()
        existing = _stored(fields["sid"])
        if existing is None:
            raise
        return existing, False

    logger.info(
        "incoming message %s from %s stored",
        message.id,
        mask_phone(message.from_number),
    )
    return message, True


def _stored(sid):
    return db.session.scalar(sa.select(Message).where(Message.sid == sid))


def _parse(form):
    try:
        from_number = to_e164(form.get("From"))
        to_number = to_e164(form.get("To"))
    except InvalidNumber as error:
        raise IncomingError(f"bad From or To: {error}") from None

    media = _media(form)
    return {
        "sid": form.get("MessageSid") or form.get("SmsMessageSid"),
        "from_number": from_number,
        "to_number": to_number,
        "contact_number": from_number,
        "body": _text(form.get("Body"), MAX_BODY),
        "num_media": len(media),
        "media": media or None,
        "profile_name": _text(form.get("ProfileName"), 255) or None,
        "wa_id": _text(form.get("WaId"), 32) or None,
        "latitude": _coordinate(form.get("Latitude"), 90),
        "longitude": _coordinate(form.get("Longitude"), 180),
        "button_text": _text(form.get("ButtonText"), 255) or None,
        "button_payload": _text(form.get("ButtonPayload"), 255) or None,
        "raw": form.to_dict(flat=False),
    }


def _media(form):
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        raise IncomingError("NumMedia is not a number") from None
    if not 0 <= count <= MAX_MEDIA:
        raise IncomingError(f"NumMedia must be between 0 and {MAX_MEDIA}")
    media = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}")
        if not url or not url.startswith(("https://", "http://")):
            raise IncomingError(f"MediaUrl{index} is missing or not a URL")
        media.append(
            {
                "url": url[:1000],
                "content_type": _text(form.get(f"MediaContentType{index}"), 100)
                or "application/octet-stream",
            }
        )
    return media


def _text(value, limit):
    """Text with control characters (other than line breaks and tabs) removed."""
    if not value:
        return ""
    cleaned = "".join(ch for ch in value if ch >= " " or ch in "\n\t")
    return cleaned[:limit]


def _coordinate(value, bound):
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise IncomingError("Latitude and Longitude must be numbers") from None
    if not -bound <= number <= bound:
        raise IncomingError("coordinates out of range")
    return value.strip()[:32]
