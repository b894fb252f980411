"""Independent SQL over the fixture CSVs: where the eval cases' expected values come from.

Standard library only, and nothing from the project: the expected values must not be computed by
the code under test. `fixture_db()` reads a dataset folder into an in-memory SQLite database with
one table per CSV file (empty cells become NULL, everything else stays text), plus views that
spell out the rules of `shared/spec/metrics.md` once, so case queries stay short:

- `pipeline_statuses`: channel × status, the channel's own pipeline or else the default one;
- `lead_facts`: a lead with its channel and partner names, currency, status kind and position,
  `is_first`, `deal_value_num`, `created_date`, `changed_date`, `won_date`, `days_in_status`;
- `lead_flags`: `lead_facts` plus `stuck`, `needs_action` and `missing_information` (0/1);
- `reward_facts`: a reward with channel and partner names, currency, `amount_num`, `created_date`;
- `report_counts` / `report_facts`: a report's rewards per status, derived `state` and
  `needs_attention`.

Ages depend on today: the one-row table `params(today)` holds it, set by `query()` for each call.
The `:today` parameter is bound too, for queries that want it directly.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEMO = FIXTURES / "demo"
OTHER_ORG = FIXTURES / "other-org"

# The default thresholds of metrics.md, written here again on purpose (not read from settings).
STUCK_AFTER_DAYS = 14
RESPONSE_SLA_DAYS = 2
PAYOUT_OVERDUE_DAYS = 30

DEFAULT_PIPELINE = (
    ("New lead", "open", 1),
    ("In progress", "open", 2),
    ("Meeting booked", "open", 3),
    ("Won", "won", 4),
    ("Lost", "lost", 5),
)

VIEWS = f"""
CREATE VIEW pipeline_statuses AS
    SELECT c.id AS channel_id, p.status, p.kind, CAST(p.position AS INTEGER) AS position
    FROM channels c JOIN pipeline p ON p.channel_id = c.id
    UNION ALL
    SELECT c.id, d.status, d.kind, CAST(d.position AS INTEGER)
    FROM channels c JOIN default_pipeline d
    WHERE NOT EXISTS (SELECT 1 FROM pipeline p WHERE p.channel_id = c.id);

CREATE VIEW lead_facts AS
    SELECT l.*,
        c.name AS channel_name, c.partner_id, pa.name AS partner_name,
        COALESCE(c.status, 'active') AS channel_status, COALESCE(c.currency, 'USD') AS currency,
        ps.kind AS status_kind, ps.position AS status_position,
        ps.position = (SELECT MIN(position) FROM pipeline_statuses f
                       WHERE f.channel_id = l.channel_id) AS is_first,
        CAST(l.deal_value AS REAL) AS deal_value_num,
        substr(l.created_at, 1, 10) AS created_date,
        substr(COALESCE(l.status_changed_at, l.created_at), 1, 10) AS changed_date,
        CASE WHEN ps.kind = 'won'
             THEN substr(COALESCE(l.status_changed_at, l.created_at), 1, 10) END AS won_date,
        CAST(julianday((SELECT today FROM params))
             - julianday(substr(COALESCE(l.status_changed_at, l.created_at), 1, 10))
             AS INTEGER) AS days_in_status
    FROM leads l
    JOIN channels c ON c.id = l.channel_id
    JOIN partners pa ON pa.id = c.partner_id
    JOIN pipeline_statuses ps ON ps.channel_id = l.channel_id
        AND lower(ps.status) = lower(l.status);

CREATE VIEW lead_flags AS
    SELECT lf.*,
        (status_kind = 'open' AND days_in_status > {STUCK_AFTER_DAYS}) AS stuck,
        (is_first AND days_in_status > {RESPONSE_SLA_DAYS}) AS needs_action,
        ((email IS NULL AND phone IS NULL) OR deal_value IS NULL OR company_name IS NULL)
            AS missing_information
    FROM lead_facts lf;

CREATE VIEW reward_facts AS
    SELECT r.*, c.name AS channel_name, c.partner_id, pa.name AS partner_name,
        COALESCE(c.currency, 'USD') AS currency, CAST(r.amount AS REAL) AS amount_num,
        substr(r.created_at, 1, 10) AS created_date
    FROM rewards r
    JOIN channels c ON c.id = r.channel_id
    JOIN partners pa ON pa.id = c.partner_id;

