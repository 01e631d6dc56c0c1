"""Alembic environment: runs migrations on the connection or URL the caller gives.

Called through ``needlewise.persistence.migrate`` (``needlewise db upgrade``), never with
an alembic.ini. SQLite needs batch mode for ALTER TABLE (stack-notes.md).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from needlewise.persistence.db import make_engine
from needlewise.persistence.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.attributes["url"], pool=False)
    with engine.connect() as fresh:
        run(fresh)
    engine.dispose()
