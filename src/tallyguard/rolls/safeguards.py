"""Due-process safeguards: wording, the NVRA quiet period, and personal data in reports.

* Every flagged pair is a **lead for review**, never a removal: the recommended
  step is a confirmation notice or an individual check (NVRA, 52 U.S.C.
  §20507(c)-(d): a registrant who may have moved is removed only after a
  written confirmation or an unanswered notice followed by two federal general
  elections without voting).
* **Quiet period**: a state must complete any program whose purpose is to
  systematically remove ineligible voters not later than 90 days before a
  federal primary or general election (52 U.S.C. §20507(c)(2)(A)). An export
  meant for such a program (the notice list) refuses inside that window.
* **Personal data** stays on the machine (nothing here opens a network
  connection) and reports show dates of birth as the year only unless
  ``--show-pii``.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from tallyguard.errors import InputError

QUIET_PERIOD_DAYS = 90
STEPS = {
    "duplicate": "confirm with the registrant (notice) before merging records; no removal",
    "link": "check both registrations individually; send a confirmation notice if one moved",
    "deceased": "verify against the death record (certificate, SSA) and notify; no removal "
    "on a name match alone",
    "claim": "no action on the claim alone: individual evidence is required before any notice",
}


def check_quiet_period(election: dt.date | None, as_of: dt.date) -> None:
    """Refuse a systematic-removal export within 90 days before a federal election."""
    if election is None:
        return
    days = (election - as_of).days
    if 0 <= days < QUIET_PERIOD_DAYS:
        raise InputError(
            f"the election on {election.isoformat()} is {days} days after {as_of.isoformat()}: "
            f"within the {QUIET_PERIOD_DAYS}-day quiet period of the NVRA (52 U.S.C. "
            "§20507(c)(2)(A)), no systematic list-maintenance export is written.",
            fix="review leads individually, or run the export after the election.",
        )


def mask_dates(frame: pl.DataFrame, columns: tuple[str, ...], *, show: bool) -> pl.DataFrame:
    """Dates of birth reduced to ``YYYY-**-**`` unless ``show``."""
    if show:
        return frame
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns(
        [
            pl.when(pl.col(c).is_not_null())
            .then(pl.col(c).cast(pl.String).str.slice(0, 4) + "-**-**")
            .alias(c)
            for c in present
        ]
    )
