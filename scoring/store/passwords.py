"""The password policy of workspace users: long enough, not a common password, not the name.

Guessing works through the common passwords first, so none of the 10,000 most common
(``common_passwords.txt`` beside this module, its source and licence in its header) is accepted,
in any letter case; nor is a password that holds the user's own name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
    if len(password) < MIN_PASSWORD:
        return (
            f"it has {len(password)} characters; use at least {MIN_PASSWORD} "
            "(a few unrelated words make a long password that is easy to remember)"
        )
    if password.lower() in common_passwords():
        return (
            "it is one of the 10,000 most common passwords, which are guessed first; "
            "choose one that is not"
        )
    if name and name.lower() in password.lower():
        return "it contains the user name; choose one that does not"
    return None
