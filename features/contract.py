"""The data contract: tables, columns, types and allowed values of a customer data set.

Everything that reads customer data (loaders, feature pipelines, the API schemas) derives its
column names and rules from here, so a column is renamed in one place. Documented for users in
``docs/data-contract.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CONTRACT_VERSION = "1.0"

ColumnKind = Literal["id", "text", "date", "float", "int", "category"]

MAX_TEXT_CHARS = 10_000
"""The longest text cell the loaders accept; a longer one (a pasted document, an attack on the
spreadsheets and pages that show it) quarantines its row with the reason."""


@dataclass(frozen=True)
class Column:
    """One column of a table: its type, whether it is required and which values are allowed."""

    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Table:
    """One table of the data set: a CSV or Parquet file named after it."""

    name: str
    columns: tuple[Column, ...]
    required: bool
    description: str
    key: str | None = None  # unique per row when set
    event_time: str | None = None  # the column that dates an event; checked against as-of

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CHANNELS = ("call", "email", "chat", "visit", "app_login", "campaign")
DIRECTIONS = ("inbound", "outbound")
TRANSACTION_KINDS = ("new", "renewal", "upsell", "purchase", "refund")
REFUND = "refund"
"""A refund or credit note: a negative ``amount`` or ``kind: refund`` (see ``docs/data-contract.md``).
Refunds net into revenue and never count as purchases."""

CUSTOMERS = Table(
    name="customers",
    required=True,
    key="customer_id",
    description="One row per customer.",
    columns=(
        Column("customer_id", "id", "Customer key, text.", required=True),
        Column("signup_date", "date", "Date the customer relationship started.", required=True),
        Column("segment", "text", "Business segment, e.g. consumer, smb, enterprise."),
        Column("region", "text", "Sales region."),
        Column("plan", "text", "Product plan or tariff."),
        Column("account_manager_id", "id", "Key of the responsible account manager."),
        Column("contract_end_date", "date", "End of the current contract term, if contractual."),
        Column("cancelled_at", "date", "Date of an explicit cancellation or non-renewal."),
    ),
)

TRANSACTIONS = Table(
    name="transactions",
    required=True,
    event_time="ts",
    description="One row per purchase, renewal or upsell, or a refund (negative amount).",
    columns=(
        Column("customer_id", "id", "Customer key.", required=True),
        Column("ts", "date", "Time of the transaction.", required=True),
        Column(
            "amount",
            "float",
            "Amount in the data set's currency; negative for a refund or credit note.",
            required=True,
        ),
        Column("order_id", "id", "Order key."),
        Column("category", "text", "Product category."),
        Column(
            "kind",
            "category",
            "new, renewal, upsell, purchase or refund (a refund's amount is taken as negative).",
            allowed=TRANSACTION_KINDS,
        ),
    ),
)

INTERACTIONS = Table(
    name="interactions",
    required=False,
    event_time="ts",
    description="One row per contact between the company and a customer.",
    columns=(
        Column("customer_id", "id", "Customer key.", required=True),
        Column("ts", "date", "Time of the contact.", required=True),
        Column("channel", "category", "Contact channel.", required=True, allowed=CHANNELS),
        Column("direction", "category", "inbound or outbound.", allowed=DIRECTIONS),
        Column("duration_s", "float", "Duration in seconds, >= 0.", min=0.0),
        Column("outcome", "text", "Free-text or coded outcome, e.g. answered, no_answer."),
    ),
)

COMPLAINTS = Table(
    name="complaints",
    required=False,
    event_time="opened_at",
    description="One row per complaint.",
    columns=(
        Column("customer_id", "id", "Customer key.", required=True),
        Column("opened_at", "date", "Time the complaint was opened.", required=True),
        Column("resolved_at", "date", "Time it was resolved; empty while open."),
        Column("category", "text", "Complaint category, e.g. billing, network."),
        Column("severity", "int", "1 (minor) to 3 (severe).", min=1, max=3),
        Column("satisfaction", "int", "Satisfaction after handling, 1 to 5.", min=1, max=5),
    ),
)

ACCOUNT_MANAGERS = Table(
    name="account_managers",
    required=False,
    key="account_manager_id",
    description="One row per account manager.",
    columns=(
        Column("account_manager_id", "id", "Account manager key.", required=True),
        Column("name", "text", "Display name."),
        Column("team", "text", "Team name."),
        Column("monthly_quota", "float", "Monthly sales quota, >= 0.", min=0.0),
        Column(
            "hire_date",
            "date",
            "Day the manager started; a manager hired less than the probation before a period "
            "is listed but neither ranked nor penalised (document 000).",
        ),
    ),
)

CONTACT_OUTCOMES = ("reached", "no_answer", "accepted", "declined")

CONTACTS = Table(
    name="contacts",
    required=False,
    key="contact_id",
    event_time="ts",
    description="One row per customer of a retention campaign: contacted, or held back as control.",
    columns=(
        Column("contact_id", "id", "Contact key.", required=True),
        Column("customer_id", "id", "Customer key.", required=True),
        Column(
            "ts",
            "date",
            "Time of the contact (for a control row: when it would have been).",
            required=True,
        ),
        Column("campaign_id", "id", "Campaign key; one campaign shares one control group."),
        Column("channel", "text", "Channel of the contact, e.g. call, email, visit."),
        Column("offer", "text", "Offer made, e.g. discount, upgrade, none."),
        Column(
            "treated",
            "int",
            "1 contacted, 0 held back as control.",
            required=True,
            min=0,
            max=1,
        ),
        Column(
            "outcome",
            "category",
            "reached, no_answer, accepted or declined; empty for control rows.",
            allowed=CONTACT_OUTCOMES,
        ),
        Column("logged_by", "id", "Who logged the contact."),
        Column("account_manager_id", "id", "Account manager of the customer at the contact."),
        Column("cost", "float", "What the contact cost, >= 0 (average interaction cost).", min=0.0),
    ),
)

SURVEYS = Table(
    name="surveys",
    required=False,
    event_time="ts",
    description="One row per answer to a customer satisfaction survey (document 003's quarterly "
    "survey); when present it decides the satisfaction bonus instead of complaint ratings.",
    columns=(
        Column("customer_id", "id", "Customer key.", required=True),
        Column("ts", "date", "Day of the answer.", required=True),
        Column("satisfied", "int", "1 satisfied, 0 not.", min=0, max=1),
        Column("score", "int", "Satisfaction 1 to 5 (used when satisfied is empty).", min=1, max=5),
    ),
)

MANAGER_REVIEWS = Table(
    name="manager_reviews",
    required=False,
    description="One row per account manager and year: the lead's ratings of ability and attitude "
    "(document 000's annual assessment, 德、勤、能、绩).",
    columns=(
        Column("account_manager_id", "id", "Account manager key.", required=True),
        Column("year", "int", "Year assessed.", required=True, min=1900, max=2999),
        Column("ability", "float", "Ability (能), 0 to 100.", min=0.0, max=100.0),
        Column("attitude", "float", "Attitude (德、勤), 0 to 100.", min=0.0, max=100.0),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CUSTOMERS,
        TRANSACTIONS,
        INTERACTIONS,
        COMPLAINTS,
        ACCOUNT_MANAGERS,
        CONTACTS,
        SURVEYS,
        MANAGER_REVIEWS,
    )
}

# Files that may sit in a data folder beside the tables and are not tables.
MANIFEST_FILE = "dataset.yaml"
TABLE_SUFFIXES = (".csv", ".parquet")
