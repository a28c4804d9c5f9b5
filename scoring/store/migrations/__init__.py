"""Alembic migrations of the store's schema (:mod:`scoring.store.schema`), run by
:mod:`scoring.store.migrate`; ``versions/`` holds one module per revision."""
