"""Twilio's webhooks: status callbacks and incoming messages."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
