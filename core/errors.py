"""Errors the user can act on. The CLI prints their message and exits 2; no traceback."""

from __future__ import annotations

from core.lang import Lang
from core.notes import Note


class ChurnError(Exception):
    """Base of every error whose message is meant for the user.

    Raised with a :class:`core.notes.Note` instead of a text, its message is the note in English
    and :meth:`said` says it in the reader's language.
    """

    def __init__(self, *args: object) -> None:
        self.note = args[0] if len(args) == 1 and isinstance(args[0], Note) else None
        super().__init__(*((self.note.text("en"),) if self.note is not None else args))

    def said(self, lang: Lang = "en") -> str:
        """The message in ``lang`` (errors raised with a plain text keep it)."""
        return str(self) if self.note is None else self.note.text(lang)


class ContractError(ChurnError):
    """A data file breaks the data contract in a way that stops the run (schema-level)."""
