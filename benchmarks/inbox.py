"""Inbox, thread and history queries on a large tenant, against the original
design's grouping query on the same data.

    .venv/bin/python -m benchmarks.inbox [--messages 1000000] [--contacts 100000]

Fills a scratch PostgreSQL database (created next to BENCH_DATABASE_URL, default
the local `test` database, and dropped afterwards) through the migrations plus
bulk SQL, then times each query `--repeat` times and prints p50/p95 in
milliseconds and the speed-up over the grouping query.
"""

import argparse
import logging
import os

import sqlalchemy as sa
from flask_migrate import upgrade

from dashboard import create_app
from dashboard.extensions import db
from dashboard.messaging.history import Filters, history_page

from .common import DEFAULT_SERVER, scratch_database, summary, timings

TENANT_ID = 1
GOALS_MS = {"inbox first page": 2, "history page with total": 10, "history search": 20}


def main():
    options = _options()
    url, drop = scratch_database(
        os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER), "dashboard_bench"
    )
    app = create_app(environ={**os.environ, "DATABASE_URL": url})
    logging.getLogger("dashboard").setLevel(logging.WARNING)
    try:
        with app.app_context():
            _fill(options.messages, options.contacts)
            _report(_measure(options.repeat))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def _options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    return parser.parse_args()


def _fill(messages, contacts):
    """Schema through the migrations; rows through set-based SQL (seconds, not
    hours); search indexes built after the rows, as a restore would."""
    upgrade(revision="0001")
    statements = [
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 'Bench', now())",
        "INSERT INTO wallets (id, tenant_id, balance, updated_at) "
        "VALUES (1, 1, 0, now())",
        f"""
        INSERT INTO messages (
            tenant_id, wallet_id, sid, direction, from_number, to_number,
            contact_number, body, message_type, status, status_rank, cost,
            num_media, created_at, updated_at)
        SELECT 1,
               CASE WHEN g % 2 = 0 THEN 1 END,
               'SM' || md5(g::text),
               CASE WHEN g % 2 = 0 THEN 'outbound' ELSE 'inbound' END,
               CASE WHEN g % 2 = 0 THEN '+14155238886' ELSE contact END,
               CASE WHEN g % 2 = 0 THEN contact ELSE '+14155238886' END,
               contact,
               'Message ' || g || ' about order #' || (g % 50000)
                   || CASE WHEN g % 997 = 0 THEN ' refund_request 100%' ELSE '' END,
               CASE WHEN g % 2 = 0 THEN 'free' ELSE 'incoming' END,
               CASE WHEN g % 2 = 0 THEN 'read' ELSE 'received' END,
               CASE WHEN g % 2 = 0 THEN 6 ELSE 5 END,
               CASE WHEN g % 2 = 0 THEN 275 END,
               0,
               now() - make_interval(secs => {messages} - g),
               now() - make_interval(secs => {messages} - g)
        FROM (SELECT g, '+55119' || lpad((g % {contacts})::text, 8, '0') AS contact
              FROM generate_series(1, {messages}) AS g) AS numbered
        """,
        """
        INSERT INTO conversations (
            tenant_id, contact_number, last_message_at, last_message_preview,
            last_incoming_at, unread_count, message_count, status, created_at,
            updated_at)
        SELECT 1, contact_number, max(created_at), 'preview',
               max(created_at) FILTER (WHERE direction = 'inbound'),
               0, count(*), 'open', min(created_at), max(created_at)
        FROM messages GROUP BY contact_number
        """,
    ]
    for statement in statements:
        db.session.execute(sa.text(statement))
    db.session.commit()
    upgrade()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM ANALYZE"))


def _naive_grouping():
    """The original design's conversation list: group every incoming message."""
    return db.session.execute(
        sa.text(
            "SELECT from_number AS contact, max(created_at) AS last_message_at, "
            "count(id) AS message_count FROM messages "
            "WHERE tenant_id = :tenant AND direction = 'inbound' "
            "GROUP BY from_number ORDER BY max(created_at) DESC LIMIT 20"
        ),
        {"tenant": TENANT_ID},
    ).all()


def _measure(repeat):
    from dashboard.inbox.threads import ListFilters, conversations_page, thread_page
    from dashboard.models import Conversation

    busy_contact = db.session.scalar(
        sa.text(
            "SELECT contact_number FROM conversations "
            "ORDER BY last_message_at DESC LIMIT 1"
        )
    )
    conversation_id = db.session.scalar(
        sa.text("SELECT id FROM conversations WHERE contact_number = :c"),
        {"c": busy_contact},
    )
    conversation = db.session.get(Conversation, conversation_id)
    inbox_filters = ListFilters.from_args({})
    cases = {
        "naive grouping (original)": _naive_grouping,
        "inbox first page": lambda: conversations_page(
            TENANT_ID, inbox_filters, user_id=None
        ),
        "thread page": lambda: thread_page(conversation),
        "history page with total": lambda: history_page(TENANT_ID, Filters()),
        "history search": lambda: history_page(
            TENANT_ID, Filters(search="refund_request 100%")
        ),
        "history number search": lambda: history_page(
            TENANT_ID, Filters(search=busy_contact[-7:])
        ),
    }
    results = {}
    for name, run in cases.items():
        results[name] = summary(timings(lambda run=run: _fresh(run), repeat))
    return results


def _fresh(run):
    run()
    db.session.expire_all()


def _report(results):
    baseline = results["naive grouping (original)"]["p95"]
    print(f"{'query':<28} {'p50 ms':>9} {'p95 ms':>9} {'vs naive':>9}  goal")
    for name, figures in results.items():
        ratio = baseline / figures["p95"] if figures["p95"] else float("inf")
        goal = GOALS_MS.get(name)
        verdict = ""
        if goal is not None:
            verdict = (
                f"p95 <= {goal} ms: {'met' if figures['p95'] <= goal else 'MISSED'}"
            )
        print(
            f"{name:<28} {figures['p50']:>9.3f} {figures['p95']:>9.3f} "
            f"{ratio:>8.1f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
