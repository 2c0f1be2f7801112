"""Ballot manifests: where every paper ballot card is stored."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ManifestBatch:
    """One row of a ballot manifest: a batch of ballot cards kept together.

    ``batch_name`` is unique within its jurisdiction (Arlo's rule); cards in a
    batch are numbered 1..``num_ballots`` in storage order.
    """

    jurisdiction: str
    batch_name: str
    num_ballots: int
    container: str | None = None
    tabulator: str | None = None
    has_cvrs: bool | None = None
