import html
import re
import threading

import pytest
import sqlalchemy as sa
from conftest import TESTS

from dashboard.extensions import db
from dashboard.models import AuditEvent, Message, Template, Tenant
from dashboard.templates_admin import catalog
from dashboard.templates_admin.catalog import (
    TemplateError,
    add_template,
    check_values,
    import_from_twilio,
    render_preview,
)
from dashboard.twilio_gateway import list_templates

SID = "HX" + "a" * 32
OTHER_SID = "HX" + "b" * 32


def templates_path(tenant):
    return f"/tenants/{tenant.id}/templates"


def template_fields(**fields):
    values = {
        "name": "order shipped",
        "content_sid": SID,
        "variables": "1, 2",
        "preview": "Hello {{1}}, order {{2}} has shipped.",
        "category": "utility",
    }
    values.update(fields)
    return values


def post_template(client, tenant, token, **fields):
    data = template_fields(**fields)
    data["csrf_token"] = token
    return client.post(templates_path(tenant), data=data)


def field_errors(page, name):
    """The error lines shown inside the form field whose input is `name`."""
    for block in re.findall(r'<div class="field[^"]*">(.*?)</div>', page, re.S):
        if f'name="{name}"' in block:
            errors = re.findall(r'<p class="error"[^>]*>(.*?)</p>', block, re.S)
            return [html.unescape(error) for error in errors]
    raise AssertionError(f"the page has no field {name}")


def flashes(page):
    found = re.findall(r'<p class="flash flash-(\w+)"[^>]*>(.*?)</p>', page, re.S)
    return [(category, html.unescape(text)) for category, text in found]


def saved_templates(tenant):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(Template)
        .where(Template.tenant_id == tenant.id)
        .order_by(Template.content_sid)
    ).all()


def template_actions(tenant):
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action.like("template.%"))
        .order_by(AuditEvent.id)
    ).all()


def registered(tenant, content_sid=SID, **fields):
    values = {
        "name": "welcome",
        "content_sid": content_sid,
        "variables": ["1"],
        "preview": "Hello {{1}}",
        "category": "utility",
    }
    values.update(fields)
    template = add_template(tenant.id, actor=TESTS, **values)
    db.session.commit()
    return template


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


@pytest.fixture
def admin(make_user, tenant):
    return make_user(tenant=tenant, role="admin")


# The page -----------------------------------------------------------------


def test_index_lists_the_tenants_templates_only(
    client, login, admin, tenant, make_tenant
):
    registered(tenant, name="order shipped", variables=["1", "2"])
    registered(make_tenant(), content_sid=OTHER_SID, name="someone else's")
    login(admin)

    response = client.get(templates_path(tenant))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "order shipped" in page
    assert SID in page
    assert "<code>{{1}}</code> <code>{{2}}</code>" in page
    assert "Hello {{1}}" in page
    assert OTHER_SID not in page


def test_index_links_to_twilio_setup_when_not_connected(client, login, admin, tenant):
    login(admin)

    page = client.get(templates_path(tenant)).get_data(as_text=True)

    assert f'href="/tenants/{tenant.id}/twilio"' in page
    assert "/templates/import" not in page


def test_create_adds_a_template(client, login, form_token, admin, tenant):
    login(admin)

    response = post_template(
        client, tenant, form_token(templates_path(tenant)), variables="2 1"
    )

    assert response.status_code == 303
    assert response.headers["Location"] == templates_path(tenant)
    [template] = saved_templates(tenant)
    assert template.name == "order shipped"
    assert template.content_sid == SID
    assert template.variables == ["1", "2"]
    assert template.preview == "Hello {{1}}, order {{2}} has shipped."
    assert template.category == "utility"
    assert template_actions(tenant) == ["template.added"]
    page = client.get(templates_path(tenant)).get_data(as_text=True)
    assert ("success", "“order shipped” can now be sent from the inbox.") in (
        flashes(page)
    )


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        (
            {"content_sid": "HX123"},
            "content_sid",
            "A ContentSid is HX followed by 32 hex digits, as the Twilio Console "
            "shows it.",
        ),
        (
            {"content_sid": "MG" + "a" * 32},
            "content_sid",
            "A ContentSid is HX followed by 32 hex digits, as the Twilio Console "
            "shows it.",
        ),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"category": "promotional"}, "category", "Not a valid choice."),
        ({"variables": "1, 1"}, "variables", "“1” is listed twice."),
        (
            {"variables": "1, {{2}}"},
            "variables",
            "“{{2}}” is not a variable key: use numbers such as 1, 2 "
            "(or letters, digits and _).",
        ),
        (
            {"variables": "1"},
            "preview",
            "The preview uses {{2}}, which is not among the variables.",
        ),
    ],
    ids=[
        "short-sid",
        "other-kind-of-sid",
        "no-name",
        "blank-name",
        "unknown-category",
        "variable-twice",
        "bad-variable-key",
        "undeclared-placeholder",
    ],
)
def test_create_with_bad_input_shows_the_error_on_its_field(
    client, login, form_token, admin, tenant, fields, field, error
):
    login(admin)

    response = post_template(
        client, tenant, form_token(templates_path(tenant)), **fields
    )

    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True), field) == [error]
    assert saved_templates(tenant) == []


