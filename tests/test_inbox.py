"""The inbox: conversations fed by signed incoming webhooks, threads, replies
through the simulator, assignment, polling and tenant isolation."""

import os
import re
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from dashboard.extensions import db
from dashboard.inbox.threads import thread_updates
from dashboard.messaging.conversations import conversation_for
from dashboard.messaging.incoming import store_incoming
from dashboard.messaging.sending import Outgoing, send
from dashboard.models import Conversation, Template, Wallet
from dashboard.simulator import media_bytes
from dashboard.types import utcnow
from tests.conftest import TESTS
from tests.helpers import (
    WEBHOOK_BASE,
    balance_of,
    charges_of,
    messages_of,
    post_signed,
)

CONTACT = "+5511999990000"
OTHER_CONTACT = "+5511988887777"
FREE = Decimal("0.0275")
TEMPLATE = Decimal("0.1925")
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def agent(tenant, make_user, login):
    user = make_user(tenant, role="agent")
    login(user)
    return user


@pytest.fixture
def contact_writes(app, simulator):
    """Deliver an incoming message to a tenant's webhook, signed as Twilio signs."""

    def write(tenant, number=CONTACT, body="Hello!", **extra):
        signed = simulator.state.incoming_request(
            tenant.settings.account_sid,
            f"{WEBHOOK_BASE}/incoming",
            number,
            tenant.settings.whatsapp_number,
            body,
            **extra,
        )
        assert post_signed(app, signed).status_code == 200
        return signed

    return write


def inbox_path(tenant, suffix=""):
    return f"/tenants/{tenant.id}/inbox{suffix}"


def conversation_of(tenant, number=CONTACT):
    db.session.expire_all()
    conversation = db.session.scalar(
        sa.select(Conversation).where(
            Conversation.tenant_id == tenant.id,
            Conversation.contact_number == number,
        )
    )
    db.session.commit()
    return conversation


def thread_path(tenant, number=CONTACT, suffix=""):
    return inbox_path(tenant, f"/{conversation_of(tenant, number).id}{suffix}")


