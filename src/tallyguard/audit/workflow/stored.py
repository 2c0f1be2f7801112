"""The store's CVRs as the engine sees them: read card by card when asked, never all at once.

A comparison audit of a state holds millions of CVRs, but a command needs few
of them: the engine looks up the CVR and the imprinted id of each sampled card
(``cvrs.get(card)``, ``imprinted_ids.get(card)``), nothing else. The seed's
digests and the export need every CVR, as one canonical table
(:meth:`~tallyguard.audit.workflow.cvr_table.CvrTable.canonical_text`), which is
rendered from columns fetched in bulk, not from a dict per card.

:class:`StoredCvrs` is that read-only mapping. It reads with the session it was
made with while that session's transaction is open (so it sees what the command
wrote), and with a short transaction of its own once it is closed. Cards it was
told about (those with readings: every audited draw) are fetched together on the
first lookup; any other card by itself. Every row read is kept, so each card is
read at most once. Like the inputs it belongs to, it is a snapshot: CVRs cannot
change once the seed is set.
"""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import Connection, Integer, and_, column, func, select, values
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.cvr_table import KEY_COLUMNS, CvrTable, Votes, vote_column
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.store.models import Cvr

#: Cards per query when several are fetched at once.
FETCH_CHUNK = 500
#: Rows per partition when every CVR is read.
SCAN_CHUNK = 100_000
Row = tuple[Votes, str]  # the CVR and the imprinted id ("" when none)
SCAN_SCHEMA = {
    "batch_id": pl.Int64,
    "position": pl.Int64,
    "imprinted_id": pl.String,
    "votes": pl.String,  # JSON text
}


class _Imprinted(Mapping[CardKey, str]):
    """The imprinted ids of a :class:`StoredCvrs` (only cards whose CVR has one)."""

    def __init__(self, cvrs: StoredCvrs) -> None:
        self._cvrs = cvrs

    def __getitem__(self, key: CardKey) -> str:
        row = self._cvrs.row(key)
        if row is None or not row[1]:
            raise KeyError(key)
        return row[1]

    def __iter__(self) -> Iterator[CardKey]:
        query = select(Cvr.batch_id, Cvr.position).where(
            Cvr.audit_id == self._cvrs.audit_id,
            Cvr.imprinted_id.is_not(None),
            Cvr.imprinted_id != "",
        )
        return self._cvrs.keys_of(query)

    def __len__(self) -> int:
        query = select(func.count()).where(
            Cvr.audit_id == self._cvrs.audit_id,
            Cvr.imprinted_id.is_not(None),
            Cvr.imprinted_id != "",
        )
        with self._cvrs.connection() as connection:
            return int(connection.execute(query).scalar_one())


class _Items(ItemsView[CardKey, Votes]):
    """The items of a :class:`StoredCvrs`, read in one pass."""

    def __init__(self, cvrs: StoredCvrs) -> None:
        super().__init__(cvrs)
        self._cvrs = cvrs

    def __iter__(self) -> Iterator[tuple[CardKey, Votes]]:
        return self._cvrs.scan_items()


