"""Bulk inserts and upserts that stay fast at millions of rows, on SQLite and PostgreSQL.

SQLAlchemy's per-row parameter processing costs more than SQLite's own work at this scale, so
rows go to the driver as tuples: the statement is compiled once by SQLAlchemy (dialect
`INSERT ... ON CONFLICT DO UPDATE`) and values are converted column by column with the same
storage formats SQLAlchemy uses. PostgreSQL gets its rows by COPY (into the table on a first
load, else into a temporary table merged with one `INSERT ... SELECT ... ON CONFLICT`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table, literal, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

Progress = Callable[[str, int, int], None]
Converter = Callable[[Any], Any]

BATCH = 10_000


def sqlite_date(value: date) -> str:
    """SQLAlchemy's SQLite DATE storage format (`2026-05-03`)."""
    return value.isoformat()


class BulkWriter:
    """Writes whole files of rows into one connection's transaction, reporting progress.

    `fresh` means the organization has no rows yet, so plain inserts cannot conflict.
    """

    def __init__(self, conn: Connection, *, fresh: bool, progress: Progress | None) -> None:
        self.conn = conn
        self.fresh = fresh
        self.progress = progress
        self.dialect = conn.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(
                f"bulk loading needs SQLite or PostgreSQL, not {self.dialect}"
            )

    def upsert(
        self,
        label: str | None,
        table: Table,
        columns: Mapping[str, Sequence[Any]],
        key: Sequence[str],
    ) -> None:
        """Insert the rows given as equally long columns, updating rows that match on `key`."""
        if not next(iter(columns.values())):
            return
        if self.dialect == "postgresql":
            self._copy(label, table, columns, key)
        else:
            self._executemany(label, table, columns, key)

    def ids(self, table: Table, org_id: int) -> dict[str, int]:
        """ext_id -> primary key of the organization's rows, in one query (fetched by the
        driver directly: a million rows need no result objects)."""
        query = select(table.c.ext_id, table.c.id).where(table.c.org_id == org_id)
        sql = str(query.compile(dialect=self.conn.dialect, compile_kwargs={"literal_binds": True}))
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            return dict(cursor.fetchall())
        finally:
            cursor.close()

    def _report(self, label: str | None, done: int, total: int) -> None:
        if self.progress is not None and label is not None:
            self.progress(label, done, total)

    # -- SQLite: compiled statement, executemany of tuples -------------------------------

    def _executemany(
        self,
        label: str | None,
        table: Table,
        columns: Mapping[str, Sequence[Any]],
        key: Sequence[str],
    ) -> None:
        stmt = sqlite_insert(table)
        if not self.fresh:
            updates = {c: stmt.excluded[c] for c in columns if c not in key}
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updates)
        compiled = stmt.compile(dialect=self.conn.dialect, column_keys=list(columns))
        order = compiled.positiontup or []
        parts = [(columns[name], self._converter(table, name)) for name in order]
        statement = _MultiRow(str(compiled), len(order))
        total = len(parts[0][0])
        batch = statement.rows * max(1, BATCH // statement.rows)
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with self._indexes_built_after(table):
            for start in range(0, total, batch):
                end = min(start + batch, total)
                values = [_convert(column[start:end], conv) for column, conv in parts]
                statement.run(cursor, list(chain.from_iterable(zip(*values, strict=True))))
                self._report(label, end, total)
        cursor.close()

    @contextmanager
    def _indexes_built_after(self, table: Table) -> Iterator[None]:
        """Into an empty table, rows go faster without its secondary indexes, which are then
        built once by sorting: a million random B-tree updates per index are avoided. (The
        unique constraints stay: they are part of the table and keep ids unique.)"""
        empty = self.conn.execute(select(literal(1)).select_from(table).limit(1)).first() is None
        indexes = list(table.indexes) if self.fresh and empty else []
        for index in indexes:
            index.drop(self.conn)
        yield
        for index in indexes:
            index.create(self.conn)

    def _converter(self, table: Table, name: str) -> Converter | None:
        """How SQLAlchemy would store a value of this column in SQLite. Timestamps arrive as
        canonical text already (see parse.parse_timestamp); dates are formatted in C."""
        type_ = table.c[name].type
        if isinstance(type_, DateTime):
            return None
        if isinstance(type_, Date):
            return sqlite_date
        dialect = self.conn.dialect
        return type_.dialect_impl(dialect).bind_processor(dialect)

    # -- PostgreSQL: COPY ------------------------------------------------------------------

    def _copy(
        self,
        label: str | None,
        table: Table,
        columns: Mapping[str, Sequence[Any]],
        key: Sequence[str],
    ) -> None:
        quote = self.conn.dialect.identifier_preparer.quote
        target = quote(table.name)
        cols = ", ".join(quote(c) for c in columns)
        parts = [
            (values, json.dumps if isinstance(table.c[name].type, JSON) else None)
            for name, values in columns.items()
        ]
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            into = target if self.fresh else quote(f"keen_import_{table.name}")
            if not self.fresh:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {into} ON COMMIT DROP AS "
                    f"SELECT {cols} FROM {target} WITH NO DATA"
                )
            total = len(parts[0][0])
            with cursor.copy(f"COPY {into} ({cols}) FROM STDIN") as copy:
                for start in range(0, total, BATCH):
                    end = start + BATCH
                    for row in zip(
                        *(_convert(v[start:end], conv) for v, conv in parts), strict=True
                    ):
                        copy.write_row(row)
                    self._report(label, min(end, total), total)
            if not self.fresh:
                updates = ", ".join(
                    f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in key
                )
                conflict = ", ".join(quote(c) for c in key)
                cursor.execute(
                    f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {into} "
                    f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
                )
                cursor.execute(f"DROP TABLE {into}")
        finally:
            cursor.close()


class _MultiRow:
    """A compiled one-row INSERT turned into one that inserts many rows per statement: SQLite
    then steps once per statement instead of once per row, a third less work at this scale."""

    MAX_PARAMS = 999  # the lowest limit any SQLite build has
    MAX_ROWS = 200

    def __init__(self, sql: str, width: int) -> None:
        self.sql, self.width = sql, width
        self.group = "(" + ", ".join(["?"] * width) + ")"
        assert sql.count(self.group) == 1, "one VALUES group expected"
        self.rows = max(1, min(self.MAX_ROWS, self.MAX_PARAMS // width))
        self.full = self._with_rows(self.rows)

    def _with_rows(self, rows: int) -> str:
        return self.sql.replace(self.group, ", ".join([self.group] * rows), 1)

    def run(self, cursor: Any, flat: list[Any]) -> None:
        """Insert the rows whose values, row after row, are `flat`."""
        step = self.rows * self.width
        whole = len(flat) - len(flat) % step
        cursor.executemany(self.full, [flat[i : i + step] for i in range(0, whole, step)])
        if whole < len(flat):
            cursor.execute(self._with_rows((len(flat) - whole) // self.width), flat[whole:])


def _convert(values: Sequence[Any], converter: Converter | None) -> Sequence[Any]:
    if converter is None:
        return values
    return [None if value is None else converter(value) for value in values]
