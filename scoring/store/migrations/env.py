"""Alembic's entry point for the store: run by :mod:`scoring.store.migrate`, never from an
``alembic.ini``. Online, it migrates on the connection the caller passes (already in a locked
transaction); offline (``churn store upgrade --sql``) it prints the SQL for the configured URL's
database. Logging is left to the application (no ``fileConfig``)."""

from __future__ import annotations

from alembic import context

from scoring.store.schema import METADATA, VERSION_TABLE


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Only the store's fixed tables take part in comparisons (a shared database also holds
    MLflow's tables, and the feature tables are data, not schema)."""
    return type_ != "table" or name in METADATA.tables


def run_offline() -> None:
    """Write the migrations' SQL to the configured output instead of running it."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        include_name=include_name,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate on the caller's connection, inside the caller's transaction."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        include_name=include_name,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
