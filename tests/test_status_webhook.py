"""Status callbacks signed by the simulator, applied through the webhook."""

import random
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dashboard.extensions import db
from dashboard.messaging.statuses import _update_to
from dashboard.models import STATUS_RANK, Message, WebhookEvent
from dashboard.simulator import sign_request
from dashboard.twilio_setup.settings import connect
from dashboard.types import utcnow
from tests.conftest import TESTS
from tests.helpers import (
    WEBHOOK_BASE,
    balance_of,
    charges_of,
    ledger_total,
    post_signed,
    send_template,
)

STATUS_URL = f"{WEBHOOK_BASE}/status"


def current(message):
    db.session.expire_all()
    found = db.session.get(Message, message.id)
    db.session.commit()
    return found


def test_callbacks_move_the_message_to_read_with_timestamps(app, tenant, simulator):
    message = send_template(tenant)

    answers = [post_signed(app, signed) for signed in simulator.state.take_callbacks()]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    message = current(message)
    assert message.status == "read"
    assert message.sent_at and message.delivered_at and message.read_at
    assert message.sent_at <= message.delivered_at <= message.read_at
    assert utcnow() - timedelta(minutes=1) < message.sent_at <= utcnow()
    kept = db.session.scalar(
        sa.select(sa.func.count()).where(WebhookEvent.message_sid == message.sid)
    )
    assert kept == 0  # applied at once: the message itself is the record


def test_repeated_shuffled_and_replayed_callbacks_end_the_same(app, tenant, simulator):
    message = send_template(tenant)
    callbacks = simulator.state.take_callbacks()
    in_order = [post_signed(app, signed) for signed in callbacks]
    assert all(answer.status_code == 200 for answer in in_order)
    first = current(message)
    delivered_at, read_at = first.delivered_at, first.read_at

    replay = callbacks * 3
    random.Random(7).shuffle(replay)
    for signed in replay:
        assert post_signed(app, signed).status_code == 200

    message = current(message)
    assert message.status == "read"
    assert (message.delivered_at, message.read_at) == (delivered_at, read_at)


def test_late_sent_never_overwrites_delivered(app, tenant, simulator):
    message = send_template(tenant)
    queued, sent, delivered, _read = simulator.state.take_callbacks()

    for signed in (queued, delivered, sent):
        post_signed(app, signed)

    message = current(message)
    assert message.status == "delivered"
    assert message.delivered_at is not None


@pytest.mark.parametrize("final", ["failed", "undelivered"])
def test_failed_callbacks_refund_once_however_often_repeated(
    app, tenant, simulator, final
):
    simulator.state.fail_recipient("+5511988880000", status=final, error_code=63016)
    message = send_template(tenant, to="+5511988880000")
    callbacks = simulator.state.take_callbacks()

    replay = callbacks * 4
    random.Random(3).shuffle(replay)
    for signed in replay:
        assert post_signed(app, signed).status_code == 200

    message = current(message)
    assert message.status == final
    assert message.error_code == 63016
    assert "24-hour window" in message.error_message
    assert [row.kind for row in charges_of(tenant)] == ["debit", "refund"]
    assert balance_of(tenant) == Decimal("10")
    assert ledger_total(tenant) == balance_of(tenant)
    kept = db.session.scalars(
        sa.select(WebhookEvent.status).where(WebhookEvent.message_sid == message.sid)
    ).all()
    assert kept and set(kept) == {final}  # the evidence for the refund


def test_failure_signed_with_another_tenants_token_refunds_nothing(
    app, tenant, make_tenant, connect_twilio, simulator
):
    simulator.state.fail_recipient("+5511988880000", status="failed", error_code=30008)
    message = send_template(tenant, to="+5511988880000")
    other = connect_twilio(make_tenant())
    failed = simulator.state.take_callbacks()[-1]

    answer = post_signed(app, _resign(failed, other.plain_auth_token))

    assert answer.status_code == 403
    assert current(message).status == "queued"
    assert [row.kind for row in charges_of(tenant)] == ["debit"]


def test_nothing_a_status_change_writes_is_indexed():
    """So PostgreSQL rewrites the row in place (HOT) on each callback."""
    written = {
        column.key
        for status in STATUS_RANK
        for with_error in (False, True)
        for column in _update_to(status, with_error)._values
    }
    indexed = {
        column.name for index in Message.__table__.indexes for column in index.columns
    } | {
        column.name
        for constraint in Message.__table__.constraints
        if isinstance(constraint, (sa.UniqueConstraint, sa.PrimaryKeyConstraint))
        for column in constraint.columns
    }

    assert "status_rank" in written and "read_at" in written
    assert written.isdisjoint(indexed)


def test_late_delivered_never_unfails_a_failed_message(app, tenant, simulator):
    simulator.state.fail_recipient("+5511988880000", status="failed", error_code=30008)
    message = send_template(tenant, to="+5511988880000")
    failed = simulator.state.take_callbacks()[-1]
    post_signed(app, failed)

    delivered = replace(failed, params={**failed.params, "MessageStatus": "delivered"})
    delivered = _resign(delivered, tenant.settings.plain_auth_token)
    post_signed(app, delivered)

    assert current(message).status == "failed"


