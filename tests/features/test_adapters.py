"""Adapters on small slices of the real data sets: typed, validated, rejects counted with a reason,
missing columns named, and the written folders readable by the product's own loaders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import import_ as import_command
from churn.commands import validate as validate_command
from core.config import load_yaml
from core.errors import ContractError
from features.adapters import cdnow, ecommerce, iranian, telco
from features.adapters.event_log import write_contract_folder
from features.adapters.importer import (
    SNAPSHOT_FILE,
    SNAPSHOT_MANIFEST,
    get_adapter,
    import_to_folder,
)
from features.adapters.snapshot import LABEL, VALUE, AdapterError, snake
from features.loaders import load_dataset

DATA = Path(__file__).parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real data sets not found at {DATA} (../shared/data)"
)


def head(src: Path, dst: Path, n: int, extra: list[str] = ()) -> Path:
    """The header and first ``n`` data lines of ``src`` (line ends kept), plus ``extra`` lines."""
    lines = src.read_bytes().splitlines(keepends=True)
    body = b"".join(lines[: n + 1]) + b"".join(e.encode() + b"\n" for e in extra)
    dst.write_bytes(body)
    return dst


def assert_balanced(report) -> None:
    assert report.read == report.accepted + report.rejected


@needs_data
def test_telco_slice_types_and_fills_unbilled_total_charges(tmp_path):
    # line 490 of the file is a tenure-0 customer whose TotalCharges is " "
    path = head(DATA / telco.FOLDER / telco.FILE, tmp_path / "telco.csv", 500)
    data = telco.load(path)
    assert data.report.read == 500 and data.report.rejected == 0
    frame = data.frame
    assert frame["total_charges"].dtype == "float64" and frame["total_charges"].notna().all()
    assert frame.loc[frame["tenure"] == 0, "total_charges"].eq(0.0).all()
    assert any("TotalCharges" in n and "tenure 0" in n for n in data.notes)
    assert isinstance(frame["contract"].dtype, pd.CategoricalDtype)
    assert set(frame["contract"].cat.categories) == {"Month-to-month", "One year", "Two year"}
    assert frame["customer_id"].iloc[0] == "7590-VHVEG"
    assert set(frame[LABEL].unique()) <= {0.0, 1.0}
    assert frame[VALUE].equals(frame["monthly_charges"])
    scores = telco.rules(frame)
    assert set(scores) == {"month-to-month contract", "month-to-month, then shortest tenure"}


@needs_data
def test_telco_bad_rows_are_rejected_with_reason_and_counted(tmp_path):
    src = DATA / telco.FOLDER / telco.FILE
    good = src.read_text().splitlines()[1]
    bad_label = good.replace("7590-VHVEG", "X-1").rsplit(",", 1)[0] + ",Maybe"
    bad_number = good.replace("7590-VHVEG", "X-2").replace("29.85,29.85", "29.85,abc")
    duplicate = src.read_text().splitlines()[2]
    path = head(src, tmp_path / "telco.csv", 20, [bad_label, bad_number, duplicate])
    data = telco.load(path)
    assert (data.report.read, data.report.accepted, data.report.rejected) == (23, 20, 3)
    assert_balanced(data.report)
    reasons = dict(zip(data.rejects["customerID"], data.rejects["reason"], strict=True))
    assert "label must be one of 'Yes', 'No'" in reasons["X-1"] and "'Maybe'" in reasons["X-1"]
    assert "TotalCharges: not a number (got 'abc')" in reasons["X-2"]
    assert "duplicate customerID" in reasons["5575-GNVDE"]
    assert len(data.frame) == 20


@needs_data
def test_missing_column_names_it(tmp_path):
    raw = pd.read_csv(DATA / telco.FOLDER / telco.FILE, nrows=5).drop(columns=["Contract"])
    raw.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(AdapterError, match="missing column\\(s\\) 'Contract' of the telco layout"):
        telco.load(tmp_path / "t.csv")


@needs_data
def test_iranian_slice_has_row_ids_value_and_duplicate_groups(tmp_path):
    src = DATA / iranian.FOLDER / iranian.FILE
    lines = src.read_text().splitlines()
    path = head(src, tmp_path / "ir.csv", 200, [lines[1], lines[1], lines[5]])
    data = iranian.load(path)
    assert data.report.accepted == 203 and data.report.rejected == 0
    assert data.frame["customer_id"].iloc[0] == "row-2"
    assert "call_failure" in data.features and "subscription_length" in data.features
    assert data.value == VALUE and data.frame[VALUE].equals(data.frame["customer_value"])
    assert data.duplicate_rows >= 3
    groups = data.groups
    assert groups[0] == groups[200] == groups[201] and groups[4] == groups[202]
    assert set(iranian.rules(data.frame)) == {"complained", "complained, then non-active status"}


@needs_data
def test_ecommerce_slice_merges_spellings_and_keeps_blanks_missing(tmp_path):
    path = head(DATA / ecommerce.FOLDER / ecommerce.FILE, tmp_path / "ec.csv", 400)
    data = ecommerce.load(path)
    assert data.report.rejected == 0
    levels = set(data.frame["preferred_payment_mode"].cat.categories)
    assert not levels & {"CC", "COD"}
    assert "Phone" not in set(data.frame["preferred_login_device"].cat.categories)
    assert data.frame["tenure"].isna().sum() > 0
    assert any(n.startswith("Tenure:") and "kept as missing" in n for n in data.notes)
    assert data.value is None


@needs_data
def test_cdnow_slice_maps_into_the_contract(tmp_path):
    path = head(DATA / cdnow.FOLDER / cdnow.FILE, tmp_path / "cd.csv", 300)
    ds = cdnow.load(path)
    tx, customers = ds.tables["transactions"], ds.tables["customers"]
    assert ds.as_of == pd.Timestamp("1998-06-30")
    assert ds.reports["transactions"].accepted == 300
    assert customers["customer_id"].iloc[0] == "00001"  # zero padding kept
    first = tx.groupby("customer_id")["ts"].min()
    assert customers.set_index("customer_id")["signup_date"].equals(first.rename("signup_date"))
    assert tx["amount"].dtype == "float64" and (tx["kind"] == "purchase").all()
    assert "number_of_cds" in tx.columns


@needs_data
def test_cdnow_rejects_and_schema_errors(tmp_path):
    src = DATA / cdnow.FOLDER / cdnow.FILE
    extra = ["99999,19970105,1,abc", ",19970105,1,3.0", "00001,1997-13-45,1,3.0"]
    path = head(src, tmp_path / "cd.csv", 50, extra)
    ds = cdnow.load(path)
    rep = ds.reports["transactions"]
    assert (rep.read, rep.rejected) == (53, 3)
    reasons = " | ".join(ds.rejects["transactions"]["reason"])
    assert "amount: not a number (got 'abc')" in reasons
    assert "customer_id: required value is empty" in reasons
    # one bad date is one rejected row; a date column none of whose values parse is a schema error
    assert "ts: not a date in the format %Y%m%d (got '1997-13-45')" in reasons
    iso = tmp_path / "iso.csv"
    iso.write_text("customer_id,date,number_of_cds,dollar_value\n00001,1997-01-01,1,3.0\n")
    with pytest.raises(
        ContractError, match="column 'date' \\(mapped to ts\\): none of its 1 value"
    ):
        cdnow.load(iso)


@needs_data
def test_contract_folder_round_trips_through_the_loader(tmp_path):
    ds = cdnow.load(head(DATA / cdnow.FOLDER / cdnow.FILE, tmp_path / "cd.csv", 200))
    write_contract_folder(ds, tmp_path / "out")
    again = load_dataset(tmp_path / "out")
    assert again.as_of == ds.as_of
    for name in ("customers", "transactions"):
        assert again.reports[name].rejected == 0
        assert len(again.tables[name]) == len(ds.tables[name])
    pd.testing.assert_series_equal(
        again.tables["transactions"]["amount"], ds.tables["transactions"]["amount"]
    )


def test_unknown_adapter_lists_known_names():
    with pytest.raises(AdapterError, match="known adapters: telco, iranian, cdnow, ecommerce"):
        get_adapter("netflix")
    assert get_adapter(" Telco ").name == "telco"


def test_snake_names():
    assert snake("Call  Failure") == "call_failure"
    assert snake("MonthlyCharges") == "monthly_charges"
    assert snake("OrderAmountHikeFromlastYear") == "order_amount_hike_fromlast_year"


@needs_data
def test_import_snapshot_writes_parquet_and_manifest(tmp_path):
    src = head(DATA / iranian.FOLDER / iranian.FILE, tmp_path / "ir.csv", 60)
    data, written = import_to_folder("iranian", src, tmp_path / "out")
    assert {p.name for p in written} == {SNAPSHOT_FILE, SNAPSHOT_MANIFEST}
    frame = pd.read_parquet(tmp_path / "out" / SNAPSHOT_FILE)
    assert len(frame) == 60 and frame[LABEL].dtype == "float64"
    manifest = load_yaml(tmp_path / "out" / SNAPSHOT_MANIFEST)
    assert manifest["read"] == 60 and manifest["value"] == VALUE
    assert manifest["features"] == list(data.features)


@needs_data
def test_churn_import_command_writes_a_folder_churn_validate_accepts(tmp_path):
    src = head(DATA / cdnow.FOLDER / cdnow.FILE, tmp_path / "cd.csv", 100)
    runner = CliRunner()
    app = typer.Typer()
    import_command.register(app)
    validate_command.register(app)
    out = tmp_path / "contract"
    result = runner.invoke(app, ["import", "cdnow", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "transactions" in result.output and (out / "customers.csv").is_file()
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0 and "contract OK" in checked.output
