"""The Twilio simulator, driven through the real twilio library over HTTP."""

import json
import random
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from dashboard.simulator import SimulatorServer, SimulatorState, media_bytes

from .conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OTHER_ACCOUNT_SID,
    OTHER_AUTH_TOKEN,
    RECIPIENT,
    SENDER,
    SimulatorHttpClient,
)

SCHEMAS = json.loads(
    (Path(__file__).parents[1] / "data" / "twilio_oai_schemas.json").read_text()
)
MESSAGING_SERVICE_SID = "MG" + "ab" * 16
JSON_TYPES = {"string": str, "integer": int, "object": dict, "array": list}


def send(client, **kwargs):
    params = {"to": RECIPIENT, "from_": SENDER, "body": "Hello"} | kwargs
    return client.messages.create(**params)


def raw_json(simulator, path: str, params: dict | None = None) -> dict:
    response = requests.get(
        simulator.url + path, params=params, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=3
    )
    assert response.status_code == 200
    return response.json()


def schema_problems(value: dict, schema: dict) -> list[str]:
    """Where `value` breaks the OpenAPI object schema (empty when it fits)."""
    problems = []
    properties = schema["properties"]
    for name, field_value in value.items():
        rule = properties.get(name)
        if rule is None:
            problems.append(f"{name}: not in the schema")
            continue
        if field_value is None:
            if not rule.get("nullable"):
                problems.append(f"{name}: null but not nullable")
            continue
        expected = JSON_TYPES[rule["type"]]
        if not isinstance(field_value, expected) or isinstance(field_value, bool):
            problems.append(f"{name}: {field_value!r} is not {rule['type']}")
            continue
        if "enum" in rule and field_value not in rule["enum"]:
            problems.append(f"{name}: {field_value!r} not in {rule['enum']}")
        if "pattern" in rule and not re.search(rule["pattern"], field_value):
            problems.append(f"{name}: {field_value!r} breaks {rule['pattern']}")
        if "minLength" in rule and len(field_value) < rule["minLength"]:
            problems.append(f"{name}: shorter than {rule['minLength']}")
        if "maxLength" in rule and len(field_value) > rule["maxLength"]:
            problems.append(f"{name}: longer than {rule['maxLength']}")
        if rule.get("format") == "date-time-rfc-2822":
            moment = parsedate_to_datetime(field_value)
            if moment.utcoffset() is None or moment.utcoffset().total_seconds():
                problems.append(f"{name}: {field_value!r} is not in GMT")
    return problems


def test_create_message_answers_queued_message_in_twilio_shape(
    client, simulator, receiver
):
    callback = receiver.url("/webhooks/status")

    message = send(client, status_callback=callback)

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert message.account_sid == ACCOUNT_SID
    assert message.to == RECIPIENT
    assert message.from_ == SENDER
    assert message.body == "Hello"
    assert message.direction == "outbound-api"
    assert message.api_version == "2010-04-01"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.price is None
    assert message.price_unit == "USD"
    assert message.error_code is None
    assert message.date_sent is None
    assert isinstance(message.date_created, datetime)
    assert message.date_created.tzinfo is not None


def test_fetch_message_answers_current_status(client, simulator):
    created = send(client)
    simulator.state.complete_all()

    fetched = client.messages(created.sid).fetch()

    assert fetched.sid == created.sid
    assert fetched.status == "read"
    assert fetched.date_sent is not None
    assert fetched.price == "-0.00500"


def test_fetch_unknown_message_raises_20404(client):
    with pytest.raises(TwilioRestException) as raised:
        client.messages("SM" + "0" * 32).fetch()

    assert raised.value.status == 404
    assert raised.value.code == 20404


def test_fetch_message_of_another_account_raises_20404(client, make_client):
    created = send(client)
    other = make_client(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)

    with pytest.raises(TwilioRestException) as raised:
        other.messages(created.sid).fetch()

    assert raised.value.code == 20404