def test_create_with_a_registered_sid_is_refused(
    client, login, form_token, admin, tenant
):
    registered(tenant, name="welcome")
    login(admin)

    response = post_template(client, tenant, form_token(templates_path(tenant)))

    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True), "content_sid") == [
        "This ContentSid is already registered as “welcome”."
    ]
    assert [t.name for t in saved_templates(tenant)] == ["welcome"]


def test_create_with_a_sid_another_tenant_registered_is_accepted(
    client, login, form_token, admin, tenant, make_tenant
):
    registered(make_tenant())
    login(admin)

    response = post_template(client, tenant, form_token(templates_path(tenant)))

    assert response.status_code == 303
    assert len(saved_templates(tenant)) == 1


def test_delete_removes_the_template_and_keeps_its_messages(
    client, login, form_token, admin, tenant, make_message
):
    template = registered(tenant)
    message = make_message(
        tenant,
        message_type="template",
        template_id=template.id,
        content_sid=SID,
        content_variables={"1": "Ana"},
    )
    db.session.commit()
    message_id = message.id
    login(admin)

    response = client.post(
        f"{templates_path(tenant)}/{template.id}/delete",
        data={"csrf_token": form_token(templates_path(tenant))},
    )

    assert response.status_code == 303
    assert saved_templates(tenant) == []
    kept = db.session.get(Message, message_id)
    assert kept.template_id is None
    assert kept.content_sid == SID
    assert template_actions(tenant) == ["template.added", "template.deleted"]


# Importing from Twilio ----------------------------------------------------


def test_import_adds_the_accounts_templates(
    client, login, form_token, admin, tenant, connect_twilio, simulator
):
    account_sid = connect_twilio(tenant).account_sid
    welcome = simulator.state.add_content(account_sid, "welcome", "Hello {{1}}")
    shipped = simulator.state.add_content(
        account_sid,
        "order shipped",
        "Hi {{1}}, order {{2}} is on its way.",
        variables={"1": "name", "2": "order"},
    )
    login(admin)

    response = client.post(
        f"{templates_path(tenant)}/import",
        data={"csrf_token": form_token(templates_path(tenant))},
    )

    assert response.status_code == 303
    saved = {t.content_sid: t for t in saved_templates(tenant)}
    assert set(saved) == {welcome, shipped}
    assert saved[welcome].name == "welcome"
    assert saved[welcome].variables == ["1"]
    assert saved[welcome].preview == "Hello {{1}}"
    assert saved[shipped].variables == ["1", "2"]
    assert saved[shipped].preview == "Hi {{1}}, order {{2}} is on its way."
    assert saved[shipped].category == "utility"
    page = client.get(templates_path(tenant)).get_data(as_text=True)
    assert ("success", "Imported from Twilio: 2 new, 0 updated.") in flashes(page)


def test_import_again_adds_nothing(
    client, login, form_token, admin, tenant, connect_twilio, simulator
):
    account_sid = connect_twilio(tenant).account_sid
    simulator.state.add_content(account_sid, "welcome", "Hello {{1}}")
    login(admin)
    path = f"{templates_path(tenant)}/import"
    client.post(path, data={"csrf_token": form_token(templates_path(tenant))})
    first = [(t.id, t.content_sid, t.preview) for t in saved_templates(tenant)]

    client.post(path, data={"csrf_token": form_token(templates_path(tenant))})

    assert [(t.id, t.content_sid, t.preview) for t in saved_templates(tenant)] == first
    assert template_actions(tenant) == ["template.imported"]
    page = client.get(templates_path(tenant)).get_data(as_text=True)
    assert (
        "success",
        "The templates already match the Twilio account: nothing new.",
    ) in flashes(page)


