"""The pages as a person uses them in Chromium: logging in and out, topping up a
wallet, and the pages a role may not open."""

import re

import pytest
from playwright.sync_api import expect


def balance(page):
    return page.get_by_test_id("balance")


def amount_error(page):
    """The error written under the Amount field of the top-up form."""
    field = page.locator(".field", has=page.get_by_label("Amount"))
    return field.locator(".error")


def test_login_operator_lands_on_tenants(page, base_url, make_user, log_in_as):
    log_in_as(page, make_user(role="operator"))

    expect(page).to_have_url(f"{base_url}/operator/tenants")
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible()


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_login_tenant_staff_land_on_their_inbox(
    page, base_url, make_tenant, make_user, log_in_as, role
):
    tenant = make_tenant(name="Acme")

    log_in_as(page, make_user(tenant, role=role))

    expect(page).to_have_url(f"{base_url}/tenants/{tenant.id}/inbox")
    expect(page.get_by_role("heading", name="Inbox · Acme")).to_be_visible()


def test_login_wrong_password_shows_error(page, base_url, make_user):
    user = make_user(role="operator")

    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".error")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(f"{base_url}/login")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_wallet_top_up_by_operator_shows_new_balance(
    page, make_tenant, make_user, log_in_as
):
    tenant = make_tenant(name="Acme", balance="10")
    log_in_as(page, make_user(role="operator"))
    page.goto(f"/tenants/{tenant.id}/wallet")

    page.get_by_label("Amount").fill("25.50")
    page.get_by_label("Note").fill("Invoice 2026-12")
    page.get_by_role("button", name="Add credit").click()

    expect(balance(page)).to_have_text("35.5000")
    expect(page.get_by_role("status")).to_have_text("Added 25.50 to Acme's wallet.")
    expect(page.get_by_role("cell", name="Invoice 2026-12")).to_be_visible()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be greater than zero."),
        ("-5", "The amount must be greater than zero."),
        ("abc", "Enter a number such as 25 or 12.50."),
        ("1e12", "The amount can be at most 100,000."),
    ],
)
def test_wallet_top_up_bad_amount_shows_error_and_keeps_balance(
    page, make_tenant, make_user, log_in_as, amount, message
):
    tenant = make_tenant(name="Acme", balance="10")
    log_in_as(page, make_user(role="operator"))
    page.goto(f"/tenants/{tenant.id}/wallet")

    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Add credit").click()

    expect(amount_error(page)).to_have_text(message)
    expect(balance(page)).to_have_text("10.0000")
    page.goto(f"/tenants/{tenant.id}/wallet")
    expect(balance(page)).to_have_text("10.0000")


def test_people_page_for_agent_is_forbidden(page, make_tenant, make_user, log_in_as):
    tenant = make_tenant()
    log_in_as(page, make_user(tenant, role="agent"))

    response = page.goto(f"/tenants/{tenant.id}/users")

    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Your role does not allow this.")).to_be_visible()


def test_logout_ends_the_session(page, make_tenant, make_user, log_in_as):
    tenant = make_tenant()
    log_in_as(page, make_user(tenant, role="admin"))

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto(f"/tenants/{tenant.id}/wallet")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_session_cookie_is_httponly_and_samesite_lax(app, page, make_user, log_in_as):
    log_in_as(page, make_user(role="operator"))

    name = app.config["SESSION_COOKIE_NAME"]
    [cookie] = [c for c in page.context.cookies() if c["name"] == name]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert f"{name}=" not in page.evaluate("document.cookie")


def test_pages_name_an_icon_the_app_serves(page):
    # Without one, browsers ask for /favicon.ico on every visit and log a 404.
    page.goto("/login")

    icon = page.locator("link[rel=icon]").get_attribute("href")
    response = page.request.get(icon)

    assert response.ok
    assert response.headers["content-type"].startswith("image/svg+xml")
