from __future__ import annotations

import pandas as pd

from scoring.contacted import contact_details, contacted_within, last_contacts, with_contacts


def test_rows_say_when_the_customer_was_last_contacted_and_how_to_reach_them():
    data = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "ts": pd.to_datetime(["2024-05-01", "2024-06-20", "2024-06-28", "2024-06-29"]),
            "treated": [1.0, 1.0, 1.0, 0.0],  # c's row is a control: no contact
        }
    )
    logged = pd.DataFrame({"customer_id": ["b"], "ts": ["2024-07-03"], "treated": [1]})
    last = last_contacts(data, logged, None)
    assert last.to_dict() == {
        "a": pd.Timestamp("2024-06-20"),
        "b": pd.Timestamp("2024-07-03"),
    }
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "phone": ["+86 1", None, "+86 3"], "segment": "x"}
    )
    details = contact_details(customers)
    assert list(details.columns) == ["phone"]  # name and email are not in this table
    rows = pd.DataFrame({"rank": [1, 2, 3], "customer_id": ["b", "c", "a"], "benefit": [3, 2, 1]})
    out = with_contacts(rows, "2024-06-30", last, details)
    assert list(out.columns) == ["rank", "customer_id", "phone", "days_since_contact", "benefit"]
    # b was contacted after the scoring date: 0 days; c never (a control row); a 10 days ago
    assert out["days_since_contact"].tolist() == [0, pd.NA, 10]
    assert pd.isna(out.loc[0, "phone"]) and out["phone"].tolist()[1:] == ["+86 3", "+86 1"]
    skipped = with_contacts(rows, "2024-06-30", last, details, skip_days=7)
    assert skipped["customer_id"].tolist() == ["c", "a"] and skipped["rank"].tolist() == [1, 2]
    assert with_contacts(rows, "2024-06-30", last, skip_days=11)["customer_id"].tolist() == ["c"]
    assert contacted_within(last, "2024-06-30", 7) == {"b"}
    assert contacted_within(last, "2024-06-30", 0) == frozenset()
