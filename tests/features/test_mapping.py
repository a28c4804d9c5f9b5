"""Mapping specs: a CRM export in files mapped onto the contract (renames, date formats, constants,
per-row quarantine), snapshot specs, spec errors, and every named data set through its shipped
spec and ``churn import``."""

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
from features.adapters.importer import ADAPTERS, SNAPSHOT_FILE, import_spec
from features.adapters.mapping import apply_spec_file
from features.adapters.mapping_spec import SPECS, SnapshotMapping, load_spec
from features.adapters.snapshot import AdapterError
from features.loaders import load_dataset

DATA = Path(__file__).parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real data sets not found at {DATA} (../shared/data)"
)

CRM_SPEC = """
name: shop
as_of: 2024-06-30
tables:
  customers:
    file: export/clients.csv
    columns: {customer_id: Client Code, signup_date: Joined, segment: Tier}
    date_formats: {signup_date: "%d/%m/%Y"}
    constants: {region: EMEA}
  transactions:
    file: export/orders.csv
    delimiter: ";"
    columns: {customer_id: client, ts: Order Date, amount: TOTAL, order_id: Order No}
    date_formats: {ts: "%d.%m.%Y %H:%M"}
    constants: {kind: purchase}
    keep: [Channel]
  complaints:
    file: export/tickets.csv
    columns: {customer_id: client, opened_at: opened, severity: prio}
"""
CLIENTS = """Client Code,Joined,Tier
A1,05/01/2023,smb
A2,17/03/2023,enterprise
A3,31/02/2023,smb
A4,01/06/2023,consumer
"""
ORDERS = """client;Order Date;TOTAL;Order No;Channel
A1;02.02.2024 10:30;120.50;o-1;web
A2;15.03.2024 09:00;80;o-2;shop
A1;01.05.2024 18:45;abc;o-3;web
A4;20.06.2024 12:00;42.0;o-4;web
"""
TICKETS = """client,opened,prio
A1,2024-03-01,2
A2,2024-04-01T08:00:00+02:00,9
"""


def _crm(tmp_path: Path, orders: str = ORDERS) -> Path:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "clients.csv").write_text(CLIENTS)
    (tmp_path / "export" / "orders.csv").write_text(orders)
    (tmp_path / "export" / "tickets.csv").write_text(TICKETS)
    spec = tmp_path / "shop.yaml"
    spec.write_text(CRM_SPEC)
    return spec


def test_crm_export_maps_with_renames_date_formats_and_constants(tmp_path):
    ds = apply_spec_file(_crm(tmp_path)).data
    customers, tx = ds.tables["customers"], ds.tables["transactions"]
    assert customers["customer_id"].tolist() == ["A1", "A2", "A4"]
    assert customers["signup_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-01-05",
        "2023-03-17",
        "2023-06-01",
    ]
    assert (customers["region"] == "EMEA").all() and customers["segment"].iloc[1] == "enterprise"
    assert tx["ts"].iloc[0] == pd.Timestamp("2024-02-02 10:30")
    assert tx["amount"].tolist() == [120.5, 80.0, 42.0] and (tx["kind"] == "purchase").all()
    assert tx["order_id"].tolist() == ["o-1", "o-2", "o-4"] and "Channel" in tx
    # an offset is converted to UTC, as the loaders do
    assert ds.tables["complaints"]["opened_at"].tolist() == [pd.Timestamp("2024-03-01")]


def test_bad_values_are_quarantined_per_row_with_their_reason(tmp_path):
    ds = apply_spec_file(_crm(tmp_path)).data
    for report in ds.reports.values():
        assert report.read == report.accepted + report.rejected
    c = ds.reports["customers"]
    assert (c.read, c.accepted, c.rejected) == (4, 3, 1)
    bad_date = ds.rejects["customers"].iloc[0]
    assert bad_date["source_row"] == 4 and bad_date["customer_id"] == "A3"
    assert bad_date["reason"] == "signup_date: not a date in the format %d/%m/%Y (got '31/02/2023')"
    reasons = dict(
        zip(
            ds.rejects["transactions"]["order_id"],
            ds.rejects["transactions"]["reason"],
            strict=True,
        )
    )
    assert reasons == {"o-3": "amount: not a number (got 'abc')"}
    assert ds.rejects["complaints"]["reason"].str.contains("severity: must be <= 3").all()


