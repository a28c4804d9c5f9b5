"""The campaign's decision rules (:func:`kpi.campaign.rule_savings`'s ``rule`` column) named in
English or Chinese for people; the column itself keeps the English name, an identifier that
the recommended rule and the upper bound are compared with."""

from __future__ import annotations

import re

from core.lang import Lang, catalogue

RULE_PATTERNS = (
    (re.compile(r"^top (\d+) per manager by expected profit$"), "rule_top_profit"),
    (re.compile(r"^top (\d+) per manager by probability$"), "rule_top_probability"),
    (re.compile(r"^expected profit > 0 \(no capacity\)$"), "rule_profitable"),
    (re.compile(r"^everybody$"), "rule_everybody"),
    (re.compile(r"^nobody$"), "rule_nobody"),
)
"""Each rule's English name and its id in the catalogue's ``lists`` area."""


def rule_name(rule: str, lang: Lang) -> str:
    """``rule`` as people read it in ``lang``; a name no pattern knows is shown as it is."""
    for pattern, key in RULE_PATTERNS:
        m = pattern.match(rule)
        if m is not None:
            k = m.group(1) if m.groups() else ""
            return catalogue("lists").t(key, lang, k=k)
    return rule
