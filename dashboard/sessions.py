"""Signed-cookie sessions for people, and none for machines: the JSON API and
Twilio's webhooks."""

from flask.sessions import SecureCookieSessionInterface

from .urls import is_for_machines


class PeopleOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except on paths for machines.

    Integrators authenticate with bearer tokens and Twilio with signatures;
    neither sends a cookie, and neither must be given one or be recognised by
    a browser's. A status callback is also the product's busiest request, and
    opening, checking and saving an empty session (with its `Vary: Cookie`)
    would cost it about a tenth of its CPU. The null session Flask gives
    instead can be read but refuses writes, and Flask skips saving it.
    """

    def open_session(self, app, request):
        if is_for_machines(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)
