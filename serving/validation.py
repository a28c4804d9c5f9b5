"""Checks of request bodies against the live champion models, before anything is scored.

Types, NaN/infinity and required request fields are the pydantic schemas' job; what only the
loaded models know is checked here: which features a record must carry, which fields are not
features, which category levels the models have seen, and how many items one request may carry.
Every problem names its location (``records.3.segment``) and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from scoring.champions import Champions
from serving.errors import Problem

ID_FIELD = "customer_id"
MAX_PROBLEMS = 20  # enough to fix a request; a 10,000-record mistake need not be listed in full


def check_count(items: object, field: str, max_items: int) -> list[Problem]:
    """A list field must hold between 1 and ``max_items`` items (other shapes: pydantic's job)."""
    if not isinstance(items, list):
        return []
    if not items:
        return [Problem((field,), "must hold at least one item", "too_short")]
    if len(items) > max_items:
        return [
            Problem(
                (field,),
                f"holds {len(items)} items; at most {max_items} are allowed per request",
                "too_long",
            )
        ]
    return []


def _levels(known: frozenset[str]) -> str:
    shown = sorted(known)
    more = f", ... ({len(shown)} in all)" if len(shown) > 10 else ""
    return ", ".join(shown[:10]) + more


def check_records(records: object, champions: Champions) -> list[Problem]:
    """Missing features, fields that are not features and unknown category levels, per record."""
    if not isinstance(records, list):
        return []
    required = set(champions.feature_names)
    allowed = required | {ID_FIELD}
    version = f"churn-model v{champions.churn_version} / value-model v{champions.value_version}"
    problems: list[Problem] = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            continue
        keys = set(record)
        for name in sorted(required - keys):
            problems.append(
                Problem(
                    ("records", i, name), f"field required by the champion ({version})", "missing"
                )
            )
        for name in sorted(keys - allowed):
            problems.append(
                Problem(
                    ("records", i, name),
                    f"not a feature of the champion ({version}); GET /models lists the features",
                    "extra_forbidden",
                )
            )
        for col, known in champions.categories.items():
            value = record.get(col)
            if isinstance(value, str) and value not in known:
                problems.append(
                    Problem(
                        ("records", i, col),
                        f"unknown category {value!r}; the models know {_levels(known)}",
                        "unknown_category",
                    )
                )
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems[:MAX_PROBLEMS]


def check_body(body: object, champions: Champions | None, max_items: int) -> list[Problem]:
    """All model-aware checks of a /predict, /predict_by_id or /explain body (a parsed JSON)."""
    if not isinstance(body, Mapping):
        return []
    problems: list[Problem] = []
    for field in ("records", "customer_ids"):
        problems += check_count(body.get(field), field, max_items)
    if champions is not None and not problems:
        problems += check_records(body.get("records"), champions)
    return problems
