"""Connecting a tenant's own Twilio account."""

from flask import Blueprint

bp = Blueprint("twilio_setup", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
