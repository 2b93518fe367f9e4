"""Alembic environment: runs migrations against the configured database URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from calcard.core.models import Base

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url", "")  # db.alembic_config sets it
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
