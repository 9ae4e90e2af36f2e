"""The JSON API for a tenant's own software, authenticated with bearer tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/whatsapp")

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
