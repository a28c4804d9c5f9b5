"""What goes wrong with the store, in two forms: the message for the log and the operator, and
``public`` words safe for API clients (no URL, SQL or command)."""

from __future__ import annotations

from core.errors import ChurnError
from core.notes import Note, note


class StoreError(ChurnError):
    """The store cannot be opened, or holds nothing for the question asked.

    ``public`` is the message without the store's URL or commands (what an API client reads).
    """

    def __init__(self, message: str | Note, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or str(self)


class StoreUnavailable(ChurnError):
    """The store cannot be read now (missing, corrupt, unreachable); ``public`` says which in
    words safe for API clients, the message adds the database's own error (for the log)."""

    def __init__(self, public: str | Note, detail: str) -> None:
        super().__init__(note("store_unavailable", public=public, detail=detail))
        self.public = str(public)
        self.public_note = public if isinstance(public, Note) else None


class StoreVersionError(StoreError):
    """The store's schema is newer than this code knows (written by a later release)."""