def test_callback_resigned_with_its_own_token_is_accepted(app, tenant, simulator):
    message = send_template(tenant)
    signed = simulator.state.take_callbacks()[1]

    answer = post_signed(app, _resign(signed, tenant.settings.plain_auth_token))

    assert answer.status_code == 200
    assert current(message).status == "sent"


def test_callback_signed_with_another_tenants_token_is_refused(
    app, tenant, make_tenant, connect_twilio, simulator
):
    message = send_template(tenant)
    other = connect_twilio(make_tenant())
    signed = simulator.state.take_callbacks()[1]

    forged = _resign(signed, other.plain_auth_token)
    answer = post_signed(app, forged)

    assert answer.status_code == 403
    assert current(message).status == "queued"


def test_a_replaced_auth_token_signs_callbacks_at_once(app, tenant, simulator):
    message = send_template(tenant)
    _queued, sent, delivered, _read = simulator.state.take_callbacks()
    assert post_signed(app, sent).status_code == 200  # the old token is now held

    new_token = _replace_auth_token(tenant, simulator)
    answer = post_signed(app, _resign(delivered, new_token))

    assert answer.status_code == 200
    assert current(message).status == "delivered"


def test_a_refund_signed_with_a_replaced_token_is_refused(app, tenant, simulator):
    simulator.state.fail_recipient("+5511988880000", status="failed", error_code=30008)
    message = send_template(tenant, to="+5511988880000")
    first, *_, failed = simulator.state.take_callbacks()
    assert post_signed(app, first).status_code == 200  # the old token is now held

    _replace_auth_token(tenant, simulator)
    answer = post_signed(app, failed)

    assert answer.status_code == 403
    assert current(message).status != "failed"
    assert [row.kind for row in charges_of(tenant)] == ["debit"]


def test_a_replaced_token_is_refused_once_no_longer_held(
    app, tenant, simulator, monkeypatch
):
    monkeypatch.setattr("dashboard.webhooks.signers.TOKENS_KEPT_SECONDS", 0.0)
    message = send_template(tenant)
    _queued, sent, delivered, _read = simulator.state.take_callbacks()
    assert post_signed(app, sent).status_code == 200

    _replace_auth_token(tenant, simulator)
    answer = post_signed(app, delivered)  # signed with the old token

    assert answer.status_code == 403
    assert current(message).status == "sent"


def test_callback_signed_for_another_url_scheme_is_refused(app, tenant, simulator):
    message = send_template(tenant)
    signed = simulator.state.take_callbacks()[1]

    # Correctly signed, but for https://: the app is configured for http://.
    https = replace(signed, url=signed.url.replace("http://", "https://"))
    answer = post_signed(app, _resign(https, tenant.settings.plain_auth_token))

    assert answer.status_code == 403
    assert current(message).status == "queued"


def test_callback_without_signature_is_refused(app, tenant, simulator):
    message = send_template(tenant)
    signed = simulator.state.take_callbacks()[1]

    answer = app.test_client().post(signed.path, data=signed.params)

    assert answer.status_code == 403
    assert current(message).status == "queued"


def test_callback_of_an_unknown_account_is_refused(app, tenant, simulator):
    send_template(tenant)
    signed = simulator.state.take_callbacks()[1]

    stranger = {**signed.params, "AccountSid": "AC" + "0" * 32}
    answer = post_signed(app, _signed(signed.url, stranger, "x" * 32))

    assert answer.status_code == 403


def test_callback_for_an_unknown_message_is_kept_and_answered_200(app, tenant):
    params = {
        "MessageSid": "SM" + "f" * 32,
        "MessageStatus": "delivered",
        "AccountSid": tenant.settings.account_sid,
    }

    answer = post_signed(
        app, _signed(STATUS_URL, params, tenant.settings.plain_auth_token)
    )

    assert answer.status_code == 200
    assert db.session.scalar(
        sa.select(WebhookEvent.status).where(
            WebhookEvent.message_sid == params["MessageSid"]
        )
    ) == ("delivered")


def test_callbacks_that_beat_twilios_answer_are_applied_once_it_arrives(
    app, tenant, simulator
):
    from dashboard.messaging.sending import _store_answer
    from dashboard.twilio_gateway import fetch_message

    message = send_template(tenant)
    sid = message.sid
    db.session.execute(sa.update(Message).values(sid=None, status="pending"))
    db.session.execute(sa.update(Message).values(status_rank=0))
    db.session.commit()
    for signed in simulator.state.take_callbacks()[:3]:
        assert post_signed(app, signed).status_code == 200

    credentials = (tenant.settings.account_sid, tenant.settings.plain_auth_token, None)
    answer = replace(fetch_message(credentials, sid), status="queued")
    _store_answer(current(message), answer)

    assert current(message).status == "delivered"


def test_malformed_callback_is_a_bad_request(app):
    answer = app.test_client().post(
        "/api/whatsapp/webhooks/status", data={"MessageStatus": "sent"}
    )

    assert answer.status_code == 400


def _replace_auth_token(tenant, simulator):
    """Rotate the tenant's auth token, at Twilio and in its settings."""
    account_sid = tenant.settings.account_sid
    new_token = uuid.uuid4().hex
    simulator.state.add_account(account_sid, new_token)
    connect(tenant, account_sid, new_token, "+14155238886", TESTS)
    return new_token


def _signed(url, params, token):
    return sign_request(token, url, params)


def _resign(signed, token):
    return _signed(signed.url, signed.params, token)
