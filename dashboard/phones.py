"""Phone numbers: stored in E.164 (`+5511999999999`), prefixed only on the wire."""

import phonenumbers

WHATSAPP_PREFIX = "whatsapp:"


class InvalidNumber(ValueError):
    """Not a phone number we can send to; the message says why."""


def strip_channel(number):
    """Drop the `whatsapp:` prefix Twilio puts on numbers."""
    number = (number or "").strip()
    if number.lower().startswith(WHATSAPP_PREFIX):
        return number[len(WHATSAPP_PREFIX) :]
    return number


def to_e164(text):
    """The number in E.164, or InvalidNumber. A leading + and country code are
    required: the product serves tenants in many countries, so there is no
    default region to guess from."""
    candidate = strip_channel(text)
    if not candidate.startswith("+"):
        raise InvalidNumber("use international format with + and country code")
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        raise InvalidNumber("this is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber("this number has the wrong length for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
