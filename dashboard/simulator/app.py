"""The simulator's WSGI app: Twilio's REST paths plus a few control endpoints."""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .state import (
    API_VERSION,
    CONTENT_API_URL,
    Account,
    Message,
    SimulatorState,
    TwilioError,
)

logger = logging.getLogger(__name__)

ACCOUNT_PATH = f"/{API_VERSION}/Accounts/<account_sid>"
REST_PREFIXES = (f"/{API_VERSION}/", "/v1/")
MALFORMED_BODY = "<html><body>upstream answered garbage</body></html>"
FAULT_MESSAGES = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def create_simulator_app(state: SimulatorState) -> Flask:
    """Build the WSGI app that serves `state` over Twilio's REST paths."""
    app = Flask(__name__)
    app.config["SIMULATOR_STATE"] = state

    @app.before_request
    def inject_faults():
        if not request.path.startswith(REST_PREFIXES):
            return None
        delay, fault = state.take_faults()
        if delay:
            logger.info("Simulator delaying %s by %ss", request.path, delay)
            state.sleep(delay)
        if fault is None:
            return None
        if fault.body == "malformed":
            g.malformed = True
            return None
        message = fault.message or FAULT_MESSAGES.get(fault.status, "Error")
        code = fault.code or 20000 + fault.status
        logger.info("Simulator failing %s with %s", request.path, fault.status)
        return _error(TwilioError(fault.status, code, message))

    @app.after_request
    def garble(response: Response) -> Response:
        if g.get("malformed"):
            response.set_data(MALFORMED_BODY)
            response.mimetype = "text/html"
        return response

    @app.errorhandler(TwilioError)
    def twilio_error(error: TwilioError):
        return _error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 404:
            message = f"The requested resource {request.path} was not found"
            return _error(TwilioError(404, 20404, message))
        if status == 405:
            return _error(TwilioError(405, 20004, "Method not allowed"))
        return _error(TwilioError(status, 20000 + status, error.name))

    @app.get(f"{ACCOUNT_PATH}.json")
    def fetch_account(account_sid: str):
        account = _authorize(state, account_sid)
        return jsonify(account.to_json())

    @app.post(f"{ACCOUNT_PATH}/Messages.json")
    def create_message(account_sid: str):
        account = _authorize(state, account_sid)
        form = request.form.to_dict()
        form["MediaUrl"] = request.form.getlist("MediaUrl")

        message = state.create_message(account, form)

        return jsonify(message.to_json()), 201

    @app.get(f"{ACCOUNT_PATH}/Messages.json")
    def list_messages(account_sid: str):
        account = _authorize(state, account_sid)
        page_size = request.args.get("PageSize", 50, type=int)
        page = request.args.get("Page", 0, type=int)

        messages = [m for m in state.messages(account.sid) if _matches(m)]

        return jsonify(_message_page(account, messages, page, page_size))

    @app.get(f"{ACCOUNT_PATH}/Messages/<message_sid>.json")
    def fetch_message(account_sid: str, message_sid: str):
        account = _authorize(state, account_sid)
        return jsonify(state.get_message(account.sid, message_sid).to_json())

    @app.get(f"{ACCOUNT_PATH}/Messages/<message_sid>/Media.json")
    def list_media(account_sid: str, message_sid: str):
        account = _authorize(state, account_sid)
        message = state.get_message(account.sid, message_sid)
        uri = message.uri.removesuffix(".json") + "/Media.json"
        return jsonify(
            {
                "media_list": [message.media_json(item) for item in message.media],
                **_page_fields(uri, 0, 50, len(message.media), more=False),
            }
        )

    @app.get(f"{ACCOUNT_PATH}/Messages/<message_sid>/Media/<media_sid>.json")
    def fetch_media_record(account_sid: str, message_sid: str, media_sid: str):
        account = _authorize(state, account_sid)
        message, media = state.get_media(account.sid, message_sid, media_sid)
        return jsonify(message.media_json(media))

    @app.get(f"{ACCOUNT_PATH}/Messages/<message_sid>/Media/<media_sid>")
    def fetch_media_content(account_sid: str, message_sid: str, media_sid: str):
        account = _authorize(state, account_sid)
        _, media = state.get_media(account.sid, message_sid, media_sid)
        return Response(media.content(), content_type=media.content_type)

    @app.get("/v1/Content")
    def list_contents():
        account = _authenticate(state)
        page_size = request.args.get("PageSize", 50, type=int)
        page = request.args.get("Page", 0, type=int)

        contents = state.contents(account.sid)
        chunk = contents[page * page_size : (page + 1) * page_size]
        more = (page + 1) * page_size < len(contents)

        return jsonify(
            {
                "contents": [content.to_json() for content in chunk],
                "meta": _content_meta(page, page_size, more),
            }
        )

    @app.get("/v1/Content/<content_sid>")
    def fetch_content(content_sid: str):
        account = _authenticate(state)
        content = state.get_content(account.sid, content_sid)
        if content is None:
            message = f"The requested resource /v1/Content/{content_sid} was not found"
            raise TwilioError(404, 20404, message)
        return jsonify(content.to_json())

    # Control endpoints for the command line and demos. They need no auth, so
    # the simulator binds to 127.0.0.1 unless told otherwise.
    @app.post("/_sim/incoming")
    def control_incoming():
        data = request.get_json(silent=True) or {}
        try:
            signed = state.incoming_request(
                data["account_sid"],
                data["url"],
                data["from"],
                data["to"],
                data.get("body", ""),
                media=[_media_pair(item) for item in data.get("media", [])],
                profile_name=data.get("profile_name"),
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                button_text=data.get("button_text"),
                button_payload=data.get("button_payload"),
            )
        except (KeyError, TypeError, ValueError) as error:
            return jsonify({"error": f"bad request: {error!r}"}), 400

        status_code = state.send_webhook("incoming", signed)

        return jsonify(
            {"message_sid": signed.params["MessageSid"], "status_code": status_code}
        )

    @app.get("/_sim/messages")
    def control_messages():
        account_sid = request.args.get("account_sid")
        messages = state.messages(account_sid)
        return jsonify({"messages": [message.to_json() for message in messages]})

    return app


