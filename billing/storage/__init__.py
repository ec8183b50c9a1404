"""Storage: the tables (``models``), column types (``types``), engines, sessions and
transactions (``db``) and the audit trail (``audit``).

Owns every table; the schema changes only through Alembic migrations. Only service layers
open transactions (``db.transaction``); repository functions take a session and never commit."""
