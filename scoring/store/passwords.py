"""The password policy of workspace users: long enough, not a common password, not the name.

Guessing works through the common passwords first, so none of the 10,000 most common
(``common_passwords.txt`` beside this module, its source and licence in its header) is accepted,
in any letter case; nor is a password that holds the user's own name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from core.notes import Note, note

MIN_PASSWORD = 12
COMMON_FILE = Path(__file__).resolve().parent / "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The common passwords in lower case (the file's lines after its note)."""
    text = COMMON_FILE.read_text("utf-8")
    _, _, listed = text.partition("\n\n")
    return frozenset(line.strip().lower() for line in listed.splitlines() if line.strip())


def password_problem(name: str, password: str) -> str | None:
    """Why ``password`` may not be ``name``'s, in plain words (None: it may)."""
    why = password_note(name, password)
    return None if why is None else why.text("en")


def password_note(name: str, password: str) -> Note | None:
    """:func:`password_problem` as a note (said in the reader's language)."""
    if len(password) < MIN_PASSWORD:
        return note("password_short", n=len(password), least=MIN_PASSWORD)
    if password.lower() in common_passwords():
        return note("password_common")
    if name and name.lower() in password.lower():
        return note("password_name")
    return None