def test_create_with_messaging_service_is_accepted(client):
    message = client.messages.create(
        to=RECIPIENT, messaging_service_sid=MESSAGING_SERVICE_SID, body="Hi"
    )

    assert message.status == "accepted"
    assert message.messaging_service_sid == MESSAGING_SERVICE_SID
    assert message.from_ is None


def test_create_with_media_counts_media(client):
    message = send(client, media_url=["https://example.com/a.png"], body=None)

    assert message.num_media == "1"
    assert re.fullmatch(r"MM[0-9a-f]{32}", message.sid)


def test_fetch_account_answers_account_without_token(client, simulator):
    account = client.api.v2010.accounts(ACCOUNT_SID).fetch()
    raw = raw_json(simulator, f"/2010-04-01/Accounts/{ACCOUNT_SID}.json")

    assert account.sid == ACCOUNT_SID
    assert account.friendly_name == "Main"
    assert account.status == "active"
    assert account.type == "Full"
    assert isinstance(account.date_created, datetime)
    assert "auth_token" not in raw
    assert AUTH_TOKEN not in json.dumps(raw)


@pytest.mark.parametrize(
    ("account_sid", "auth_token"),
    [(ACCOUNT_SID, "wrong-token"), ("AC" + "9" * 32, AUTH_TOKEN)],
    ids=["wrong-token", "unknown-account"],
)
def test_bad_credentials_raise_20003(make_client, account_sid, auth_token):
    client = make_client(account_sid, auth_token)

    with pytest.raises(TwilioRestException) as raised:
        client.api.v2010.accounts(account_sid).fetch()

    assert raised.value.status == 401
    assert raised.value.code == 20003


def test_path_of_another_account_raises_20003(make_client):
    client = make_client(path_account_sid=OTHER_ACCOUNT_SID)

    with pytest.raises(TwilioRestException) as raised:
        send(client)

    assert raised.value.status == 401
    assert raised.value.code == 20003


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_magic_recipient_raises_twilio_code(client, simulator, number, code):
    with pytest.raises(TwilioRestException) as raised:
        send(client, to=f"whatsapp:{number}")

    assert raised.value.status == 400
    assert raised.value.code == code
    assert simulator.state.messages() == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": ""}, 21604),
        ({"from_": None}, 21603),
        ({"body": None}, 21619),
        ({"body": "x" * 1601}, 21617),
        ({"body": None, "content_sid": "HX123"}, 21655),
        (
            {"body": None, "content_sid": "HX" + "a" * 32, "content_variables": "{"},
            21656,
        ),
    ],
    ids=["no-to", "no-from", "no-body", "long-body", "bad-content", "bad-variables"],
)
def test_invalid_create_raises_twilio_code(client, params, code):
    with pytest.raises(TwilioRestException) as raised:
        send(client, **params)

    assert raised.value.status == 400
    assert raised.value.code == code


def test_body_of_1600_characters_is_accepted(client):
    assert send(client, body="x" * 1600).status == "queued"


def test_content_message_body_is_rendered_with_variables(client, simulator):
    content_sid = simulator.state.add_content(
        ACCOUNT_SID, "order", "Hi {{1}}, order {{2}} is ready", {"1": "there"}
    )

    message = send(
        client,
        body=None,
        content_sid=content_sid,
        content_variables=json.dumps({"2": "A-17"}),
    )

    assert message.body == "Hi there, order A-17 is ready"


def test_content_message_with_unknown_template_has_empty_body(client):
    message = send(client, body=None, content_sid="HX" + "b" * 32)

    assert message.body == ""


