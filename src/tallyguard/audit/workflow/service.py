"""The audit as an official runs it: one function per command, inside one transaction.

Each function takes the session of a store transaction
(:meth:`tallyguard.store.db.Store.transaction`), checks that the command is allowed
in the audit's state, changes the tables and appends a typed event to the
hash-chained log. The caller commits once at the end, so a command either
happens entirely or not at all, even when the process is killed.

The audit's states::

    setup --seed--> sampling --finish--> finished
                       |
                       +--hand-count--> hand_count --finish--> finished

Before the seed is set, manifests, CVRs, batch tallies and contests may be
loaded and replaced; setting the seed freezes them (their digests go into the
``seed.set`` event) because a sample is only random with respect to data fixed
before the seed was known.
"""

from tallyguard.audit.workflow.loading import load_batch_tallies, load_manifest
from tallyguard.audit.workflow.loading_cvrs import load_cvrs
from tallyguard.audit.workflow.rounds import (
    finish_audit,
    finish_round,
    record_hand_count,
    record_readings,
    start_hand_count,
    start_round,
)
from tallyguard.audit.workflow.setup import add_contest, add_jurisdiction, create_audit, set_seed
from tallyguard.audit.workflow.state import audit_names, find_audit, load_inputs, status

__all__ = [
    "add_contest",
    "add_jurisdiction",
    "audit_names",
    "create_audit",
    "find_audit",
    "finish_audit",
    "finish_round",
    "load_batch_tallies",
    "load_cvrs",
    "load_inputs",
    "load_manifest",
    "record_hand_count",
    "record_readings",
    "set_seed",
    "start_hand_count",
    "start_round",
    "status",
]
