"""Index conversations by last change (the inbox's change poll) and by number
(history's number search, through pg_trgm on PostgreSQL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.create_index(
            "ix_conversations_tenant_updated", ["tenant_id", "updated_at"]
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_conversations_contact_trgm "
            "ON conversations USING gin (contact_number gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_conversations_contact_trgm")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index("ix_conversations_tenant_updated")