def test_callbacks_are_signed_and_posted_in_order(client, simulator, receiver):
    callback = receiver.url("/webhooks/status?tenant=7")
    message = send(client, status_callback=callback)

    results = simulator.flush_callbacks()

    assert results == [
        ("queued", 200),
        ("sent", 200),
        ("delivered", 200),
        ("read", 200),
    ]
    validator = RequestValidator(AUTH_TOKEN)
    for posted in receiver.requests:
        assert posted["url"] == callback
        assert validator.validate(callback, posted["form"], posted["signature"])
    forms = [posted["form"] for posted in receiver.requests]
    assert [form["MessageStatus"] for form in forms] == [
        "queued",
        "sent",
        "delivered",
        "read",
    ]
    first = forms[0]
    assert first["MessageSid"] == first["SmsSid"] == message.sid
    assert first["SmsStatus"] == "queued"
    assert first["AccountSid"] == ACCOUNT_SID
    assert first["From"] == SENDER
    assert first["To"] == RECIPIENT
    assert first["ApiVersion"] == "2010-04-01"
    assert first["ChannelPrefix"] == "whatsapp"
    assert first["ChannelToAddress"] == RECIPIENT.removeprefix("whatsapp:")
    assert "ErrorCode" not in first
    assert client.messages(message.sid).fetch().status == "read"
    assert simulator.state.pending_callbacks() == []
    assert [entry.status_code for entry in simulator.state.callback_log] == [200] * 4


@pytest.mark.parametrize("final", ["undelivered", "failed"])
def test_failing_recipient_ends_with_error_code(client, simulator, receiver, final):
    simulator.state.fail_recipient(RECIPIENT, status=final, error_code=63016)
    message = send(client, status_callback=receiver.url("/status"))

    results = simulator.flush_callbacks()

    assert results == [("queued", 200), (final, 200)]
    last = receiver.requests[-1]["form"]
    assert last["MessageStatus"] == final
    assert last["ErrorCode"] == "63016"
    assert "outside the allowed window" in last["ErrorMessage"]
    fetched = client.messages(message.sid).fetch()
    assert fetched.status == final
    assert fetched.error_code == 63016


def test_callback_receiver_errors_are_recorded(client, simulator, receiver):
    receiver.status = 500
    send(client, status_callback=receiver.url("/status"))
    send(client, status_callback="http://127.0.0.1:9/unreachable")

    results = simulator.flush_callbacks()

    assert [code for _, code in results] == [500] * 4 + [None] * 4
    log = simulator.state.callback_log
    assert log[0].status_code == 500
    assert log[-1].status_code is None
    assert log[-1].error


def test_pending_callbacks_are_the_same_step_objects(client, simulator, receiver):
    send(client, status_callback=receiver.url("/status"))

    first = simulator.state.pending_callbacks()
    again = simulator.state.pending_callbacks()

    assert [step.status for step in first] == ["queued", "sent", "delivered", "read"]
    assert all(a is b for a, b in zip(first, again, strict=True))


def test_take_callbacks_gives_signed_requests_without_sending(
    client, simulator, receiver
):
    callback = receiver.url("/status")
    message = send(client, status_callback=callback)
    pending = simulator.state.pending_callbacks()

    taken = simulator.state.take_callbacks()

    assert taken == [step.request for step in pending]
    assert receiver.requests == []
    assert simulator.state.callback_log == []
    assert client.messages(message.sid).fetch().status == "read"
    validator = RequestValidator(AUTH_TOKEN)
    for signed in taken:
        assert validator.validate(signed.url, signed.params, signed.signature)
        assert signed.headers["X-Twilio-Signature"] == signed.signature
        assert signed.path == "/status"

    replay = [*taken, taken[0], taken[-1]]
    random.shuffle(replay)
    codes = [signed.send() for signed in replay]

    assert codes == [200] * 6
    posted = receiver.wait_for(6)
    assert all(validator.validate(p["url"], p["form"], p["signature"]) for p in posted)


def test_drop_callbacks_advances_status_without_posting(client, simulator, receiver):
    simulator.state.drop_callbacks = True
    message = send(client, status_callback=receiver.url("/status"))

    results = simulator.flush_callbacks()

    assert results == [(s, None) for s in ("queued", "sent", "delivered", "read")]
    assert receiver.requests == []
    assert client.messages(message.sid).fetch().status == "read"


