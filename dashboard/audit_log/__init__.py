"""The audit trail: who changed a tenant's settings, people, tokens and balance."""

from flask import Blueprint

bp = Blueprint("audit_log", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
