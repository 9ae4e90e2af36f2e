import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import db
from ..urls import is_for_machines
from . import bp

logger = logging.getLogger(__name__)


def wants_json():
    return is_for_machines(request.path)


def _answer(status, title, text):
    if wants_json():
        return jsonify(error=text), status
    template = "errors/_error.html" if request.headers.get("HX-Request") else None
    return (
        render_template(template or "errors/error.html", title=title, text=text),
        status,
    )


@bp.app_errorhandler(CSRFError)
def csrf_failed(error):
    logger.warning("CSRF check failed: %s", error.description)
    return _answer(
        400,
        "The form expired",
        "The page was open too long or came from elsewhere. Reload it and try again.",
    )


@bp.app_errorhandler(HTTPException)
def http_error(error):
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed here"}
    text = {
        403: "Your role does not allow this.",
        404: "There is nothing here.",
    }.get(error.code, error.description)
    body, status = _answer(error.code, titles.get(error.code, error.name), text)
    # Keep what the error itself says, such as Allow on a 405.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return body, status, headers


@bp.app_errorhandler(InternalServerError)
def server_error(error):
    db.session.rollback()
    logger.error("unhandled error on %s %s", request.method, request.path)
    return _answer(500, "Something went wrong", "The error was logged. Try again.")