def test_written_folder_passes_validate_and_keeps_rejects(tmp_path):
    spec = _crm(tmp_path)
    _, written = import_spec(spec, out=tmp_path / "out")
    names = {p.name for p in written}
    assert {"customers.csv", "transactions.csv", "complaints.csv", "dataset.yaml"} <= names
    assert "customers.rejects.csv" in names
    rejects = pd.read_csv(tmp_path / "out" / "rejects" / "customers.rejects.csv")
    assert "31/02/2023" in rejects["reason"].iloc[0]
    again = load_dataset(tmp_path / "out")
    assert again.as_of == pd.Timestamp("2024-06-30")
    assert all(r.rejected == 0 for r in again.reports.values())
    assert again.tables["transactions"]["ts"].iloc[0] == pd.Timestamp("2024-02-02 10:30")


def test_a_wrong_date_format_for_the_whole_column_stops_with_the_column(tmp_path):
    spec = _crm(tmp_path)
    spec.write_text(CRM_SPEC.replace('"%d.%m.%Y %H:%M"', '"%Y-%m-%d"'))
    with pytest.raises(
        ContractError,
        match="orders.csv, column 'Order Date' \\(mapped to ts\\): none of its 4 value",
    ):
        apply_spec_file(spec)


def test_missing_mapped_column_and_bad_specs_are_named(tmp_path):
    spec = _crm(tmp_path)
    spec.write_text(CRM_SPEC.replace("TOTAL", "Grand Total"))
    with pytest.raises(AdapterError, match="orders.csv: column 'Grand Total' .*not found; found:"):
        apply_spec_file(spec)
    spec.write_text(CRM_SPEC.replace("complaints:", "tickets:"))
    with pytest.raises(AdapterError, match="invalid mapping spec.*unknown table"):
        load_spec(spec)
    spec.write_text(CRM_SPEC.replace("order_id: Order No", "order_no: Order No"))
    with pytest.raises(AdapterError, match="'order_no'.*not column"):
        load_spec(spec)
    spec.write_text("kind: snapshot\nname: x\nfile: a.csv\nlabel: Churn\npositive: [Yes]\n")
    with pytest.raises(AdapterError, match="quote the value"):
        load_spec(spec)


def test_header_less_whitespace_log_with_derived_customers(tmp_path):
    (tmp_path / "CDNOW_master.txt").write_text(
        "   00001  19970101  1   11.77\n   00002  19970112  1   12.00\n"
        "   00002  19970112  5   77.00\n   00003  1997XX02  2   20.76\n"
    )
    (tmp_path / "log.yaml").write_text(
        """
name: cdnow-master
tables:
  transactions:
    file: CDNOW_master.txt
    header: false
    names: [id, date, cds, dollars]
    columns: {customer_id: id, ts: date, amount: dollars}
    date_formats: {ts: "%Y%m%d"}
    constants: {kind: purchase}
  customers:
    derive: first_transaction
"""
    )
    mapped = apply_spec_file(tmp_path / "log.yaml")
    ds = mapped.data
    assert ds.tables["customers"]["customer_id"].tolist() == ["00001", "00002"]
    assert ds.reports["transactions"].rejected == 1
    assert ds.rejects["transactions"]["source_row"].tolist() == [4]
    assert ds.as_of == pd.Timestamp("1997-01-12")  # no as_of: the last event
    assert any("last event" in n for n in mapped.notes)


