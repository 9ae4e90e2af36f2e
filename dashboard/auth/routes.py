import logging

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from . import bp
from .accounts import authenticate
from .forms import LoginForm
from .throttle import login_throttle, minutes_text

logger = logging.getLogger(__name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))

    form = LoginForm()
    if form.validate_on_submit():
        throttle = login_throttle()
        # The peer's address. Behind a reverse proxy this is the proxy's, so the
        # app must then be wrapped in werkzeug's ProxyFix with the proxy count.
        address = request.remote_addr or "unknown"

        wait = throttle.wait_seconds(form.email.data, address)
        if wait:
            # Refused before the password is checked, so guessing learns nothing.
            logger.warning("login throttled")
            form.password.errors.append(
                f"Too many attempts; try again in {minutes_text(wait)}."
            )
            page = render_template("auth/login.html", form=form)
            return page, 429, {"Retry-After": str(wait)}

        user = authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.record_failure(form.email.data, address)
            logger.warning("failed login")
            form.password.errors.append("Wrong email or password.")
        else:
            throttle.record_success(form.email.data)
            db.session.commit()
            # A new session at login, so a session id planted before it is useless.
            session.clear()
            login_user(user)
            logger.info("login user=%s", user.id)
            return redirect(_safe_next(request.args.get("next")), code=303)

    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/")
@login_required
def home():
    if current_user.is_operator:
        return redirect(url_for("operator.tenants"))
    return redirect(url_for("inbox.index", tenant_id=current_user.tenant_id))


def _safe_next(target):
    """Follow `next` only to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("auth.home")
