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
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table, literal, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

Progress = Callable[[str, int, int], None]
Converter = Callable[[Any], Any]

BATCH = 10_000


def sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME storage format (`2026-05-03 14:05:00.000000`), in C."""
    return value.isoformat(" ", "microseconds")


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
        """ext_id -> primary key of the organization's rows, in one query."""
        query = select(table.c.ext_id, table.c.id).where(table.c.org_id == org_id)
        return {ext_id: pk for ext_id, pk in self.conn.execute(query)}

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
        sql = str(compiled)
        parts = [(columns[name], self._converter(table, name)) for name in order]
        total = len(parts[0][0])
        with self._indexes_built_after(table):
            for start in range(0, total, BATCH):
                end = start + BATCH
                values = (_convert(column[start:end], conv) for column, conv in parts)
                self.conn.exec_driver_sql(sql, list(zip(*values, strict=True)))  # type: ignore[arg-type]
                self._report(label, min(end, total), total)

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
        """How SQLAlchemy would store a value of this column in SQLite (dates in C)."""
        type_ = table.c[name].type
        if isinstance(type_, DateTime):
            return sqlite_datetime
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


def _convert(values: Sequence[Any], converter: Converter | None) -> Sequence[Any]:
    if converter is None:
        return values
    return [None if value is None else converter(value) for value in values]
