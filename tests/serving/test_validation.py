"""Model-aware checks of request bodies: every problem names its location and reason."""

from __future__ import annotations

from scoring.champions import Champions
from serving.validation import MAX_PROBLEMS, check_body, check_count, check_records


def _record(champions: Champions, scoring_frame) -> dict:
    row = scoring_frame.iloc[0]
    out = {"customer_id": str(row["customer_id"])}
    for name in champions.feature_names:
        value = row[name]
        out[name] = None if not isinstance(value, str) and value != value else value
    return {
        k: (str(v) if k in champions.categories and v is not None else v) for k, v in out.items()
    }


def test_counts():
    assert check_count([1], "records", 2) == []
    assert check_count(None, "records", 2) == []  # absent: the schema reports it
    (empty,) = check_count([], "records", 2)
    assert empty.loc == ("records",) and "at least one" in empty.msg
    (many,) = check_count([1, 2, 3], "customer_ids", 2)
    assert many.loc == ("customer_ids",) and "3 items; at most 2" in many.msg


def test_a_complete_record_passes(champions: Champions, scoring_frame):
    record = _record(champions, scoring_frame)
    assert check_records([record], champions) == []
    assert check_body({"records": [record]}, champions, 5) == []


def test_missing_extra_and_unknown_category_are_named(champions: Champions, scoring_frame):
    record = _record(champions, scoring_frame)
    good = dict(record)
    del record["recency_days"]
    record["shoe_size"] = 44.0
    record["segment"] = "martian"
    problems = check_records([good, record], champions)
    found = {(p.loc, p.type) for p in problems}
    assert found == {
        (("records", 1, "recency_days"), "missing"),
        (("records", 1, "shoe_size"), "extra_forbidden"),
        (("records", 1, "segment"), "unknown_category"),
    }
    unknown = next(p for p in problems if p.type == "unknown_category")
    assert "'martian'" in unknown.msg and "enterprise" in unknown.msg
    assert all(p.as_dict()["loc"][0] == "records" for p in problems)


def test_problem_lists_are_capped_and_shapes_left_to_the_schema(champions: Champions):
    problems = check_body({"records": [{"x": 1}] * 50}, champions, 100)
    assert len(problems) == MAX_PROBLEMS
    assert check_body([1, 2], champions, 5) == []
    assert check_records("not a list", champions) == []
    assert check_records([1, "a"], champions) == []
    (too_many,) = check_body({"customer_ids": ["a"] * 6}, None, 5)
    assert too_many.type == "too_long"
