import logging

from flask import request

from ..urls import INCOMING_WEBHOOK_PATH, STATUS_WEBHOOK_PATH
from . import bp
from .handling import handle_incoming, handle_status_callback

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@bp.post(STATUS_WEBHOOK_PATH)
def status():
    outcome = handle_status_callback(request.form)
    return "", outcome


@bp.post(INCOMING_WEBHOOK_PATH)
def incoming():
    outcome = handle_incoming(request.form)
    if outcome != 200:
        return "", outcome
    return EMPTY_TWIML, 200, {"Content-Type": "text/xml"}
