"""Bulk inserts and upserts that stay fast at millions of rows, on SQLite and PostgreSQL.

SQLAlchemy's per-row parameter processing costs more than SQLite's own work at this scale, so
rows go to the driver directly: the statement is compiled once by SQLAlchemy (the dialect's
`INSERT ... ON CONFLICT DO UPDATE`), widened to many rows per statement, and values are
converted column by column into the storage formats SQLAlchemy uses. PostgreSQL gets its rows
by COPY (into the table on a first load, else into a temporary table merged with one
`INSERT ... SELECT ... ON CONFLICT` per chunk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Index, Table, literal, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

Converter = Callable[[Any], Any]
Columns = Mapping[str, Sequence[Any]]  # column name -> one value per row


def sqlite_date(value: date) -> str:
    """SQLAlchemy's SQLite DATE storage format (`2026-05-03`)."""
    return value.isoformat()


class BulkWriter:
    """Writes chunks of rows into one connection's transaction.

    `fresh` means the organization has no rows yet, so plain inserts cannot conflict.
    Timestamps arrive as canonical text (parse.parse_timestamp) and JSON as text
    (properties.properties_json): both go to either database as they are.
    """

    def __init__(self, conn: Connection, *, fresh: bool) -> None:
        self.conn = conn
        self.fresh = fresh
        self.dialect = conn.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(
                f"bulk loading needs SQLite or PostgreSQL, not {self.dialect}"
            )
        self._cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._dropped: dict[str, list[Index]] = {}
        self._statements: dict[tuple[str, tuple[str, ...], bool], _MultiRow] = {}
        self._staged: set[str] = set()

    def close(self) -> None:
        self._cursor.close()

    def begin_table(self, table: Table) -> None:
        """Into a table that is empty, rows go faster without its secondary indexes, which
        are built once by sorting at `end_table`: a million random B-tree updates per index
        are avoided. An index on org_id alone stays: a new organization's rows only append
        to it. (Unique constraints stay too: they are part of the table.) Only an empty table
        qualifies, so no one's rows lose an index; on PostgreSQL readers of that table wait
        for the commit instead of seeing it empty."""
        indexes = sorted(
            (index for index in table.indexes if [c.name for c in index.columns] != ["org_id"]),
            key=lambda index: str(index.name),
        )
        if not self.fresh or not indexes:
            return
        if self.conn.execute(select(literal(1)).select_from(table).limit(1)).first() is None:
            for index in indexes:
                index.drop(self.conn)
            self._dropped[table.name] = indexes

    def end_table(self, table: Table) -> None:
        for index in self._dropped.pop(table.name, []):
            index.create(self.conn)

    def write(self, table: Table, columns: Columns, key: Sequence[str], *, upsert: bool) -> None:
        """Insert rows given as equally long columns; with `upsert` (or when the
        organization already has rows) rows matching on `key` are updated instead."""
        if not next(iter(columns.values())):
            return
        merge = upsert or not self.fresh
        if self.dialect == "postgresql":
            self._copy(table, columns, key, merge)
        else:
            self._insert(table, columns, key, merge)

    def ids(self, table: Table, org_id: int) -> dict[str, int]:
        """ext_id -> primary key of the organization's rows, in one query (fetched by the
        driver directly: a million rows need no result objects)."""
        query = select(table.c.ext_id, table.c.id).where(table.c.org_id == org_id)
        sql = str(query.compile(dialect=self.conn.dialect, compile_kwargs={"literal_binds": True}))
        self._cursor.execute(sql)
        return dict(self._cursor.fetchall())

    # -- SQLite: many rows per compiled statement ----------------------------------------

    def _insert(self, table: Table, columns: Columns, key: Sequence[str], merge: bool) -> None:
        names = tuple(columns)
        statement = self._statements.get((table.name, names, merge))
        if statement is None:
            stmt = sqlite_insert(table)
            if merge:
                updates = {c: stmt.excluded[c] for c in names if c not in key}
                stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updates)
            compiled = stmt.compile(dialect=self.conn.dialect, column_keys=list(names))
            order = list(compiled.positiontup or [])
            statement = _MultiRow(str(compiled), order)
            self._statements[(table.name, names, merge)] = statement
        values = [_convert(columns[name], self._converter(table, name)) for name in statement.order]
        statement.run(self._cursor, list(chain.from_iterable(zip(*values, strict=True))))

    def _converter(self, table: Table, name: str) -> Converter | None:
        """How SQLAlchemy would store a value of this column in SQLite."""
        type_ = table.c[name].type
        if isinstance(type_, DateTime | JSON):
            return None  # already text in the stored form
        if isinstance(type_, Date):
            return sqlite_date
        dialect = self.conn.dialect
        return type_.dialect_impl(dialect).bind_processor(dialect)

    # -- PostgreSQL: COPY ------------------------------------------------------------------

    def _copy(self, table: Table, columns: Columns, key: Sequence[str], merge: bool) -> None:
        if merge:
            columns = _last_per_key(columns, key)
        quote = self.conn.dialect.identifier_preparer.quote
        target = quote(table.name)
        names = ", ".join(quote(c) for c in columns)
        into = quote(f"keen_import_{table.name}") if merge else target
        if merge and table.name not in self._staged:
            self._cursor.execute(
                f"CREATE TEMPORARY TABLE {into} ON COMMIT DROP AS "
                f"SELECT {names} FROM {target} WITH NO DATA"
            )
            self._staged.add(table.name)
        with self._cursor.copy(f"COPY {into} ({names}) FROM STDIN") as copy:
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)
        if merge:
            updates = ", ".join(
                f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in key
            )
            conflict = ", ".join(quote(c) for c in key)
            self._cursor.execute(
                f"INSERT INTO {target} ({names}) SELECT {names} FROM {into} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
            )
            self._cursor.execute(f"TRUNCATE {into}")


