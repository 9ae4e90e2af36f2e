"""In-memory state of the local Twilio simulator: accounts, messages, templates."""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import re
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import requests
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
TWILIO_API_URL = "https://api.twilio.com"
CONTENT_API_URL = "https://content.twilio.com"
WHATSAPP_PREFIX = "whatsapp:"
MAX_BODY_LENGTH = 1600
SENT_PRICE = "-0.00500"

OUTBOUND_STEPS = ("queued", "sent", "delivered", "read")
FAILED_STATUSES = ("failed", "undelivered")
FINAL_STATUSES = ("delivered", "read", "failed", "undelivered", "received")

# Twilio's magic test recipients and the error each one raises at create time.
MAGIC_RECIPIENTS = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: {to}, is not currently reachable."),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated "
        "by the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}

DELIVERY_ERRORS = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30008: "Unknown error",
    63003: "Channel could not find To address",
    63016: (
        "Failed to send freeform message because you are outside the allowed "
        "window. If you are using WhatsApp, please use a Message Template."
    ),
    63024: "Invalid message recipient",
}

CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
TEMPLATE_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class TwilioError(Exception):
    """A Twilio REST error: HTTP status, Twilio error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict:
        """Twilio's error body."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def now_utc() -> datetime:
    """The current UTC time to the second, as Twilio reports times."""
    return datetime.now(UTC).replace(microsecond=0)


def rfc2822(moment: datetime | None) -> str | None:
    """Format a UTC datetime as the 2010-04-01 API does."""
    return format_datetime(moment) if moment else None


def iso8601(moment: datetime) -> str:
    """Format a UTC datetime as the Content API does."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def strip_channel(address: str) -> str:
    """The number part of a `whatsapp:+1555...` address."""
    return address.removeprefix(WHATSAPP_PREFIX)


def mask_number(address: str) -> str:
    """A number reduced to its last four digits, for logs."""
    return "..." + strip_channel(address)[-4:]


@dataclass(frozen=True)
class SignedRequest:
    """A webhook POST as Twilio sends it: URL, form parameters and signature."""

    url: str
    params: dict[str, str]
    signature: str
    idempotency_token: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-Twilio-Signature": self.signature,
            "I-Twilio-Idempotency-Token": self.idempotency_token,
            "User-Agent": "TwilioProxy/1.1",
        }

    @property
    def path(self) -> str:
        """Path and query of the URL, for posting through a test client."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def send(self, timeout: float = 5.0) -> int:
        """POST the request and answer the HTTP status code."""
        response = requests.post(
            self.url,
            data=self.params,
            headers=self.headers,
            timeout=timeout,
            allow_redirects=False,
        )
        response.close()
        return response.status_code


def sign_request(auth_token: str, url: str, params: dict[str, str]) -> SignedRequest:
    """Sign a webhook request with an account's auth token."""
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return SignedRequest(url=url, params=params, signature=signature)


@dataclass
class Account:
    sid: str
    auth_token: str = field(repr=False)
    friendly_name: str
    date_created: datetime

    def to_json(self) -> dict:
        """The account in Twilio's shape, without its auth token."""
        base = f"/{API_VERSION}/Accounts/{self.sid}"
        subresources = (
            "Addresses",
            "Applications",
            "AvailablePhoneNumbers",
            "Balance",
            "Calls",
            "IncomingPhoneNumbers",
            "Keys",
            "Messages",
            "Notifications",
            "Usage",
        )
        return {
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_created),
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.sid,
            "sid": self.sid,
            "status": "active",
            "subresource_uris": {
                _snake(name): f"{base}/{name}.json" for name in subresources
            },
            "type": "Full",
            "uri": f"{base}.json",
        }


@dataclass
class Media:
    sid: str
    content_type: str
    url: str | None

    def content(self) -> bytes:
        """Bytes that a client fetching this media receives."""
        return media_bytes(self.content_type)


