"""The main menu: which areas a person's role opens."""

from flask import current_app

# (endpoint, label, roles) in menu order; an area appears once its blueprint does.
MENU = (
    ("inbox.index", "Inbox", ("admin", "agent")),
    ("messages.index", "Messages", ("admin", "agent")),
    ("wallet.show", "Wallet", ("admin", "agent")),
    ("templates_admin.index", "Templates", ("admin",)),
    ("twilio_setup.show", "Twilio", ("admin",)),
    ("api_tokens.index", "API tokens", ("admin",)),
    ("users.index", "People", ("admin",)),
    ("audit_log.index", "Audit", ("admin",)),
)


def nav_links(user):
    endpoints = current_app.view_functions
    return [
        (endpoint, label)
        for endpoint, label, roles in MENU
        if user.role in roles and endpoint in endpoints
    ]
