"""The incoming-message webhook: verified per tenant, stored once, nothing
half-written on bad input."""

from dataclasses import replace

import pytest

from dashboard.simulator import sign_request
from tests.helpers import WEBHOOK_BASE, messages_of, post_signed

INCOMING_URL = f"{WEBHOOK_BASE}/incoming"
CONTACT = "+5511987654321"


def incoming(simulator, tenant, body="Hi", **extra):
    return simulator.state.incoming_request(
        tenant.settings.account_sid,
        INCOMING_URL,
        CONTACT,
        tenant.settings.whatsapp_number,
        body,
        **extra,
    )


def test_incoming_message_is_stored_in_e164_with_empty_twiml(app, tenant, simulator):
    answer = post_signed(app, incoming(simulator, tenant, profile_name="Maria"))

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in answer.data
    [message] = messages_of(tenant)
    assert (message.from_number, message.contact_number) == (CONTACT, CONTACT)
    assert message.to_number == tenant.settings.whatsapp_number
    assert message.profile_name == "Maria" and message.wa_id == CONTACT[1:]
    assert message.raw["Body"] == ["Hi"]


def test_incoming_retried_five_times_is_stored_once(app, tenant, simulator):
    signed = incoming(simulator, tenant)

    answers = [post_signed(app, signed).status_code for _ in range(5)]

    assert answers == [200] * 5
    assert len(messages_of(tenant)) == 1


def test_incoming_keeps_every_media_item_location_and_button(app, tenant, simulator):
    signed = incoming(
        simulator,
        tenant,
        body="",
        media=[(None, "image/png"), (None, "image/jpeg"), (None, "application/pdf")],
        latitude="-23.5505",
        longitude="-46.6333",
        button_text="Track order",
        button_payload="track-42",
    )

    post_signed(app, signed)

    [message] = messages_of(tenant)
    assert message.num_media == 3
    assert [item["content_type"] for item in message.media] == [
        "image/png",
        "image/jpeg",
        "application/pdf",
    ]
    assert (message.latitude, message.longitude) == ("-23.5505", "-46.6333")
    assert (message.button_text, message.button_payload) == ("Track order", "track-42")


def test_incoming_with_a_wrong_signature_is_refused(app, tenant, simulator):
    signed = replace(incoming(simulator, tenant), signature="bad")

    assert post_signed(app, signed).status_code == 403
    assert messages_of(tenant) == []


def test_incoming_signed_by_another_tenant_is_refused(
    app, tenant, make_tenant, connect_twilio, simulator
):
    other = connect_twilio(make_tenant())
    signed = incoming(simulator, tenant)

    forged = sign_request(other.plain_auth_token, signed.url, signed.params)

    assert post_signed(app, forged).status_code == 403
    assert messages_of(tenant) == []


def test_incoming_signed_for_another_url_scheme_is_refused(app, tenant, simulator):
    signed = incoming(simulator, tenant)
    https = signed.url.replace("http://", "https://")

    forged = sign_request(tenant.settings.plain_auth_token, https, signed.params)

    assert post_signed(app, forged).status_code == 403
    assert messages_of(tenant) == []


def test_incoming_for_an_unknown_number_is_refused(app, tenant, simulator):
    signed = incoming(simulator, tenant)
    params = {**signed.params, "To": "whatsapp:+14155550000"}

    forged = sign_request(tenant.settings.plain_auth_token, signed.url, params)

    assert post_signed(app, forged).status_code == 403
    assert messages_of(tenant) == []


@pytest.mark.parametrize(
    "change",
    [
        {"From": "whatsapp:not-a-number"},
        {"NumMedia": "3"},
        {"NumMedia": "many"},
        {"Latitude": "north"},
        {"MessageSid": "", "SmsMessageSid": ""},
    ],
)
def test_malformed_incoming_is_a_bad_request_with_nothing_stored(
    app, tenant, simulator, change
):
    signed = incoming(simulator, tenant)
    params = {**signed.params, **change}

    forged = sign_request(tenant.settings.plain_auth_token, signed.url, params)

    assert post_signed(app, forged).status_code == 400
    assert messages_of(tenant) == []
