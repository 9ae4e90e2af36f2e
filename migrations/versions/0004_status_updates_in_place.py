"""Let status changes rewrite messages in place: no index on the status, room
left in each page (PostgreSQL), and indexes for reconciliation's lookups

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_index("ix_messages_status_rank_created")
        batch_op.create_index("ix_messages_created", ["created_at"])
        batch_op.create_index(
            "ix_messages_unsent_created",
            ["created_at"],
            postgresql_where=sa.text("sid IS NULL"),
            sqlite_where=sa.text("sid IS NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        # Applies to pages written from now on; existing rows keep their pages.
        op.execute("ALTER TABLE messages SET (fillfactor = 85)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages RESET (fillfactor)")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_index("ix_messages_unsent_created")
        batch_op.drop_index("ix_messages_created")
        batch_op.create_index(
            "ix_messages_status_rank_created", ["status_rank", "created_at"]
        )