def page_of(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def reply(client, form_token, tenant, data, number=CONTACT, headers=None):
    path = thread_path(tenant, number)
    return client.post(
        f"{path}/reply",
        data={**data, "csrf_token": form_token(path)},
        headers=headers or {},
    )


def move_last_incoming(tenant, when, number=CONTACT):
    db.session.execute(
        sa.update(Conversation)
        .where(
            Conversation.tenant_id == tenant.id, Conversation.contact_number == number
        )
        .values(last_incoming_at=when)
    )
    db.session.commit()


def add_template(tenant, simulator, preview="Hi {{1}}, order {{2}} has shipped."):
    """A template known to the tenant's simulated Twilio account and registered."""
    content_sid = simulator.state.add_content(
        tenant.settings.account_sid, "order_shipped", preview, {"1": "x", "2": "y"}
    )
    template = Template(
        tenant_id=tenant.id,
        name="order_shipped",
        content_sid=content_sid,
        variables=["1", "2"],
        preview=preview,
    )
    db.session.add(template)
    db.session.commit()
    return template


def sent_to_twilio(simulator):
    return [m for m in simulator.state.messages() if m.direction == "outbound-api"]


def poll_query(**values):
    return {key: str(value) for key, value in values.items()}


# The list -----------------------------------------------------------------------


def test_inbox_incoming_message_shows_only_in_its_tenant(
    make_tenant,
    connect_twilio,
    make_user,
    login,
    form_token,
    client,
    tenant,
    contact_writes,
):
    other = make_tenant(balance="10")
    other.settings = connect_twilio(other, whatsapp_number="+14155230000")
    contact_writes(tenant, body="Is my order ready?", profile_name="Ana Souza")

    login(make_user(tenant, role="agent"))
    mine = page_of(client, inbox_path(tenant))
    client.post("/logout", data={"csrf_token": form_token(inbox_path(tenant))})
    login(make_user(other, role="agent"))
    theirs = page_of(client, inbox_path(other))

    assert "Ana Souza" in mine and CONTACT in mine and "Is my order ready?" in mine
    assert "Ana Souza" not in theirs and CONTACT not in theirs
    assert "No conversations match." in theirs


def test_inbox_lists_newest_activity_first(client, tenant, agent, contact_writes):
    contact_writes(tenant, number=CONTACT, body="first")
    contact_writes(tenant, number=OTHER_CONTACT, body="second")

    page = page_of(client, inbox_path(tenant))

    assert page.index(OTHER_CONTACT) < page.index(CONTACT)


def test_inbox_same_webhook_five_times_stores_one_unread_message(
    app, client, tenant, agent, simulator
):
    signed = simulator.state.incoming_request(
        tenant.settings.account_sid,
        f"{WEBHOOK_BASE}/incoming",
        CONTACT,
        tenant.settings.whatsapp_number,
        "Only once, please",
    )

    answers = [post_signed(app, signed).status_code for _ in range(5)]

    assert answers == [200] * 5
    assert len(messages_of(tenant)) == 1
    conversation = conversation_of(tenant)
    assert (conversation.unread_count, conversation.message_count) == (1, 1)
    page = page_of(client, inbox_path(tenant))
    assert re.search(r'class="badge"[^>]*>1</span>', page)


def test_inbox_script_body_is_escaped_in_list_and_thread(
    client, tenant, agent, contact_writes
):
    contact_writes(tenant, body=SCRIPT, profile_name=SCRIPT)

    listing = page_of(client, inbox_path(tenant))
    thread = page_of(client, thread_path(tenant))

    for page in (listing, thread):
        assert SCRIPT not in page
        assert ESCAPED_SCRIPT in page


def test_inbox_window_label_follows_last_incoming_message(
    client, tenant, agent, contact_writes
):
    contact_writes(tenant)
    move_last_incoming(tenant, utcnow() - timedelta(hours=20, minutes=47, seconds=30))
    open_page = page_of(client, inbox_path(tenant))

    move_last_incoming(tenant, utcnow() - timedelta(hours=24, minutes=1))
    closed_page = page_of(client, inbox_path(tenant))

    assert "open for 3 h 12 min" in open_page
    assert "closed: template only" in closed_page
    assert "open for" not in closed_page


@pytest.mark.parametrize(
    ("owner", "state", "expected"),
    [
        ("all", "open", {"mine", "colleague"}),
        ("mine", "open", {"mine"}),
        ("unassigned", "all", {"nobody"}),
        ("all", "closed", {"nobody"}),
        ("all", "all", {"mine", "colleague", "nobody"}),
    ],
)
def test_inbox_filters_by_owner_and_state(
    client, tenant, agent, make_user, contact_writes, owner, state, expected
):
    colleague = make_user(tenant, role="admin")
    numbers = {"mine": CONTACT, "colleague": OTHER_CONTACT, "nobody": "+5511977776666"}
    for number in numbers.values():
        contact_writes(tenant, number=number)
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.contact_number == numbers["mine"])
        .values(assigned_user_id=agent.id)
    )
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.contact_number == numbers["colleague"])
        .values(assigned_user_id=colleague.id)
    )
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.contact_number == numbers["nobody"])
        .values(status="closed")
    )
    db.session.commit()

    page = page_of(
        client, inbox_path(tenant), query_string={"owner": owner, "state": state}
    )

    shown = {name for name, number in numbers.items() if number in page}
    assert shown == expected


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("souza", {CONTACT}),
        ("98888", {OTHER_CONTACT}),
        ("+55 11 9888-87777", {OTHER_CONTACT}),
        ("tracking", {"+5511977776666"}),
        ("100%", {CONTACT}),
        ("a_b", {OTHER_CONTACT}),
        ("nothing like this", set()),
    ],
)
def test_inbox_search_by_name_number_and_text(
    client, tenant, agent, contact_writes, search, expected
):
    contact_writes(tenant, number=CONTACT, body="I am 100% sure", profile_name="Souza")
    contact_writes(tenant, number=OTHER_CONTACT, body="code a_b and 1000 more")
    contact_writes(tenant, number="+5511977776666", body="Where is my tracking code?")
    contact_writes(tenant, number="+5511966665555", body="100 sure, axb")

    page = page_of(client, inbox_path(tenant), query_string={"q": search})

    numbers = {CONTACT, OTHER_CONTACT, "+5511977776666", "+5511966665555"}
    assert {number for number in numbers if number in page} == expected


def test_inbox_list_poll_answers_204_until_something_changes(
    client, tenant, agent, contact_writes
):
    contact_writes(tenant)
    path = inbox_path(tenant, "/conversations")
    since = utcnow()

    unchanged = client.get(path, query_string=poll_query(since=since.isoformat()))
    contact_writes(tenant, number=OTHER_CONTACT, body="Anyone there?")
    changed = client.get(path, query_string=poll_query(since=since.isoformat()))
    stale = client.get(
        path, query_string=poll_query(since=(utcnow() - timedelta(minutes=2)))
    )

    assert unchanged.status_code == 204 and unchanged.data == b""
    assert changed.status_code == 200
    body = changed.get_data(as_text=True)
    assert 'id="inbox-list"' in body and "Anyone there?" in body
    assert "<html" not in body
    assert stale.status_code == 200