def test_complete_all_sends_nothing(client, simulator, receiver):
    simulator.state.fail_recipient("+5511000000001", status="failed")
    ok = send(client, status_callback=receiver.url("/status"))
    failed = send(client, to="whatsapp:+5511000000001")

    simulator.state.complete_all()

    assert receiver.requests == []
    assert simulator.state.pending_callbacks() == []
    assert client.messages(ok.sid).fetch().status == "read"
    assert client.messages(failed.sid).fetch().status == "failed"


def test_message_without_callback_still_advances(client, simulator):
    message = send(client)

    results = simulator.flush_callbacks()

    assert [status for status, _ in results] == ["queued", "sent", "delivered", "read"]
    assert client.messages(message.sid).fetch().status == "read"


def test_callback_delay_worker_sends_steps_on_its_own(receiver):
    server = SimulatorServer(callback_delay=0.01)
    server.state.add_account(ACCOUNT_SID, AUTH_TOKEN)
    with server:
        threads = server.threads
        http_client = SimulatorHttpClient(server.url, timeout=3)
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
        send(client, status_callback=receiver.url("/status"))
        http_client.session.close()

        posted = receiver.wait_for(4)

    assert [p["form"]["MessageStatus"] for p in posted] == [
        "queued",
        "sent",
        "delivered",
        "read",
    ]
    assert len(threads) == 2
    assert not any(thread.is_alive() for thread in threads)


def test_list_messages_filters_by_recipient(client, simulator):
    wanted = send(client)
    send(client, to="whatsapp:+5511888880000")

    listed = client.messages.list(to=RECIPIENT)

    assert [m.sid for m in listed] == [wanted.sid]
    page = raw_json(
        simulator,
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        params={"To": RECIPIENT},
    )
    assert page["next_page_uri"] is None
    assert page["previous_page_uri"] is None
    assert (page["page"], page["start"], page["end"]) == (0, 0, 0)


def test_list_messages_follows_pages(client):
    sids = {send(client).sid for _ in range(3)}

    listed = client.messages.list(page_size=2)

    assert {m.sid for m in listed} == sids


def test_content_list_through_twilio_library(client, simulator):
    content_sid = simulator.state.add_content(
        ACCOUNT_SID, "welcome", "Hello {{1}}", {"1": "name"}
    )
    simulator.state.add_content(OTHER_ACCOUNT_SID, "other", "Not yours")

    contents = client.content.v1.contents.list()

    assert [c.sid for c in contents] == [content_sid]
    content = contents[0]
    assert content.friendly_name == "welcome"
    assert content.language == "en"
    assert content.variables == {"1": "name"}
    assert content.types == {"twilio/text": {"body": "Hello {{1}}"}}
    assert isinstance(content.date_created, datetime)
    assert content.date_created.tzinfo is not None


def test_content_fetch_through_twilio_library(client, simulator):
    content_sid = simulator.state.add_content(ACCOUNT_SID, "welcome", "Hello")

    content = client.content.v1.contents(content_sid).fetch()

    assert content.sid == content_sid


def test_content_list_with_bad_token_raises_plain_twilio_exception(make_client):
    client = make_client(auth_token="wrong-token")

    with pytest.raises(TwilioException) as raised:
        client.content.v1.contents.list()

    # List calls go through Page, which raises the base class without a code.
    assert not isinstance(raised.value, TwilioRestException)
    assert raised.value.args[1].status_code == 401


