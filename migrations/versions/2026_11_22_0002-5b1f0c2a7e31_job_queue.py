"""job queue: procrastinate's schema on the same database

Revision ID: 5b1f0c2a7e31
Revises: d9d66cab8ad2
Create Date: 2026-11-22 02:20:00

The schema comes from the installed procrastinate (3.x). When procrastinate is upgraded, add a
migration that runs the SQL files it ships under procrastinate/sql/migrations for the new version.
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "5b1f0c2a7e31"
down_revision: str | None = "d9d66cab8ad2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _execute_raw(sql: str) -> None:
    # Straight to the DBAPI cursor without parameters: the SQL holds ':' and '%' that text() and
    # psycopg's placeholder parsing would misread. Same connection, same transaction.
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade() -> None:
    _execute_raw(SchemaManager.get_schema())


def downgrade() -> None:
    _execute_raw(
        """
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables
                     WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig);
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                       AND (t.typtype = 'e' OR (t.typtype = 'c' AND EXISTS (
                           SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))) LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
            END LOOP;
        END $$;
        """
    )