def test_inbox_list_carries_its_poll_with_filters(client, tenant, agent):
    page = page_of(client, inbox_path(tenant), query_string={"owner": "mine"})

    poll = re.search(r'hx-get="([^"]+)"[^>]*hx-trigger="every 5s"', page)
    assert poll and "owner=mine" in poll.group(1) and "since=" in poll.group(1)


# A thread -----------------------------------------------------------------------


def test_thread_opening_zeroes_unread(client, tenant, agent, contact_writes):
    contact_writes(tenant, body="one")
    contact_writes(tenant, body="two")
    assert conversation_of(tenant).unread_count == 2

    page = page_of(client, thread_path(tenant))

    assert "one" in page and "two" in page
    assert conversation_of(tenant).unread_count == 0


def test_thread_keeps_three_media_and_serves_them_through_the_proxy(
    client, tenant, agent, contact_writes
):
    contact_writes(
        tenant,
        body="",
        media=[(None, "image/png"), (None, "application/pdf"), (None, "text/plain")],
    )
    [message] = messages_of(tenant)
    assert [item["content_type"] for item in message.media] == [
        "image/png",
        "application/pdf",
        "text/plain",
    ]

    page = page_of(client, thread_path(tenant))
    proxied = [inbox_path(tenant, f"/media/{message.id}/{i}") for i in range(3)]
    image = client.get(proxied[0])
    pdf = client.get(proxied[1])
    text = client.get(proxied[2])

    assert all(url in page for url in proxied)
    assert f'<img src="{proxied[0]}"' in page
    assert image.status_code == 200
    assert image.data == media_bytes("image/png")
    assert image.mimetype == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert text.mimetype == "application/octet-stream"
    assert text.headers["Content-Disposition"].startswith("attachment")
    assert text.data == media_bytes("text/plain")
    assert client.get(inbox_path(tenant, f"/media/{message.id}/3")).status_code == 404


def test_thread_shows_location_and_button_reply(client, tenant, agent, contact_writes):
    contact_writes(tenant, body="", latitude="-23.5505", longitude="-46.6333")
    contact_writes(tenant, body="Yes", button_text="Confirm order")

    page = page_of(client, thread_path(tenant))

    assert "https://www.openstreetmap.org/?mlat=-23.5505&amp;mlon=-46.6333" in page
    assert "Confirm order" in page


def test_thread_shows_ticks_and_failure_reason_in_plain_words(
    app, client, form_token, tenant, agent, contact_writes, simulator
):
    contact_writes(tenant, number=OTHER_CONTACT)
    contact_writes(tenant)
    reply(client, form_token, tenant, {"body": "Read me"})
    simulator.state.fail_recipient(OTHER_CONTACT, "undelivered", 30003)
    reply(client, form_token, tenant, {"body": "Lost"}, number=OTHER_CONTACT)
    for signed in simulator.state.take_callbacks():
        assert post_signed(app, signed).status_code == 200

    read = page_of(client, thread_path(tenant))
    failed = page_of(client, thread_path(tenant, OTHER_CONTACT))

    assert "ticks-read" in read and "✓✓" in read
    assert "ticks-undelivered" in failed
    assert "The recipient&#39;s phone is unreachable." in failed


def test_thread_pages_back_to_older_messages(
    client, tenant, agent, contact_writes, make_message
):
    contact_writes(tenant, body="latest")
    start = utcnow() - timedelta(days=1)
    for number in range(55):
        make_message(
            tenant,
            direction="inbound",
            from_number=CONTACT,
            to_number=tenant.settings.whatsapp_number,
            contact_number=CONTACT,
            message_type="incoming",
            status="received",
            body=f"message {number:02d}",
            created_at=start + timedelta(minutes=number),
        )
    db.session.commit()

    latest = page_of(client, thread_path(tenant))
    older_link = re.search(r'href="([^"]+before=\d+)"', latest).group(1)
    older = page_of(client, older_link.replace("&amp;", "&"))

    assert "latest" in latest and "message 06" in latest
    assert "message 05" not in latest
    assert all(f"message {n:02d}" in older for n in range(6))
    assert "latest" not in older
    assert 'id="thread-poller"' not in older


