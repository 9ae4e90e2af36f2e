from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from ..phones import InvalidNumber, to_e164
from .settings import ACCOUNT_SID, MESSAGING_SERVICE_SID


def _strip(text):
    return text.strip() if isinstance(text, str) else text


def _e164(form, field):
    """A phone number in international format; the message says what is wrong."""
    try:
        to_e164(field.data)
    except InvalidNumber as error:
        raise ValidationError(f"{error}, e.g. +14155238886.") from None


class TwilioSetupForm(FlaskForm):
    account_sid = StringField(
        "Account SID",
        filters=[_strip],
        validators=[
            DataRequired("Paste the Account SID from the Twilio Console."),
            Regexp(
                ACCOUNT_SID, message="An Account SID is AC followed by 32 hex digits."
            ),
        ],
    )
    auth_token = PasswordField(
        "Auth Token",
        filters=[_strip],
        validators=[
            DataRequired("Paste the Auth Token from the Twilio Console."),
            Length(16, 128, "Paste the Auth Token from the Twilio Console."),
        ],
    )
    whatsapp_number = StringField(
        "WhatsApp sender number",
        filters=[_strip],
        validators=[DataRequired("Enter the WhatsApp sender number."), _e164],
    )
    phone_number = StringField(
        "Phone number (optional)", filters=[_strip], validators=[Optional(), _e164]
    )
    messaging_service_sid = StringField(
        "Messaging Service SID (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            Regexp(
                MESSAGING_SERVICE_SID,
                message="A Messaging Service SID is MG followed by 32 hex digits.",
            ),
        ],
    )