def test_incoming_request_is_signed_with_every_media_url(simulator):
    signed = simulator.incoming_request(
        ACCOUNT_SID,
        "https://inbox.example.com/api/whatsapp/webhooks/incoming",
        "+5511999990000",
        "+14155238886",
        "Look",
        media=[
            (None, "image/png"),
            ("https://cdn.example.com/x.pdf", "application/pdf"),
        ],
        profile_name="Ana",
    )

    params = signed.params
    assert RequestValidator(AUTH_TOKEN).validate(signed.url, params, signed.signature)
    assert not RequestValidator(OTHER_AUTH_TOKEN).validate(
        signed.url, params, signed.signature
    )
    assert re.fullmatch(r"MM[0-9a-f]{32}", params["MessageSid"])
    assert params["SmsMessageSid"] == params["MessageSid"]
    assert params["From"] == "whatsapp:+5511999990000"
    assert params["To"] == "whatsapp:+14155238886"
    assert params["WaId"] == "5511999990000"
    assert params["NumMedia"] == "2"
    assert params["MessageType"] == "image"
    assert params["SmsStatus"] == "received"
    assert params["ProfileName"] == "Ana"
    assert params["MediaUrl0"].startswith(simulator.url + "/2010-04-01/Accounts/")
    assert params["MediaContentType0"] == "image/png"
    assert params["MediaUrl1"] == "https://cdn.example.com/x.pdf"
    assert params["MediaContentType1"] == "application/pdf"
    assert "MediaUrl2" not in params


@pytest.mark.parametrize(
    ("extra", "message_type", "expected"),
    [
        ({}, "text", {}),
        (
            {"latitude": -23.55, "longitude": -46.63},
            "location",
            {"Latitude": "-23.55", "Longitude": "-46.63"},
        ),
        (
            {"button_text": "Yes", "button_payload": "confirm"},
            "button",
            {"ButtonText": "Yes", "ButtonPayload": "confirm"},
        ),
    ],
)
def test_incoming_request_message_types(simulator, extra, message_type, expected):
    signed = simulator.incoming_request(
        ACCOUNT_SID, "https://x.example/in", "+551199", "+1415", "Hi", **extra
    )

    assert signed.params["MessageType"] == message_type
    assert signed.params["NumMedia"] == "0"
    assert re.fullmatch(r"SM[0-9a-f]{32}", signed.params["MessageSid"])
    assert expected.items() <= signed.params.items()


def test_deliver_incoming_posts_signed_form(simulator, receiver):
    url = receiver.url("/incoming?tenant=3")

    status_code = simulator.deliver_incoming(
        ACCOUNT_SID, url, "+5511999990000", "+14155238886", "Hi"
    )

    assert status_code == 200
    posted = receiver.requests[0]
    assert posted["form"]["Body"] == "Hi"
    assert RequestValidator(AUTH_TOKEN).validate(
        url, posted["form"], posted["signature"]
    )


def test_control_endpoint_delivers_incoming_and_lists_messages(simulator, receiver):
    answer = requests.post(
        simulator.url + "/_sim/incoming",
        json={
            "account_sid": ACCOUNT_SID,
            "url": receiver.url("/incoming"),
            "from": "+5511999990000",
            "to": "+14155238886",
            "body": "From the CLI",
            "media": [{"content_type": "image/png"}],
        },
        timeout=3,
    )
    listed = requests.get(simulator.url + "/_sim/messages", timeout=3)

    assert answer.status_code == 200
    assert answer.json()["status_code"] == 200
    assert receiver.requests[0]["form"]["Body"] == "From the CLI"
    messages = listed.json()["messages"]
    assert [m["sid"] for m in messages] == [answer.json()["message_sid"]]
    assert messages[0]["direction"] == "inbound"
    assert messages[0]["status"] == "received"


def test_control_endpoint_rejects_incomplete_request(simulator):
    answer = requests.post(simulator.url + "/_sim/incoming", json={}, timeout=3)

    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("image/png", b"\x89PNG\r\n\x1a\n"), ("application/pdf", b"%PDF-")],
)
def test_media_fetch_requires_auth(simulator, content_type, expected):
    signed = simulator.incoming_request(
        ACCOUNT_SID,
        "https://x.example/in",
        "+5511999990000",
        "+14155238886",
        media=[(None, content_type)],
    )
    media_url = signed.params["MediaUrl0"]

    anonymous = requests.get(media_url, timeout=3)
    wrong = requests.get(
        media_url, auth=(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN), timeout=3
    )
    allowed = requests.get(media_url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=3)

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == 20003
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert allowed.headers["Content-Type"] == content_type
    assert allowed.content.startswith(expected)