def test_snapshot_spec_infers_features_and_negative_labels(tmp_path):
    (tmp_path / "accounts.csv").write_text(
        "Account, Status ,Months,Fee,Plan,Email\n"
        "a1,closed,3,20.5,basic,a1@x\na2,open,30,50,pro,a2@x\na3,open,,35,basic,a3@x\n"
        "a4,paused,12,x,pro,a4@x\n"
    )
    (tmp_path / "isp.yaml").write_text(
        "kind: snapshot\nname: isp\nfile: accounts.csv\nid: account\nlabel: status\n"
        "positive: [closed]\nnegative: [open]\nvalue: fee\ndrop: [email]\n"
    )
    data = apply_spec_file(tmp_path / "isp.yaml").data
    assert data.features == ("months", "fee", "plan") and data.categorical == ("plan",)
    assert data.frame["customer_id"].tolist() == ["a1", "a2", "a3"]
    assert data.frame["churned"].tolist() == [1.0, 0.0, 0.0]
    reason = data.rejects["reason"].iloc[0]
    assert "status: label must be one of 'closed', 'open' (got 'paused')" in reason
    assert "fee: not a number (got 'x')" in reason
    assert data.value == "value" and data.frame["value"].tolist() == [20.5, 50.0, 35.0]


def test_named_adapters_come_from_the_shipped_specs():
    assert sorted(p.stem for p in SPECS.glob("*.yaml")) == sorted(ADAPTERS)
    for name, adapter in ADAPTERS.items():
        assert adapter.spec is not None and adapter.spec.name == name
        assert (adapter.rules is not None) == (adapter.kind == "snapshot")
        assert isinstance(adapter.spec, SnapshotMapping) == (adapter.kind == "snapshot")


def _slice(src: Path, dst: Path, n: int, transform=lambda line: line) -> Path:
    lines = src.read_text().splitlines()
    dst.write_text("\n".join([transform(lines[0]), *lines[1 : n + 1]]) + "\n")
    return dst


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    import_command.register(app)
    validate_command.register(app)
    return app


@needs_data
@pytest.mark.parametrize("name", list(ADAPTERS))
def test_each_data_set_imports_through_its_shipped_spec(tmp_path, name):
    adapter = ADAPTERS[name]
    src = _slice(DATA / adapter.folder / adapter.file, tmp_path / adapter.file, 300)
    out = tmp_path / "out"
    result = CliRunner().invoke(_app(), ["import", name, str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    if adapter.kind == "snapshot":
        manifest = load_yaml(out / "snapshot.yaml")
        assert (manifest["read"], manifest["rejected"]) == (300, 0)
        assert len(pd.read_parquet(out / SNAPSHOT_FILE)) == 300
    else:
        assert "transactions" in result.output
        checked = CliRunner().invoke(_app(), ["validate", str(out)])
        assert checked.exit_code == 0 and "contract OK" in checked.output


@needs_data
def test_a_lower_cased_telco_export_imports_with_the_telco_spec(tmp_path):
    src = DATA / ADAPTERS["telco"].folder / ADAPTERS["telco"].file
    lowered = _slice(
        src, tmp_path / "telco.csv", 200, lambda head: head.lower().replace(",", " , ")
    )
    data = ADAPTERS["telco"].load(lowered)
    assert data.report.read == 200 and data.report.rejected == 0
    assert "monthly_charges" in data.features


def test_import_spec_command_and_its_errors(tmp_path):
    spec = _crm(tmp_path)
    out = tmp_path / "imported"
    result = CliRunner().invoke(_app(), ["import", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "customers" in result.output and "complaints" in result.output
    checked = CliRunner().invoke(_app(), ["validate", str(out)])
    assert checked.exit_code == 0 and "contract OK" in checked.output
    # PATH with --spec: the folder the spec's relative file: paths start from
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (tmp_path / "export").rename(moved / "export")
    again = CliRunner().invoke(
        _app(), ["import", "--spec", str(spec), str(moved), "--out", str(tmp_path / "o2")]
    )
    assert again.exit_code == 0, again.output
    usage = CliRunner().invoke(_app(), ["import", "telco"])
    assert usage.exit_code == 2 and "NAME PATH --out DIR" in usage.output
    zh = CliRunner().invoke(
        _app(),
        ["import", "--spec", str(spec), str(moved), "--out", str(tmp_path / "o3"), "--lang", "zh"],
    )
    assert zh.exit_code == 0 and "导入结果" in zh.output and "投诉" in zh.output, zh.output
    assert "│ 客户 " in zh.output and "│ customers" not in zh.output  # paths stay as they are
    checked = CliRunner().invoke(_app(), ["validate", str(out), "--lang", "zh"])
    assert checked.exit_code == 0 and "数据契约检查通过" in checked.output
