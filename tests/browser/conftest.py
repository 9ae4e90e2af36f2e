"""Browser fixtures: one Debian Chromium for the whole folder, a fresh context per
test on the live server, logins through the real form, and a screenshot with the
page's HTML in `test-artifacts/` when a test fails."""

import re
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD
from playwright.sync_api import Error, expect, sync_playwright

from dashboard.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling out to Google, and the closed network
    # refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACTION_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 10_000
ASSET_TYPES = ("stylesheet", "script", "image", "font")
MAX_NAME = 200  # artifact file names, well under the usual 255-byte limit
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    """Mark every test in this folder `browser`, so `-m "not browser"` skips them."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for every test in this folder.

    Package scope, not session: while Playwright's sync API is started it marks
    its event loop as running in the main thread, which would break `asyncio.run`
    in any test collected after this folder. Stopping it here clears that.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/install-browser")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def base_url(live_server):
    return live_server.url


@pytest.fixture
def context(app, browser, base_url):
    """A fresh browser profile per test: no cookies or storage carried over."""
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    context.route(f"{base_url}/**", _after_test_commits(db.session()))
    yield context
    context.close()


def _after_test_commits(session):
    """Commit the test's own transaction before each request the browser sends.

    The app then sees what the test wrote, and the test does not hold the
    database while the app answers: on SQLite every transaction takes the write
    lock at BEGIN, so a test that has only read an attribute would block every
    request until its busy timeout. Objects read after the request load afresh.
    """

    def handle(route):
        session.commit()
        route.continue_()

    return handle


@pytest.fixture
def page(context):
    """A tab whose test also fails on what a broken page shows only in the
    console: a script error, a Content Security Policy violation or a missing
    asset."""
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: _note_console_error(message, problems))
    page.on("response", lambda response: _note_missing_asset(response, problems))

    yield page

    assert not problems, "the browser reported:\n" + "\n".join(problems)


def _note_console_error(message, problems):
    # A page or fragment answered 4xx on purpose is logged as "Failed to load
    # resource" too; assets are checked by their responses instead.
    if message.type == "error" and not message.text.startswith(
        "Failed to load resource"
    ):
        problems.append(f"console error at {message.location['url']}: {message.text}")


def _note_missing_asset(response, problems):
    if response.request.resource_type in ASSET_TYPES and response.status >= 400:
        problems.append(f"asset {response.url} answered {response.status}")


@pytest.fixture
def log_in_as():
    """Log a person in through the login form and wait for the first page."""

    def log_in(page, user, password=TEST_PASSWORD):
        page.goto("/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return page

    return log_in


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, keep what the browser showed: a screenshot and the HTML."""
    report = yield
    if report.failed and report.when in ("setup", "call"):
        page = item.funcargs.get("page")
        if page is not None and not page.is_closed():
            report.sections.append(("browser", _save_page(page, item)))
    return report


def _save_page(page, item):
    folder = item.config.rootpath / "test-artifacts"
    folder.mkdir(exist_ok=True)
    name = re.sub(r"[^\w-]+", "_", item.nodeid).strip("_")[:MAX_NAME]
    screenshot, html = folder / f"{name}.png", folder / f"{name}.html"

    try:
        page.screenshot(path=screenshot, full_page=True)
        html.write_text(page.content(), encoding="utf-8")
    except (Error, OSError) as error:
        return f"could not save the page at {page.url}: {error}"
    return f"page: {page.url}\nscreenshot: {screenshot}\nhtml: {html}"
