"""The one place that talks to Twilio.

Everything else calls functions named for what they mean (check credentials,
send, fetch a status, list templates, fetch media) and sees only TwilioError.
Requests go to TWILIO_API_BASE_URL through the library's own extension point,
a custom http_client, so the local simulator is reached exactly as Twilio is.
"""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import current_app
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger(__name__)

# The library logs full request URLs, which carry phone numbers in filters.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

UNREACHABLE = 0
PLAIN_WORDS = {
    UNREACHABLE: "Twilio could not be reached or did not answer in time.",
    20003: "Twilio rejected the Account SID or Auth Token.",
    20404: "Twilio does not know this message.",
    20429: "Twilio is rate-limiting this account; try again shortly.",
    20500: "Twilio had an internal error; try again shortly.",
    21211: "The recipient's number is not a valid phone number.",
    21408: "This Twilio account may not send to the recipient's country.",
    21610: "The recipient has blocked messages from this sender (opted out).",
    21612: "Twilio cannot route a message to this recipient.",
    21614: "The recipient's number is not a WhatsApp-capable mobile number.",
    21617: "The message is longer than 1,600 characters.",
    21656: "The template's variables are not valid.",
    21655: "The template (ContentSid) is not valid.",
    30003: "The recipient's phone is unreachable.",
    30005: "The recipient's number is unknown or no longer exists.",
    30006: "The recipient's number is a landline or cannot receive messages.",
    30007: "The carrier filtered the message.",
    30008: "Delivery failed for an unknown reason.",
    63003: "The recipient's number is not on WhatsApp.",
    63007: "The sender is not a WhatsApp-enabled number on this Twilio account.",
    63016: (
        "The 24-hour window has closed: only approved templates can be sent "
        "until the contact writes again."
    ),
    63024: "The recipient is not a valid WhatsApp user.",
}


class TwilioError(Exception):
    """Twilio refused a request or could not be reached."""

    def __init__(self, code, detail="", status=None):
        self.code = code
        self.status = status
        self.detail = detail
        super().__init__(self.plain_words)

    @property
    def plain_words(self):
        known = PLAIN_WORDS.get(self.code)
        if known:
            return known
        return f"Twilio refused the request (error {self.code})."


def plain_words(code):
    """A sentence a person understands for a Twilio error code."""
    return TwilioError(code).plain_words if code is not None else ""


@dataclass(frozen=True)
class TwilioMessage:
    sid: str
    status: str
    error_code: int | None
    error_message: str | None
    date_created: datetime | None
    date_sent: datetime | None
    body: str | None = None


class RoutedHttpClient(TwilioHttpClient):
    """Send every request to the configured base URL, keeping path and query."""

    def __init__(self, base_url, timeout):
        super().__init__(timeout=timeout, pool_connections=True)
        self.base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        routed = urlunsplit(
            (self.base.scheme, self.base.netloc, parts.path, parts.query, "")
        )
        return super().request(method, routed, *args, **kwargs)


def _client(account_sid, auth_token):
    http = RoutedHttpClient(
        current_app.config["TWILIO_API_BASE_URL"], current_app.config["TWILIO_TIMEOUT"]
    )
    return Client(account_sid, auth_token, http_client=http)


def _calling_twilio(action):
    """Run a call to Twilio, turning every way it can fail into TwilioError."""
    try:
        return action()
    except TwilioRestException as error:
        code = error.code or error.status
        logger.warning("Twilio refused: status %s code %s", error.status, code)
        raise TwilioError(code, str(error.msg), error.status) from None
    except requests.RequestException as error:
        logger.warning("Twilio unreachable: %s", type(error).__name__)
        raise TwilioError(UNREACHABLE, type(error).__name__) from None
    except TwilioException as error:
        # List calls raise a plain TwilioException carrying the HTTP response.
        response = error.args[1] if len(error.args) > 1 else None
        status = getattr(response, "status_code", None)
        if status is None:
            logger.warning("Twilio answered unexpectedly: %s", type(error).__name__)
            raise TwilioError(UNREACHABLE, "unexpected answer from Twilio") from None
        code = _error_code(getattr(response, "text", "")) or status
        logger.warning("Twilio refused a list: status %s code %s", status, code)
        raise TwilioError(code, "list refused", status) from None
    except ValueError as error:
        # A page error, a non-JSON body or a body of the wrong shape.
        logger.warning("Twilio answered unexpectedly: %s", type(error).__name__)
        raise TwilioError(UNREACHABLE, "unexpected answer from Twilio") from None