def test_thread_poll_answers_only_new_messages_and_changed_ticks(
    app, client, form_token, tenant, agent, contact_writes, simulator
):
    contact_writes(tenant, body="first question")
    reply(client, form_token, tenant, {"body": "first answer"})
    shown = messages_of(tenant)[-1]
    path = thread_path(tenant, suffix="/messages")
    since = utcnow()

    nothing = client.get(path, query_string=poll_query(after=shown.id, since=since))
    contact_writes(tenant, body="second question")
    new = client.get(path, query_string=poll_query(after=shown.id, since=since))
    newest = messages_of(tenant)[-1]
    for signed in simulator.state.take_callbacks():
        post_signed(app, signed)
    ticks = client.get(path, query_string=poll_query(after=newest.id, since=since))

    assert nothing.status_code == 204
    assert new.status_code == 200
    appended = new.get_data(as_text=True)
    assert "second question" in appended
    assert "first question" not in appended and "first answer" not in appended
    assert f"after={newest.id}" in appended and 'hx-swap-oob="true"' in appended
    head = '<header id="thread-head" class="thread-head" hx-swap-oob="true">'
    assert head in appended
    assert conversation_of(tenant).unread_count == 0
    changed = ticks.get_data(as_text=True)
    assert re.search(
        rf'<span id="ticks-{shown.id}" class="ticks ticks-read" hx-swap-oob="true">',
        changed,
    )
    assert "<li" not in changed


def test_thread_poll_redraws_the_reply_box_when_the_window_opens_or_closes(
    client, tenant, agent, contact_writes
):
    contact_writes(tenant)
    move_last_incoming(tenant, utcnow() - timedelta(hours=25))
    path = thread_path(tenant, suffix="/messages")
    last = messages_of(tenant)[-1].id

    def poll(window):
        since = utcnow()
        query = poll_query(after=last, since=since, window=window)
        return client.get(path, query_string=query)

    as_drawn = poll("closed")
    drawn_open = poll("open")
    move_last_incoming(tenant, utcnow() - timedelta(hours=1))
    drawn_closed = poll("closed")

    assert as_drawn.status_code == 204
    closed_box = drawn_open.get_data(as_text=True)
    assert '<div id="reply" class="reply" hx-swap-oob="true">' in closed_box
    assert "The 24-hour window is closed" in closed_box
    assert 'name="body"' not in closed_box and "window=closed" in closed_box
    open_box = drawn_closed.get_data(as_text=True)
    assert 'name="body"' in open_box and "window=open" in open_box


# Replies ------------------------------------------------------------------------


def test_reply_free_form_within_window_sends_and_charges(
    client, form_token, tenant, agent, contact_writes, simulator
):
    contact_writes(tenant)

    response = reply(client, form_token, tenant, {"body": "Your order shipped"})

    assert response.status_code == 303
    assert balance_of(tenant) == Decimal("10") - FREE
    [sent] = sent_to_twilio(simulator)
    assert sent.body == "Your order shipped"
    assert "Your order shipped" in page_of(client, thread_path(tenant))
    assert "You: Your order shipped" in page_of(client, inbox_path(tenant))