def test_generated_png_is_well_formed():
    png = media_bytes("image/png")

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png[12:16] == b"IHDR"
    assert png.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (429, 20429), (503, 20503)])
def test_fail_next_raises_twilio_error_once(client, simulator, status, code):
    simulator.state.fail_next(status=status)

    with pytest.raises(TwilioRestException) as raised:
        send(client)

    assert raised.value.status == status
    assert raised.value.code == code
    assert simulator.state.messages() == []
    assert send(client).status == "queued"


def test_fail_next_applies_to_fetch(client, simulator):
    message = send(client)
    simulator.state.fail_next(status=500)

    with pytest.raises(TwilioRestException) as raised:
        client.messages(message.sid).fetch()

    assert raised.value.code == 20500


def test_fail_next_malformed_body_raises_decode_error(client, simulator):
    simulator.state.fail_next(body="malformed")

    with pytest.raises(json.JSONDecodeError):
        send(client)

    assert len(simulator.state.messages()) == 1


def test_delay_next_makes_client_time_out(make_client, simulator):
    client = make_client(timeout=0.2)
    simulator.state.delay_next(5)

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.api.v2010.accounts(ACCOUNT_SID).fetch()

    assert client.api.v2010.accounts(ACCOUNT_SID).fetch().sid == ACCOUNT_SID


def test_message_and_account_json_match_twilio_schema(client, simulator, receiver):
    simulator.state.fail_recipient("+5511000000002", status="undelivered")
    outbound = send(client, status_callback=receiver.url("/status"))
    with_service = client.messages.create(
        to=RECIPIENT,
        messaging_service_sid=MESSAGING_SERVICE_SID,
        media_url=["https://example.com/a.jpg"],
    )
    failing = send(client, to="whatsapp:+5511000000002")
    incoming = simulator.incoming_request(
        ACCOUNT_SID, "https://x.example/in", "+5511999990000", "+14155238886", "Hi"
    )
    base = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
    sids = [outbound.sid, with_service.sid, failing.sid, incoming.params["MessageSid"]]

    before = [raw_json(simulator, f"{base}/Messages/{sid}.json") for sid in sids]
    simulator.flush_callbacks()
    after = [raw_json(simulator, f"{base}/Messages/{sid}.json") for sid in sids]
    page = raw_json(simulator, f"{base}/Messages.json")
    account = raw_json(simulator, f"{base}.json")

    for message in before + after + page["messages"]:
        assert schema_problems(message, SCHEMAS["message"]) == []
        assert set(message) == set(before[0])
    page_fields = {k: v for k, v in page.items() if k != "messages"}
    assert schema_problems(page_fields, SCHEMAS["message_list"]) == []
    assert schema_problems(account, SCHEMAS["account"]) == []
    assert [m["status"] for m in after] == ["read", "read", "undelivered", "received"]
    assert after[2]["error_code"] == 63016


def test_schema_check_catches_a_wrong_field():
    bad = {"sid": "XX1", "status": "lost", "num_media": 0, "extra": 1, "to": None}

    problems = schema_problems(bad, SCHEMAS["message"])

    assert len(problems) == 5


def test_state_validates_its_arguments():
    state = SimulatorState()

    with pytest.raises(ValueError):
        state.fail_recipient("+1", status="delivered")
    with pytest.raises(ValueError):
        state.fail_next(body="garbage")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", 404, 20404),
        ("DELETE", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", 405, 20004),
    ],
)
def test_unsupported_request_answers_twilio_error(
    simulator, method, path, status, code
):
    answer = requests.request(
        method, simulator.url + path, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=3
    )

    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
