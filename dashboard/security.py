"""Security headers on every response, and a guard on raw input."""

from flask import abort, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def register_input_guard(app):
    """Refuse NUL characters in query and form input with 400.

    No field of ours may hold one, and PostgreSQL cannot even compare text with
    one: left in, a lookup would fail with a 500 before any validation ran.
    """

    @app.before_request
    def refuse_nul_characters():
        values = [*request.args.items(multi=True)]
        if request.mimetype in FORM_TYPES:
            values += request.form.items(multi=True)
        if any("\x00" in key or "\x00" in value for key, value in values):
            abort(400, "Input may not contain NUL characters.")


def register_security_headers(app):
    https = app.config["PUBLIC_BASE_URL"].startswith("https://")

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if https:
            headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
