"""Ballot manifests: where every paper ballot card is stored."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ManifestBatch:
    """One row of a ballot manifest: a batch of ballot cards kept together.

    A batch is identified by (jurisdiction, tabulator, batch_name): Arlo's own
    templates reuse a batch name on different tabulators. Cards in a batch are
    numbered 1..``num_ballots`` in storage order.
    """

    jurisdiction: str
    batch_name: str
    num_ballots: int
    container: str | None = None
    tabulator: str | None = None
    has_cvrs: bool | None = None
