"""Trigram indexes for searching messages by text and number (PostgreSQL only)

Searches use ILIKE '%...%', which no B-tree can serve; pg_trgm's GIN indexes can.
SQLite has no equivalent and keeps scanning, which is fine at its scale.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_messages_body_trgm ON messages USING gin (body gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_messages_contact_trgm "
        "ON messages USING gin (contact_number gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_conversations_name_trgm "
        "ON conversations USING gin (contact_name gin_trgm_ops)"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_conversations_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_messages_contact_trgm")
    op.execute("DROP INDEX IF EXISTS ix_messages_body_trgm")
