"""Login throttling: failed logins per account and per address, in memory or Redis."""

import uuid

import pytest
import redis

from dashboard.auth.throttle import LoginThrottle, address_key, login_throttle
from tests.conftest import TEST_PASSWORD, csrf_token_in

REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_PREFIX = f"dashboard-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_client():
    """A client for the local Redis; the test's keys are removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield client
    for key in client.scan_iter(f"{REDIS_PREFIX}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def make_agent(make_tenant, make_user):
    tenant = make_tenant()
    return lambda: make_user(tenant)


def post_login(client, email, password, address="127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token_in(client.get("/login", environ_base=environ))
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def fail_logins(client, email, times, address="127.0.0.1"):
    for _ in range(times):
        response = post_login(client, email, "wrong password", address)
        assert response.status_code == 422, response.get_data(as_text=True)


def test_throttle_sixth_failure_for_account_is_refused(app, client, make_agent):
    user = make_agent()
    fail_logins(client, user.email, 5)

    response = post_login(client, user.email, "wrong password")

    assert response.status_code == 429
    assert "Too many attempts; try again in 15 minutes." in response.get_data(
        as_text=True
    )
    assert int(response.headers["Retry-After"]) <= 15 * 60


def test_throttle_refuses_correct_password_while_throttled(app, client, make_agent):
    user = make_agent()
    fail_logins(client, user.email, 5)

    response = post_login(client, user.email, TEST_PASSWORD)

    assert response.status_code == 429
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_throttle_counts_account_whatever_the_address(app, client, make_agent):
    user = make_agent()
    for number in range(5):
        fail_logins(client, user.email, 1, address=f"10.0.0.{number}")

    response = post_login(client, user.email, TEST_PASSWORD, address="10.0.1.1")

    assert response.status_code == 429


def test_throttle_counts_address_across_accounts(app, client, make_agent):
    users = [make_agent() for _ in range(5)]
    for user in users:
        fail_logins(client, user.email, 4, address="10.0.0.7")
    fresh = make_agent()

    from_same_address = post_login(client, fresh.email, TEST_PASSWORD, "10.0.0.7")
    from_elsewhere = post_login(client, fresh.email, TEST_PASSWORD, "10.0.0.8")

    assert from_same_address.status_code == 429
    assert from_elsewhere.status_code == 303


def test_throttle_counts_an_ipv6_client_by_its_64(app, client, make_agent):
    users = [make_agent() for _ in range(5)]
    for number, user in enumerate(users):
        fail_logins(client, user.email, 4, address=f"2001:db8:1:2::{number + 1:x}")
    fresh = make_agent()

    same_64 = post_login(client, fresh.email, TEST_PASSWORD, "2001:db8:1:2:ffff::9")
    other_64 = post_login(client, fresh.email, TEST_PASSWORD, "2001:db8:1:3::1")

    assert same_64.status_code == 429
    assert other_64.status_code == 303


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("10.0.0.7", "10.0.0.7"),
        ("::ffff:10.0.0.7", "10.0.0.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("unknown", "unknown"),
    ],
)
def test_throttle_address_keys(address, key):
    assert address_key(address) == key


def test_throttle_success_clears_account_failures(app, client, make_agent):
    user = make_agent()
    fail_logins(client, user.email, 4)

    assert post_login(client, user.email, TEST_PASSWORD).status_code == 303
    logged_out = app.test_client()
    fail_logins(logged_out, user.email, 5)

    assert post_login(logged_out, user.email, "wrong password").status_code == 429


def test_throttle_unknown_email_is_throttled_too(app, client):
    fail_logins(client, "nobody@example.com", 5)

    response = post_login(client, "Nobody@Example.com ", "wrong password")

    assert response.status_code == 429


@pytest.mark.app_config(
    RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=REDIS_PREFIX
)
def test_throttle_redis_refuses_sixth_failure(app, client, make_agent, redis_client):
    user = make_agent()
    fail_logins(client, user.email, 5)

    response = post_login(client, user.email, TEST_PASSWORD)

    assert response.status_code == 429
    keys = [key.decode() for key in redis_client.scan_iter(f"{REDIS_PREFIX}:*")]
    assert keys
    assert not any(user.email in key for key in keys)


@pytest.mark.app_config(
    RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=REDIS_PREFIX
)
def test_throttle_redis_is_shared_between_processes(
    app, client, make_agent, redis_client
):
    user = make_agent()
    fail_logins(client, user.email, 5)
    # Another process has a throttle of its own over the same store.
    other = LoginThrottle(REDIS_URL, app.config["SECRET_KEY"], REDIS_PREFIX)

    assert other.wait_seconds(user.email, "10.9.9.9") > 0
    other.record_success(user.email)
    assert post_login(client, user.email, TEST_PASSWORD).status_code == 303
    other.storage.storage.close()


@pytest.mark.app_config(
    RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=REDIS_PREFIX
)
def test_throttle_redis_counts_address_across_accounts(
    app, client, make_agent, redis_client
):
    users = [make_agent() for _ in range(5)]
    for user in users:
        fail_logins(client, user.email, 4, address="10.0.0.7")

    response = post_login(client, make_agent().email, TEST_PASSWORD, "10.0.0.7")

    assert response.status_code == 429


@pytest.mark.app_config(RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")
def test_throttle_unreachable_store_lets_logins_through(app, client, make_agent):
    user = make_agent()

    response = post_login(client, user.email, TEST_PASSWORD)

    assert response.status_code == 303
    assert login_throttle() is app.extensions["login_throttle"]