@dataclass
class Message:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    direction: str
    status: str
    date_created: datetime
    date_updated: datetime
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    media: list[Media] = field(default_factory=list)
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_json(self) -> dict:
        """The message in Twilio's shape."""
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media)),
            "num_segments": "1",
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": self.uri.removesuffix(".json") + "/Media.json"
            },
            "to": self.to,
            "uri": self.uri,
        }

    def media_json(self, media: Media) -> dict:
        """One media item in Twilio's shape."""
        uri = f"{self.uri.removesuffix('.json')}/Media/{media.sid}.json"
        return {
            "account_sid": self.account_sid,
            "content_type": media.content_type,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_created),
            "parent_sid": self.sid,
            "sid": media.sid,
            "uri": uri,
        }


@dataclass
class Content:
    sid: str
    account_sid: str
    friendly_name: str
    body: str
    variables: dict[str, str]
    language: str
    date_created: datetime

    def render(self, values: dict[str, str]) -> str:
        """The body with each `{{n}}` replaced, falling back to the defaults."""

        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            return str(values.get(key, self.variables.get(key, match.group(0))))

        return TEMPLATE_VARIABLE.sub(replace, self.body)

    def to_json(self) -> dict:
        """The content in the Content API's shape (ISO 8601 dates)."""
        return {
            "account_sid": self.account_sid,
            "date_created": iso8601(self.date_created),
            "date_updated": iso8601(self.date_created),
            "friendly_name": self.friendly_name,
            "language": self.language,
            "links": {
                "approval_create": f"{CONTENT_API_URL}/v1/Content/{self.sid}"
                "/ApprovalRequests/whatsapp",
                "approval_fetch": f"{CONTENT_API_URL}/v1/Content/{self.sid}"
                "/ApprovalRequests",
            },
            "sid": self.sid,
            "types": {"twilio/text": {"body": self.body}},
            "url": f"{CONTENT_API_URL}/v1/Content/{self.sid}",
            "variables": dict(self.variables),
        }


@dataclass(eq=False)
class CallbackStep:
    """One status a message will move to, and the callback announcing it."""

    message_sid: str
    status: str
    request: SignedRequest | None
    error_code: int | None = None
    error_message: str | None = None
    due: float | None = None


@dataclass(frozen=True)
class CallbackAttempt:
    """A webhook POST the simulator made (or dropped) and how it ended."""

    kind: str
    url: str
    params: dict[str, str]
    signature: str
    status_code: int | None
    error: str | None


@dataclass
class _Failure:
    status: str
    error_code: int
    error_message: str


@dataclass
class _Fault:
    status: int
    body: str | None
    code: int | None
    message: str | None