def test_import_refreshes_a_template_changed_on_twilio(
    tenant, connect_twilio, simulator
):
    account_sid = connect_twilio(tenant).account_sid
    sid = simulator.state.add_content(account_sid, "welcome", "Hello {{1}}")
    import_from_twilio(tenant, TESTS)
    content = simulator.state.get_content(account_sid, sid)
    content.friendly_name = "welcome back"
    content.body = "Hello {{1}}, welcome back to {{2}}."

    assert import_from_twilio(tenant, TESTS) == (0, 1)

    [template] = saved_templates(tenant)
    assert template.name == "welcome back"
    assert template.variables == ["1", "2"]
    assert template.preview == "Hello {{1}}, welcome back to {{2}}."


def test_import_keeps_the_category_set_here(tenant, connect_twilio, simulator):
    account_sid = connect_twilio(tenant).account_sid
    sid = simulator.state.add_content(account_sid, "offer", "10% off for {{1}}")
    registered(
        tenant,
        content_sid=sid,
        name="offer",
        preview="10% off for {{1}}",
        category="marketing",
    )

    assert import_from_twilio(tenant, TESTS) == (0, 0)

    [template] = saved_templates(tenant)
    assert template.category == "marketing"


def test_import_when_twilio_fails_saves_nothing(
    client, login, form_token, admin, tenant, connect_twilio, simulator
):
    account_sid = connect_twilio(tenant).account_sid
    simulator.state.add_content(account_sid, "welcome", "Hello {{1}}")
    login(admin)
    token = form_token(templates_path(tenant))
    simulator.state.fail_next(status=500)

    response = client.post(
        f"{templates_path(tenant)}/import", data={"csrf_token": token}
    )

    assert response.status_code == 303
    assert saved_templates(tenant) == []
    assert template_actions(tenant) == []
    page = client.get(templates_path(tenant)).get_data(as_text=True)
    [(category, text)] = flashes(page)
    assert category == "error"
    assert text.startswith("Twilio ")
    assert text.endswith(" Nothing was imported.")


def test_import_without_twilio_says_to_connect_it(
    client, login, form_token, admin, tenant
):
    login(admin)

    client.post(
        f"{templates_path(tenant)}/import",
        data={"csrf_token": form_token(templates_path(tenant))},
    )

    page = client.get(templates_path(tenant)).get_data(as_text=True)
    assert (
        "error",
        "Connect the tenant's Twilio account first, on the Twilio page.",
    ) in flashes(page)
    assert saved_templates(tenant) == []


# Who may do what -----------------------------------------------------------