def test_reply_from_htmx_returns_the_thread_region(
    client, form_token, tenant, agent, contact_writes
):
    contact_writes(tenant)

    response = reply(
        client,
        form_token,
        tenant,
        {"body": "On its way"},
        headers={"HX-Request": "true"},
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="thread"')
    assert "On its way" in body and "Sent, charged 0.0275." in body


def test_reply_outside_window_offers_templates_and_refuses_free_form(
    client, form_token, tenant, agent, contact_writes, simulator
):
    contact_writes(tenant)
    add_template(tenant, simulator)
    move_last_incoming(tenant, utcnow() - timedelta(hours=24, minutes=1))

    page = page_of(client, thread_path(tenant))
    response = reply(client, form_token, tenant, {"body": "Still there?"})

    assert "The 24-hour window is closed: only templates can be sent" in page
    assert 'name="body"' not in page
    assert "order_shipped" in page and 'name="var_1"' in page and 'name="var_2"' in page
    assert response.status_code == 422
    assert "24-hour window" in response.get_data(as_text=True)
    assert charges_of(tenant) == []
    assert sent_to_twilio(simulator) == []


def test_reply_with_template_sends_content_sid_and_variables(
    client, form_token, tenant, agent, contact_writes, simulator
):
    contact_writes(tenant)
    template = add_template(tenant, simulator)
    move_last_incoming(tenant, utcnow() - timedelta(hours=30))

    response = reply(
        client,
        form_token,
        tenant,
        {"template_id": template.id, "var_1": "Ana", "var_2": "42"},
    )

    assert response.status_code == 303
    [sent] = sent_to_twilio(simulator)
    # The simulator fills in the template from the ContentSid and ContentVariables
    # it was sent, so its text proves both arrived.
    assert sent.body == "Hi Ana, order 42 has shipped."
    stored = messages_of(tenant)[-1]
    assert stored.message_type == "template"
    assert stored.content_sid == template.content_sid
    assert stored.content_variables == {"1": "Ana", "2": "42"}
    assert stored.body == "Hi Ana, order 42 has shipped."
    assert balance_of(tenant) == Decimal("10") - TEMPLATE
    assert "Hi Ana, order 42 has shipped." in page_of(client, thread_path(tenant))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"var_1": "Ana", "var_2": ""}, "Fill in {{2}}"),
        ({"var_1": "Ana"}, "Fill in {{2}}"),
        ({"var_1": "x" * 201, "var_2": "42"}, "at most 200 characters"),
    ],
)
def test_reply_with_template_missing_or_long_value_is_refused(
    client, form_token, tenant, agent, contact_writes, simulator, values, expected
):
    contact_writes(tenant)
    template = add_template(tenant, simulator)

    response = reply(client, form_token, tenant, {"template_id": template.id, **values})

    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    assert charges_of(tenant) == []
    assert sent_to_twilio(simulator) == []


def test_reply_with_another_tenants_template_is_refused(
    client,
    form_token,
    make_tenant,
    connect_twilio,
    tenant,
    agent,
    contact_writes,
    simulator,
):
    other = make_tenant()
    other.settings = connect_twilio(other, whatsapp_number="+14155230000")
    contact_writes(tenant)
    foreign = add_template(other, simulator)

    response = reply(
        client,
        form_token,
        tenant,
        {"template_id": foreign.id, "var_1": "Ana", "var_2": "42"},
    )

    assert response.status_code == 422
    assert charges_of(tenant) == []


def test_template_fields_render_an_input_for_every_variable(
    client, tenant, agent, simulator
):
    template = add_template(tenant, simulator)

    page = page_of(
        client,
        inbox_path(tenant, "/template-fields"),
        query_string={"template_id": template.id},
    )

    assert 'id="template-fields"' in page
    assert 'name="var_1"' in page and 'name="var_2"' in page
    assert "Hi {{1}}, order {{2}} has shipped." in page


# Who works on it ----------------------------------------------------------------


def test_assign_to_a_colleague_to_self_and_to_nobody(
    client, form_token, tenant, agent, make_user, contact_writes
):
    colleague = make_user(tenant, role="admin", email="bia@example.com")
    contact_writes(tenant)
    path = thread_path(tenant)

    def assign_to(user_id):
        return client.post(
            f"{path}/assign",
            data={"user_id": user_id, "csrf_token": form_token(path)},
        )

    to_colleague = assign_to(str(colleague.id))
    assigned = conversation_of(tenant).assigned_user_id
    to_self = assign_to(str(agent.id))
    assigned_self = conversation_of(tenant).assigned_user_id
    to_nobody = assign_to("")

    assert to_colleague.status_code == 303 and assigned == colleague.id
    assert to_self.status_code == 303 and assigned_self == agent.id
    assert to_nobody.status_code == 303
    assert conversation_of(tenant).assigned_user_id is None