CREATE VIEW report_counts AS
    SELECT rr.id, rr.channel_id, rr.period_start, rr.period_end,
        COALESCE(SUM(r.status = 'awaiting_review'), 0) AS awaiting_review,
        COALESCE(SUM(r.status = 'approved'), 0) AS approved,
        COALESCE(SUM(r.status = 'paid'), 0) AS paid,
        COALESCE(SUM(r.status = 'rejected'), 0) AS rejected,
        COUNT(r.id) AS rewards
    FROM reward_reports rr LEFT JOIN rewards r ON r.report_id = rr.id
    GROUP BY rr.id;

CREATE VIEW report_facts AS
    SELECT rc.*, c.name AS channel_name,
        CASE WHEN rc.awaiting_review > 0 THEN 'needs review'
             WHEN rc.approved > 0 THEN 'awaiting payment'
             WHEN rc.paid > 0 THEN 'paid'
             ELSE 'empty' END AS state,
        (rc.awaiting_review > 0 OR (rc.approved > 0 AND
            julianday((SELECT today FROM params)) - julianday(rc.period_end)
            > {PAYOUT_OVERDUE_DAYS})) AS needs_attention
    FROM report_counts rc JOIN channels c ON c.id = rc.channel_id;
"""

# Files a dataset may omit; their tables exist anyway (empty) so the views always work.
OPTIONAL_COLUMNS = {
    "pipeline.csv": ("channel_id", "status", "kind", "position"),
    "lead_status_history.csv": ("lead_id", "from_status", "to_status", "changed_at"),
    "reward_triggers.csv": (
        "id",
        "channel_id",
        "name",
        "event",
        "status",
        "amount_type",
        "amount",
        "requires_approval",
        "active",
    ),
    "purchases.csv": ("id", "lead_id", "amount", "occurred_at"),
    "reward_reports.csv": ("id", "channel_id", "period_start", "period_end"),
    "rewards.csv": (
        "id",
        "channel_id",
        "lead_id",
        "trigger_id",
        "report_id",
        "amount",
        "status",
        "created_at",
        "approved_at",
        "paid_at",
    ),
    "integrations.csv": ("id", "channel_id", "kind", "state", "last_sync_at", "last_error"),
    "lead_form_fields.csv": ("channel_id", "field", "label", "required", "position"),
    "users.csv": ("id", "email", "name", "role"),
}


def _table_name(file_name: str) -> str:
    return file_name.removesuffix(".csv")


def _create(conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: list[list[Any]]):
    cols = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'CREATE TABLE "{table}" ({cols})')
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)


def _read_csv(path: Path) -> tuple[list[str], list[list[str | None]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [[cell if cell != "" else None for cell in row] for row in reader if row]
    return header, rows


def fixture_db(folder: Path = DEMO, today: date | str = "2026-11-18") -> sqlite3.Connection:
    """A fresh in-memory database of `folder`'s CSV files, with the views above."""
    conn = sqlite3.connect(":memory:")
    present = set()
    for path in sorted(folder.glob("*.csv")):
        header, rows = _read_csv(path)
        _create(conn, _table_name(path.name), header, rows)
        present.add(path.name)
    for file_name, columns in OPTIONAL_COLUMNS.items():
        if file_name not in present:
            _create(conn, _table_name(file_name), columns, [])
    default = [
        [status, kind, position]
        for channel_id, status, kind, position in conn.execute(
            "SELECT channel_id, status, kind, position FROM pipeline"
        )
        if channel_id is None
    ]
    default_rows = default or [list(row) for row in DEFAULT_PIPELINE]
    _create(conn, "default_pipeline", ("status", "kind", "position"), default_rows)
    _create(conn, "params", ("today",), [[str(today)]])
    conn.executescript(VIEWS)
    return conn


def query(conn: sqlite3.Connection, sql: str, today: date | str = "2026-11-18") -> list[tuple]:
    """Run `sql` with `today` in `params` and bound as `:today`; every row."""
    conn.execute("UPDATE params SET today = ?", (str(today),))
    params = {"today": str(today)} if ":today" in sql else {}
    return conn.execute(sql, params).fetchall()


def flat(rows: list[tuple]) -> list[Any]:
    """Every cell of every row, row by row: how a case's literal list is compared."""
    return [cell for row in rows for cell in row]