class SimulatorState:
    """Everything the simulator knows, guarded by one lock."""

    def __init__(
        self, callback_delay: float | None = None, callback_timeout: float = 5.0
    ) -> None:
        self.callback_delay = callback_delay
        self.callback_timeout = callback_timeout
        self.drop_callbacks = False
        self.base_url: str | None = None
        self._lock = threading.Condition()
        self._interrupt = threading.Event()
        self._accounts: dict[str, Account] = {}
        self._messages: dict[str, Message] = {}
        self._contents: dict[str, Content] = {}
        self._failures: dict[str, _Failure] = {}
        self._queue: list[CallbackStep] = []
        self._log: list[CallbackAttempt] = []
        self._fault: _Fault | None = None
        self._delay: float | None = None

    # Accounts -------------------------------------------------------------

    def add_account(
        self, account_sid: str, auth_token: str, friendly_name: str = "Simulated"
    ) -> Account:
        """Register an account that may call the REST API with basic auth."""
        account = Account(account_sid, auth_token, friendly_name, now_utc())
        with self._lock:
            self._accounts[account_sid] = account
        logger.info("Simulator account %s added", account_sid)
        return account

    def authenticate(self, username: str | None, password: str | None) -> Account:
        """The account these basic-auth credentials belong to, or 401/20003."""
        with self._lock:
            account = self._accounts.get(username or "")
        if account is None or not hmac.compare_digest(
            account.auth_token.encode(), (password or "").encode()
        ):
            raise TwilioError(401, 20003, "Authenticate")
        return account

    def get_account(self, account_sid: str) -> Account:
        """The registered account, or KeyError."""
        with self._lock:
            account = self._accounts.get(account_sid)
        if account is None:
            raise KeyError(account_sid)
        return account

    # Templates ------------------------------------------------------------

    def add_content(
        self,
        account_sid: str,
        friendly_name: str,
        body: str,
        variables: dict[str, str] | None = None,
        language: str = "en",
    ) -> str:
        """Register a text template and answer its HX sid."""
        content = Content(
            sid=new_sid("HX"),
            account_sid=account_sid,
            friendly_name=friendly_name,
            body=body,
            variables=dict(variables or {}),
            language=language,
            date_created=now_utc(),
        )
        with self._lock:
            self._contents[content.sid] = content
        return content.sid

    def contents(self, account_sid: str) -> list[Content]:
        """The account's templates, oldest first."""
        with self._lock:
            return [c for c in self._contents.values() if c.account_sid == account_sid]

    def get_content(self, account_sid: str, content_sid: str) -> Content | None:
        """The account's template with this sid, or None."""
        with self._lock:
            content = self._contents.get(content_sid)
        if content is None or content.account_sid != account_sid:
            return None
        return content

    # Messages -------------------------------------------------------------

    def fail_recipient(
        self,
        number: str,
        status: str = "undelivered",
        error_code: int = 63016,
        error_message: str | None = None,
    ) -> None:
        """Make messages created from now on to this number end in a failure."""
        if status not in FAILED_STATUSES:
            raise ValueError(f"status must be one of {FAILED_STATUSES}")
        message = error_message or DELIVERY_ERRORS.get(error_code, "Delivery failed")
        with self._lock:
            self._failures[strip_channel(number)] = _Failure(
                status, error_code, message
            )

    def create_message(self, account: Account, form: dict) -> Message:
        """Validate a create request as Twilio does and queue its status steps."""
        to = form.get("To") or ""
        sender = form.get("From") or None
        service_sid = form.get("MessagingServiceSid") or None
        body = form.get("Body") or ""
        content_sid = form.get("ContentSid") or ""
        media_urls = [url for url in form.get("MediaUrl", []) if url]
        callback = form.get("StatusCallback") or None

        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not sender and not service_sid:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if not body and not content_sid and not media_urls:
            raise TwilioError(
                400, 21619, "A text message body or media urls must be specified."
            )
        if len(body) > MAX_BODY_LENGTH:
            raise TwilioError(
                400,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            )
        if content_sid and not CONTENT_SID.fullmatch(content_sid):
            raise TwilioError(400, 21655, "The ContentSid is Invalid")
        variables = _parse_content_variables(form.get("ContentVariables"))
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            raise TwilioError(400, 21609, "Invalid StatusCallback url")
        magic = MAGIC_RECIPIENTS.get(strip_channel(to))
        if magic:
            code, text = magic
            raise TwilioError(400, code, text.format(to=strip_channel(to)))

        if content_sid:
            content = self.get_content(account.sid, content_sid)
            body = content.render(variables) if content else ""
        created = now_utc()
        message = Message(
            sid=new_sid("MM" if media_urls else "SM"),
            account_sid=account.sid,
            to=to,
            from_=sender,
            body=body,
            direction="outbound-api",
            status="accepted" if service_sid else "queued",
            date_created=created,
            date_updated=created,
            messaging_service_sid=service_sid,
            status_callback=callback,
            media=[Media(new_sid("ME"), _guess_type(url), url) for url in media_urls],
        )
        with self._lock:
            failure = self._failures.get(strip_channel(to))
            self._messages[message.sid] = message
            self._queue.extend(self._plan_steps(account, message, failure))
            self._lock.notify_all()
        logger.info("Simulator accepted message %s to %s", message.sid, mask_number(to))
        return message

    def get_message(self, account_sid: str, message_sid: str) -> Message:
        """The message as it stands now, or 404/20404."""
        with self._lock:
            message = self._messages.get(message_sid)
            if message is not None and message.account_sid == account_sid:
                return _copy_message(message)
        raise TwilioError(
            404,
            20404,
            f"The requested resource /{API_VERSION}/Accounts/{account_sid}"
            f"/Messages/{message_sid}.json was not found",
        )

    def messages(self, account_sid: str | None = None) -> list[Message]:
        """Messages newest first, optionally of one account."""
        with self._lock:
            found = [
                _copy_message(m)
                for m in self._messages.values()
                if account_sid is None or m.account_sid == account_sid
            ]
        return sorted(found, key=lambda m: m.date_created, reverse=True)

    def get_media(
        self, account_sid: str, message_sid: str, media_sid: str
    ) -> tuple[Message, Media]:
        """A media item of a message, or 404/20404."""
        message = self.get_message(account_sid, message_sid)
        for media in message.media:
            if media.sid == media_sid:
                return message, media
        raise TwilioError(
            404,
            20404,
            f"The requested resource {message.uri.removesuffix('.json')}"
            f"/Media/{media_sid} was not found",
        )

    # Status callbacks -----------------------------------------------------

    def pending_callbacks(self) -> list[CallbackStep]:
        """The queued steps, in the order they will be applied."""
        with self._lock:
            return list(self._queue)

    def flush_callbacks(self) -> list[tuple[str, int | None]]:
        """Apply and POST every queued step in order; answer (status, HTTP code)."""
        results = []
        while (step := self._pop_step()) is not None:
            results.append((step.status, self.deliver_step(step)))
        return results

    def take_callbacks(self) -> list[SignedRequest]:
        """Apply every queued step without POSTing; answer the signed requests.

        Steps of messages created without a StatusCallback advance too but have
        no request to answer.
        """
        with self._lock:
            steps, self._queue = self._queue, []
            for step in steps:
                self._apply_step(step)
        return [step.request for step in steps if step.request is not None]

    def complete_all(self) -> None:
        """Move every message to its final status without sending anything."""
        with self._lock:
            steps, self._queue = self._queue, []
            for step in steps:
                self._apply_step(step)

    def deliver_step(self, step: CallbackStep) -> int | None:
        """Apply one step, then POST its callback unless callbacks are dropped."""
        with self._lock:
            self._apply_step(step)
            dropped = self.drop_callbacks
        if step.request is None:
            return None
        if dropped:
            self._record("status", step.request, None, "dropped")
            return None
        return self.send_webhook("status", step.request)

    def run_due_callbacks(self, stop: threading.Event) -> None:
        """Deliver queued steps as they fall due, until `stop` is set."""
        while True:
            with self._lock:
                if stop.is_set():
                    return
                step = self._pop_due_step(time.monotonic())
                if step is None:
                    self._lock.wait(timeout=self._seconds_to_next_due())
                    continue
            self.deliver_step(step)

    def wake(self) -> None:
        """Wake a waiting callback worker so it can notice it should stop."""
        with self._lock:
            self._lock.notify_all()

    @property
    def callback_log(self) -> list[CallbackAttempt]:
        """Every webhook POST attempted so far, oldest first."""
        with self._lock:
            return list(self._log)

    # Incoming messages ----------------------------------------------------

    def incoming_request(
        self,
        account_sid: str,
        url: str,
        from_number: str,
        to_number: str,
        body: str = "",
        media: Iterable[tuple[str | None, str]] = (),
        profile_name: str | None = None,
        latitude: float | str | None = None,
        longitude: float | str | None = None,
        button_text: str | None = None,
        button_payload: str | None = None,
    ) -> SignedRequest:
        """Record an incoming message and build the webhook Twilio would send."""
        account = self.get_account(account_sid)
        sender = _whatsapp(from_number)
        recipient = _whatsapp(to_number)
        media = list(media)
        created = now_utc()
        message = Message(
            sid=new_sid("MM" if media else "SM"),
            account_sid=account_sid,
            to=recipient,
            from_=sender,
            body=body,
            direction="inbound",
            status="received",
            date_created=created,
            date_updated=created,
            date_sent=created,
        )
        message.media = [
            Media(new_sid("ME"), content_type, url) for url, content_type in media
        ]

        params = {
            "MessageSid": message.sid,
            "SmsMessageSid": message.sid,
            "SmsSid": message.sid,
            "AccountSid": account_sid,
            "From": sender,
            "To": recipient,
            "Body": body,
            "NumMedia": str(len(message.media)),
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "WaId": re.sub(r"\D", "", strip_channel(sender)),
            "ApiVersion": API_VERSION,
            "SmsStatus": "received",
            "MessageType": _message_type(message.media, latitude, button_text),
        }
        for index, item in enumerate(message.media):
            params[f"MediaUrl{index}"] = item.url or self._media_url(message, item)
            params[f"MediaContentType{index}"] = item.content_type
        optional = {
            "ProfileName": profile_name,
            "Latitude": latitude,
            "Longitude": longitude,
            "ButtonText": button_text,
            "ButtonPayload": button_payload,
        }
        params.update({k: str(v) for k, v in optional.items() if v is not None})

        with self._lock:
            self._messages[message.sid] = message
        logger.info(
            "Simulator built incoming message %s from %s",
            message.sid,
            mask_number(sender),
        )
        return sign_request(account.auth_token, url, params)

    def deliver_incoming(self, *args, **kwargs) -> int | None:
        """Build an incoming message webhook and POST it; answer the HTTP code."""
        request = self.incoming_request(*args, **kwargs)
        return self.send_webhook("incoming", request)

    # Fault injection ------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        body: str | None = None,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next REST request fail with `status`, or garble its body."""
        if body not in (None, "malformed"):
            raise ValueError("body must be None or 'malformed'")
        with self._lock:
            self._fault = _Fault(status, body, code, message)

    def delay_next(self, seconds: float) -> None:
        """Make the next REST request wait `seconds` before it is handled."""
        with self._lock:
            self._delay = seconds

    def take_faults(self) -> tuple[float | None, _Fault | None]:
        """Consume the pending delay and fault, if any."""
        with self._lock:
            delay, fault = self._delay, self._fault
            self._delay = self._fault = None
        return delay, fault

    def sleep(self, seconds: float) -> None:
        """Sleep, but return at once when the server is stopping."""
        self._interrupt.wait(seconds)

    def interrupt_sleeps(self, interrupted: bool = True) -> None:
        """Cut short (or, with False, allow again) delays injected by delay_next."""
        if interrupted:
            self._interrupt.set()
        else:
            self._interrupt.clear()

    # Internals (call with the lock held where noted) ----------------------

    def _plan_steps(
        self, account: Account, message: Message, failure: _Failure | None
    ) -> list[CallbackStep]:
        """The statuses the message will move through (lock held)."""
        if failure is None:
            plan = [(status, None, None) for status in OUTBOUND_STEPS]
        else:
            final = (failure.status, failure.error_code, failure.error_message)
            plan = [("queued", None, None), final]

        steps = []
        start = time.monotonic()
        for index, (status, code, text) in enumerate(plan):
            request = None
            if message.status_callback:
                params = _status_params(message, status, code, text)
                request = sign_request(
                    account.auth_token, message.status_callback, params
                )
            due = None
            if self.callback_delay is not None:
                due = start + (index + 1) * self.callback_delay
            steps.append(CallbackStep(message.sid, status, request, code, text, due))
        return steps

    def _apply_step(self, step: CallbackStep) -> None:
        """Move the message to the step's status (lock held)."""
        message = self._messages.get(step.message_sid)
        if message is None:
            return
        moment = now_utc()
        message.status = step.status
        message.date_updated = moment
        if step.status in ("sent", "delivered", "read", "undelivered"):
            message.date_sent = message.date_sent or moment
            message.price = message.price or SENT_PRICE
        if step.error_code is not None:
            message.error_code = step.error_code
            message.error_message = step.error_message

    def _pop_step(self) -> CallbackStep | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def _pop_due_step(self, now: float) -> CallbackStep | None:
        """The earliest step whose time has come (lock held)."""
        due = [s for s in self._queue if s.due is None or s.due <= now]
        if not due:
            return None
        step = min(due, key=lambda s: s.due or 0.0)
        self._queue.remove(step)
        return step

    def _seconds_to_next_due(self) -> float | None:
        """How long until the next step falls due (lock held)."""
        dues = [s.due for s in self._queue if s.due is not None]
        if not dues:
            return None
        return max(0.0, min(dues) - time.monotonic())

    def send_webhook(self, kind: str, request: SignedRequest) -> int | None:
        """POST a webhook and record the attempt; answer the HTTP code or None."""
        try:
            status_code = request.send(timeout=self.callback_timeout)
        except requests.RequestException as error:
            logger.warning(
                "Simulator %s webhook to %s failed: %s", kind, request.url, error
            )
            self._record(kind, request, None, str(error))
            return None
        logger.info(
            "Simulator %s webhook %s answered %s",
            kind,
            request.params.get("MessageStatus", request.params.get("MessageSid")),
            status_code,
        )
        self._record(kind, request, status_code, None)
        return status_code

    def _record(
        self,
        kind: str,
        request: SignedRequest,
        status_code: int | None,
        error: str | None,
    ) -> None:
        attempt = CallbackAttempt(
            kind, request.url, request.params, request.signature, status_code, error
        )
        with self._lock:
            self._log.append(attempt)

    def _media_url(self, message: Message, media: Media) -> str:
        base = self.base_url or TWILIO_API_URL
        return f"{base}{message.uri.removesuffix('.json')}/Media/{media.sid}"


