"""The JSON API for a tenant's own software, authenticated with bearer tokens."""

from flask import Blueprint

from ..urls import API_PREFIX

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