class StoredCvrs(CvrTable):
    """An audit's CVRs in the store, as a read-only mapping card -> contest -> marks.

    Args:
        session: the command's session.
        audit_id: the audit.
        batches: batch id -> its key (:class:`CardKey` with position 0).
        hints: cards likely to be looked up (fetched together on the first lookup).
    """

    def __init__(
        self,
        session: Session,
        audit_id: int,
        batches: Mapping[int, CardKey],
        hints: Iterable[CardKey] = (),
    ) -> None:
        super().__init__()
        self.session = session
        self.audit_id = audit_id
        self.batches = dict(batches)
        self._ids = {key.batch: batch_id for batch_id, key in self.batches.items()}
        self._rows: dict[CardKey, Row | None] = {}
        self._hints = set(hints)
        self._view = _Imprinted(self)

    @property
    def imprinted_ids(self) -> Mapping[CardKey, str]:
        return self._view

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """The session's connection in its transaction, else a short read of its own."""
        if self.session.in_transaction():
            self.session.flush()
            yield self.session.connection()
            return
        with Session(self.session.get_bind()) as fresh, fresh.begin():
            yield fresh.connection()

    # --- card by card -------------------------------------------------------------------

    def prefetch(self, keys: Iterable[CardKey]) -> None:
        """Read these cards' CVRs now, together (few queries instead of one per card)."""
        wanted: dict[tuple[int, int], CardKey] = {}
        for key in keys:
            if key in self._rows:
                continue
            self._rows[key] = None  # no CVR unless found below
            batch_id = self._ids.get(key.batch) if isinstance(key, CardKey) else None
            if batch_id is not None:
                wanted[(batch_id, key.position)] = key
        if not wanted:
            return
        pairs = list(wanted)
        columns = (Cvr.batch_id, Cvr.position, Cvr.imprinted_id, Cvr.votes)
        with self.connection() as connection:
            for start in range(0, len(pairs), FETCH_CHUNK):
                chunk = pairs[start : start + FETCH_CHUNK]
                # Joined to the cards wanted, so both databases look each one up by
                # the (batch, position) index (SQLite scans for a row-value IN list).
                # The batch ids are this audit's, so no audit_id test: on PostgreSQL
                # it can make the planner read the audit's whole audit_id index.
                cards = values(
                    column("batch_id", Integer), column("position", Integer), name="wanted"
                ).data(chunk)
                wanted_cards = cards.cte("wanted")
                on = and_(
                    Cvr.batch_id == wanted_cards.c.batch_id,
                    Cvr.position == wanted_cards.c.position,
                )
                query = select(*columns).join_from(wanted_cards, Cvr, on)
                for batch_id, position, imprinted, votes in connection.execute(query):
                    self._rows[wanted[(batch_id, position)]] = (
                        {str(c): tuple(v) for c, v in votes.items()},
                        imprinted or "",
                    )

    def row(self, key: CardKey) -> Row | None:
        """The card's CVR and imprinted id, or ``None`` when it has no CVR."""
        if key not in self._rows:
            hints, self._hints = self._hints, set()
            hints.add(key)
            self.prefetch(hints)
        return self._rows[key]

    def __getitem__(self, key: CardKey) -> Votes:
        row = self.row(key)
        if row is None:
            raise KeyError(key)
        return row[0]

    def keys_of(self, query: Any) -> Iterator[CardKey]:
        with self.connection() as connection:
            found = connection.execute(query).all()
        for batch_id, position in found:
            base = self.batches[batch_id]
            yield CardKey(base.jurisdiction, base.tabulator, base.batch_name, position)

    def __iter__(self) -> Iterator[CardKey]:
        query = select(Cvr.batch_id, Cvr.position).where(Cvr.audit_id == self.audit_id)
        return self.keys_of(query)

    def __len__(self) -> int:
        query = select(func.count()).where(Cvr.audit_id == self.audit_id)
        with self.connection() as connection:
            return int(connection.execute(query).scalar_one())

    def items(self) -> ItemsView[CardKey, Votes]:
        """Every (card, CVR), read in one pass (not card by card; nothing is kept)."""
        return _Items(self)

    def scan_items(self) -> Iterator[tuple[CardKey, Votes]]:
        query = select(Cvr.batch_id, Cvr.position, Cvr.votes).where(Cvr.audit_id == self.audit_id)
        with self.connection() as connection:
            found = connection.execute(query).all()
        for batch_id, position, votes in found:
            base = self.batches[batch_id]
            key = CardKey(base.jurisdiction, base.tabulator, base.batch_name, position)
            yield key, {str(c): tuple(v) for c, v in votes.items()}

    # --- every card at once -------------------------------------------------------------

    def _scan(self) -> pl.DataFrame:
        """batch_id, position, imprinted_id and the votes' JSON text of every CVR.

        Read with the driver itself (a million rows): PostgreSQL's ``COPY ... TO
        STDOUT`` as CSV, SQLite's cursor in chunks.
        """
        sql = (
            "SELECT batch_id, position, imprinted_id, CAST(votes AS TEXT) "
            f"FROM {Cvr.__tablename__} WHERE audit_id = {int(self.audit_id)}"
        )
        with self.connection() as connection:
            driver: Any = connection.connection.driver_connection
            if connection.dialect.name == "postgresql":
                data = bytearray()
                with (
                    driver.cursor() as cursor,
                    cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy,
                ):
                    for block in copy:
                        data += block
                return pl.read_csv(
                    bytes(data),
                    has_header=False,
                    schema=SCAN_SCHEMA,
                    raise_if_empty=False,
                )
            parts = []
            cursor = driver.cursor()
            try:
                cursor.execute(sql)
                while rows := cursor.fetchmany(SCAN_CHUNK):
                    columns = zip(SCAN_SCHEMA.items(), zip(*rows, strict=True), strict=True)
                    parts.append(
                        pl.DataFrame(
                            [
                                pl.Series(name, values, dtype=dtype)
                                for (name, dtype), values in columns
                            ]
                        )
                    )
            finally:
                cursor.close()
        return pl.concat(parts) if parts else pl.DataFrame(schema=SCAN_SCHEMA)

    def cvr_frame(self, columns: Sequence[tuple[str, str]]) -> pl.DataFrame:
        scanned = self._scan()
        cells = _vote_cells(scanned["votes"], columns)
        order = sorted(self.batches, key=lambda b: self.batches[b].batch)
        batches = pl.DataFrame(
            {
                "batch_id": order,
                "rank": range(len(order)),
                "jurisdiction": [self.batches[b].jurisdiction for b in order],
                "tabulator": [self.batches[b].tabulator for b in order],
                "batch_name": [self.batches[b].batch_name for b in order],
            },
            schema_overrides={"batch_id": pl.Int64, "rank": pl.Int64},
        )
        return (
            pl.concat([scanned.drop("votes"), cells], how="horizontal")
            .join(batches, on="batch_id", how="inner")
            .sort("rank", "position")
            .with_columns(pl.col("imprinted_id").fill_null(""))
            .select([*KEY_COLUMNS, *cells.columns])
        )


