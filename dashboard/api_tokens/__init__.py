"""API tokens page: tenant admins create and revoke the JSON API's bearer tokens."""

from flask import Blueprint

bp = Blueprint("api_tokens", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