def _error_code(body):
    """Twilio's error code from an error body, if it is one."""
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def check_credentials(account_sid, auth_token):
    """Fetch the account with these credentials; returns its friendly name."""
    account = _calling_twilio(
        lambda: _client(account_sid, auth_token).api.v2010.accounts(account_sid).fetch()
    )
    return account.friendly_name


def send_message(
    credentials,
    sender,
    to,
    status_callback,
    body=None,
    content_sid=None,
    content_variables=None,
):
    """Create a WhatsApp message; numbers are E.164 and get their prefix here."""
    account_sid, auth_token, messaging_service_sid = credentials
    arguments = {
        "to": f"whatsapp:{to}",
        "status_callback": status_callback,
    }
    if messaging_service_sid:
        arguments["messaging_service_sid"] = messaging_service_sid
    else:
        arguments["from_"] = f"whatsapp:{sender}"
    if content_sid:
        arguments["content_sid"] = content_sid
        arguments["content_variables"] = json.dumps(content_variables or {})
    else:
        arguments["body"] = body

    created = _calling_twilio(
        lambda: _client(account_sid, auth_token).messages.create(**arguments)
    )
    return _as_message(created)


def fetch_message(credentials, sid):
    account_sid, auth_token, _ = credentials
    fetched = _calling_twilio(
        lambda: _client(account_sid, auth_token).messages(sid).fetch()
    )
    return _as_message(fetched)


def messages_to(credentials, to, limit=50):
    """The account's latest messages to a number, newest first."""
    account_sid, auth_token, _ = credentials
    found = _calling_twilio(
        lambda: _client(account_sid, auth_token).messages.list(
            to=f"whatsapp:{to}", limit=limit
        )
    )
    return [_as_message(resource) for resource in found]


def list_templates(credentials):
    """The account's Content API templates as plain dicts."""
    account_sid, auth_token, _ = credentials
    contents = _calling_twilio(
        lambda: _client(account_sid, auth_token).content.v1.contents.list(limit=200)
    )
    return [
        {
            "sid": content.sid,
            "name": content.friendly_name,
            "variables": content.variables or {},
            "types": content.types or {},
        }
        for content in contents
    ]


def fetch_media(credentials, url, max_bytes=20 * 1024 * 1024):
    """Download a media file Twilio keeps for the account (it needs basic auth).

    Only the path of the stored URL is used, on the configured Twilio host, so a
    forged media URL cannot make the app fetch anything else. Returns (bytes,
    content type).
    """
    account_sid, auth_token, _ = credentials
    path = urlsplit(url).path
    if not path.startswith(f"/2010-04-01/Accounts/{account_sid}/"):
        raise TwilioError(20404, "media of another account")
    routed = current_app.config["TWILIO_API_BASE_URL"] + path

    def download():
        response = requests.get(
            routed,
            auth=(account_sid, auth_token),
            timeout=current_app.config["TWILIO_TIMEOUT"],
            stream=True,
        )
        with response:
            if response.status_code != 200:
                raise TwilioError(20404, "media not found", response.status_code)
            content = response.raw.read(max_bytes + 1, decode_content=True)
        if len(content) > max_bytes:
            raise TwilioError(UNREACHABLE, "media larger than allowed")
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return content, content_type

    return _calling_twilio(download)


def _as_message(resource):
    return TwilioMessage(
        sid=resource.sid,
        status=resource.status,
        error_code=int(resource.error_code) if resource.error_code else None,
        error_message=resource.error_message,
        date_created=_aware(resource.date_created),
        date_sent=_aware(resource.date_sent),
        body=resource.body,
    )


def _aware(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
