"""Read-only access to the night's warehouse: the report models of schema `reporting`, by name."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.core.warehouse import connect

REPORTING_SCHEMA = "reporting"
# A report model's rows are read in this order, by the columns it has (sort_order: the model's own).
SORT_KEYS = ("sort_order", "as_of_date", "member_id", "job_id")


@dataclass
class MartsReader:
    connection: duckdb.DuckDBPyConnection
    as_of: date
    # Where marketing consent is read: the current night's members, also for a backfilled night's exports.
    consent_table: str = "marts.dim_members"
    # A backfilled night's invitations as the current warehouse's ledger keeps them (export model -> ledger):
    # a member who had a row for the night before this backfill keeps the night's list as published.
    ledgers: dict[str, str] = field(default_factory=dict)

    def exists(self, table: str, schema: str) -> bool:
        sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
        return bool(self.connection.execute(sql, [schema, table]).fetchone()[0])

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.connection.execute(sql, list(params)).df()

    def model(self, name: str, where: dict[str, str] | None = None) -> pd.DataFrame:
        """A report model's rows (optionally those whose columns equal the given values), in its sort order."""
        conditions = " and ".join(f'"{column}" = ?' for column in (where or {}))
        frame = self.frame(
            f'select * from {REPORTING_SCHEMA}."{name}"' + (f" where {conditions}" if conditions else ""),
            list((where or {}).values()),
        )
        # every key column the model has, not only the first: a list's rows share one as_of_date, and
        # ordered by it alone they came out in whatever order DuckDB gave them (an incremental night
        # and a full rebuild of it wrote the same list in two orders)
        order = [c for c in SORT_KEYS if c in frame.columns]
        return frame.sort_values(order, kind="stable").reset_index(drop=True) if order else frame

    def list_rows(self, name: str) -> pd.DataFrame:
        """An export model's rows, in its order, of members with consent in the current night's data.

        The export models already check consent in the night they were built for; a backfilled night
        is checked again against the current night (consent withdrawn since then is respected).
        """
        frame = self.model(name)
        if "member_id" not in frame.columns:
            return frame
        # Only the list's own members with consent: all consenting members (most of a million) would
        # cost seconds to read and match in pandas.
        ledger = self.ledgers.get(name)
        consenting = self.frame(
            f"select member_id from {self.consent_table} where marketing_opt_in"
            f' and member_id in (select member_id from {REPORTING_SCHEMA}."{name}")'
            + (f" and member_id in (select member_id from {ledger} where as_of_date = ?)" if ledger else ""),
            [self.as_of] if ledger else [],
        )["member_id"]
        return frame[frame["member_id"].isin(set(consenting))].reset_index(drop=True)

    def row(self, name: str) -> dict[str, Any]:
        """The one row of a figures model, as column name -> value."""
        frame = self.model(name)
        if len(frame) != 1:
            raise ValueError(f"{REPORTING_SCHEMA}.{name} should hold one row, holds {len(frame)}")
        return frame.iloc[0].to_dict()


@contextmanager
def open_marts(database: Path, as_of: date, consent_database: Path | None = None) -> Iterator[MartsReader]:
    """The warehouse opened read-only, and closed again before the caller returns (it may be renamed).

    consent_database: the warehouse holding the current night, when `database` holds another night
    (a backfill): every export leaves out members without consent in the current night's data, and the
    invitation list holds the night's rows of the current warehouse's ledger (its backfilled rows added).
    """
    connection = connect(database, read_only=True)
    try:
        consent_table, ledgers = "marts.dim_members", {}
        if consent_database is not None and consent_database.resolve() != database.resolve():
            connection.execute(f"attach '{consent_database}' as current_night (read_only)")
            consent_table = "current_night.marts.dim_members"
            ledgers = {"exp_invitations": "current_night.marts.rpt_invitations"}
        yield MartsReader(connection, as_of, consent_table, ledgers)
    finally:
        connection.close()
