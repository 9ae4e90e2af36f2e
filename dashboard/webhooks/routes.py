import logging

from flask import request

from . import bp
from .handling import handle_incoming, handle_status_callback

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@bp.post("/status")
def status():
    outcome = handle_status_callback(request.form)
    return "", outcome


@bp.post("/incoming")
def incoming():
    outcome = handle_incoming(request.form)
    if outcome != 200:
        return "", outcome
    return EMPTY_TWIML, 200, {"Content-Type": "text/xml"}
