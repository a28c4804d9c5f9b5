"""Write a generated customer book out the way a CRM would export it, for
docs/bring-your-own-data.md.

    churn generate --customers 3000 --seed 5 --no-campaigns --out /tmp/byod/gen
    python docs/examples/byod/make_export.py /tmp/byod/gen /tmp/byod/export
    python docs/examples/byod/make_export.py /tmp/byod/gen /tmp/byod/short 2021-04-30  # 4 months

The export has the CRM's own header names, day-first dates, a semicolon-separated orders file
with refunds and two broken rows, a tickets file, no dataset.yaml and none of the generator's
hidden truth (``_truth/`` is never read). ``crm.db`` holds the same orders in SQLite, typed as
a database holds them: the two broken rows cannot be stored in typed columns, so they are not there.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DAY = "%d/%m/%Y"
DAY_TIME = "%d/%m/%Y %H:%M"
REFUNDS = 40
BAD_DATE_AT, BAD_AMOUNT_AT = 1_000, 30_000
"""Positions in the orders file (0-based data rows) of the two broken rows."""


def _day_first(dates: pd.Series, fmt: str) -> pd.Series:
    """Dates as dd/mm/yyyy text, empty where there is none."""
    return dates.dt.strftime(fmt).fillna("")


def customers(gen: Path) -> pd.DataFrame:
    c = pd.read_parquet(gen / "customers.parquet")
    return pd.DataFrame(
        {
            "Cust ID": c["customer_id"],
            "Signed Up": _day_first(c["signup_date"], DAY),
            "Segment": c["segment"].map(
                {"consumer": "Consumer", "smb": "SMB", "enterprise": "Enterprise"}
            ),
            "Region": c["region"].str.title(),
            "Plan": c["plan"],
            "Account Manager": c["account_manager_id"],
            "Contract End": _day_first(c["contract_end_date"], DAY),
            "Cancelled On": _day_first(c["cancelled_at"], DAY),
        }
    )


def orders(gen: Path, rng: np.random.Generator) -> pd.DataFrame:
    """Orders with the time of day to the minute, a few refunds (negative amounts, a few days
    after the order they refund), in date order like a CRM report."""
    t = pd.read_parquet(gen / "transactions.parquet")
    as_of = t["ts"].max().normalize() + pd.Timedelta(days=1)
    bought = t[t["kind"] == "purchase"].sample(REFUNDS, random_state=rng.integers(2**31))
    refunds = bought.assign(
        ts=bought["ts"] + pd.to_timedelta(rng.integers(2, 10, REFUNDS), unit="D"),
        amount=-bought["amount"],
        kind="refund",
        order_id=bought["order_id"] + "-R",
    )
    t = pd.concat([t, refunds[refunds["ts"] < as_of]]).sort_values("ts", kind="stable")
    return pd.DataFrame(
        {
            "Order No": t["order_id"],
            "Order Date": t["ts"].dt.strftime(DAY_TIME),
            "Customer": t["customer_id"],
            "Product": t["category"].fillna(""),
            "Type": t["kind"].str.title(),
            "Net Amount": t["amount"].round(2).astype(str),
        }
    ).reset_index(drop=True)


def break_rows(o: pd.DataFrame) -> pd.DataFrame:
    """Two rows a CRM export really contains: a date that does not exist, an amount not filled in."""
    o = o.copy()
    o.loc[BAD_DATE_AT, "Order Date"] = "31/02/2021 10:15"
    o.loc[BAD_AMOUNT_AT, "Net Amount"] = "TBC"
    return o


def tickets(gen: Path) -> pd.DataFrame:
    k = pd.read_parquet(gen / "complaints.parquet")
    return pd.DataFrame(
        {
            "Customer": k["customer_id"],
            "Opened": _day_first(k["opened_at"], DAY_TIME),
            "Closed": _day_first(k["resolved_at"], DAY_TIME),
            "Topic": k["category"].fillna(""),
            "Priority": k["severity"].astype("Int64").astype(str).replace("<NA>", ""),
            "CSAT": k["satisfaction"].astype("Int64").astype(str).replace("<NA>", ""),
        }
    )


def to_sqlite(o: pd.DataFrame, path: Path) -> None:
    """The orders as a database holds them: a timestamp column (ISO text in SQLite) and a number."""
    db = pd.DataFrame(
        {
            "order_no": o["Order No"],
            "ordered_at": pd.to_datetime(o["Order Date"], format=DAY_TIME, errors="coerce"),
            "customer": o["Customer"],
            "product": o["Product"],
            "type": o["Type"].str.lower(),
            "net_amount": pd.to_numeric(o["Net Amount"], errors="coerce"),
        }
    ).dropna(subset=["ordered_at", "net_amount"])
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        db.to_sql("orders", conn, index=False)


def cut(
    c: pd.DataFrame, o: pd.DataFrame, k: pd.DataFrame, until: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The export as it would have been taken on ``until``: customers signed up by then, orders
    and tickets up to then, no cancellation or ticket closing that had not happened yet."""
    end = pd.Timestamp(until) + pd.Timedelta(days=1)

    def before(text: pd.Series, fmt: str) -> pd.Series:
        return pd.to_datetime(text, format=fmt, errors="coerce") < end

    c = c[before(c["Signed Up"], DAY)]
    c = c.assign(**{"Cancelled On": c["Cancelled On"].where(before(c["Cancelled On"], DAY), "")})
    o = o[before(o["Order Date"], DAY_TIME) | (o["Order Date"] == "31/02/2021 10:15")]
    k = k[before(k["Opened"], DAY_TIME)]
    k = k.assign(Closed=k["Closed"].where(before(k["Closed"], DAY_TIME), ""))
    return c, o, k


def main(gen: Path, out: Path, until: str | None = None) -> None:
    rng = np.random.default_rng(5)
    out.mkdir(parents=True, exist_ok=True)
    c, o, k = customers(gen), break_rows(orders(gen, rng)), tickets(gen)
    if until is not None:
        c, o, k = cut(c, o, k, until)
    c.to_csv(out / "customers.csv", index=False)
    o.to_csv(out / "orders.csv", sep=";", index=False)
    k.to_csv(out / "tickets.csv", index=False)
    to_sqlite(o, out / "crm.db")
    print(f"wrote {out}: customers.csv, orders.csv, tickets.csv, crm.db")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:])
