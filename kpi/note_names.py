"""A scorecard's ``notes`` (English, "; "-separated, as :mod:`kpi.scorecard` writes them) as
people read them in ``lang``: the notes the KPI modules write are named in the catalogue's
``lists`` area (``note_*``); a note no pattern knows is shown as it is."""

from __future__ import annotations

import re

from core.lang import Lang, catalogue

NOTE_PATTERNS = (
    (re.compile(r"^missing: (.+)$"), "note_missing"),
    (re.compile(r"^no customers at the period start: not scored$"), "note_no_customers"),
    (re.compile(r"^no resolved_at column: resolution time missing$"), "note_no_resolved_at"),
    (re.compile(r"^no satisfaction column: satisfaction missing$"), "note_no_satisfaction"),
    (re.compile(r"^no transaction kind: upsell_rate missing$"), "note_no_kind"),
    (re.compile(r"^no complaints table: complaint_rate missing$"), "note_no_complaints"),
    (
        re.compile(r"^no contacts table: contact response, conversion and cost missing$"),
        "note_no_contacts",
    ),
)
"""Each note the KPI modules write and its id in the catalogue's ``lists`` area."""


def component_name(name: str, lang: Lang) -> str:
    """A scorecard component (``satisfaction``, ``resolution_time``) as the workspace names it."""
    words = catalogue("workspace")
    return words.t(f"comp_{name}", lang) if f"comp_{name}" in words else name


def note_text(notes: object, lang: Lang) -> str:
    """``notes`` in ``lang`` (English as it is)."""
    if not isinstance(notes, str) or lang == "en":
        return "" if notes is None or notes != notes else str(notes)
    out = []
    for part in (p.strip() for p in notes.split(";")):
        for pattern, key in NOTE_PATTERNS:
            m = pattern.match(part)
            if m is not None:
                names = m.group(1).split(", ") if m.groups() else []
                shown = "、".join(component_name(n, lang) for n in names)
                out.append(catalogue("lists").t(key, lang, names=shown))
                break
        else:
            if part:
                out.append(part)
    return "；".join(out)
