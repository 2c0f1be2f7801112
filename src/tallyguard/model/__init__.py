"""Domain types shared by every pillar: contests, manifests, CVRs, unit results."""

from tallyguard.model.contest import Contest, ContestKind
from tallyguard.model.cvr import CvrRecord
from tallyguard.model.manifest import ManifestBatch
from tallyguard.model.results import UnitResult

__all__ = ["Contest", "ContestKind", "CvrRecord", "ManifestBatch", "UnitResult"]
