"""The JSON API: the original design's routes, each scoped to the token's tenant.

Every error is answered as JSON `{"error": text}`, with `field` naming the input
at fault when there is one.
"""

import logging

import sqlalchemy as sa
from flask import current_app, g, jsonify, request

from ..extensions import db
from ..messaging.history import Filters, history_query
from ..messaging.reconcile import refresh_from_twilio
from ..messaging.sending import Outgoing, SendError, TwilioRefused, send
from ..models import (
    DIRECTIONS,
    MESSAGE_TYPES,
    STATUS_RANK,
    Conversation,
    Message,
    Tenant,
)
from ..twilio_gateway import UNREACHABLE, TwilioError
from ..twilio_setup.settings import SetupError, connect, disconnect, settings_for
from ..wallet.ledger import wallet_for
from . import bp
from .auth import api_actor, token_required
from .serializers import (
    conversation_json,
    message_json,
    money_text,
    twilio_config_json,
    twilio_status_json,
)

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_PAGE = 1_000_000
MAX_IDEMPOTENCY_KEY = 255
MAX_REFERENCE_ID = 255
# Filters of the message list: query argument → attribute of history.Filters.
FILTER_ARGS = {
    "direction": "direction",
    "status": "status",
    "type": "message_type",
    "from": "date_from",
    "to": "date_to",
}
SETUP_FIELDS = {
    "account_sid": "accountSid",
    "auth_token": "authToken",
    "whatsapp_number": "whatsappNumber",
    "phone_number": "phoneNumber",
    "messaging_service_sid": "messagingServiceSid",
}


class BadInput(Exception):
    """A request the API cannot read; answered 400 with the field at fault."""

    def __init__(self, text, field=None):
        self.field = field
        super().__init__(text)


@bp.errorhandler(BadInput)
def bad_input(error):
    return _error(400, str(error), field=error.field)


@bp.post("/send")
@token_required
def send_message():
    payload = _json_object()
    outgoing = Outgoing(
        to=_text(payload, "to", required=True),
        body=_text(payload, "message") or "",
        message_type=_text(payload, "type") or "free",
        content_sid=_text(payload, "contentSid"),
        content_variables=_object(payload, "contentVariables"),
        reference_id=_reference_id(payload),
        idempotency_key=_idempotency_key(),
    )

    try:
        message = send(g.tenant_id, outgoing, api_actor(), api_token_id=g.api_token.id)
    except TwilioRefused as refused:
        return _refused(refused.message, str(refused), refused.code)
    except SendError as error:
        return _error(error.status, str(error), field=error.field, code=error.code)

    return _send_result(message)


@bp.get("/messages")
@token_required
def list_messages():
    page, limit = _paging()
    filters = _filters()

    found = db.paginate(
        history_query(g.tenant_id, filters),
        page=page,
        per_page=limit,
        max_per_page=MAX_LIMIT,
        error_out=False,
    )

    return jsonify(
        messages=[message_json(message) for message in found.items],
        pagination={
            "total": found.total,
            "page": page,
            "limit": limit,
            "pages": found.pages,
        },
    )


@bp.get("/messages/<sid>")
@token_required
def message_status(sid):
    """The message, refreshed from Twilio first.

    When Twilio cannot be asked (it refuses, does not answer, or the account was
    disconnected) the stored message is still answered, 200, with
    `twilioStatus: null` and a `warning`: the caller keeps what we know.
    """
    message = db.session.scalar(
        sa.select(Message).where(Message.tenant_id == g.tenant_id, Message.sid == sid)
    )
    if message is None:
        return _error(404, "No message with this SID.")

    if settings_for(g.tenant_id) is None:
        return _stored_only(message, "Twilio is not connected.")
    try:
        answer = refresh_from_twilio(message)
    except TwilioError as error:
        db.session.rollback()
        logger.warning(
            "could not refresh message %s from Twilio: code %s", message.id, error.code
        )
        return _stored_only(message, error.plain_words)

    return jsonify(
        message=message_json(message), twilioStatus=twilio_status_json(answer)
    )


