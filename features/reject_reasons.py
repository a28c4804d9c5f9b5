"""Why a row was quarantined, in the language people read: the loaders write each rejected row's
``reason`` in English (the rejects files keep it, a stable text for programs); this reads every
part of it back by the patterns of ``core/words/data.yaml`` and says it in ``lang``, at the edge
(``churn validate --lang zh``). Column names and the values found stay as the file has them; a
part that matches no pattern is shown as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from core.lang import Lang, catalogue, show_date

SEPARATOR = "; "
"""How the loaders join the reasons of one row."""


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for key, entry in catalogue("data").entries.items():
        parts = re.split(r"\{(\w+)\}", entry["en"])
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)
        )
        out.append((key, re.compile(f"^{regex}$")))
    return tuple(out)


def reason_part(part: str, lang: Lang) -> str:
    """One reason (no separator) in ``lang``; as it is when no pattern matches it."""
    if lang == "en":
        return part
    for key, pattern in _patterns():
        m = pattern.match(part)
        if m is not None:
            values = m.groupdict()
            if "date" in values:
                values["date"] = show_date(values["date"], lang)
            return catalogue("data").t(key, lang, **values)
    return part


@dataclass(frozen=True)
class Reason:
    """A rejected row's ``reason`` as a value of a :class:`core.notes.Note`."""

    text: str
    quoted: bool = False

    def said(self, lang: Lang) -> str:
        said = reason_in(self.text, lang)
        if not self.quoted:
            return said
        return repr(said) if lang == "en" else f"“{said}”"


def reason_in(reason: str, lang: Lang) -> str:
    """A rejected row's ``reason`` (its parts joined by ``; ``) in ``lang``."""
    if lang == "en":
        return reason
    joiner = "；" if lang == "zh" else SEPARATOR
    return joiner.join(reason_part(p, lang) for p in reason.split(SEPARATOR))