def _status_params(
    message: Message, status: str, error_code: int | None, error_message: str | None
) -> dict[str, str]:
    """The form Twilio POSTs to a StatusCallback."""
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "AccountSid": message.account_sid,
        "To": message.to,
        "ApiVersion": API_VERSION,
    }
    if message.from_:
        params["From"] = message.from_
    if message.to.startswith(WHATSAPP_PREFIX):
        params.update(
            {
                "ChannelPrefix": "whatsapp",
                "ChannelToAddress": strip_channel(message.to),
                "ChannelInstallSid": "XE" + message.account_sid[2:],
                "StructuredMessage": "false",
            }
        )
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
        params["ErrorMessage"] = error_message or ""
    return params


def _parse_content_variables(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise TwilioError(400, 21656, "The ContentVariables Parameter is invalid.")
    return {str(key): str(value) for key, value in values.items()}


def _copy_message(message: Message) -> Message:
    """A snapshot that callers may read without the lock."""
    return Message(**{**message.__dict__, "media": list(message.media)})


def _whatsapp(number: str) -> str:
    return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number


def _message_type(
    media: list[Media], latitude: object | None, button_text: str | None
) -> str:
    if button_text is not None:
        return "button"
    if latitude is not None:
        return "location"
    if not media:
        return "text"
    kind = media[0].content_type.split("/")[0]
    return kind if kind in ("image", "video", "audio") else "document"


def _guess_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed or "application/octet-stream"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def media_bytes(content_type: str) -> bytes:
    """A small body of the given type (images are served as a 1x1 PNG)."""
    if content_type.startswith("image/"):
        return _png()
    if content_type == "application/pdf":
        return _pdf()
    if content_type.startswith("text/"):
        return b"Simulated media.\n"
    return b"simulated media"


def _png() -> bytes:
    """A valid 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def _pdf() -> bytes:
    """A minimal one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
