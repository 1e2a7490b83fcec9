"""Alembic's environment: migrations run on the connection storage/schema.py hands over
(`config.attributes["connection"]`), or on `sqlalchemy.url` for Alembic's own command
line (`alembic -x` is not used)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from unlearnscope.storage.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # Alembic's command line, e.g. `alembic revision --autogenerate`
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    connection = engine.connect()
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
