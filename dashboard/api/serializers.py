"""The JSON shapes of the API, with the original design's camelCase keys.

Money is a string with its four decimal places, never a float; times are
ISO 8601 in UTC.
"""

from datetime import UTC

from ..messaging.conversations import window_closes_at, window_is_open
from ..types import MONEY_QUANTUM


def message_json(message):
    """A message in or out, with its status, cost and timestamps."""
    return {
        "id": message.id,
        "messageSid": message.sid,
        "direction": message.direction,
        "from": message.from_number,
        "to": message.to_number,
        "contact": message.contact_number,
        "body": message.body,
        "type": message.message_type,
        "contentSid": message.content_sid,
        "contentVariables": message.content_variables,
        "status": message.status,
        "errorCode": message.error_code,
        "errorMessage": message.error_message,
        "cost": money_text(message.cost),
        "referenceId": message.reference_id,
        "createdAt": iso(message.created_at),
        "sentAt": iso(message.sent_at),
        "deliveredAt": iso(message.delivered_at),
        "readAt": iso(message.read_at),
        "failedAt": iso(message.failed_at),
    }


def twilio_status_json(answer):
    """What Twilio said about a message when it was fetched."""
    return {
        "sid": answer.sid,
        "status": answer.status,
        "errorCode": answer.error_code,
        "errorMessage": answer.error_message,
    }


def conversation_json(conversation):
    """A thread with one contact, and whether free-form replies are allowed."""
    return {
        "contact": conversation.contact_number,
        "contactName": conversation.contact_name,
        "lastMessageAt": iso(conversation.last_message_at),
        "lastMessagePreview": conversation.last_message_preview,
        "lastMessageDirection": conversation.last_message_direction,
        "messageCount": conversation.message_count,
        "unreadCount": conversation.unread_count,
        "windowOpen": window_is_open(conversation),
        "windowClosesAt": iso(window_closes_at(conversation)),
        "status": conversation.status,
    }


def twilio_config_json(settings):
    """A tenant's Twilio connection, with nothing of the auth token but its end."""
    if settings is None:
        return {
            "configured": False,
            "accountSid": None,
            "authTokenLast4": None,
            "whatsappNumber": None,
            "phoneNumber": None,
            "messagingServiceSid": None,
        }
    return {
        "configured": True,
        "accountSid": settings.account_sid,
        "authTokenLast4": settings.auth_token_last4,
        "whatsappNumber": settings.whatsapp_number,
        "phoneNumber": settings.phone_number,
        "messagingServiceSid": settings.messaging_service_sid,
    }


def money_text(amount):
    """`Decimal("0.0275")` as `"0.0275"`; None stays None."""
    if amount is None:
        return None
    return str(amount.quantize(MONEY_QUANTUM))


def iso(moment):
    """A UTC time as JavaScript writes it, e.g. `2025-01-31T09:15:00.000Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
