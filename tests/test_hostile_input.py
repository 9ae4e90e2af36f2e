"""Hostile input to the webhooks and the forms: whatever arrives, the answer is
never a 500, and a refused request writes no message and no ledger entry."""

import pytest
import sqlalchemy as sa
from conftest import csrf_token_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from dashboard.extensions import db
from dashboard.models import LedgerEntry, Message, WebhookEvent
from tests.helpers import WEBHOOK_BASE

WEBHOOKS = ("/api/whatsapp/webhooks/status", "/api/whatsapp/webhooks/incoming")
MAX_BODY_BYTES = 1024 * 1024
FORM = "application/x-www-form-urlencoded"

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TWILIO_FIELDS = (
    "AccountSid",
    "MessageSid",
    "SmsSid",
    "SmsMessageSid",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "ProfileName",
    "WaId",
    "Latitude",
    "Longitude",
    "ButtonText",
    "ButtonPayload",
    "MessagingServiceSid",
)

# Every code point but lone surrogates (which cannot be encoded), so NUL, the
# other control characters, and characters outside the BMP all appear.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
odd_values = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "NaN",
        "-1",
        "1e309",
        "99999999999999999999",
        "[]",
        "{}",
        "null",
        "whatsapp:",
        "whatsapp:+",
        "whatsapp:+14155238886",
        "+5511999990000",
        "AC" + "\x00" * 32,
        "SM" + "0" * 31 + "\x00",
        "delivered",
        "failed",
        "https://",
        "x" * 5000,
    ]
)
values = st.one_of(any_text, odd_values)
# Header values cannot carry line breaks, so the client would refuse them.
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60
)
keys = st.one_of(st.sampled_from(TWILIO_FIELDS), any_text)
# A list of pairs, so the same key can come more than once.
form_pairs = st.lists(st.tuples(keys, values), max_size=25)


@pytest.fixture
def agent(tenant, make_user, login):
    """The client, logged in as an agent of the tenant; once per test, not once
    per generated example."""
    return login(make_user(tenant, role="agent"))


def counts():
    """Rows of the tables a webhook or a send can write to."""
    found = {
        model.__tablename__: db.session.scalar(
            sa.select(sa.func.count()).select_from(model)
        )
        for model in (Message, LedgerEntry, WebhookEvent)
    }
    db.session.commit()
    return found


def sid_of_length(text, prefix):
    """`text` shaped as a SID, so it passes the length check and reaches lookups."""
    return (prefix + text + "0" * 34)[:34]


# Webhooks, unsigned or wrongly signed ------------------------------------------


@pytest.mark.parametrize("path", WEBHOOKS)
@FUZZ
@given(pairs=form_pairs, signature=st.one_of(st.none(), header_text), data=st.data())
def test_webhook_with_random_form_is_refused_and_writes_nothing(
    client, tenant, path, pairs, signature, data
):
    # Aim some requests at the real account and number, so they reach the
    # signature check rather than stopping at an unknown account.
    if data.draw(st.booleans()):
        pairs = [
            ("AccountSid", tenant.settings.account_sid),
            ("To", f"whatsapp:{tenant.settings.whatsapp_number}"),
            ("MessageSid", sid_of_length(data.draw(any_text), "SM")),
            *pairs,
        ]
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    before = counts()

    response = client.post(path, data=_multi(pairs), headers=headers)

    assert response.status_code in (400, 403, 413), response.status_code
    assert counts() == before


@pytest.mark.parametrize("path", WEBHOOKS)
@FUZZ
@given(body=st.binary(max_size=2000))
def test_webhook_with_raw_bytes_is_refused_and_writes_nothing(
    client, tenant, path, body
):
    before = counts()

    response = client.post(
        path,
        data=body,
        headers={"Content-Type": FORM, "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )

    assert response.status_code in (400, 403, 413), response.status_code
    assert counts() == before


@pytest.mark.parametrize("path", WEBHOOKS)
@pytest.mark.parametrize(
    "body",
    [
        b"Body=" + b"x" * (MAX_BODY_BYTES - 5),
        b"Body=" + b"\xff" * (MAX_BODY_BYTES - 5),
        b"Body=" + b"x" * MAX_BODY_BYTES,
        b"&".join(b"k%d=v" % n for n in range(10_000)),
        b"&".join(b"Body=%d" % n for n in range(10_000)),
        b"AccountSid=" + b"A" * (MAX_BODY_BYTES - 11),
    ],
    ids=[
        "at-the-limit",
        "invalid-utf8-at-the-limit",
        "over-the-limit",
        "10000-parameters",
        "10000-repeated-keys",
        "huge-account-sid",
    ],
)
def test_webhook_with_a_huge_body_is_refused_and_writes_nothing(
    client, tenant, path, body
):
    before = counts()

    response = client.post(path, data=body, headers={"Content-Type": FORM})

    assert response.status_code in (400, 403, 413), response.status_code
    assert counts() == before


NUL_SID = "SM" + "\x00" * 32


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/status", {"MessageSid": NUL_SID, "MessageStatus": "delivered"}),
        ("/incoming", {"MessageSid": "SM" + "0" * 32, "MessagingServiceSid": "\x00"}),
    ],
    ids=["status-sid", "incoming-service-sid"],
)
def test_unsigned_webhook_with_a_nul_character_is_refused(client, tenant, path, fields):
    params = {"AccountSid": tenant.settings.account_sid, **fields}
    before = counts()

    response = client.post(
        WEBHOOK_BASE.removeprefix("http://dashboard.test") + path, data=params
    )

    assert response.status_code in (400, 403), response.status_code
    assert counts() == before


