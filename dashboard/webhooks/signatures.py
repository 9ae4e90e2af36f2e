"""Checking that a webhook request really comes from the tenant's Twilio account.

Twilio signs the full URL it called plus the sorted POST parameters with the
auth token of the account the message belongs to. Behind a TLS-terminating proxy
the app sees another scheme and host, so the URL is rebuilt from PUBLIC_BASE_URL
rather than from the request.
"""

import logging

from flask import current_app, request
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_url():
    """The URL Twilio called: the public base plus this request's path and query."""
    query = request.query_string.decode("latin-1")
    url = current_app.config["PUBLIC_BASE_URL"] + request.path
    return f"{url}?{query}" if query else url


def is_signed_by(auth_token):
    """True when the request carries a valid signature made with `auth_token`."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(public_url(), request.form, signature)
