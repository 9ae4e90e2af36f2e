"""Signed-cookie sessions for people, and none for Twilio's webhooks."""

from flask.sessions import SecureCookieSessionInterface

from .urls import WEBHOOKS_PREFIX


class NoWebhookSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except on the webhooks.

    Twilio sends no cookie there and must never be given one. A status callback
    is also the product's busiest request, and opening, checking and saving an
    empty session (with its `Vary: Cookie`) would cost it about a tenth of its
    CPU. The null session Flask gives instead can be read but refuses writes,
    and Flask skips saving it.
    """

    def open_session(self, app, request):
        if request.path.startswith(WEBHOOKS_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)
