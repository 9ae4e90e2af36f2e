"""Logging for operators: every line carries the request, tenant and user ids."""

import logging
import uuid

from flask import g, has_request_context, request
from flask_login import current_user

LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s tenant=%(tenant_id)s "
    "user=%(user_id)s] %(message)s"
)


class RequestContextFilter(logging.Filter):
    """Add request, tenant and user ids to each record (`-` outside a request)."""

    def filter(self, record):
        record.request_id = record.tenant_id = record.user_id = "-"
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            user = current_user if _user_loaded() else None
            if user is not None and user.is_authenticated:
                record.user_id = user.id
                record.tenant_id = user.tenant_id or "-"
            elif g.get("tenant_id"):
                record.tenant_id = g.tenant_id
        return True


def _user_loaded():
    # Reading current_user would load the user from the database; only do it
    # once Flask-Login has already done so for this request.
    return "_login_user" in g


def configure_logging(app):
    """Send the package's logs to stderr with the context filter attached."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestContextFilter())

    package_logger = logging.getLogger("dashboard")
    package_logger.handlers = [handler]
    package_logger.setLevel(logging.DEBUG if app.debug else logging.INFO)

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:32] if incoming.isalnum() else uuid.uuid4().hex[:12]

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response


def mask_phone(number):
    """Keep a phone number recognisable in logs without writing it out in full."""
    if not number or len(number) < 7:
        return "***"
    return f"{number[:4]}***{number[-3:]}"