def test_signed_incoming_message_with_a_nul_in_its_sid_is_refused(client, tenant):
    params = {
        "AccountSid": tenant.settings.account_sid,
        "MessageSid": NUL_SID,
        "From": "whatsapp:+5511999990000",
        "To": f"whatsapp:{tenant.settings.whatsapp_number}",
        "Body": "hello",
    }
    before = counts()

    response = _post_signed(client, tenant, "/incoming", params)

    assert response.status_code == 400, response.status_code
    assert counts() == before


# Webhooks, correctly signed with hostile fields ------------------------------


@FUZZ
@given(pairs=form_pairs, sid=any_text, status=values, error_code=values)
def test_signed_status_callback_with_hostile_fields_never_crashes(
    client, tenant, pairs, sid, status, error_code
):
    params = {
        **dict(pairs),
        "AccountSid": tenant.settings.account_sid,
        "MessageSid": sid_of_length(sid, "SM"),
        "MessageStatus": status,
        "ErrorCode": error_code,
    }
    before = counts()

    response = _post_signed(client, tenant, "/status", params)

    assert response.status_code in (200, 400), response.status_code
    after = counts()
    # The SID is unknown, so at most the request is kept for later.
    assert after["messages"] == before["messages"]
    assert after["ledger_entries"] == before["ledger_entries"]


@FUZZ
@given(
    pairs=form_pairs,
    sender=values,
    body=values,
    num_media=values,
    extra=st.dictionaries(st.sampled_from(TWILIO_FIELDS[10:]), values),
)
def test_signed_incoming_message_with_hostile_fields_never_crashes(
    client, tenant, pairs, sender, body, num_media, extra
):
    params = {
        **dict(pairs),
        **extra,
        "AccountSid": tenant.settings.account_sid,
        "MessageSid": sid_of_length(body, "SM"),
        "From": sender,
        "To": f"whatsapp:{tenant.settings.whatsapp_number}",
        "Body": body,
        "NumMedia": num_media,
    }
    before = counts()

    response = _post_signed(client, tenant, "/incoming", params)

    assert response.status_code in (200, 400), response.status_code
    assert counts()["ledger_entries"] == before["ledger_entries"]


# Forms ---------------------------------------------------------------------


@FUZZ
@given(pairs=form_pairs, email=values, password=values, with_token=st.booleans())
def test_login_form_with_hostile_fields_never_crashes(
    client, app, pairs, email, password, with_token
):
    fields = [*pairs, ("email", email), ("password", password)]
    if with_token:
        fields.append(("csrf_token", _csrf_token(client, "/login")))

    response = client.post("/login", data=_multi(fields))

    assert response.status_code < 500, response.status_code


@FUZZ
@given(pairs=form_pairs, to=values, body=values)
def test_send_form_with_hostile_fields_never_crashes_or_half_writes(
    tenant, agent, form_token, pairs, to, body
):
    page = f"/tenants/{tenant.id}/messages"
    fields = [*pairs, ("to", to), ("body", body), ("csrf_token", form_token(page))]

    response = agent.post(page, data=_multi(fields))

    assert response.status_code < 500, response.status_code
    # Every stored outbound message carries its debit, and nothing else was charged.
    outbound = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Message)
        .where(Message.direction == "outbound")
    )
    debits = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.kind == "debit")
    )
    db.session.commit()
    assert outbound == debits


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "+5511999990000", "body": "x" * (MAX_BODY_BYTES - 200)},
        {"to": "\x00" * 10_000, "body": "\x00"},
        {"to": "+5511999990000", "body": "\ud800".encode("utf-8", "surrogatepass")},
    ],
    ids=["huge-body", "nul-characters", "lone-surrogate-bytes"],
)
def test_send_form_with_extreme_fields_never_crashes(tenant, agent, form_token, fields):
    page = f"/tenants/{tenant.id}/messages"
    before = counts()

    response = agent.post(page, data={**fields, "csrf_token": form_token(page)})

    assert response.status_code in (400, 413, 422), response.status_code
    assert counts() == before


def test_login_with_a_nul_character_in_the_email_never_crashes(client, app):
    token = _csrf_token(client, "/login")

    response = client.post(
        "/login", data={"email": "\x00", "password": "0", "csrf_token": token}
    )

    assert response.status_code < 500, response.status_code


# Helpers -------------------------------------------------------------------


def _multi(pairs):
    return MultiDict(pairs)


def _post_signed(client, tenant, path, params):
    url = WEBHOOK_BASE + path
    validator = RequestValidator(tenant.settings.plain_auth_token)
    signature = validator.compute_signature(url, params)
    # As Twilio calls: from a client of its own, with no cookies.
    return client.application.test_client().post(
        url.removeprefix("http://dashboard.test"),
        data=params,
        headers={"X-Twilio-Signature": signature},
    )


def _csrf_token(client, path):
    return csrf_token_in(client.get(path))
