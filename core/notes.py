"""A sentence the library says to people, kept as data until someone reads it: an id of the
catalogue's ``notes`` area (``core/words/notes.yaml``) and its values. Library code (features,
training, scoring) returns or raises these; the command, the page or the log renders them in the
reader's language, so English stays one text and Chinese is the catalogue's.

A value that is itself a :class:`Note` (or a list of them) is rendered in the same language; a
list is joined with ``; `` (``；`` in Chinese).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from core.lang import Lang, catalogue, show_date

AREA = "notes"


@runtime_checkable
class Said(Protocol):
    """A value that says itself in a language (e.g. a rejected row's reason)."""

    def said(self, lang: Lang) -> str: ...


@dataclass(frozen=True)
class Note:
    """One sentence: the catalogue id ``key`` with the values of its placeholders."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)
    area: str = AREA

    def text(self, lang: Lang = "en") -> str:
        """The sentence in ``lang``."""
        values = {k: shown(v, lang) for k, v in self.params.items()}
        return catalogue(self.area).t(self.key, lang, **values)

    def __str__(self) -> str:
        return self.text("en")


class NoteText(str):
    """A note where a text is expected (lists of notes that are logged, written to JSON or
    joined): the note's English, with the note kept for :func:`say`."""

    note: Note | None

    def __new__(cls, text: str, note: Note | None = None) -> NoteText:
        made = super().__new__(cls, text)
        made.note = note
        return made

    def said(self, lang: Lang) -> str:
        return str.__str__(self) if self.note is None else self.note.text(lang)


def note_text(n: Note) -> NoteText:
    """``n`` as its English text that can still say itself in another language."""
    return NoteText(n.text("en"), n)


def say(value: object, lang: Lang) -> str:
    """A note, a :class:`NoteText` (or anything that says itself) in ``lang``; a plain text as
    it is."""
    if isinstance(value, Note):
        return value.text(lang)
    if isinstance(value, Said):
        return value.said(lang)
    return str(value)


def note(key: str, **params: object) -> Note:
    """The note ``key`` (of the ``notes`` area) with ``params``."""
    return Note(key, params)


def as_of_note(day: date, source: str) -> Note:
    """``as-of date 2024-06-30: from dataset.yaml`` (the words of ``churn validate``)."""
    return Note("as_of_date", {"date": day, "source": Note(f"as_of_{source}", area="cli")}, "cli")


def shown(value: object, lang: Lang) -> object:
    """A note's value as it is said: notes in ``lang``, a list of notes joined, others as they
    are (format specs such as ``{x:.4f}`` still apply to numbers); a date as people read it;
    a :class:`Said` as it says itself."""
    if isinstance(value, Note):
        return value.text(lang)
    if isinstance(value, Said):
        return value.said(lang)
    if isinstance(value, date):
        return show_date(value, lang)
    if isinstance(value, list | tuple) and value and all(isinstance(v, Note) for v in value):
        return joined(value, lang)
    return value


def joined(notes: Sequence[Note | str], lang: Lang) -> str:
    """Several notes as one text: ``; `` between them (``；`` in Chinese)."""
    return ("；" if lang == "zh" else "; ").join(
        n.text(lang) if isinstance(n, Note) else n for n in notes
    )