def test_assign_to_someone_outside_the_tenant_is_refused(
    client, form_token, make_tenant, tenant, agent, make_user, contact_writes
):
    outsider = make_user(make_tenant(), role="agent")
    contact_writes(tenant)
    path = thread_path(tenant)

    response = client.post(
        f"{path}/assign",
        data={"user_id": str(outsider.id), "csrf_token": form_token(path)},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 422
    assert "Choose an active agent or admin" in response.get_data(as_text=True)
    assert conversation_of(tenant).assigned_user_id is None


def test_close_and_reopen_and_a_new_message_reopens(
    client, form_token, tenant, agent, contact_writes
):
    contact_writes(tenant)
    path = thread_path(tenant)

    closed = client.post(f"{path}/close", data={"csrf_token": form_token(path)})
    status_closed = conversation_of(tenant).status
    reopened = client.post(f"{path}/reopen", data={"csrf_token": form_token(path)})
    status_reopened = conversation_of(tenant).status
    client.post(f"{path}/close", data={"csrf_token": form_token(path)})
    contact_writes(tenant, body="One more thing")

    assert closed.status_code == 303 and status_closed == "closed"
    assert reopened.status_code == 303 and status_reopened == "open"
    assert conversation_of(tenant).status == "open"


# Access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("get", "/conversations"),
        ("get", "/{conversation}"),
        ("get", "/{conversation}/messages"),
        ("get", "/media/{message}/0"),
        ("get", "/template-fields?template_id={template}"),
        ("post", "/{conversation}/reply"),
        ("post", "/{conversation}/assign"),
        ("post", "/{conversation}/close"),
        ("post", "/{conversation}/reopen"),
    ],
)
def test_inbox_of_another_tenant_is_not_found(
    client,
    form_token,
    make_tenant,
    connect_twilio,
    make_user,
    login,
    tenant,
    contact_writes,
    simulator,
    method,
    suffix,
):
    contact_writes(tenant, media=[(None, "image/png")])
    ids = {
        "conversation": conversation_of(tenant).id,
        "message": messages_of(tenant)[0].id,
        "template": add_template(tenant, simulator).id,
    }
    other = make_tenant()
    login(make_user(other, role="admin"))
    token = form_token(inbox_path(other))

    # The tenant's own path, and the tenant's ids under the other tenant's path.
    paths = [inbox_path(tenant, suffix.format(**ids))]
    if "{" in suffix:
        paths.append(inbox_path(other, suffix.format(**ids)))
    for path in paths:
        if method == "get":
            response = client.get(path)
        else:
            response = client.post(path, data={"body": "x", "csrf_token": token})
        assert response.status_code == 404, path
    assert conversation_of(tenant).status == "open"
    assert charges_of(tenant) == []


def test_inbox_is_forbidden_to_operators(client, tenant, make_user, login):
    login(make_user(role="operator"))

    assert client.get(inbox_path(tenant)).status_code == 403


@pytest.mark.parametrize("action", ["reply", "assign", "close", "reopen"])
def test_inbox_post_without_csrf_token_is_refused(
    client, tenant, agent, contact_writes, action
):
    contact_writes(tenant)

    response = client.post(
        thread_path(tenant, suffix=f"/{action}"),
        data={"body": "hi", "user_id": str(agent.id)},
    )

    assert response.status_code == 400
    assert charges_of(tenant) == []
    conversation = conversation_of(tenant)
    assert (conversation.status, conversation.assigned_user_id) == ("open", None)


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="SQLite lets one writer at a time, so commits follow ids there",
)
def test_a_thread_poll_misses_no_message_whose_commit_came_late(
    app, tenant, simulator, contact_writes
):
    """A reply stuck in its transaction (its wallet is locked) while the contact
    writes again: the poll between them must not step past the reply."""
    contact_writes(tenant, body="First")
    conversation = conversation_for(tenant.id, CONTACT)
    shown = max(m.id for m in messages_of(tenant))
    incoming = simulator.state.incoming_request(
        tenant.settings.account_sid,
        f"{WEBHOOK_BASE}/incoming",
        CONTACT,
        tenant.settings.whatsapp_number,
        "Second",
    )
    db.session.commit()

    with _wallet_locked(tenant):
        reply = _in_thread(
            app, send, tenant.id, Outgoing(to=CONTACT, body="Reply"), TESTS
        )
        _wait_for_lock_waiters(1)
        second = _in_thread(app, store_incoming, tenant.id, MultiDict(incoming.params))
        _wait_for_lock_waiters(2, unless=second)
        seen_while_stuck = thread_updates(conversation, shown, None).new
        db.session.commit()
    reply.join(timeout=30)
    second.join(timeout=30)

    after = max([m.id for m in seen_while_stuck], default=shown)
    seen_later = thread_updates(conversation, after, None).new
    bodies = [m.body for m in [*seen_while_stuck, *seen_later]]
    assert sorted(bodies) == ["Reply", "Second"]


@contextmanager
def _wallet_locked(tenant):
    with db.engine.connect() as connection:
        connection.execute(
            sa.select(Wallet.id).where(Wallet.tenant_id == tenant.id).with_for_update()
        )
        yield
        connection.rollback()


def _in_thread(app, function, *args):
    def run():
        with app.app_context():
            function(*args)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_for_lock_waiters(count, unless=None):
    """Until `count` sessions wait for a row lock, or the `unless` thread ends."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = db.session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        db.session.commit()
        if waiting >= count or (unless is not None and not unless.is_alive()):
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} sessions never waited for a lock")