def _vote_cells(votes: pl.Series, columns: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """One UInt8 column per (contest, choice) from each CVR's JSON: 1, 0, or null (no contest).

    A state's million CVRs hold a few thousand distinct JSON texts (ballot styles
    times choices), so each distinct text is decoded once.
    """
    names = [vote_column(k) for k in range(len(columns))]
    distinct = votes.unique()
    cells = pl.concat([distinct.to_frame("votes"), _decoded(distinct, columns)], how="horizontal")
    return (
        votes.to_frame("votes")
        .join(cells, on="votes", how="left", maintain_order="left", nulls_equal=True)
        .select(names)
    )


def _decoded(votes: pl.Series, columns: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """The cells of :func:`_vote_cells` for each of ``votes``."""
    names = [vote_column(k) for k in range(len(columns))]
    if not columns:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.UInt8))
    contests = list(dict.fromkeys(contest for contest, _ in columns))
    try:
        decoded = votes.str.json_decode(pl.Struct({c: pl.List(pl.String) for c in contests}))
        return pl.DataFrame({"cvr": decoded}).select(
            pl.col("cvr").struct.field(contest).list.contains(choice).cast(pl.UInt8).alias(name)
            for (contest, choice), name in zip(columns, names, strict=True)
        )
    except pl.exceptions.PolarsError:  # pragma: no cover - JSON polars cannot type: by hand
        cells: list[list[int | None]] = [[] for _ in columns]
        for text in votes:
            record = json.loads(text)
            for k, (contest, choice) in enumerate(columns):
                marked = record.get(contest)
                cells[k].append(None if marked is None else int(choice in marked))
        return pl.DataFrame(
            dict(zip(names, cells, strict=True)),
            schema=dict.fromkeys(names, pl.UInt8),
        )
