"""Readers for the cast vote record exports of voting-system vendors.

Each reader is pure and streaming: it opens the export, checks its header or
structure, and returns an object with ``contests`` (contest name -> choices),
``votes_allowed`` (where the format states it), ``notes`` and ``records()``,
which yields one :class:`VendorCvrRecord` per ballot card. Every bad value is
an :class:`~tallyguard.errors.InputError` naming the file, the line (or JSON
path / XML element) and the field. See ``docs/formats.md``.

* Dominion Democracy Suite: :func:`read_dominion_csv`, :func:`read_dominion_json`
* ES&S: :func:`read_ess`
* Hart InterCivic Verity: :func:`read_hart`
* Clear Ballot ClearVote: :func:`read_clearballot`
* NIST SP 1500-103 XML: :func:`read_nist_cvr_xml`
"""

from tallyguard.io.vendors._common import CvrReader, VendorCvrRecord
from tallyguard.io.vendors.clearballot import ClearBallotCsv, read_clearballot
from tallyguard.io.vendors.dominion import DominionCsv, read_dominion_csv
from tallyguard.io.vendors.dominion_json import DominionJson, read_dominion_json
from tallyguard.io.vendors.ess import EssCvrs, read_ess
from tallyguard.io.vendors.hart import HartCvrs, read_hart
from tallyguard.io.vendors.nist_xml import NistXmlReport, read_nist_cvr_xml

__all__ = [
    "ClearBallotCsv",
    "CvrReader",
    "DominionCsv",
    "DominionJson",
    "EssCvrs",
    "HartCvrs",
    "NistXmlReport",
    "VendorCvrRecord",
    "read_clearballot",
    "read_dominion_csv",
    "read_dominion_json",
    "read_ess",
    "read_hart",
    "read_nist_cvr_xml",
]
