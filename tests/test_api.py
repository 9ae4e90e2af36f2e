"""The JSON API with bearer tokens, against the simulator over real HTTP."""

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa
from conftest import TESTS, new_account

from dashboard.api.tokens import revoke_token
from dashboard.extensions import db
from dashboard.models import ApiToken, LedgerEntry
from dashboard.twilio_setup.settings import settings_for
from dashboard.wallet.ledger import top_up
from tests.helpers import (
    WEBHOOK_BASE,
    balance_of,
    charges_of,
    ledger_total,
    messages_of,
    post_signed,
)

API = "/api/whatsapp"
CONTACT = "+5511999990000"
FREE = Decimal("0.0275")
TEMPLATE = Decimal("0.1925")
WHATSAPP = "+14155238886"


class Api:
    """The test client, sending a bearer token with every request."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def call(self, method, path, headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.client.open(API + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)

    def send(self, key=None, **fields):
        payload = {"to": CONTACT, "message": "Your order shipped", **fields}
        headers = {"Idempotency-Key": key} if key else None
        return self.post("/send", json=payload, headers=headers)


def cli_token(runner, tenant):
    """A token made as an operator makes one: `flask tokens create`."""
    db.session.commit()  # on SQLite the test's open transaction holds the write lock
    result = runner.invoke(args=["tokens", "create", "--tenant", tenant.name])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def api(client, runner, tenant):
    return Api(client, cli_token(runner, tenant))


@pytest.fixture
def contact_wrote(app, simulator, tenant):
    """Let a contact write to the tenant, which opens the 24-hour window."""

    def write(number=CONTACT, body="Hello!", to=tenant):
        signed = simulator.state.incoming_request(
            to.settings.account_sid,
            f"{WEBHOOK_BASE}/incoming",
            number,
            to.settings.whatsapp_number,
            body,
        )
        assert post_signed(app, signed).status_code == 200

    return write


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def logged(app):
    """Every log line written while the test runs, DEBUG included."""
    recorder = Recorder()
    loggers = [logging.getLogger(name) for name in ("", "dashboard")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(recorder)
    yield recorder.lines
    logging.getLogger().removeHandler(recorder)
    for each, level in zip(loggers, levels, strict=True):
        each.setLevel(level)


def sent_to_twilio(simulator):
    return [m for m in simulator.state.messages() if m.direction == "outbound-api"]


# Tokens ---------------------------------------------------------------------


def test_token_from_the_command_line_opens_the_api(api):
    response = api.get("/wallet")

    assert response.status_code == 200
    assert response.get_json()["balance"] == "10.0000"


def test_token_use_is_stamped(api):
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is None

    api.get("/wallet")

    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer wdt_" + "x" * 43,
        "Bearer wdt_" + "x" * 200,
    ],
)
def test_request_without_a_valid_token_is_refused(client, tenant, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = client.get(f"{API}/wallet", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]


def test_revoked_token_is_refused(api):
    row = db.session.scalar(sa.select(ApiToken))
    revoke_token(row, TESTS)
    db.session.commit()

    response = api.get("/wallet")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/send"),
        ("GET", "/messages"),
        ("GET", "/messages/SM00000000000000000000000000000000"),
        ("GET", "/conversations"),
        ("POST", "/twilio/configure"),
        ("DELETE", "/twilio/configure"),
        ("GET", "/twilio/config"),
        ("GET", "/wallet"),
    ],
)
def test_every_route_needs_a_token(client, tenant, method, path):
    response = client.open(API + path, method=method, json={})

    assert response.status_code == 401


# Sending --------------------------------------------------------------------


def test_send_charges_the_price_and_answers_twilios_sid(
    api, tenant, contact_wrote, simulator
):
    contact_wrote()

    response = api.send(referenceId="order-42")

    assert response.status_code == 201
    answer = response.get_json()
    assert answer["success"] is True
    sid = answer["messageSid"]
    assert sid.startswith("SM") and len(sid) == 34
    assert answer["message"]["messageSid"] == sid
    assert answer["message"]["cost"] == "0.0275"
    assert answer["message"]["referenceId"] == "order-42"
    assert answer["message"]["type"] == "free"
    assert answer["message"]["status"] == "queued"
    assert answer["message"]["to"] == CONTACT
    assert answer["message"]["createdAt"].endswith("Z")
    assert balance_of(tenant) == Decimal("10") - FREE
    assert [(row.kind, row.amount) for row in charges_of(tenant)] == [("debit", -FREE)]
    actor = db.session.scalar(
        sa.select(LedgerEntry.actor).where(LedgerEntry.kind == "debit")
    )
    assert actor.startswith("API token wdt_")
    assert [m.sid for m in sent_to_twilio(simulator)] == [sid]


def test_send_is_recorded_with_its_token(api, tenant, contact_wrote):
    contact_wrote()

    api.send()

    outbound = [m for m in messages_of(tenant) if m.direction == "outbound"]
    assert outbound[0].api_token_id == db.session.scalar(sa.select(ApiToken.id))


def test_send_retried_with_the_same_idempotency_key_charges_and_sends_once(
    api, tenant, contact_wrote, simulator
):
    contact_wrote()

    first = api.send(key="order-42-shipped")
    again = api.send(key="order-42-shipped")

    assert first.status_code == again.status_code == 201
    assert first.get_json()["messageSid"] == again.get_json()["messageSid"]
    assert first.get_json()["message"]["id"] == again.get_json()["message"]["id"]
    assert [row.kind for row in charges_of(tenant)] == ["debit"]
    assert balance_of(tenant) == Decimal("10") - FREE
    assert len(sent_to_twilio(simulator)) == 1


def test_same_idempotency_key_with_another_message_is_refused(
    api, tenant, contact_wrote, simulator
):
    contact_wrote()
    api.send(key="k-1")

    response = api.send(key="k-1", message="Something else")

    assert response.status_code == 422
    assert response.get_json()["field"] == "Idempotency-Key"
    assert [row.kind for row in charges_of(tenant)] == ["debit"]
    assert len(sent_to_twilio(simulator)) == 1


def test_idempotency_keys_of_two_tenants_do_not_meet(
    api, tenant, make_tenant, connect_twilio, runner, client, contact_wrote
):
    other = make_tenant(balance="1")
    other.settings = connect_twilio(other)
    contact_wrote()
    contact_wrote(to=other)
    other_api = Api(client, cli_token(runner, other))

    mine = api.send(key="same-key")
    theirs = other_api.send(key="same-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["messageSid"] != theirs.get_json()["messageSid"]


def test_concurrent_sends_with_the_same_key_charge_once(
    app, live_server, simulator, tenant, runner
):
    token = cli_token(runner, tenant)
    content_sid = simulator.state.add_content(tenant.settings.account_sid, "hi", "Hi")
    payload = {"to": CONTACT, "type": "template", "contentSid": content_sid}
    db.session.commit()
    start = threading.Barrier(4)
    answers = []

    def send_once():
        start.wait()
        response = requests.post(
            f"{live_server.url}{API}/send",
            json=payload,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race"},
            timeout=30,
        )
        answers.append(
            (response.status_code, response.json(), response.headers.get("Retry-After"))
        )

    threads = [threading.Thread(target=send_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    codes = sorted(code for code, _, _ in answers)
    assert len(codes) == 4
    assert set(codes) <= {201, 409} and 201 in codes
    sids = {body["messageSid"] for code, body, _ in answers if code == 201}
    assert len(sids) == 1
    # The others either got the same answer or were told to retry shortly.
    waits = [(body["field"], wait) for code, body, wait in answers if code == 409]
    assert all(wait == ("Idempotency-Key", "1") for wait in waits)
    assert [row.kind for row in charges_of(tenant)] == ["debit"]
    assert balance_of(tenant) == Decimal("10") - TEMPLATE
    assert len(sent_to_twilio(simulator)) == 1


def test_send_without_credit_is_402_and_reaches_no_one(
    make_tenant, connect_twilio, client, runner, contact_wrote, simulator
):
    poor = make_tenant(balance="0.02")
    poor.settings = connect_twilio(poor)
    contact_wrote(to=poor)
    api = Api(client, cli_token(runner, poor))

    response = api.send(key="k")

    assert response.status_code == 402
    assert "Not enough credit" in response.get_json()["error"]
    assert sent_to_twilio(simulator) == []
    assert charges_of(poor) == []
    assert balance_of(poor) == Decimal("0.02")


def test_send_after_402_with_the_same_key_works_once_topped_up(
    make_tenant, connect_twilio, client, runner, contact_wrote
):
    poor = make_tenant(balance="0.02")
    poor.settings = connect_twilio(poor)
    contact_wrote(to=poor)
    api = Api(client, cli_token(runner, poor))
    assert api.send(key="k").status_code == 402

    top_up(poor.id, Decimal("1"), TESTS)
    response = api.send(key="k")

    assert response.status_code == 201
    assert balance_of(poor) == Decimal("1.02") - FREE


def test_send_refused_by_twilio_is_502_with_its_code_and_refunded(
    api, tenant, contact_wrote
):
    contact_wrote("+15005550001")

    response = api.send(to="+15005550001", key="bad-number")

    assert response.status_code == 502
    answer = response.get_json()
    assert answer["code"] == 21211
    assert answer["error"] == "The recipient's number is not a valid phone number."
    assert answer["message"]["status"] == "failed"
    assert answer["message"]["errorCode"] == 21211
    assert answer["message"]["messageSid"] is None
    assert balance_of(tenant) == Decimal("10")
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert ledger_total(tenant) == balance_of(tenant)


def test_refused_send_retried_with_its_key_answers_the_same_and_charges_nothing(
    api, tenant, contact_wrote, simulator
):
    contact_wrote("+15005550001")
    first = api.send(to="+15005550001", key="bad-number")

    again = api.send(to="+15005550001", key="bad-number")

    assert again.status_code == 502
    assert again.get_json() == first.get_json()
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert balance_of(tenant) == Decimal("10")


def test_send_when_twilio_does_not_answer_is_502_with_code_0(
    app, api, tenant, contact_wrote, simulator
):
    contact_wrote()
    app.config["TWILIO_TIMEOUT"] = 0.3
    simulator.state.delay_next(1.0)

    response = api.send()

    assert response.status_code == 502
    assert response.get_json()["code"] == 0
    assert balance_of(tenant) == Decimal("10")


def test_template_send_carries_the_content_to_twilio_at_the_template_price(
    api, tenant, simulator
):
    content_sid = simulator.state.add_content(
        tenant.settings.account_sid, "shipped", "Hi {{1}}, order {{2}} shipped."
    )

    response = api.send(
        to="+5511988887777",
        message="",
        type="template",
        contentSid=content_sid,
        contentVariables={"1": "Ana", "2": "42"},
    )

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["message"]["cost"] == "0.1925"
    assert answer["message"]["contentSid"] == content_sid
    assert answer["message"]["contentVariables"] == {"1": "Ana", "2": "42"}
    twilio_copy = simulator.state.get_message(
        tenant.settings.account_sid, answer["messageSid"]
    )
    assert twilio_copy.body == "Hi Ana, order 42 shipped."
    assert balance_of(tenant) == Decimal("10") - TEMPLATE


def test_free_form_send_outside_the_window_is_400_with_code_63016(api, tenant):
    response = api.send(to="+5511988887777")

    assert response.status_code == 400
    assert response.get_json()["code"] == 63016
    assert "24-hour window" in response.get_json()["error"]
    assert charges_of(tenant) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"message": "hi"}, "to"),
        ({"to": 5511999990000, "message": "hi"}, "to"),
        ({"to": "5511999990000", "message": "hi"}, "to"),
        ({"to": "+99123", "message": "hi"}, "to"),
        ({"to": CONTACT}, "message"),
        ({"to": CONTACT, "message": "x" * 1601}, "message"),
        ({"to": CONTACT, "message": ["hi"]}, "message"),
        ({"to": CONTACT, "message": "hi", "type": "sms"}, "type"),
        ({"to": CONTACT, "message": "hi", "referenceId": {"a": 1}}, "referenceId"),
        ({"to": CONTACT, "message": "hi", "referenceId": "r" * 256}, "referenceId"),
        ({"to": CONTACT, "type": "template"}, "contentSid"),
        (
            {
                "to": CONTACT,
                "type": "template",
                "contentSid": "HX" + "0" * 32,
                "contentVariables": "not an object",
            },
            "contentVariables",
        ),
        (
            {
                "to": CONTACT,
                "type": "template",
                "contentSid": "HX" + "0" * 32,
                "contentVariables": {"1": 2},
            },
            "contentVariables",
        ),
    ],
)
def test_send_with_bad_input_is_400_with_the_field_and_charges_nothing(
    api, tenant, contact_wrote, payload, field
):
    contact_wrote()

    response = api.post("/send", json=payload)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert response.get_json()["error"]
    assert charges_of(tenant) == []


@pytest.mark.parametrize(
    "body",
    ["not json", "[1, 2]", '"text"', "null", "{"],
)
def test_send_with_a_body_that_is_not_a_json_object_is_400(api, tenant, body):
    response = api.post(
        "/send", data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]
    assert charges_of(tenant) == []


def test_send_with_an_overlong_idempotency_key_is_400(api, tenant, contact_wrote):
    contact_wrote()

    response = api.send(key="k" * 256)

    assert response.status_code == 400
    assert response.get_json()["field"] == "Idempotency-Key"
    assert charges_of(tenant) == []


def test_send_without_twilio_connected_is_400(make_tenant, client, runner):
    tenant = make_tenant(balance="5")
    api = Api(client, cli_token(runner, tenant))

    response = api.send()

    assert response.status_code == 400
    assert "Connect a Twilio account" in response.get_json()["error"]


# Reading messages -----------------------------------------------------------


def at(minutes):
    return datetime(2025, 3, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)


@pytest.fixture
def history(tenant, make_message):
    """Five messages, one a minute, oldest first."""
    return [
        make_message(tenant, body=f"note {n}", created_at=at(n), sid=f"SM{n:032x}")
        for n in range(5)
    ]


def test_messages_are_listed_newest_first_in_pages(api, history):
    response = api.get("/messages?limit=2&page=2")

    assert response.status_code == 200
    answer = response.get_json()
    assert [m["body"] for m in answer["messages"]] == ["note 2", "note 1"]
    assert answer["pagination"] == {"total": 5, "page": 2, "limit": 2, "pages": 3}


def test_messages_page_past_the_end_is_empty(api, history):
    answer = api.get("/messages?limit=2&page=4").get_json()

    assert answer["messages"] == []
    assert answer["pagination"]["total"] == 5


def test_messages_list_defaults_to_20_a_page(api, history):
    answer = api.get("/messages").get_json()

    assert answer["pagination"] == {"total": 5, "page": 1, "limit": 20, "pages": 1}


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1.5",
        "page=²",
        "page=99999999999999999999",
        "limit=0",
        "limit=101",
        "limit=ten",
        "direction=sideways",
        "status=lost",
        "type=sms",
        "from=yesterday",
        "to=2025-13-01",
    ],
)
def test_messages_list_with_bad_arguments_is_400(api, history, query):
    response = api.get(f"/messages?{query}")

    assert response.status_code == 400
    assert response.get_json()["field"] == query.split("=")[0]


def test_messages_are_filtered(api, tenant, make_message):
    make_message(tenant, body="out", status="delivered")
    make_message(tenant, body="failed", status="failed")
    make_message(tenant, body="tpl", message_type="template", status="delivered")
    make_message(
        tenant,
        body="in",
        direction="inbound",
        message_type="incoming",
        status="received",
        from_number=CONTACT,
        to_number=WHATSAPP,
    )

    def bodies(query):
        answer = api.get(f"/messages?{query}").get_json()
        return sorted(m["body"] for m in answer["messages"])

    assert bodies("direction=inbound") == ["in"]
    assert bodies("status=delivered") == ["out", "tpl"]
    assert bodies("type=template") == ["tpl"]
    assert bodies("direction=outbound&status=failed") == ["failed"]


def test_messages_are_filtered_by_date(api, history):
    answer = api.get("/messages?from=2025-03-01&to=2025-03-01").get_json()
    assert answer["pagination"]["total"] == 5

    answer = api.get("/messages?from=2025-03-02").get_json()
    assert answer["messages"] == []


def test_search_takes_percent_and_underscore_literally(api, tenant, make_message):
    for body in ("50% off today", "500 off", "code a_b", "code axb"):
        make_message(tenant, body=body)

    def found(text):
        answer = api.get("/messages", query_string={"search": text}).get_json()
        return sorted(m["body"] for m in answer["messages"])

    assert found("50%") == ["50% off today"]
    assert found("a_b") == ["code a_b"]
    assert found("%") == ["50% off today"]
    assert found("off") == ["50% off today", "500 off"]


def test_search_finds_a_number(api, tenant, make_message):
    make_message(tenant, body="to Ana", contact_number="+5511911112222")
    make_message(tenant, body="to Bia", contact_number="+5511933334444")

    answer = api.get("/messages", query_string={"search": "3333"}).get_json()

    assert [m["body"] for m in answer["messages"]] == ["to Bia"]


def test_messages_of_another_tenant_are_not_listed(
    api, history, make_tenant, make_message
):
    other = make_tenant()
    make_message(other, body="theirs")

    answer = api.get("/messages?limit=100").get_json()

    assert "theirs" not in [m["body"] for m in answer["messages"]]
    assert answer["pagination"]["total"] == 5


def test_message_by_sid_is_refreshed_from_twilio(api, tenant, contact_wrote, simulator):
    contact_wrote()
    sid = api.send().get_json()["messageSid"]
    simulator.state.complete_all()

    response = api.get(f"/messages/{sid}")

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["twilioStatus"] == {
        "sid": sid,
        "status": "read",
        "errorCode": None,
        "errorMessage": None,
    }
    assert answer["message"]["status"] == "read"
    assert answer["message"]["deliveredAt"] and answer["message"]["readAt"]


def test_message_by_sid_that_failed_at_twilio_is_refunded_once(
    api, tenant, contact_wrote, simulator
):
    contact_wrote()
    simulator.state.fail_recipient(CONTACT, "undelivered", 30003)
    sid = api.send().get_json()["messageSid"]
    simulator.state.complete_all()

    first = api.get(f"/messages/{sid}").get_json()
    api.get(f"/messages/{sid}")

    assert first["message"]["status"] == "undelivered"
    assert first["message"]["errorCode"] == 30003
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert balance_of(tenant) == Decimal("10")


def test_message_by_sid_when_twilio_fails_answers_what_is_stored(
    api, tenant, contact_wrote, simulator
):
    contact_wrote()
    sid = api.send().get_json()["messageSid"]
    simulator.state.fail_next(status=500)

    response = api.get(f"/messages/{sid}")

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["twilioStatus"] is None
    assert answer["warning"]
    assert answer["message"]["status"] == "queued"


def test_message_by_sid_after_twilio_was_disconnected_answers_what_is_stored(
    api, tenant, contact_wrote
):
    contact_wrote()
    sid = api.send().get_json()["messageSid"]
    api.delete("/twilio/configure")

    answer = api.get(f"/messages/{sid}").get_json()

    assert answer["twilioStatus"] is None
    assert "not connected" in answer["warning"]


def test_unknown_message_sid_is_404(api):
    response = api.get("/messages/SM00000000000000000000000000000000")

    assert response.status_code == 404
    assert response.get_json()["error"]


def test_message_of_another_tenant_is_404(
    api, contact_wrote, make_tenant, connect_twilio, runner, client
):
    contact_wrote()
    sid = api.send().get_json()["messageSid"]
    other = make_tenant(balance="1")
    other.settings = connect_twilio(other)
    other_api = Api(client, cli_token(runner, other))

    response = other_api.get(f"/messages/{sid}")

    assert response.status_code == 404
    assert sid not in response.get_data(as_text=True)


# Conversations --------------------------------------------------------------


def test_conversations_newest_activity_first_with_their_window(
    api, tenant, contact_wrote, simulator
):
    content_sid = simulator.state.add_content(tenant.settings.account_sid, "hi", "Hi")
    contact_wrote("+5511911112222", "First")
    contact_wrote("+5511911112222", "Again")
    contact_wrote(CONTACT, "Hello")
    api.send(
        to="+5511933334444",
        type="template",
        contentSid=content_sid,
        message="Template sent",
    )

    response = api.get("/conversations")

    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["page"], answer["limit"]) == (1, 20)
    rows = answer["conversations"]
    assert [row["contact"] for row in rows] == [
        "+5511933334444",
        CONTACT,
        "+5511911112222",
    ]
    outbound_only, hello, twice = rows
    assert outbound_only["windowOpen"] is False
    assert outbound_only["windowClosesAt"] is None
    assert outbound_only["unreadCount"] == 0
    assert outbound_only["lastMessagePreview"] == "Template sent"
    assert twice["windowOpen"] is True
    assert twice["windowClosesAt"].endswith("Z")
    assert (twice["messageCount"], twice["unreadCount"]) == (2, 2)
    assert twice["lastMessagePreview"] == "Again"
    assert hello["status"] == "open"


def test_conversations_are_paged(api, contact_wrote):
    for number in ("+5511911110001", "+5511911110002", "+5511911110003"):
        contact_wrote(number)

    answer = api.get("/conversations?limit=2&page=2").get_json()

    assert [row["contact"] for row in answer["conversations"]] == ["+5511911110001"]
    assert api.get("/conversations?limit=500").status_code == 400


def test_conversations_of_another_tenant_are_not_listed(
    api, make_tenant, connect_twilio, contact_wrote
):
    other = make_tenant()
    other.settings = connect_twilio(other, whatsapp_number="+14155550199")
    contact_wrote(to=other)

    assert api.get("/conversations").get_json()["conversations"] == []


# Twilio settings ------------------------------------------------------------


def configure(api, account_sid, auth_token, **fields):
    payload = {
        "accountSid": account_sid,
        "authToken": auth_token,
        "whatsappNumber": WHATSAPP,
        **fields,
    }
    return api.post("/twilio/configure", json=payload)


@pytest.fixture
def bare_api(make_tenant, client, runner, simulator):
    """A tenant that has not connected Twilio yet, and its API."""
    tenant = make_tenant(balance="1")
    return Api(client, cli_token(runner, tenant)), tenant


def test_configure_checks_with_twilio_and_saves(bare_api, simulator, logged):
    api, tenant = bare_api
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)

    saved = configure(api, account_sid, auth_token, phoneNumber="+442079460958")
    shown = api.get("/twilio/config")

    assert saved.status_code == 200
    assert saved.get_json() == {
        "success": True,
        "config": {
            "configured": True,
            "phoneNumber": "+442079460958",
            "whatsappNumber": WHATSAPP,
        },
    }
    assert shown.get_json() == {
        "configured": True,
        "accountSid": account_sid,
        "authTokenLast4": auth_token[-4:],
        "whatsappNumber": WHATSAPP,
        "phoneNumber": "+442079460958",
        "messagingServiceSid": None,
    }
    assert settings_for(tenant.id).account_sid == account_sid
    for response in (saved, shown):
        assert auth_token not in response.get_data(as_text=True)
    assert logged, "nothing was logged, so the check below proves nothing"
    assert not [line for line in logged if auth_token in line]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"accountSid": "AC123"}, "accountSid"),
        ({"accountSid": None}, "accountSid"),
        ({"authToken": "short"}, "authToken"),
        ({"authToken": 1234567890123456789}, "authToken"),
        ({"whatsappNumber": "4155238886"}, "whatsappNumber"),
        ({"phoneNumber": "12"}, "phoneNumber"),
        ({"messagingServiceSid": "MG1"}, "messagingServiceSid"),
    ],
)
def test_configure_with_malformed_input_is_400_with_the_field(
    bare_api, simulator, change, field
):
    api, tenant = bare_api
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)

    response = configure(api, account_sid, auth_token, **change)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert settings_for(tenant.id) is None


def test_configure_rejected_by_twilio_is_400_with_its_words(
    bare_api, simulator, logged
):
    api, tenant = bare_api
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, "a" * 32)

    response = configure(api, account_sid, auth_token)

    assert response.status_code == 400
    assert response.get_json()["code"] == 20003
    assert "rejected the Account SID or Auth Token" in response.get_json()["error"]
    assert auth_token not in response.get_data(as_text=True)
    assert not [line for line in logged if auth_token in line]
    assert settings_for(tenant.id) is None


def test_configure_when_twilio_does_not_answer_is_502_with_code_0(
    app, bare_api, simulator
):
    api, tenant = bare_api
    account_sid, auth_token = new_account()
    simulator.state.add_account(account_sid, auth_token)
    app.config["TWILIO_TIMEOUT"] = 0.3
    simulator.state.delay_next(1.0)

    response = configure(api, account_sid, auth_token)

    assert response.status_code == 502
    assert response.get_json()["code"] == 0
    assert settings_for(tenant.id) is None


def test_configure_with_a_body_that_is_not_json_is_400(bare_api):
    api, _ = bare_api

    response = api.post("/twilio/configure", data="accountSid=AC1")

    assert response.status_code == 400


def test_delete_configuration_forgets_the_credentials(api, tenant):
    removed = api.delete("/twilio/configure")
    shown = api.get("/twilio/config")

    assert removed.status_code == 200
    assert removed.get_json() == {"success": True}
    assert settings_for(tenant.id) is None
    assert shown.get_json()["configured"] is False
    assert shown.get_json()["accountSid"] is None


def test_config_never_shows_the_auth_token(api, tenant):
    response = api.get("/twilio/config")

    assert response.get_json()["accountSid"] == tenant.settings.account_sid
    assert tenant.settings.plain_auth_token not in response.get_data(as_text=True)


def test_no_answer_of_the_api_carries_the_auth_token(
    api, tenant, contact_wrote, logged
):
    contact_wrote()
    contact_wrote("+15005550001")
    sid = api.send().get_json()["messageSid"]
    answers = [
        api.get("/messages"),
        api.get(f"/messages/{sid}"),
        api.get("/conversations"),
        api.get("/twilio/config"),
        api.get("/wallet"),
        api.send(to="+15005550001"),
    ]

    secret = tenant.settings.plain_auth_token
    for response in answers:
        assert secret not in response.get_data(as_text=True)
        assert secret not in json.dumps(dict(response.headers))
    assert logged
    assert not [line for line in logged if secret in line or api.token in line]


# Wallet ---------------------------------------------------------------------


def test_wallet_answers_exact_decimal_strings(app, api, tenant):
    top_up(tenant.id, Decimal("0.0001"), TESTS)

    response = api.get("/wallet")

    assert response.get_json() == {
        "balance": "10.0001",
        "prices": {"template": "0.1925", "free": "0.0275"},
    }


@pytest.mark.app_config(PRICES={"free": Decimal("0.03"), "template": Decimal("0.2")})
def test_wallet_prices_keep_four_places(api):
    prices = api.get("/wallet").get_json()["prices"]

    assert prices == {"free": "0.0300", "template": "0.2000"}


def test_wallet_after_a_send_is_lower_by_the_price(api, contact_wrote):
    contact_wrote()
    api.send()

    assert api.get("/wallet").get_json()["balance"] == "9.9725"
