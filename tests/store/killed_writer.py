"""A command that test_kill.py kills with SIGKILL: one slow transaction of many rows.

Usage: ``python killed_writer.py URL AUDIT_ID JURISDICTION_ID ROWS mid|after``.
Prints ``MID`` half-way through the transaction (then keeps writing and never
commits), or ``COMMITTED`` after committing (then waits); either way it sleeps
until killed.
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import text

from tallyguard.store.db import Store
from tallyguard.store.events import append_event
from tallyguard.store.models import Batch, Cvr

PAD = "x" * 500  # big rows, so SQLite has to write pages to the file mid-transaction


def main(url: str, audit_id: int, jurisdiction_id: int, rows: int, mode: str) -> None:
    with Store.open(url) as store:
        with store.transaction() as session:
            if session.get_bind().dialect.name == "sqlite":
                session.execute(text("PRAGMA cache_size=10"))  # spill to the file early
            for i in range(rows):
                batch = Batch(audit_id=audit_id, jurisdiction_id=jurisdiction_id, ordinal=100 + i,
                              tabulator="K", batch_name=f"K-{i:04d}", num_ballots=1,
                              container=PAD)  # fmt: skip
                session.add(batch)
                session.flush()
                session.add(Cvr(audit_id=audit_id, batch_id=batch.id, position=1,
                                cvr_id=f"k-{i}", votes={"pad": PAD}))  # fmt: skip
                if i % 10 == 0:
                    append_event(session, audit_id, "manifest.loaded", {"row": i, "pad": PAD}, "k")
                session.flush()
                if mode == "mid" and i == rows // 2:
                    print("MID", flush=True)
                if mode == "mid" and i >= rows // 2:
                    time.sleep(0.01)  # the kill lands while rows are still being written
            if mode == "mid":
                time.sleep(120)  # never commit
        print("COMMITTED", flush=True)
        time.sleep(120)


if __name__ == "__main__":
    url, audit, jurisdiction, count, how = sys.argv[1:]
    main(url, int(audit), int(jurisdiction), int(count), how)
