"""Settings read from the environment (and an optional `.env` file).

Development needs no settings at all: the database is an SQLite file and the
secrets are generated once into the instance folder. Production (APP_ENV=production)
must name every secret and address, and a missing or malformed one stops start-up
with a one-line explanation.
"""

import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

TWILIO_DEFAULT_API_BASE_URL = "https://api.twilio.com"
DEFAULT_PRICES = {"template": "0.1925", "free": "0.0275"}
REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "SECRET_KEY",
    "CREDENTIALS_KEY",
    "PUBLIC_BASE_URL",
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and why."""


def load_settings(environ, instance_path):
    """Build the Flask config mapping from environment variables."""
    env = environ.get("APP_ENV", "development").strip().lower()
    if env not in ("development", "production", "testing"):
        raise ConfigError(
            f"APP_ENV must be development, production or testing, not {env!r}"
        )

    if env == "production":
        missing = [name for name in REQUIRED_IN_PRODUCTION if not environ.get(name)]
        if missing:
            raise ConfigError(f"missing in production: {', '.join(missing)}")

    instance = Path(instance_path)
    public_base_url = _public_base_url(
        environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    )
    secure_cookies = public_base_url.startswith("https://")

    return {
        "APP_ENV": env,
        "SECRET_KEY": environ.get("SECRET_KEY")
        or _instance_secret(instance, "secret_key", lambda: secrets.token_hex(32)),
        "SQLALCHEMY_DATABASE_URI": database_url(
            environ.get("DATABASE_URL") or f"sqlite:///{instance / 'dashboard.sqlite'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CREDENTIALS_KEYS": _credentials_keys(
            environ.get("CREDENTIALS_KEY")
            or _instance_secret(
                instance, "credentials_key", lambda: Fernet.generate_key().decode()
            )
        ),
        "PUBLIC_BASE_URL": public_base_url,
        "TWILIO_API_BASE_URL": _http_url(
            "TWILIO_API_BASE_URL",
            environ.get("TWILIO_API_BASE_URL", TWILIO_DEFAULT_API_BASE_URL),
        ),
        "TWILIO_TIMEOUT": _positive_float(
            "TWILIO_TIMEOUT", environ.get("TWILIO_TIMEOUT", "10")
        ),
        "PRICES": {
            kind: _price(f"PRICE_{kind.upper()}", environ.get(f"PRICE_{kind.upper()}"))
            or Decimal(default)
            for kind, default in DEFAULT_PRICES.items()
        },
        "RECONCILE_AFTER_HOURS": _positive_float(
            "RECONCILE_AFTER_HOURS", environ.get("RECONCILE_AFTER_HOURS", "12")
        ),
        "RATELIMIT_STORAGE_URL": environ.get("RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_KEY_PREFIX": environ.get("RATELIMIT_KEY_PREFIX", "dashboard"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "PREFERRED_URL_SCHEME": "https" if secure_cookies else "http",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }


def database_url(url):
    """Point plain PostgreSQL URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("sqlite:", "postgresql+psycopg://")):
        raise ConfigError("DATABASE_URL must be an sqlite:// or postgresql:// URL")
    return url


def _instance_secret(instance, name, generate):
    """Read a development secret from the instance folder, creating it once."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


def _credentials_keys(value):
    """Split CREDENTIALS_KEY into Fernet keys: the first encrypts, all decrypt."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ConfigError("CREDENTIALS_KEY is empty")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                "CREDENTIALS_KEY must be one or more comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes each)"
            ) from None
    return keys


def _public_base_url(value):
    return _http_url("PUBLIC_BASE_URL", value).rstrip("/")


def _http_url(name, value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    return value.rstrip("/")


def _positive_float(name, value):
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if number <= 0:
        raise ConfigError(f"{name} must be greater than zero")
    return number


def _price(name, value):
    if value is None:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{name} must be a decimal number such as 0.0275") from None
    if not price.is_finite() or price <= 0 or price.as_tuple().exponent < -4:
        raise ConfigError(f"{name} must be positive with at most 4 decimal places")
    return price


def read_dotenv(path=".env"):
    """Load a `.env` file into the environment without overriding what is set."""
    from dotenv import load_dotenv

    if os.path.exists(path):
        load_dotenv(path, override=False)
