"""A WhatsApp inbox with prepaid credits, on each tenant's own Twilio account."""

import logging
import os
from pathlib import Path

from flask import Flask

from .config import load_settings, read_dotenv
from .extensions import csrf, db, init_autocommit_engine, login_manager, migrate
from .logs import configure_logging
from .security import register_input_guard, register_security_headers
from .sessions import PeopleOnlySessions

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides=None, environ=None):
    """Build the application; `overrides` replace settings read from the environment."""
    if environ is None:
        read_dotenv(PROJECT_ROOT / ".env")
        environ = os.environ

    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_settings(environ, app.instance_path))
    app.config.update(overrides or {})

    app.session_interface = PeopleOnlySessions()
    configure_logging(app)
    register_security_headers(app)
    register_input_guard(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    return app


def _init_extensions(app):
    db.init_app(app)
    init_autocommit_engine(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    """Send people whose session ended to the login page. An htmx poll would
    follow a plain redirect and swap the login page into a fragment, so it gets
    401 with HX-Redirect, which htmx turns into a full page load."""
    from flask import redirect, request, url_for

    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def _register_blueprints(app):
    from . import (
        api,
        api_tokens,
        audit_log,
        auth,
        cli,
        errors,
        inbox,
        messaging,
        operator,
        templates_admin,
        twilio_setup,
        users,
        wallet,
        webhooks,
    )

    for module in (
        errors,
        auth,
        users,
        wallet,
        operator,
        twilio_setup,
        messaging,
        inbox,
        templates_admin,
        api_tokens,
        audit_log,
        api,
        webhooks,
    ):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)
    csrf.exempt(webhooks.bp)
    cli.register(app)


def _register_template_helpers(app):
    from .formatting import register_filters
    from .navigation import nav_links

    register_filters(app)
    app.add_template_global(nav_links)