def test_another_tenants_templates_are_not_found(
    client, login, form_token, admin, tenant, make_tenant
):
    other = make_tenant()
    theirs = registered(other)
    login(admin)
    token = form_token(templates_path(tenant))

    assert client.get(templates_path(other)).status_code == 404
    assert post_template(client, other, token).status_code == 404
    assert (
        client.post(
            f"{templates_path(other)}/import", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{templates_path(other)}/{theirs.id}/delete", data={"csrf_token": token}
        ).status_code
        == 404
    )
    # Its id under the admin's own tenant is no way in either.
    assert (
        client.post(
            f"{templates_path(tenant)}/{theirs.id}/delete", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert len(saved_templates(other)) == 1


def test_agents_may_not_see_or_change_templates(
    client, login, form_token, make_user, tenant
):
    template = registered(tenant)
    login(make_user(tenant=tenant, role="agent"))
    token = form_token(f"/tenants/{tenant.id}/wallet")

    assert client.get(templates_path(tenant)).status_code == 403
    assert post_template(client, tenant, token, content_sid=OTHER_SID).status_code == (
        403
    )
    assert (
        client.post(
            f"{templates_path(tenant)}/import", data={"csrf_token": token}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{templates_path(tenant)}/{template.id}/delete",
            data={"csrf_token": token},
        ).status_code
        == 403
    )
    assert [t.content_sid for t in saved_templates(tenant)] == [SID]


def test_operators_manage_any_tenants_templates(
    client, login, form_token, make_user, tenant
):
    login(make_user(role="operator"))

    assert client.get(templates_path(tenant)).status_code == 200
    response = post_template(client, tenant, form_token(templates_path(tenant)))

    assert response.status_code == 303
    assert len(saved_templates(tenant)) == 1


def test_anonymous_visitors_are_sent_to_log_in(client, tenant):
    response = client.get(templates_path(tenant))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "suffix", ["", "/import", "/{template_id}/delete"], ids=["add", "import", "delete"]
)
def test_posts_without_a_csrf_token_are_refused(client, login, admin, tenant, suffix):
    template = registered(tenant)
    login(admin)
    path = templates_path(tenant) + suffix.format(template_id=template.id)

    response = client.post(path, data=template_fields(content_sid=OTHER_SID))

    assert response.status_code == 400
    assert [t.content_sid for t in saved_templates(tenant)] == [SID]


# Filling in a template -----------------------------------------------------


def unsaved(variables=("1", "2"), preview="Hello {{1}}, order {{2}} has shipped."):
    return Template(
        name="order shipped",
        content_sid=SID,
        variables=list(variables),
        preview=preview,
        category="utility",
    )


def test_render_preview_substitutes_each_placeholder():
    template = unsaved()

    text = render_preview(template, {"1": "Ana", "2": "#42"})

    assert text == "Hello Ana, order #42 has shipped."


def test_render_preview_leaves_missing_values_visible():
    template = unsaved()

    assert render_preview(template, {"1": "Ana"}) == (
        "Hello Ana, order {{2}} has shipped."
    )
    assert render_preview(template, {"1": "Ana", "2": ""}) == (
        "Hello Ana, order {{2}} has shipped."
    )
    assert render_preview(template, {}) == template.preview


def test_render_preview_does_not_read_values_as_placeholders():
    template = unsaved()

    text = render_preview(template, {"1": "{{2}}", "2": "#42"})

    assert text == "Hello {{2}}, order #42 has shipped."


def test_render_preview_accepts_numbered_keys_and_spaced_placeholders():
    template = unsaved(preview="Hello {{ 1 }}, order {{2}}")

    assert render_preview(template, {1: "Ana", "2": 42}) == "Hello Ana, order 42"


def test_check_values_answers_the_trimmed_values_in_variable_order():
    template = unsaved()

    values = check_values(template, {"2": " #42 ", "1": "Ana"})

    assert values == {"1": "Ana", "2": "#42"}
    assert list(values) == ["1", "2"]


def test_check_values_accepts_200_characters():
    template = unsaved(variables=["1"])

    assert check_values(template, {"1": "x" * 200}) == {"1": "x" * 200}


@pytest.mark.parametrize(
    ("values", "key", "error"),
    [
        ({"1": "Ana"}, "2", "Fill in {{2}}."),
        ({"1": "Ana", "2": ""}, "2", "Fill in {{2}}."),
        ({"1": "   ", "2": "#42"}, "1", "Fill in {{1}}."),
        ({"1": None, "2": "#42"}, "1", "Fill in {{1}}."),
        (
            {"1": "x" * 201, "2": "#42"},
            "1",
            "{{1}} can have at most 200 characters.",
        ),
        (
            {"1": "Ana", "2": "#42", "3": "extra"},
            "3",
            "“order shipped” has no variable {{3}}.",
        ),
        (
            {"1": "Ana\nSilva", "2": "#42"},
            "1",
            "{{1}} cannot hold line breaks, tabs or more than four spaces in a row; "
            "WhatsApp refuses them.",
        ),
        (
            {"1": "Ana     Silva", "2": "#42"},
            "1",
            "{{1}} cannot hold line breaks, tabs or more than four spaces in a row; "
            "WhatsApp refuses them.",
        ),
    ],
    ids=["missing", "empty", "blank", "none", "long", "unknown", "newline", "spaces"],
)
def test_check_values_refuses_bad_values(values, key, error):
    with pytest.raises(TemplateError) as refused:
        check_values(unsaved(), values)

    assert refused.value.field == key
    assert str(refused.value) == error


def test_check_values_of_a_template_without_variables():
    template = unsaved(variables=[], preview="Your appointment is confirmed.")

    assert check_values(template, {}) == {}
    with pytest.raises(TemplateError):
        check_values(template, {"1": "Ana"})


def test_imports_at_the_same_time_add_each_template_once(
    app, tenant, connect_twilio, simulator, monkeypatch
):
    account_sid = connect_twilio(tenant).account_sid
    simulator.state.add_content(account_sid, "welcome", "Hello {{1}}")
    both_fetched = threading.Barrier(2, timeout=10)

    def fetch_then_wait(credentials):
        contents = list_templates(credentials)
        both_fetched.wait()
        return contents

    monkeypatch.setattr(catalog, "list_templates", fetch_then_wait)
    tenant_id = tenant.id
    db.session.commit()  # on SQLite the test's open transaction holds the write lock
    outcomes, failures = [], []

    def run_import():
        with app.app_context():
            try:
                outcomes.append(
                    import_from_twilio(db.session.get(Tenant, tenant_id), TESTS)
                )
            except Exception as error:
                failures.append(error)

    threads = [threading.Thread(target=run_import) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert failures == []
    assert sorted(outcomes) == [(0, 0), (1, 0)]
    assert len(saved_templates(tenant)) == 1