@bp.get("/conversations")
@token_required
def list_conversations():
    page, limit = _paging()

    conversations = db.session.scalars(
        sa.select(Conversation)
        .where(Conversation.tenant_id == g.tenant_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()

    return jsonify(
        conversations=[conversation_json(c) for c in conversations],
        page=page,
        limit=limit,
    )


@bp.post("/twilio/configure")
@token_required
def configure_twilio():
    payload = _json_object()
    tenant = db.session.get(Tenant, g.tenant_id)

    try:
        settings = connect(
            tenant,
            _text(payload, "accountSid", required=True),
            _text(payload, "authToken", required=True),
            _text(payload, "whatsappNumber", required=True),
            api_actor(),
            phone_number=_text(payload, "phoneNumber"),
            messaging_service_sid=_text(payload, "messagingServiceSid"),
        )
    except SetupError as error:
        return _error(400, str(error), field=SETUP_FIELDS.get(error.field))
    except TwilioError as error:
        status = 502 if error.code == UNREACHABLE else 400
        return _error(
            status, f"{error.plain_words} Nothing was saved.", code=error.code
        )

    config = twilio_config_json(settings)
    return jsonify(
        success=True,
        config={
            "configured": True,
            "phoneNumber": config["phoneNumber"],
            "whatsappNumber": config["whatsappNumber"],
        },
    )


@bp.delete("/twilio/configure")
@token_required
def remove_twilio():
    disconnect(db.session.get(Tenant, g.tenant_id), api_actor())
    return jsonify(success=True)


@bp.get("/twilio/config")
@token_required
def twilio_config():
    return jsonify(twilio_config_json(settings_for(g.tenant_id)))


@bp.get("/wallet")
@token_required
def wallet():
    balance = wallet_for(g.tenant_id).balance
    prices = current_app.config["PRICES"]
    return jsonify(
        balance=money_text(balance),
        prices={kind: money_text(price) for kind, price in prices.items()},
    )


def _stored_only(message, reason):
    return jsonify(
        message=message_json(message),
        twilioStatus=None,
        warning=f"{reason} The status shown is the last one stored.",
    )


def _send_result(message):
    """Answer a send, also when it replays an earlier one with the same
    Idempotency-Key: the same status and body the first request got."""
    if message.sid is None and message.has_failed:
        return _refused(message, message.error_message, message.error_code or 0)
    if message.sid is None:
        # Another request with this key is still waiting for Twilio's answer.
        body, status = _error(
            409,
            "A request with this Idempotency-Key is still being sent; "
            "retry in a moment.",
            field="Idempotency-Key",
        )
        return body, status, {"Retry-After": "1"}
    return jsonify(
        success=True, message=message_json(message), messageSid=message.sid
    ), 201


def _refused(message, text, code):
    return _error(502, text, code=code, message=message_json(message))


def _error(status, text, field=None, **extra):
    body = {"error": text}
    if field:
        body["field"] = field
    body.update({key: value for key, value in extra.items() if value is not None})
    return jsonify(body), status


def _json_object():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadInput(
            "The request body must be a JSON object, sent with "
            "Content-Type: application/json."
        )
    return payload


def _text(payload, key, required=False):
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise BadInput(f"`{key}` is required.", field=key)
        return None
    if not isinstance(value, str):
        raise BadInput(f"`{key}` must be a string.", field=key)
    return value


def _object(payload, key):
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"`{key}` must be a JSON object.", field=key)
    return value


def _reference_id(payload):
    value = payload.get("referenceId")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is not None and not isinstance(value, str):
        raise BadInput("`referenceId` must be a string.", field="referenceId")
    if value and len(value) > MAX_REFERENCE_ID:
        raise BadInput(
            f"`referenceId` can have at most {MAX_REFERENCE_ID} characters.",
            field="referenceId",
        )
    return value or None


def _idempotency_key():
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise BadInput(
            f"The Idempotency-Key can have at most {MAX_IDEMPOTENCY_KEY} characters.",
            field="Idempotency-Key",
        )
    return key or None


def _paging():
    page = _whole_number("page", 1, MAX_PAGE, 1)
    limit = _whole_number("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    return page, limit


def _whole_number(name, low, high, default):
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadInput(
            f"`{name}` must be a whole number from {low} to {high:,}.", field=name
        )
    return int(text)


def _filters():
    """The list's filters; a value given but not understood is refused rather than
    ignored, so a typo never silently widens the list."""
    args = {name: request.args.get(name, "").strip() for name in FILTER_ARGS}
    args["q"] = request.args.get("search", "")
    filters = Filters.from_args(args)
    for name, attribute in FILTER_ARGS.items():
        if args[name] and not getattr(filters, attribute):
            raise BadInput(_filter_help(name), field=name)
    return filters


def _filter_help(name):
    if name in ("from", "to"):
        return f"`{name}` must be a date as YYYY-MM-DD."
    allowed = {"direction": DIRECTIONS, "status": STATUS_RANK, "type": MESSAGE_TYPES}
    return f"`{name}` must be one of: {', '.join(allowed[name])}."