@contextmanager
def foreign_keys_checked_once(conn: Connection) -> Iterator[Callable[[Iterable[str]], None]]:
    """Around a transaction on `conn`: yields `check(tables)`, to call on each table written
    before committing.

    SQLite checks every inserted row's foreign keys one by one, about a quarter of the time
    spent inserting. On SQLite, enforcement is paused for this connection (it can only be switched
    outside a transaction) and `check` verifies the written tables in one pass each instead,
    so a broken key still fails the load. PostgreSQL keeps its checks: pausing them needs a
    superuser.
    """
    if conn.dialect.name != "sqlite":
        yield lambda tables: None
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    try:
        yield lambda tables: _check_foreign_keys(conn, tables)
    finally:
        try:
            conn.rollback()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
        except Exception:
            conn.invalidate()  # never hand a connection without key checks back to the pool
            raise


def _check_foreign_keys(conn: Connection, tables: Iterable[str]) -> None:
    for table in tables:
        broken = conn.exec_driver_sql(f'PRAGMA foreign_key_check("{table}")').fetchall()
        if broken:
            raise RuntimeError(f"the import broke foreign keys of {table}: {broken[:5]}")


class _MultiRow:
    """A compiled one-row INSERT turned into one that inserts many rows per statement: SQLite
    then steps once per statement instead of once per row, a third less work at this scale."""

    MAX_PARAMS = 999  # the lowest limit any SQLite build has
    MAX_ROWS = 200

    def __init__(self, sql: str, order: list[str]) -> None:
        self.sql, self.order, self.width = sql, order, len(order)
        self.group = "(" + ", ".join(["?"] * self.width) + ")"
        assert sql.count(self.group) == 1, "one VALUES group expected"
        self.rows = max(1, min(self.MAX_ROWS, self.MAX_PARAMS // self.width))
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


def _last_per_key(columns: Columns, key: Sequence[str]) -> Columns:
    """The rows with the last of each repeated key: PostgreSQL refuses to upsert one row twice
    in a statement (SQLite applies repeats in order, so the last one wins there too)."""
    keys = list(zip(*(columns[k] for k in key), strict=True))
    if len(set(keys)) == len(keys):
        return columns
    keep = sorted({k: n for n, k in enumerate(keys)}.values())
    return {name: [values[n] for n in keep] for name, values in columns.items()}


def _convert(values: Sequence[Any], converter: Converter | None) -> Sequence[Any]:
    if converter is None:
        return values
    return [None if value is None else converter(value) for value in values]