def _authenticate(state: SimulatorState) -> Account:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        raise TwilioError(401, 20003, "Authenticate")
    return state.authenticate(auth.username, auth.password)


def _authorize(state: SimulatorState, account_sid: str) -> Account:
    """The authenticated account, which must be the one named in the path."""
    account = _authenticate(state)
    if account.sid != account_sid:
        raise TwilioError(401, 20003, "Authenticate")
    return account


def _error(error: TwilioError) -> Response:
    response = jsonify(error.to_json())
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _matches(message: Message) -> bool:
    """Whether a message passes the list filters in the query string."""
    args = request.args
    if args.get("To") and message.to != args["To"]:
        return False
    if args.get("From") and message.from_ != args["From"]:
        return False
    sent = message.date_sent.date() if message.date_sent else None
    for key, check in (
        ("DateSent", lambda day: sent == day),
        ("DateSent<", lambda day: sent is not None and sent <= day),
        ("DateSent>", lambda day: sent is not None and sent >= day),
    ):
        if args.get(key) and not check(date.fromisoformat(args[key][:10])):
            return False
    return True


def _message_page(
    account: Account, messages: list[Message], page: int, page_size: int
) -> dict:
    uri = f"/{API_VERSION}/Accounts/{account.sid}/Messages.json"
    chunk = messages[page * page_size : (page + 1) * page_size]
    more = (page + 1) * page_size < len(messages)
    return {
        "messages": [message.to_json() for message in chunk],
        **_page_fields(uri, page, page_size, len(chunk), more),
    }


def _page_fields(uri: str, page: int, page_size: int, count: int, more: bool) -> dict:
    """The paging fields of a 2010-04-01 list answer, keeping the filters."""
    start = page * page_size
    filters = [
        (key, value)
        for key, value in request.args.items(multi=True)
        if key not in ("Page", "PageSize", "PageToken")
    ]

    def page_uri(number: int) -> str:
        query = urlencode([*filters, ("PageSize", page_size), ("Page", number)])
        return f"{uri}?{query}"

    return {
        "end": start + max(count - 1, 0),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if more else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": page_uri(page),
    }


def _content_meta(page: int, page_size: int, more: bool) -> dict:
    """The paging `meta` of a Content API list answer."""

    def page_url(number: int) -> str:
        return f"{CONTENT_API_URL}/v1/Content?PageSize={page_size}&Page={number}"

    return {
        "first_page_url": page_url(0),
        "key": "contents",
        "next_page_url": page_url(page + 1) if more else None,
        "page": page,
        "page_size": page_size,
        "previous_page_url": page_url(page - 1) if page > 0 else None,
        "url": page_url(page),
    }


def _media_pair(item) -> tuple[str | None, str]:
    """A media entry from JSON: {"url", "content_type"} or [url, content_type]."""
    if isinstance(item, dict):
        return item.get("url"), item["content_type"]
    url, content_type = item
    return url, content_type
