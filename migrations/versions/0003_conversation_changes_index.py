"""Index conversations by tenant and last change, for the inbox's change poll

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


def downgrade():
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index("ix_conversations_tenant_updated")
