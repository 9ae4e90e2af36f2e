"""Sending a WhatsApp message, paid from the wallet.

Order of work: validate → debit and record the message in one transaction →
call Twilio with a status callback → store Twilio's answer. If Twilio refuses or
cannot be reached the message is marked failed with Twilio's code and the debit
is refunded once. Pages, the JSON API and the inbox all send through here.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..audit import Actor
from ..extensions import db, end_transaction
from ..models import STATUS_RANK, Message, WebhookEvent
from ..phones import InvalidNumber, to_e164
from ..twilio_gateway import TwilioError
from ..twilio_gateway import send_message as twilio_send
from ..twilio_setup.settings import credentials_of, settings_for
from ..types import utcnow
from ..urls import STATUS_WEBHOOK_PATH, public_url
from ..wallet.ledger import InsufficientCredit, debit_for_message, wallet_for
from .conversations import conversation_for, record_in_conversation, window_is_open
from .statuses import STATUS_CALLBACK, apply_status, parse_error_code

logger = logging.getLogger(__name__)

MAX_BODY = 1600
SEND_FAILURE = Actor.system("send refused by Twilio")
CONTENT_SID = re.compile(r"^HX[0-9a-f]{32}$")


class SendError(Exception):
    """A send was refused; `status` is the HTTP status that fits, `field` the input
    at fault (if any), and the message says why in plain words."""

    status = 400

    def __init__(self, text, field=None, code=None):
        self.field = field
        self.code = code
        super().__init__(text)


class NotEnoughCredit(SendError):
    status = 402


class TwilioRefused(SendError):
    status = 502

    def __init__(self, text, message, code=None):
        self.message = message
        super().__init__(text, code=code)


class IdempotencyConflict(SendError):
    status = 422


@dataclass
class Outgoing:
    """What a person or client asked to send."""

    to: str
    body: str = ""
    message_type: str = "free"
    content_sid: str | None = None
    content_variables: dict = field(default_factory=dict)
    template_id: int | None = None
    reference_id: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self):
        payload = json.dumps(
            [
                self.to,
                self.body,
                self.message_type,
                self.content_sid,
                self.content_variables,
                self.reference_id,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def send(tenant_id, outgoing, actor, api_token_id=None):
    """Send a message for the tenant; returns the stored Message.

    Raises SendError (400), NotEnoughCredit (402), IdempotencyConflict (422) or
    TwilioRefused (502, the message is then stored as failed and refunded).
    """
    if outgoing.idempotency_key:
        earlier = _earlier_send(tenant_id, outgoing)
        if earlier is not None:
            return earlier

    to, price, settings = _validate(tenant_id, outgoing)
    message, created = _debit_and_record(
        tenant_id, outgoing, to, price, settings, actor, api_token_id
    )
    if not created:
        return message  # an identical request won the race; it does the sending
    return _hand_to_twilio(message, settings)


def _validate(tenant_id, outgoing):
    try:
        to = to_e164(outgoing.to)
    except InvalidNumber as error:
        raise SendError(f"The recipient: {error}.", field="to") from None

    prices = current_app.config["PRICES"]
    if outgoing.message_type not in prices:
        raise SendError(f"The type must be one of: {', '.join(prices)}.", field="type")

    if outgoing.message_type == "template":
        _validate_template(outgoing)
    else:
        body = outgoing.body or ""
        if not body.strip():
            raise SendError("Write a message.", field="message")
        if len(body) > MAX_BODY:
            raise SendError(
                f"A message can have at most {MAX_BODY:,} characters.",
                field="message",
            )

    settings = settings_for(tenant_id)
    if settings is None:
        raise SendError("Connect a Twilio account before sending.", field="twilio")

    if outgoing.message_type == "free":
        conversation = conversation_for(tenant_id, to)
        if not window_is_open(conversation):
            raise SendError(
                "The 24-hour window is closed: the contact has not written in the "
                "last 24 hours, so only an approved template can be sent.",
                field="message",
                code=63016,
            )
    return to, prices[outgoing.message_type], settings


def _validate_template(outgoing):
    if not CONTENT_SID.fullmatch(outgoing.content_sid or ""):
        raise SendError(
            "A template send needs its ContentSid (HX followed by 32 hex digits).",
            field="contentSid",
        )
    variables = outgoing.content_variables
    if not isinstance(variables, dict) or not all(
        isinstance(key, str) and isinstance(value, str)
        for key, value in variables.items()
    ):
        raise SendError(
            "Template variables must map names to text.", field="contentVariables"
        )
    if len(json.dumps(variables)) > MAX_BODY:
        raise SendError(
            "The template variables are too long.", field="contentVariables"
        )


def _earlier_send(tenant_id, outgoing):
    """The message an earlier request with the same Idempotency-Key created."""
    earlier = db.session.scalar(
        sa.select(Message).where(
            Message.tenant_id == tenant_id,
            Message.idempotency_key == outgoing.idempotency_key,
        )
    )
    if earlier is not None and earlier.request_fingerprint != outgoing.fingerprint():
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different message.",
            field="Idempotency-Key",
        )
    return earlier


def _debit_and_record(tenant_id, outgoing, to, price, settings, actor, api_token_id):
    """Store the message as pending and charge it, in one transaction; returns
    (message, True), or (the earlier message, False) when a request with the same
    Idempotency-Key got there first."""
    wallet = wallet_for(tenant_id)
    message = Message(
        tenant_id=tenant_id,
        wallet_id=wallet.id,
        direction="outbound",
        from_number=settings.whatsapp_number,
        to_number=to,
        contact_number=to,
        body=outgoing.body or "",
        message_type=outgoing.message_type,
        content_sid=outgoing.content_sid
        if outgoing.message_type == "template"
        else None,
        content_variables=(
            outgoing.content_variables if outgoing.message_type == "template" else None
        ),
        template_id=outgoing.template_id,
        status="pending",
        status_rank=STATUS_RANK["pending"],
        cost=price,
        reference_id=outgoing.reference_id,
        idempotency_key=outgoing.idempotency_key,
        request_fingerprint=outgoing.fingerprint()
        if outgoing.idempotency_key
        else None,
        created_by_id=actor.user_id,
        api_token_id=api_token_id,
        created_at=utcnow(),
    )
    try:
        record_in_conversation(message)
        db.session.add(message)
        db.session.flush()
    except IntegrityError:
        # The same Idempotency-Key arrived twice at once; the other one stands.
        db.session.rollback()
        earlier = _earlier_send(tenant_id, outgoing)
        if earlier is None:
            raise
        return earlier, False

    try:
        debit_for_message(message, price, actor)
    except InsufficientCredit:
        db.session.rollback()
        raise NotEnoughCredit(
            f"Not enough credit: this message costs {price} and the wallet "
            "cannot pay it. Top up the wallet first."
        ) from None
    db.session.commit()
    logger.info("message %s recorded and charged %s", message.id, price)
    return message, True


def _hand_to_twilio(message, settings):
    twilio_call = {
        "credentials": credentials_of(settings),
        "sender": settings.whatsapp_number,
        "to": message.to_number,
        "status_callback": public_url(STATUS_WEBHOOK_PATH),
        "body": message.body if message.message_type == "free" else None,
        "content_sid": message.content_sid,
        "content_variables": message.content_variables,
    }
    end_transaction()
    try:
        answer = twilio_send(**twilio_call)
    except TwilioError as error:
        _fail_and_refund(message, error)
        raise TwilioRefused(error.plain_words, message, code=error.code) from None

    _store_answer(message, answer)
    return message


def _store_answer(message, answer):
    """Keep Twilio's SID and timestamps, then apply callbacks that beat us here."""
    db.session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(
            sid=answer.sid,
            twilio_created_at=answer.date_created,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    apply_status(message, answer.status, STATUS_CALLBACK, answer.error_code)
    _apply_early_callbacks(message, answer.sid)
    db.session.commit()
    logger.info("message %s accepted by Twilio as %s", message.id, answer.status)


def _apply_early_callbacks(message, sid):
    """Status callbacks can arrive before Twilio's answer to the create; they were
    kept as webhook events and are applied now."""
    early = db.session.scalars(
        sa.select(WebhookEvent)
        .where(WebhookEvent.message_sid == sid, WebhookEvent.kind == "status")
        .order_by(WebhookEvent.id)
    ).all()
    for event in early:
        apply_status(
            message,
            event.status,
            STATUS_CALLBACK,
            parse_error_code(event.form.get("ErrorCode", [None])[0]),
            at=event.received_at,
        )


def _fail_and_refund(message, error):
    db.session.rollback()
    db.session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(error_code=error.code or None, error_message=error.plain_words)
        .execution_options(synchronize_session=False)
    )
    apply_status(message, "failed", SEND_FAILURE)
    db.session.commit()
    logger.warning(
        "message %s failed at Twilio with code %s; refunded", message.id, error.code
    )
