"""Evidence bundles: SHA-256 of every file, parameters, seed, versions and results.

Every run of tallyguard can seal its output directory as an evidence bundle with
:func:`write_bundle`; anyone can then check every byte of it and repeat the
deterministic computation with :func:`verify_bundle` (``tallyguard verify``).
"""

from tallyguard.evidence.bundle import (
    INPUTS_DIR,
    bundle_paths,
    load_bundle,
    software_versions,
    write_bundle,
)
from tallyguard.evidence.canonical import (
    canonical_json,
    content_sha256,
    file_form,
    sha256_bytes,
    sha256_file,
)
from tallyguard.evidence.model import FORMAT, Bundle, FileRecord
from tallyguard.evidence.paths import BUNDLE_FILE
from tallyguard.evidence.report import Check, VerificationReport
from tallyguard.evidence.rerun import (
    ENTRY_POINT_GROUP,
    Rerunner,
    RerunnerLoadError,
    find_rerunner,
    installed_rerunners,
)
from tallyguard.evidence.verify import planned_steps, verify_bundle

__all__ = [
    "BUNDLE_FILE",
    "ENTRY_POINT_GROUP",
    "FORMAT",
    "INPUTS_DIR",
    "Bundle",
    "Check",
    "FileRecord",
    "Rerunner",
    "RerunnerLoadError",
    "VerificationReport",
    "bundle_paths",
    "canonical_json",
    "content_sha256",
    "file_form",
    "find_rerunner",
    "installed_rerunners",
    "load_bundle",
    "planned_steps",
    "sha256_bytes",
    "sha256_file",
    "software_versions",
    "verify_bundle",
    "write_bundle",
]
